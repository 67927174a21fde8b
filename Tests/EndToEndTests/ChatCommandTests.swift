import Foundation
import MinionsCore
import MinionsTestSupport
import Testing

/// `minions chat` as a person or a script uses it: spawning the engine, one-shot and line by line, and
/// interactively on a terminal with an approval.
@Suite struct ChatCommandTests {
  func environment(_ data: String) -> [String: String] {
    ["PATH": "/usr/bin:/bin", "MINIONS_DATA_DIR": data, "HOME": data]
  }

  @Test func oneMessageStreamsTheAnswerAndShowsTheToolCalls() async throws {
    let data = try temporaryDirectory(prefix: "minions-chat")
    let workspace = try temporaryDirectory(prefix: "minions-chat-ws")
    try "# Project\n".write(toFile: workspace + "/README.md", atomically: true, encoding: .utf8)
    let run = try await runProgram(
      EngineProcess.binaryPath, ["chat", "--workspace", workspace, "list the files"], environment: environment(data))
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.output.hasPrefix("Let me look at the workspace."))
    #expect(run.output.contains("file_operations returned: README.md"))
    #expect(run.errors.contains(#"→ file_operations {"operation":"list","path":"."}"#))
    #expect(run.errors.contains("← README.md"))
  }

  @Test func linesOnStdinShareOneConversation() async throws {
    let data = try temporaryDirectory(prefix: "minions-chat")
    let run = try await runProgram(
      EngineProcess.binaryPath, ["chat"], environment: environment(data), input: "hello\n\nhi again\n")
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.output.components(separatedBy: "built-in offline model").count == 3)  // two answers
    let engine = try EngineProcess(["serve"], environment: ["MINIONS_DATA_DIR": data])
    _ = await engine.call("initialize", [:])
    let list = await engine.call("sessions/list", [:])
    #expect(list["result"]?["sessions"]?.arrayValue?.count == 1)
    #expect(list["result"]?["sessions"]?[0]?["messageCount"] == 4)
    engine.closeStdin()
    _ = await engine.waitForExit()
  }

  @Test func errorsGoToStderrWithStatusOne() async throws {
    let data = try temporaryDirectory(prefix: "minions-chat")
    let run = try await runProgram(
      EngineProcess.binaryPath, ["chat", "--agent", "ghost", "hi"], environment: environment(data))
    #expect(run.status == 1)
    #expect(run.errors.contains("ghost") && run.output.isEmpty)
    let usage = try await runProgram(EngineProcess.binaryPath, ["chat", "a", "b"], environment: environment(data))
    #expect(usage.status == 2 && usage.errors.contains("give the message as one argument"))
  }

  @Test func onATerminalAToolCallIsShownForApprovalAndRunsOnYes() async throws {
    let python = try #require(
      ProcessInfo.processInfo.environment["MINIONS_TEST_PYTHON"], "needs MINIONS_TEST_PYTHON: run `make test`")
    let data = try temporaryDirectory(prefix: "minions-chat")
    let workspace = try temporaryDirectory(prefix: "minions-chat-ws")
    let script = try writeTemporaryFile(
      #"{"turns": [{"match": "^(wrote|not approved)", "events": [{"text": "All done."}]},"#
        + #"{"events": [{"text": "Writing the note. "}, {"toolCall": {"tool": "file_operations", "arguments": {"operation": "write", "path": "note.txt", "content": "from chat"}}}]}]}"#
    )
    // Register the script model in the data directory first.
    let engine = try EngineProcess(["serve"], environment: ["MINIONS_DATA_DIR": data])
    _ = await engine.call("initialize", [:])
    let r = await engine.call(
      "models/register",
      [
        "name": "scripted", "provider": "script", "capabilities": ["text_generation", "tool_use"],
        "script": .string(script),
      ])
    #expect(r["result"] != nil, "\(r)")
    engine.closeStdin()
    _ = await engine.waitForExit()

    let steps: JSONValue = [
      ["you> ", "please write a note"], ["allow? ", "y"], ["All done.", "/quit"],
    ]
    let run = try await runProgram(
      python,
      [
        repositoryRootPath + "/Tests/EndToEndTests/Fixtures/pty_chat.py", "60", "--", EngineProcess.binaryPath, "chat",
        "--workspace", workspace, "--model", "scripted",
      ],
      environment: environment(data), input: JSONWriter.string(steps))
    #expect(run.status == 0, "\(run.output)\n\(run.errors)")
    #expect(run.output.contains("wants to run file_operations"))
    #expect(run.output.contains("Writing the note."))
    let written = try String(contentsOfFile: workspace + "/note.txt", encoding: .utf8)
    #expect(written == "from chat")
  }
}
