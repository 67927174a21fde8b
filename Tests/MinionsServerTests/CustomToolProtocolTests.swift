import Foundation
import JSONRPC
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

@Suite struct CustomToolProtocolTests {
  static let fixtures = repositoryRoot + "/Tests/MinionsToolsTests/Fixtures"
  static let commandTool: JSONValue = [
    "name": "shout", "description": "Answers by mode",
    "inputSchema": ["type": "object", "properties": ["mode": ["type": "string"]], "additionalProperties": false],
    "command": ["python3", .string(fixtures + "/json_tool.py")],
  ]
  static let mcpServer: JSONValue = [
    "mcpServer": ["name": "fixture", "command": ["python3", .string(fixtures + "/mcp_test_server.py")]]
  ]

  @Test func aCommandToolIsRegisteredRunAndRemoved() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let r = await h.call("tools/register", Self.commandTool)
    let tool = try #require(r["result"]?["tools"]?[0])
    #expect(tool["name"] == "shout" && tool["category"] == "custom" && tool["requiresApproval"] == true)
    let ran = await h.call("tools/execute", ["tool": "shout", "arguments": ["mode": "text"]])
    #expect(
      ran["result"]?["content"]?[0]?["text"] == "plain text, not JSON\n"
        || ran["result"]?["content"]?[0]?["text"] == "plain text, not JSON")
    let failed = await h.call("tools/execute", ["tool": "shout", "arguments": ["mode": "fail"]])
    #expect(failed["result"]?["isError"] == true)
    #expect(failed["result"]?["content"]?[0]?["text"]?.stringValue?.contains("something went wrong") == true)
    let badArgs = await h.call("tools/execute", ["tool": "shout", "arguments": ["mode": 1]])
    #expect(badArgs["error"]?["data"]?["field"] == "arguments.mode")

    #expect(await h.call("tools/register", Self.commandTool)["error"]?["code"] == -32014)
    var builtin = Self.commandTool.objectValue!
    builtin["name"] = "file_operations"
    #expect(await h.call("tools/register", .object(builtin))["error"]?["code"] == -32014)
    var badName = Self.commandTool.objectValue!
    badName["name"] = "has space"
    #expect(await h.call("tools/register", .object(badName))["error"]?["data"]?["field"] == "name")
    var noSchema = Self.commandTool.objectValue!
    noSchema["name"] = "other"
    noSchema.removeValue(forKey: "inputSchema")
    #expect(await h.call("tools/register", .object(noSchema))["error"]?["data"]?["field"] == "inputSchema")
    #expect(await h.call("tools/register", [:])["error"]?["data"]?["field"] == "name")

    #expect(await h.call("tools/unregister", ["name": "shout"])["result"]?["removed"] == ["shout"])
    #expect(await h.call("tools/unregister", ["name": "shout"])["error"]?["code"] == -32013)
    #expect(await h.call("tools/unregister", ["name": "http_request"])["error"]?["data"]?["field"] == "name")
    #expect(await h.call("tools/execute", ["tool": "shout", "arguments": [:]])["error"]?["data"]?["field"] == "tool")
    await h.finish()
  }

  @Test func aCacheableToolIsRunOncePerArguments() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let log = h.engine.configuration.workspace + "/calls.log"
    func tool(_ name: String, cacheable: Bool) -> JSONValue {
      [
        "name": .string(name), "description": "Echoes its arguments and counts its runs",
        "inputSchema": ["type": "object", "properties": ["n": ["type": "integer"]]],
        "command": ["/bin/sh", "-c", "echo run >> calls.log; cat"], "requiresApproval": false,
        "cacheable": .bool(cacheable),
      ]
    }
    let registered = await h.call("tools/register", tool("echo_cached", cacheable: true))
    #expect(registered["result"]?["tools"]?[0]?["cacheable"] == true)
    func runs() -> Int { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").count }
    let first = await h.call("tools/execute", ["tool": "echo_cached", "arguments": ["n": 1]])
    let second = await h.call("tools/execute", ["tool": "echo_cached", "arguments": ["n": 1]])
    #expect(first["result"]?["content"] == second["result"]?["content"] && first["result"]?["isError"] == false)
    #expect(runs() == 1)  // the second call came from the cache
    _ = await h.call("tools/execute", ["tool": "echo_cached", "arguments": ["n": 2]])
    #expect(runs() == 2)  // other arguments run again
    _ = await h.call("tools/register", tool("echo_plain", cacheable: false))
    _ = await h.call("tools/execute", ["tool": "echo_plain", "arguments": ["n": 1]])
    _ = await h.call("tools/execute", ["tool": "echo_plain", "arguments": ["n": 1]])
    #expect(runs() == 4)  // not cacheable: every call runs
    #expect(await h.call("cache/stats")["result"]?["entries"] == 2)
    await h.finish()
  }

  @Test func anMCPServersToolsAreAddedUsedByAgentsAndRemovedTogether() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize(["capabilities": ["tokenCoalesceMs": 0]])
    let r = await h.call("tools/register", Self.mcpServer)
    let names = r["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    #expect(names.contains("fixture.echo") && names.contains("fixture.add"), "\(r)")
    let echo = r["result"]?["tools"]?.arrayValue?.first { $0["name"] == "fixture.echo" }
    #expect(echo?["category"] == "mcp" && echo?["requiresApproval"] == false)
    let slow = r["result"]?["tools"]?.arrayValue?.first { $0["name"] == "fixture.slow" }
    #expect(slow?["requiresApproval"] == true)
    let called = await h.call("tools/call", ["name": "fixture.add", "arguments": ["a": 2, "b": 3]])
    #expect(called["result"]?["isError"] == false && called["result"]?["structuredContent"] != .null, "\(called)")

    // An agent may use the server's tools (read-only ones need no approval).
    let script = try writeTemporaryFile(
      #"{"turns": [{"match": "^hi$", "events": [{"text": "It echoed."}]},"#
        + #"{"events": [{"toolCall": {"tool": "fixture.echo", "arguments": {"text": "hi"}}}]}]}"#)
    _ = await h.call(
      "models/register",
      [
        "name": "scripted", "provider": "script", "capabilities": ["text_generation", "tool_use"],
        "script": .string(script),
      ])
    let agent = await h.call(
      "agents/create", ["name": "echoer", "systemPrompt": "Echo.", "tools": ["fixture.echo"], "model": "scripted"])
    #expect(agent["result"] != nil, "\(agent)")
    let chat = await h.call("agent/chat", ["message": "please echo", "agent": "echoer"])
    #expect(
      chat["result"]?["toolCalls"]?[0]?["tool"] == "fixture.echo"
        && chat["result"]?["toolCalls"]?[0]?["isError"] == false, "\(chat)")

    let one = await h.call("tools/unregister", ["name": "fixture.echo"])
    #expect(one["error"]?["data"]?["field"] == "name")
    let pid = await h.call("tools/call", ["name": "fixture.pid", "arguments": [:]])
    let serverPID = Int32(pid["result"]?["content"]?[0]?["text"]?.stringValue?.trimmed() ?? "") ?? 0
    #expect(serverPID > 0)
    let removed = await h.call("tools/unregister", ["name": "fixture"])
    #expect(Set(removed["result"]?["removed"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(names))
    #expect(kill(serverPID, 0) != 0)  // the server process is gone
    #expect(await h.call("tools/list", ["category": "mcp"])["result"]?["tools"] == [])
    await h.finish()
  }

  @Test func anMCPServerThatDoesNotStartIsRefused() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let r = await h.call(
      "tools/register",
      [
        "mcpServer": [
          "name": "broken",
          "command": ["python3", .string(Self.fixtures + "/mcp_test_server.py"), "--exit-at-start", "4"],
        ]
      ])
    #expect(r["error"]?["code"] == -32602 && r["error"]?["data"]?["field"] == "mcpServer.command", "\(r)")
    let badName = await h.call("tools/register", ["mcpServer": ["name": "bad name", "command": ["x"]]])
    #expect(badName["error"]?["data"]?["field"] == "mcpServer.name")
    await h.finish()
  }

  @Test func customToolsComeBackWithTheEngine() async throws {
    let dir = try temporaryDirectory(prefix: "minions-custom")
    do {
      let engine = try await makeTestEngine(dataDirectory: dir)
      var h = try await ServerHarness.make(engine: engine)
      _ = await h.initialize()
      #expect(await h.call("tools/register", Self.commandTool)["result"] != nil)
      #expect(await h.call("tools/register", Self.mcpServer)["result"] != nil)
      await h.finish()
      await engine.stopTools()
      engine.close()
    }
    let again = try await makeTestEngine(dataDirectory: dir)
    #expect(again.tools.tool(named: "shout") != nil)
    #expect(again.tools.tool(named: "fixture.echo") != nil)
    let out = try await again.tools.execute(
      "fixture.echo", arguments: ["text": "back"], context: ToolContext(username: "t", timeoutMs: 10_000))
    #expect(out.text.contains("back") && !out.isError)
    await again.stopTools()
  }
}
