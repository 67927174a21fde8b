import MinionsCore
import MinionsStore
import Synchronization

/// The built-in agents and the custom ones made with `agents/create` (persisted).
public final class AgentCatalog: Sendable {
  private let database: Database
  private let clock: EngineClock
  private let custom = Mutex<[String: AgentDefinition]>([:])
  private let builtins: [String: AgentDefinition]

  init(database: Database, clock: EngineClock) throws {
    self.database = database
    self.clock = clock
    builtins = Dictionary(uniqueKeysWithValues: AgentDefinition.builtins.map { ($0.name, $0) })
    let rows = try database.sync { c in try c.query("SELECT config FROM agents") }
    var loaded: [String: AgentDefinition] = [:]
    for row in rows {
      guard let text = row[0].text, let json = try? JSONParser.parse(text),
        var agent = try? JSONValueDecoder().decode(AgentDefinition.self, from: json)
      else { continue }
      agent.builtin = false
      loaded[agent.name.lowercased()] = agent
    }
    custom.withLock { $0 = loaded }
  }

  /// Every agent: built-ins in their fixed order, then custom agents by name.
  public var all: [AgentDefinition] {
    AgentDefinition.builtins + custom.withLock { $0.values.sorted { $0.name < $1.name } }
  }

  /// The agent named `name` (case-insensitively), or nil.
  public func get(_ name: String) -> AgentDefinition? {
    builtins[name.lowercased()] ?? custom.withLock { $0[name.lowercased()] }
  }

  /// Checks a custom agent: its name, prompt, and that its tools and delegates exist.
  public func validate(_ agent: AgentDefinition, toolExists: (String) -> Bool) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")
    guard (1...64).contains(agent.name.count), agent.name.allSatisfy({ allowed.contains($0) }),
      agent.name.first?.isLetter == true
    else {
      throw EngineError.invalidField("name", "must be 1 to 64 letters, digits, _ or -, starting with a letter")
    }
    guard agent.description.count <= 1000 else {
      throw EngineError.invalidField("description", "must be at most 1000 characters")
    }
    guard !agent.systemPrompt.trimmed().isEmpty, agent.systemPrompt.utf8.count <= 64 << 10 else {
      throw EngineError.invalidField("systemPrompt", "must be between 1 character and 64 KiB")
    }
    for (i, tool) in agent.tools.enumerated() where tool == "delegate" || !toolExists(tool) {
      throw EngineError.invalidField(
        "tools[\(i)]",
        tool == "delegate"
          ? "delegate is added by itself when canDelegateTo names agents" : "unknown tool '\(tool)' (see tools/list)")
    }
    for (i, other) in agent.canDelegateTo.enumerated() {
      if other.lowercased() == agent.name.lowercased() {
        throw EngineError.invalidField("canDelegateTo[\(i)]", "an agent cannot delegate to itself")
      }
      if get(other) == nil { throw EngineError.invalidField("canDelegateTo[\(i)]", "unknown agent '\(other)'") }
    }
    if let t = agent.temperature, !(0...2).contains(t) {
      throw EngineError.invalidField("temperature", "must be between 0 and 2")
    }
  }

  /// Adds a custom agent (or replaces one when `replace` is set).
  public func save(_ agent: AgentDefinition, by username: String?, replace: Bool) async throws {
    var a = agent
    a.builtin = false
    if builtins[a.name.lowercased()] != nil {
      throw replace
        ? EngineError.invalidField("name", "'\(a.name)' is a built-in agent and cannot be changed")
        : EngineError.alreadyExists(kind: "agent", id: a.name)
    }
    let exists = custom.withLock { $0[a.name.lowercased()] != nil }
    if replace && !exists { throw EngineError.notFound(kind: "agent", id: a.name) }
    if !replace && exists { throw EngineError.alreadyExists(kind: "agent", id: a.name) }
    let text = JSONWriter.string(try JSONValueEncoder().encode(a))
    let now = clock.now().millisecondsSinceEpoch
    let name = a.name
    try await database.write { c in
      try c.execute(
        "INSERT INTO agents(name, config, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
          + "ON CONFLICT(name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at",
        [.text(name), .text(text), username.map(SQLValue.text) ?? .null, .int(now), .int(now)])
    }
    custom.withLock { $0[name.lowercased()] = a }
  }

  public func delete(_ name: String) async throws {
    if builtins[name.lowercased()] != nil {
      throw EngineError.invalidField("name", "'\(name)' is a built-in agent and cannot be deleted")
    }
    guard custom.withLock({ $0[name.lowercased()] }) != nil else { throw EngineError.notFound(kind: "agent", id: name) }
    try await database.write { c in try c.execute("DELETE FROM agents WHERE name = ?", [.text(name)]) }
    custom.withLock { _ = $0.removeValue(forKey: name.lowercased()) }
  }
}
