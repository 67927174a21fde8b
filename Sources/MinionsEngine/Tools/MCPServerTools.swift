import MinionsCore

/// How an MCP server is registered (`tools/register {mcpServer: {name, command, env?}}`) and stored.
public struct MCPServerConfig: Sendable, Codable, Equatable {
  /// The prefix of its tools' names (`NAME.TOOL`): 1 to 64 of `A-Z a-z 0-9 _ -`.
  public var name: String
  /// The program and its arguments, run without a shell.
  public var command: [String]
  /// Variables added to the server's minimal environment (`ChildEnvironment`), such as its API key.
  public var env: [String: String]?

  public init(name: String, command: [String], env: [String: String]? = nil) {
    self.name = name
    self.command = command
    self.env = env
  }

  /// Throws `EngineError.invalidField` naming what is wrong.
  public func validate() throws {
    let allowed = name.utf8.allSatisfy { byte in
      (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95
        || byte == 45
    }
    guard (1...64).contains(name.utf8.count), allowed else {
      throw EngineError.invalidField("mcpServer.name", "must be 1 to 64 letters, digits, '_' or '-'")
    }
    guard let program = command.first, !program.isEmpty else {
      throw EngineError.invalidField(
        "mcpServer.command", "needs at least the program to run, as [program, arguments…]")
    }
  }
}

/// The tools of one MCP server: its running client and one `MCPTool` (`SERVER.TOOL`) per tool it lists.
///
/// ```swift
/// let server = try await MCPServerTools.start(config: config, workspace: workspace)
/// registry.add(server.tools)   // each an `MCPTool`
/// …
/// await server.stop()          // the server process is gone when this returns
/// ```
public final class MCPServerTools: Sendable {
  public let config: MCPServerConfig
  public let client: MCPClient
  /// The tools as the server listed them at start (all pages).
  public let tools: [MCPTool]
  /// Entries of the listing that could not be exposed, each with why.
  public let skipped: [String]

  private init(config: MCPServerConfig, client: MCPClient, tools: [MCPTool], skipped: [String]) {
    self.config = config
    self.client = client
    self.tools = tools
    self.skipped = skipped
  }

  /// Starts the server in `workspace` with `environment` (the minimal one by default) plus `config.env`,
  /// performs the handshake and lists its tools. Throws `EngineError.invalidField` for a bad
  /// configuration and `MCPError` when the server cannot be started or listed (it is stopped then).
  /// `onNotification` gets the server's notifications, such as `notifications/tools/list_changed`
  /// (then `listTools()` gives the new list).
  public static func start(
    config: MCPServerConfig, workspace: String?, environment: [String: String] = ChildEnvironment.minimal(),
    options: MCPClient.Options = MCPClient.Options(), logger: Logger = .disabled,
    onNotification: @escaping @Sendable (String, JSONValue?) -> Void = { _, _ in }
  ) async throws -> MCPServerTools {
    try config.validate()
    var childEnvironment = environment
    for (name, value) in config.env ?? [:] { childEnvironment[name] = value }
    let client = MCPClient(
      serverName: config.name, command: config.command, environment: childEnvironment, workingDirectory: workspace,
      options: options, logger: logger, onNotification: onNotification)
    do {
      try await client.start()
      let (tools, skipped) = try await listTools(of: client)
      for reason in skipped { logger.warning(reason) }
      return MCPServerTools(config: config, client: client, tools: tools, skipped: skipped)
    } catch {
      await client.stop()
      throw error
    }
  }

  /// Lists the server's tools again (after `notifications/tools/list_changed`).
  public func listTools() async throws -> [MCPTool] {
    try await Self.listTools(of: client).tools
  }

  /// Stops the server; returns once its process is gone. Calls of its tools fail afterwards.
  public func stop() async {
    await client.stop()
  }

  private static func listTools(of client: MCPClient) async throws -> (tools: [MCPTool], skipped: [String]) {
    var tools: [MCPTool] = []
    var skipped: [String] = []
    var names: Set<String> = []
    for listing in try await client.listTools() {
      switch MCPTool.make(listing: listing, client: client) {
      case .success(let tool):
        if names.insert(tool.remoteName).inserted {
          tools.append(tool)
        } else {
          skipped.append("MCP server `\(client.serverName)` listed tool \(tool.remoteName) twice; the first is used")
        }
      case .failure(let error):
        skipped.append(error.message)
      }
    }
    return (tools, skipped)
  }
}
