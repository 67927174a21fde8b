import MinionsCore
import MinionsStore
import Synchronization

/// The custom tools registered with `tools/register`: command tools and MCP servers (each of whose tools
/// is `SERVER.TOOL`). Persisted in the data directory; MCP servers are started again when the engine
/// starts (`startPersisted()`), and stopped when it closes.
public final class CustomTools: Sendable {
  private let database: Database
  private let registry: ToolRegistry
  private let workspace: String
  private let environment: [String: String]
  private let clock: EngineClock
  private let logger: Logger
  private let mcpOptions: MCPClient.Options
  private let servers = Mutex<[String: MCPServerTools]>([:])
  private let commands = Mutex<Set<String>>([])

  init(
    database: Database, registry: ToolRegistry, workspace: String, environment: [String: String],
    clock: EngineClock, logger: Logger, mcpOptions: MCPClient.Options
  ) {
    self.database = database
    self.registry = registry
    self.workspace = workspace
    self.environment = ChildEnvironment.minimal(from: environment)
    self.clock = clock
    self.logger = logger
    self.mcpOptions = mcpOptions
  }

  static let namePattern = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")

  /// Loads the stored tools: command tools at once, MCP servers started one by one (a server that no
  /// longer starts is logged and skipped; it stays stored, so a later start may succeed).
  public func startPersisted() async {
    let rows: [(String, String, String)]
    do {
      rows = try await database.read { c in
        try c.query("SELECT name, kind, config FROM tools ORDER BY created_at, name").map {
          ($0[0].text ?? "", $0[1].text ?? "", $0[2].text ?? "")
        }
      }
    } catch {
      logger.error("cannot read the custom tools: \(error)")
      return
    }
    for (name, kind, text) in rows {
      do {
        let json = try JSONParser.parse(text)
        switch kind {
        case "command":
          let config = try JSONValueDecoder().decode(CommandToolConfig.self, from: json)
          try registry.add([try CommandTool(config: config, workspace: workspace, environment: environment)])
          commands.withLock { _ = $0.insert(config.name) }
        case "mcp":
          let config = try JSONValueDecoder().decode(MCPServerConfig.self, from: json)
          let server = try await MCPServerTools.start(
            config: config, workspace: workspace, environment: environment, options: mcpOptions,
            logger: logger.with(label: "mcp.\(config.name)"))
          try registry.add(server.tools)
          servers.withLock { $0[config.name] = server }
        default:
          logger.warning("custom tool \(name) has an unknown kind \(kind); skipped")
        }
      } catch {
        logger.warning("custom tool \(name) could not be loaded: \(error)")
      }
    }
  }

  private func taken(_ name: String) -> Bool {
    registry.tool(named: name) != nil || servers.withLock { $0[name] != nil }
      || registry.list().contains { $0.definition.name.hasPrefix(name + ".") }
  }

  /// Adds a command tool; returns its definition.
  public func register(_ config: CommandToolConfig, by username: String?) async throws -> [ToolDefinition] {
    guard (1...64).contains(config.name.count), config.name.allSatisfy({ Self.namePattern.contains($0) }),
      config.name.first?.isLetter == true
    else {
      throw EngineError.invalidField("name", "must be 1 to 64 letters, digits, _, - or ., starting with a letter")
    }
    if registry.isBuiltin(config.name) || taken(config.name) {
      throw EngineError.alreadyExists(kind: "tool", id: config.name)
    }
    let tool = try CommandTool(config: config, workspace: workspace, environment: environment)
    try await store(name: config.name, kind: "command", config: try JSONValueEncoder().encode(config), by: username)
    try registry.add([tool])
    commands.withLock { _ = $0.insert(config.name) }
    return [tool.definition]
  }

  /// Starts an MCP server and adds its tools; returns their definitions. The server must start and list
  /// its tools now (else -32602 naming `mcpServer.command`, with the server's own words).
  public func register(_ config: MCPServerConfig, by username: String?) async throws -> [ToolDefinition] {
    try config.validate()
    if registry.isBuiltin(config.name) || taken(config.name) {
      throw EngineError.alreadyExists(kind: "tool", id: config.name)
    }
    let server: MCPServerTools
    do {
      server = try await MCPServerTools.start(
        config: config, workspace: workspace, environment: environment, options: mcpOptions,
        logger: logger.with(label: "mcp.\(config.name)"))
    } catch let error as MCPError {
      throw EngineError.invalidField("mcpServer.command", "the MCP server did not start: \(error.message)")
    }
    do {
      try await store(name: config.name, kind: "mcp", config: try JSONValueEncoder().encode(config), by: username)
      try registry.add(server.tools)
    } catch {
      await server.stop()
      throw error
    }
    servers.withLock { $0[config.name] = server }
    return server.tools.map(\.definition)
  }

  private func store(name: String, kind: String, config: JSONValue, by username: String?) async throws {
    let text = JSONWriter.string(config)
    let now = clock.now().millisecondsSinceEpoch
    try await database.write { c in
      try c.execute(
        "INSERT INTO tools(name, kind, config, created_by, created_at) VALUES (?, ?, ?, ?, ?)",
        [.text(name), .text(kind), .text(text), username.map(SQLValue.text) ?? .null, .int(now)])
    }
  }

  /// Removes a command tool, or an MCP server with all its tools; returns the tool names removed.
  public func unregister(_ name: String) async throws -> [String] {
    if registry.isBuiltin(name) {
      throw EngineError.invalidField("name", "'\(name)' is a built-in tool and cannot be removed")
    }
    if commands.withLock({ $0.contains(name) }) {
      try await database.write { c in try c.execute("DELETE FROM tools WHERE name = ?", [.text(name)]) }
      registry.remove([name])
      commands.withLock { _ = $0.remove(name) }
      return [name]
    }
    if let server = servers.withLock({ $0.removeValue(forKey: name) }) {
      let names = registry.list().map(\.definition.name).filter { $0.hasPrefix(name + ".") }
      registry.remove(names)
      try await database.write { c in try c.execute("DELETE FROM tools WHERE name = ?", [.text(name)]) }
      await server.stop()
      return names
    }
    if let dot = name.firstIndex(of: "."), servers.withLock({ $0[String(name[..<dot])] != nil }) {
      throw EngineError.invalidField(
        "name", "'\(name)' belongs to the MCP server '\(name[..<dot])': unregister the server to remove its tools")
    }
    // A stored server that failed to start at load time can still be removed.
    let removed = try await database.write { c in
      try c.execute("DELETE FROM tools WHERE name = ?", [.text(name)])
      return c.changes
    }
    if removed > 0 { return [] }
    throw EngineError.notFound(kind: "tool", id: name)
  }

  /// Stops every MCP server.
  public func stopAll() async {
    let all = servers.withLock { s -> [MCPServerTools] in
      defer { s.removeAll() }
      return Array(s.values)
    }
    for server in all { await server.stop() }
  }
}
