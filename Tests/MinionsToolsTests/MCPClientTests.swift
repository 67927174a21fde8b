import Foundation
import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Short waits for the tests; the limits stay generous, since a loaded machine starts Python slowly.
private let testOptions = MCPClient.Options(
  initializeTimeoutMs: 30_000, requestTimeoutMs: 30_000, restartBackoffMs: 10, shutdownGraceMs: 500,
  terminationGraceMs: 500)

/// The fixture MCP server (`Fixtures/mcp_test_server.py`) with `flags`, started as server `fx`.
private func startFixture(
  _ flags: [String] = [], options: MCPClient.Options = testOptions,
  onNotification: @escaping @Sendable (String, JSONValue?) -> Void = { _, _ in }
) async throws -> MCPServerTools {
  try await MCPServerTools.start(
    config: MCPServerConfig(
      name: "fx", command: [ProcessFixtures.python, ProcessFixtures.path("mcp_test_server.py")] + flags),
    workspace: nil, options: options, onNotification: onNotification)
}

/// Runs `body` with the fixture server, and stops the server afterwards whatever happens.
private func withFixture(
  _ flags: [String] = [], options: MCPClient.Options = testOptions, _ body: (MCPServerTools) async throws -> Void
) async throws {
  let server = try await startFixture(flags, options: options)
  try await stopping(server, body)
}

/// Runs `body` with `server`, and stops the server afterwards whatever happens.
private func stopping(_ server: MCPServerTools, _ body: (MCPServerTools) async throws -> Void) async throws {
  do {
    try await body(server)
    await server.stop()
  } catch {
    await server.stop()
    throw error
  }
}

extension MCPServerTools {
  fileprivate func tool(_ name: String) throws -> MCPTool {
    try #require(tools.first { $0.remoteName == name }, "no tool \(name)")
  }

  fileprivate func call(_ name: String, _ arguments: JSONValue = [:], timeoutMs: Int = 30_000) async throws
    -> ToolOutput
  {
    try await tool(name).run(arguments, context: ToolContext(timeoutMs: timeoutMs))
  }
}

@Suite struct MCPClientTests {
  @Test func theHandshakeAndEveryPageOfToolsExposeSERVERDotTOOL() async throws {
    try await withFixture { server async throws in
      let info = try #require(server.client.serverInfo)
      #expect(info.name == "fixture" && info.version == "1.0" && info.protocolVersion == "2025-06-18")
      // Eleven tools over three pages of four.
      #expect(
        server.tools.map(\.definition.name).sorted() == [
          "fx.add", "fx.announce", "fx.ask_client", "fx.cancellations", "fx.crash", "fx.echo", "fx.fail", "fx.picture",
          "fx.pid", "fx.ping_client", "fx.slow",
        ])
      #expect(server.skipped.isEmpty)
      let echo = try server.tool("echo")
      #expect(echo.definition.category == "mcp" && echo.definition.description == "Echoes its text")
      #expect(echo.definition.inputSchema["required"] == ["text"])
      // readOnlyHint: true needs no approval; anything else does.
      #expect(!echo.definition.requiresApproval && !echo.needsApproval(["text": "x"]))
      #expect(!(try server.tool("add")).definition.requiresApproval)
      #expect(try server.tool("slow").definition.requiresApproval)
      #expect(try server.tool("fail").definition.requiresApproval)
      // Listed without a schema: any object.
      #expect(try server.tool("crash").definition.inputSchema == ["type": "object"])
    }
  }

  @Test func callsMapTextStructuredContentAndErrors() async throws {
    try await withFixture { server async throws in
      #expect(try await server.call("echo", ["text": "hello there"]) == .success("hello there"))
      #expect(try await server.call("add", ["a": 2, "b": 3]) == .success("5", structured: ["sum": 5]))
      #expect(try await server.call("fail") == ToolOutput(isError: true, text: "this tool always fails"))
      #expect(try await server.call("picture") == .success("a picture:\n[image image/png, 8 bytes]"))
      // A protocol error (an unknown tool) is an MCPError from the client, and a failure from a tool.
      await #expect(throws: MCPError.self) { try await server.client.callTool("nope", arguments: [:]) }
      do {
        _ = try await server.client.callTool("nope", arguments: [:])
      } catch let error as MCPError {
        #expect(error.kind == .remoteError && error.code == -32602)
        #expect(error.message == "MCP server `fx` answered tools/call with error -32602: Unknown tool: nope")
      }
    }
  }

  @Test func theServerCanAskTheClient() async throws {
    try await withFixture { server async throws in
      let ping = try await server.call("ping_client")
      #expect(ping.structured?["answer"]?["result"] == [:], "\(ping.text)")
      let roots = try await server.call("ask_client", ["method": "roots/list"])
      #expect(roots.structured?["answer"]?["error"]?["code"] == -32601, "\(roots.text)")
    }
  }

  @Test func concurrentCallsGetTheirOwnAnswers() async throws {
    try await withFixture { server async throws in
      try await withThrowingTaskGroup(of: (String, ToolOutput).self) { group in
        for i in 0..<2 {
          group.addTask { ("slow\(i)", try await server.call("slow", ["seconds": 0.3])) }
        }
        for i in 0..<20 {
          group.addTask { ("echo\(i)", try await server.call("echo", ["text": .string("echo\(i)")])) }
        }
        var answered = 0
        for try await (label, output) in group {
          #expect(output == .success(label.hasPrefix("slow") ? "slept" : label))
          answered += 1
        }
        #expect(answered == 22)
      }
    }
  }

  @Test func aCallPastItsTimeLimitFailsAndIsCancelledOnTheServer() async throws {
    try await withFixture { server async throws in
      let pid = server.client.pid
      let output = try await server.call("slow", ["seconds": 60], timeoutMs: 500)
      #expect(output.isError)
      #expect(output.text.contains("MCP server `fx` did not answer tools/call within 500 ms"), "\(output.text)")
      // The server was told, and it is still the same process, serving calls.
      let cancellations = try await server.call("cancellations")
      #expect(cancellations.structured?["cancelled"]?.arrayValue?.count == 1, "\(cancellations.text)")
      #expect(try await server.call("echo", ["text": "still here"]) == .success("still here"))
      #expect(server.client.pid == pid && server.client.restartCount == 0)
    }
  }

  @Test func aCancelledCallThrowsAndIsCancelledOnTheServer() async throws {
    try await withFixture { server async throws in
      let slow = try server.tool("slow")
      let call = Task { try await slow.run(["seconds": 60], context: ToolContext(timeoutMs: 60_000)) }
      try await Task.sleep(for: .milliseconds(300))
      call.cancel()
      await #expect(throws: CancellationError.self) { try await call.value }
      var seen: [JSONValue] = []
      for _ in 0..<100 where seen.isEmpty {
        seen = try await server.call("cancellations").structured?["cancelled"]?.arrayValue ?? []
        if seen.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
      }
      #expect(seen.count == 1)
      #expect(server.client.restartCount == 0)
    }
  }

  @Test func aCrashedServerIsRestartedByTheNextCall() async throws {
    try await withFixture { server async throws in
      let firstPID = try #require(server.client.pid)
      let crash = try await server.call("crash")
      #expect(crash.isError)
      #expect(crash.text.contains("MCP server `fx` exited with code 3"), "\(crash.text)")
      #expect(crash.text.contains("fixture: crashing on purpose"))
      #expect(await ProcessFixtures.waitUntilGone([firstPID]))

      #expect(try await server.call("echo", ["text": "back"]) == .success("back"))
      let secondPID = try #require(server.client.pid)
      #expect(secondPID != firstPID && server.client.restartCount == 1)
      #expect(try await server.call("pid").structured?["pid"] == .int(Int(secondPID)))
    }
  }

  @Test func restartsBeyondTheCapFailClearly() async throws {
    var options = testOptions
    options.maxRestarts = 1
    try await withFixture(options: options) { server async throws in
      #expect(try await server.call("crash").isError)
      #expect(try await server.call("echo", ["text": "once"]) == .success("once"))
      #expect(try await server.call("crash").isError)
      let refused = try await server.call("echo", ["text": "twice"])
      #expect(refused.isError)
      #expect(
        refused.text.contains("MCP server `fx` stopped again after 1 restart within 60 s, the most allowed"),
        "\(refused.text)")
      #expect(refused.text.contains("exited with code 3"))
      #expect(server.client.restartCount == 1 && server.client.pid == nil)
    }
  }

  @Test func restartsCanBeDisabled() async throws {
    var options = testOptions
    options.maxRestarts = 0
    try await withFixture(options: options) { server async throws in
      #expect(try await server.call("crash").isError)
      let refused = try await server.call("echo", ["text": "x"])
      #expect(refused.isError && refused.text.hasPrefix("MCP server `fx` stopped, and restarting it is disabled"))
      #expect(server.client.restartCount == 0)
    }
  }

  @Test func linesOnStdoutThatAreNotJSONRPCAreIgnored() async throws {
    try await withFixture(["--garbage"]) { server async throws in
      #expect(server.tools.count == 11)
      #expect(try await server.call("echo", ["text": "through the noise"]) == .success("through the noise"))
      #expect(try await server.call("ping_client").structured?["answer"]?["result"] == [:])
    }
  }

  @Test func aServerThatNeverAnswersInitializeTimesOutAndIsStopped() async throws {
    let pidFile = try temporaryDirectory(prefix: "mcp-silent") + "/pid"
    var options = testOptions
    options.initializeTimeoutMs = 1000
    let config = MCPServerConfig(
      name: "mute",
      command: ["/bin/sh", "-c", "echo $$ > \(pidFile); echo 'Server starting (not JSON)'; exec sleep 60"])
    do {
      _ = try await MCPServerTools.start(config: config, workspace: nil, options: options)
      Issue.record("start succeeded")
    } catch let error as MCPError {
      #expect(error.kind == .timeout)
      #expect(error.message.contains("MCP server `mute` did not answer initialize within 1000 ms"), "\(error)")
      #expect(error.message.contains("1 line on stdout that is not JSON-RPC (ignored), the first: Server starting"))
    }
    let pidText = try #require(await ProcessFixtures.waitForFile(pidFile))
    let pid = try #require(ProcessFixtures.pids(in: pidText).first)
    #expect(await ProcessFixtures.waitUntilGone([pid]))
  }

  @Test func aServerThatExitsAtStartIsAClearError() async throws {
    do {
      _ = try await startFixture(["--exit-at-start", "4"])
      Issue.record("start succeeded")
    } catch let error as MCPError {
      #expect(error.kind == .serverExited)
      #expect(error.message.contains("MCP server `fx` exited with code 4"), "\(error)")
      #expect(error.message.contains("fixture: refusing to start on purpose"))
    }
    await #expect(
      throws: MCPError(
        .startFailed,
        "cannot start MCP server `gone`: command not found: no-such-mcp-xyz (looked in PATH=/usr/bin:/bin)")
    ) {
      _ = try await MCPServerTools.start(
        config: MCPServerConfig(name: "gone", command: ["no-such-mcp-xyz"]), workspace: nil,
        environment: ["PATH": "/usr/bin:/bin"], options: testOptions)
    }
  }

  @Test func protocolVersionsOfTheHandshakeFamilyAreAccepted() async throws {
    let older = try await startFixture(["--protocol", "2024-11-05"])
    #expect(older.client.serverInfo?.protocolVersion == "2024-11-05")
    #expect(try await older.call("echo", ["text": "old"]) == .success("old"))
    await older.stop()
    do {
      _ = try await startFixture(["--protocol", "1999-01-01"])
      Issue.record("start succeeded")
    } catch let error as MCPError {
      #expect(error.kind == .handshakeFailed)
      #expect(error.message.contains("chose protocol version 1999-01-01; Minions speaks 2024-11-05"), "\(error)")
    }
  }

  @Test func stopLeavesNoProcessEvenWhenTheServerIgnoresTERM() async throws {
    let server = try await startFixture()
    let pid = try #require(server.client.pid)
    await server.stop()
    #expect(kill(pid, 0) == -1 && errno == ESRCH, "reaped by the time stop() returns")
    let after = try await server.call("echo", ["text": "x"])
    #expect(after == .failure("MCP server `fx` was stopped"))

    let stubborn = try await startFixture(["--stubborn"])
    let stubbornPID = try #require(stubborn.client.pid)
    await stubborn.stop()
    #expect(kill(stubbornPID, 0) == -1 && errno == ESRCH)
  }

  @Test func notificationsReachTheOwner() async throws {
    let notifications = Mutex<[String]>([])
    let server = try await startFixture { method, _ in notifications.withLock { $0.append(method) } }
    try await stopping(server) { server async throws in
      #expect(try await server.call("announce") == .success("announced"))
      // The notification is written before the answer, and read in order.
      #expect(notifications.withLock { $0 } == ["notifications/tools/list_changed"])
      #expect(try await server.listTools().count == 11)
    }
  }

  @Test func serverConfigsAreChecked() throws {
    for name in ["", "has space", "dotted.name", String(repeating: "a", count: 65), "ünï"] {
      #expect(throws: EngineError.self, "\(name)") { try MCPServerConfig(name: name, command: ["x"]).validate() }
    }
    #expect(throws: EngineError.self) { try MCPServerConfig(name: "ok", command: []).validate() }
    try MCPServerConfig(name: "Ok_name-1", command: ["x"]).validate()
    try MCPServerConfig(name: String(repeating: "a", count: 64), command: ["x"]).validate()
    let config = MCPServerConfig(name: "s", command: ["a"], env: ["K": "V"])
    let encoded = try JSONValueEncoder().encode(config)
    #expect(encoded == ["name": "s", "command": ["a"], "env": ["K": "V"]])
    #expect(try JSONValueDecoder().decode(MCPServerConfig.self, from: ["name": "s", "command": ["a"]]).env == nil)
  }
}

/// The reference `mcp-server-time` from PyPI, installed into the test venv by `make test`.
@Suite struct MCPTimeServerTests {
  @Test func theReferenceTimeServerWorksThroughTheClient() async throws {
    let python = try #require(
      ProcessInfo.processInfo.environment["MINIONS_TEST_PYTHON"],
      "MINIONS_TEST_PYTHON is not set: run `make test`, which installs mcp-server-time into .build/test-venv")
    let server = try await MCPServerTools.start(
      config: MCPServerConfig(name: "time", command: [python, "-m", "mcp_server_time", "--local-timezone", "UTC"]),
      workspace: nil, options: testOptions)
    try await stopping(server) { server in try await exercise(server) }
  }

  private func exercise(_ server: MCPServerTools) async throws {
    #expect(server.client.serverInfo?.name == "mcp-time")
    #expect(Set(server.tools.map(\.definition.name)) == ["time.get_current_time", "time.convert_time"])
    #expect(try !server.tool("get_current_time").definition.requiresApproval, "the server marks it read-only")

    let now = try await server.call("get_current_time", ["timezone": "UTC"])
    #expect(!now.isError, "\(now.text)")
    let structured = try #require(now.structured)
    #expect(structured["timezone"] == "UTC")
    #expect(structured["is_dst"] == false)
    let weekdays: Set<String> = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
    #expect(weekdays.contains(structured["day_of_week"]?.stringValue ?? ""))
    let stamp = try #require(structured["datetime"]?.stringValue.flatMap { Timestamp(iso8601: $0) })
    #expect(abs(stamp.secondsSinceEpoch - Timestamp.now().secondsSinceEpoch) < 86_400)
    // The text content is the same result as JSON.
    #expect(try JSONParser.parse(now.text)["timezone"] == "UTC")

    let converted = try await server.call(
      "convert_time", ["source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"])
    #expect(!converted.isError, "\(converted.text)")
    #expect(converted.structured?["source"]?["datetime"]?.stringValue?.hasSuffix("T12:00:00+00:00") == true)
    #expect(converted.structured?["target"]?["datetime"]?.stringValue?.hasSuffix("T21:00:00+09:00") == true)
    #expect(converted.structured?["target"]?["timezone"] == "Asia/Tokyo")
    #expect(converted.structured?["time_difference"] == "+9.0h")

    let invalid = try await server.call("get_current_time", ["timezone": "Mars/Olympus"])
    #expect(invalid.isError && invalid.text.contains("Invalid timezone"), "\(invalid.text)")
  }
}
