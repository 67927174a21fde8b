import Foundation
import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct CommandToolTests {
  /// A tool running `command` in a fresh workspace.
  private func tool(
    _ command: [String], timeoutMs: Int? = nil, requiresApproval: Bool? = nil, workspace: String? = nil,
    environment: [String: String] = ChildEnvironment.minimal()
  ) throws -> CommandTool {
    try CommandTool(
      config: CommandToolConfig(
        name: "probe", description: "A test command", inputSchema: ["type": "object"], command: command,
        requiresApproval: requiresApproval, timeoutMs: timeoutMs),
      workspace: workspace ?? temporaryDirectory(prefix: "command-tool"), environment: environment)
  }

  private var jsonTool: [String] { [ProcessFixtures.python, ProcessFixtures.path("json_tool.py")] }

  @Test func theDefinitionComesFromTheConfig() throws {
    let t = try tool(["true"])
    #expect(t.definition.name == "probe" && t.definition.category == "custom")
    #expect(t.definition.requiresApproval, "a command can do anything: approval is the default")
    #expect(t.needsApproval(["anything": 1]))
    #expect(t.definition.timeoutMs == 30_000)
    let relaxed = try CommandTool(
      config: CommandToolConfig(
        name: "ls", description: "Lists", category: "files", inputSchema: ["type": "object"], command: ["ls"],
        requiresApproval: false, timeoutMs: 5000), workspace: "/tmp")
    #expect(!relaxed.definition.requiresApproval && relaxed.definition.category == "files")
    #expect(relaxed.definition.timeoutMs == 5000)
    #expect(throws: EngineError.self) { try tool([]) }
    #expect(throws: EngineError.self) { try tool(["true"], timeoutMs: 0) }
    // The config is what the registry stores.
    let config = CommandToolConfig(
      name: "x", description: "d", inputSchema: ["type": "object"], command: ["a", "b"], timeoutMs: 10)
    let encoded = try JSONValueEncoder(nilEncoding: .omit).encode(config)
    #expect(
      encoded == [
        "name": "x", "description": "d", "inputSchema": ["type": "object"], "command": ["a", "b"], "timeoutMs": 10,
      ])
    #expect(try JSONValueDecoder().decode(CommandToolConfig.self, from: encoded) == config)
  }

  @Test func argumentsGoInOnStdinAndJSONOutputIsStructured() async throws {
    let output = try await tool(jsonTool).run(["mode": "echo", "n": 42], context: ToolContext())
    #expect(!output.isError)
    #expect(output.structured == ["received": ["mode": "echo", "n": 42]])
    #expect(output.text.contains("\"received\""))
  }

  @Test func plainTextOutputIsTheResult() async throws {
    let output = try await tool(jsonTool).run(["mode": "text"], context: ToolContext())
    #expect(output == .success("plain text, not JSON\n"))
  }

  @Test func anMCPShapedResultIsHonoured() async throws {
    let output = try await tool(jsonTool).run(["mode": "mcp"], context: ToolContext())
    #expect(output == ToolOutput(isError: false, text: "first\nsecond", structured: ["n": 2]))
    let failed = try await tool(jsonTool).run(["mode": "mcp", "isError": true], context: ToolContext())
    #expect(failed.isError && failed.text == "first\nsecond")
  }

  @Test func aNonZeroExitIsAFailureWithTheCodeAndStderr() async throws {
    let output = try await tool(jsonTool).run(["mode": "fail", "why": "disk full"], context: ToolContext())
    #expect(output.isError)
    #expect(output.text.contains("exited with code 3"))
    #expect(output.text.contains("something went wrong: disk full"))
    #expect(output.text.contains("partial output"))
  }

  @Test func aSignalIsAFailureSayingSo() async throws {
    let output = try await tool(jsonTool).run(["mode": "signal"], context: ToolContext())
    #expect(output.isError && output.text.contains("killed by signal 9 (SIGKILL)"), "\(output.text)")
  }

  @Test func tooMuchOutputIsTruncatedAndSaid() async throws {
    let output = try await tool(jsonTool).run(["mode": "big", "bytes": 3_000_000], context: ToolContext())
    #expect(!output.isError)
    #expect(output.text.hasPrefix(String(repeating: "x", count: 1000)))
    #expect(output.text.contains("[output truncated: the first 1048576 of 3000000 bytes are shown]"))
    #expect(output.structured == nil)
  }

  @Test func theCommandRunsInTheWorkspaceWithACleanEnvironment() async throws {
    let workspace = try temporaryDirectory(prefix: "command-tool-ws")
    let cwd = try await tool(jsonTool, workspace: workspace).run(["mode": "cwd"], context: ToolContext())
    #expect(cwd.text == ProcessFixtures.realPath(workspace) + "\n")
    let engine = [
      "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
      "HOME": "/home/a-minion", "MINIONS_JWT_SECRET": "do-not-leak-this-signing-key-0123456789",
      "OPENAI_API_KEY": "sk-do-not-leak",
    ]
    let env = try await tool(jsonTool, environment: ChildEnvironment.minimal(from: engine)).run(
      ["mode": "env"], context: ToolContext())
    let seen = try #require(env.structured?.objectValue)
    #expect(seen["MINIONS_JWT_SECRET"] == nil && seen["OPENAI_API_KEY"] == nil)
    #expect(seen["HOME"] == "/home/a-minion")
    #expect(!env.text.contains("do-not-leak"))
  }

  @Test func aMissingProgramIsAClearFailure() async throws {
    let output = try await tool(["no-such-command-xyz", "--flag"]).run([:], context: ToolContext())
    #expect(output.isError)
    #expect(output.text.contains("cannot run `probe`: command not found: no-such-command-xyz"), "\(output.text)")
  }

  @Test func theTimeoutKillsTheWholeProcessGroup() async throws {
    let pidFile = try temporaryDirectory(prefix: "command-timeout") + "/pids"
    let sleeper = try tool(["/bin/sh", ProcessFixtures.path("group_sleeper.sh"), pidFile], timeoutMs: 60_000)
    // The call's own limit (from the registry) is shorter than the tool's.
    let output = try await sleeper.run([:], context: ToolContext(timeoutMs: 1000))
    #expect(output.isError)
    #expect(output.text.contains("timed out after 1000 ms; its process group was killed"), "\(output.text)")
    let pids = ProcessFixtures.pids(in: try #require(await ProcessFixtures.waitForFile(pidFile)))
    #expect(pids.count == 2)
    #expect(await ProcessFixtures.waitUntilGone(pids), "the script and its background grandchild are gone")
  }

  @Test func cancellationKillsTheWholeProcessGroup() async throws {
    let pidFile = try temporaryDirectory(prefix: "command-cancel") + "/pids"
    let sleeper = try tool(["/bin/sh", ProcessFixtures.path("group_sleeper.sh"), pidFile], timeoutMs: 60_000)
    let call = Task { try await sleeper.run([:], context: ToolContext(timeoutMs: 60_000)) }
    let pids = ProcessFixtures.pids(in: try #require(await ProcessFixtures.waitForFile(pidFile)))
    #expect(pids.count == 2 && !pids.contains(where: ProcessFixtures.isGone))
    call.cancel()
    await #expect(throws: CancellationError.self) { try await call.value }
    #expect(await ProcessFixtures.waitUntilGone(pids))
  }

  @Test func aCallCancelledBeforeItStartsRunsNothing() async throws {
    let marker = try temporaryDirectory(prefix: "command-precancel") + "/ran"
    let touch = try tool(["touch", marker])
    let call = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      return try await touch.run([:], context: ToolContext())
    }
    await #expect(throws: CancellationError.self) { try await call.value }
    #expect(!FileManager.default.fileExists(atPath: marker))
  }
}
