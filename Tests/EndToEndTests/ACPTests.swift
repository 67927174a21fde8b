import Foundation
import MinionsCore
import MinionsTestSupport
import Testing

/// An ACP client — the Agent Client Protocol's Python SDK — drives `minions acp`: streaming, tool calls
/// with permission requests answered both ways, file access through the editor, a session MCP server
/// (the reference mcp-server-time), cancellation, listing and loading sessions.
@Suite struct ACPTests {
  @Test func theACPPythonSDKDrivesMinions() async throws {
    let python = try #require(
      ProcessInfo.processInfo.environment["MINIONS_TEST_PYTHON"],
      "needs MINIONS_TEST_PYTHON (a Python with agent-client-protocol and mcp-server-time): run `make test`")
    let work = try temporaryDirectory(prefix: "minions-acp")
    let run = try await runProgram(
      python, [repositoryRootPath + "/Tests/EndToEndTests/Fixtures/acp_client.py", EngineProcess.binaryPath, work],
      environment: ["PATH": "/usr/bin:/bin", "HOME": work])
    #expect(run.status == 0, "\(run.output)\n\(run.errors)")
    #expect(run.output.contains("ALL PASSED"), "\(run.output)")
  }

  @Test func badACPRequestsAreAnsweredPrecisely() async throws {
    let engine = try EngineProcess(["acp"])
    #expect(await engine.call("session/new", ["cwd": "/"])["error"]?["code"] == -32600)  // before initialize
    let hello = await engine.call("initialize", ["protocolVersion": 1])
    #expect(hello["result"]?["protocolVersion"] == 1)
    #expect(await engine.call("session/new", ["cwd": "relative/dir"])["error"]?["data"]?["field"] == "cwd")
    #expect(await engine.call("session/new", ["cwd": "/nonexistent-dir"])["error"]?["data"]?["field"] == "cwd")
    let http = await engine.call(
      "session/new", ["cwd": "/tmp", "mcpServers": [["type": "http", "name": "x", "url": "http://127.0.0.1:1"]]])
    #expect(http["error"]?["data"]?["field"] == "mcpServers[0]")
    #expect(
      await engine.call("session/prompt", ["sessionId": "s_nope", "prompt": [["type": "text", "text": "hi"]]])[
        "error"]?[
          "code"] == -32013)
    let session = await engine.call("session/new", ["cwd": "/tmp", "mcpServers": []])
    let id = try #require(session["result"]?["sessionId"]?.stringValue)
    #expect(
      await engine.call("session/prompt", ["sessionId": .string(id), "prompt": []])["error"]?["data"]?["field"]
        == "prompt")
    #expect(
      await engine.call(
        "session/set_config_option", ["sessionId": .string(id), "configId": "model", "value": "gpt-9"])[
          "error"]?["data"]?["field"] == "value")
    #expect(await engine.call("session/fork", ["sessionId": .string(id)])["error"]?["code"] == -32601)
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
  }
}
