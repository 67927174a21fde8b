import Foundation
import JSONRPC
import MinionsCore
import MinionsTestSupport
import Testing

/// A recorded conversation replays as a regression test, and a changed tool makes it fail.
@Suite struct ReplayTests {
  @Test func aRecordedSessionReplaysAndAChangedToolFailsIt() async throws {
    let workspace = try temporaryDirectory(prefix: "minions-replay-ws")
    try "buy milk\n".write(toFile: workspace + "/notes.txt", atomically: true, encoding: .utf8)
    let script = try writeTemporaryFile(
      #"{"turns": [{"match": "^read my notes", "events": [{"text": "Reading. "}, {"toolCall": {"tool": "file_operations", "arguments": {"operation": "read", "path": "notes.txt"}}}]}, {"events": [{"text": "Done."}]}]}"#,
      name: "model.json")

    // Record: a real session with a tool call.
    let engine = try EngineProcess(["serve", "--workspace", workspace])
    _ = await engine.call("initialize")
    let registered = await engine.call(
      "models/register",
      [
        "name": "scripted", "provider": "script", "capabilities": ["text_generation", "tool_use"],
        "script": .string(script),
      ])
    #expect(registered["result"] != nil, "\(registered)")
    let chat = await engine.call("agent/chat", ["message": "read my notes", "model": "scripted", "agent": "coder"])
    let sessionID = try #require(chat["result"]?["sessionId"]?.stringValue, "\(chat)")
    #expect(chat["result"]?["content"] == "Reading. Done.")
    let exported = await engine.call("sessions/export", ["sessionId": .string(sessionID), "format": "script"])
    let text = try #require(exported["result"]?["content"]?.stringValue)
    let recorded = try JSONParser.parse(text)
    #expect(recorded["turns"]?.arrayValue?.count == 2)
    #expect(recorded["recording"]?["turns"]?[0]?["toolCalls"]?[0]?["output"]?.stringValue?.contains("buy milk") == true)
    let path = workspace + "/../replay-\(sessionID).json"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    engine.closeStdin()
    _ = await engine.waitForExit()

    // Replay: as recorded.
    let held = try EngineProcess(["replay", path, "--workspace", workspace], keepRawOutput: true)
    #expect(await held.waitForExit(timeout: 30) == 0, "\(held.stderr)")
    #expect(String(decoding: held.reader.raw, as: UTF8.self).contains("replay held: 1 turn"))

    // A tool that now behaves differently makes the replay fail, and says where.
    try "buy bread\n".write(toFile: workspace + "/notes.txt", atomically: true, encoding: .utf8)
    let changed = try EngineProcess(["replay", path, "--workspace", workspace], keepRawOutput: true)
    #expect(await changed.waitForExit(timeout: 30) == 1)
    let report = String(decoding: changed.reader.raw, as: UTF8.self)
    #expect(report.contains("turn 1: file_operations answered") && report.contains("buy bread"), "\(report)")
    #expect(report.contains("replay differs from the recording"))

    // Bad input is a usage error.
    let missing = try EngineProcess(["replay", workspace + "/nothing.json"])
    #expect(await missing.waitForExit() == 2)
  }
}
