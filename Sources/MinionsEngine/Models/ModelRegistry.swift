import MinionsCore
import MinionsStore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The models the engine can use: the built-in offline model, the cloud table (when its key is in the
/// environment), models registered with `models/register`, and models discovered from Ollama.
/// Registered and discovered models persist in the data directory; API keys are read from the
/// environment by name and never stored.
public final class ModelRegistry: Sendable {
  private let database: Database
  private let environment: [String: String]
  private let clock: EngineClock
  private let models = Mutex<Table>(Table())
  /// True when OPENAI_BASE_URL points OpenAI models at a compatible server (which may need no key).
  private let openAIBaseURLSet: Bool

  /// The models by name, and the same sorted by name (rebuilt on change, so that selection, which
  /// runs far more often than registration, never sorts).
  struct Table {
    private(set) var byName: [String: ModelConfig] = [:]
    private(set) var sorted: [ModelConfig] = []
    /// `sorted`'s selection profiles, position for position.
    private(set) var profiles: [SelectionProfile] = []

    init(_ byName: [String: ModelConfig] = [:]) {
      self.byName = byName
      reindex()
    }

    private mutating func reindex() {
      sorted = byName.values.sorted { $0.name < $1.name }
      profiles = sorted.map(SelectionProfile.init)
    }

    subscript(name: String) -> ModelConfig? {
      get { byName[name] }
      set {
        byName[name] = newValue
        reindex()
      }
    }

    @discardableResult
    mutating func removeValue(forKey name: String) -> ModelConfig? {
      guard let old = byName.removeValue(forKey: name) else { return nil }
      reindex()
      return old
    }
  }
  /// When Ollama last answered a refresh (nil: never), and the last refresh failure.
  private let ollamaStatus = Mutex<(reachable: Bool?, error: String?)>((nil, nil))

  init(database: Database, environment: [String: String], clock: EngineClock) throws {
    self.database = database
    self.environment = environment
    self.clock = clock
    openAIBaseURLSet = !(environment["OPENAI_BASE_URL"] ?? "").isEmpty
    var all: [String: ModelConfig] = [:]
    for m in BuiltinModels.cloud where Self.keyPresent(m, environment) { all[m.name] = m }
    let rows = try database.sync { c in try c.query("SELECT config FROM models") }
    for row in rows {
      guard let text = row[0].text, let json = try? JSONParser.parse(text),
        let config = try? JSONValueDecoder().decode(ModelConfig.self, from: json)
      else { continue }
      all[config.name] = config
    }
    all[BuiltinModels.local.name] = BuiltinModels.local
    models.withLock { $0 = Table(all) }
  }

  static func keyPresent(_ m: ModelConfig, _ env: [String: String]) -> Bool {
    guard let name = m.apiKeyEnv ?? BuiltinModels.defaultKeyEnv(m.provider) else { return true }
    return !(env[name] ?? "").isEmpty
  }

  /// Every model, by name.
  public var all: [ModelConfig] { models.withLock { $0.sorted } }

  /// Every model by name with its selection profile, from one moment.
  func selectionView() -> (models: [ModelConfig], profiles: [SelectionProfile]) {
    models.withLock { ($0.sorted, $0.profiles) }
  }

  public func get(_ name: String) -> ModelConfig? { models.withLock { $0[name] } }

  /// Why a model cannot be used now, or nil when it can (cooldowns are the router's to add).
  public func unavailableReason(_ m: ModelConfig) -> String? {
    switch m.provider {
    case .local: return nil
    case .script:
      guard let path = m.script, access(path, R_OK) == 0 else { return "its script file cannot be read" }
      return nil
    case .openai:
      if m.baseURL != nil || openAIBaseURLSet { return nil }  // compatible servers may need no key
      return Self.keyPresent(m, environment) ? nil : "no API key: set \(m.apiKeyEnv ?? "OPENAI_API_KEY")"
    case .anthropic:
      return Self.keyPresent(m, environment) ? nil : "no API key: set \(m.apiKeyEnv ?? "ANTHROPIC_API_KEY")"
    case .ollama:
      if m.source == .discovered, ollamaStatus.withLock({ $0.reachable }) == false {
        return "Ollama did not answer the last refresh"
      }
      return nil
    }
  }

  // MARK: Changes

  public func validate(_ m: ModelConfig) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/@+-")
    guard !m.name.isEmpty, m.name.count <= 128, m.name.allSatisfy({ allowed.contains($0) }) else {
      throw EngineError.invalidField("name", "must be 1 to 128 characters of letters, digits and . _ : / @ + -")
    }
    guard !m.capabilities.isEmpty else {
      throw EngineError.invalidField("capabilities", "name at least one capability")
    }
    if let url = m.baseURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) || url.contains(" ") {
      throw EngineError.invalidField("baseURL", "must be an http:// or https:// URL")
    }
    if let env = m.apiKeyEnv {
      let first = env.first
      guard let first, first == "_" || (first.isASCII && first.isLetter),
        env.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }), env.count <= 128
      else {
        throw EngineError.invalidField("apiKeyEnv", "must be the name of an environment variable, e.g. MY_API_KEY")
      }
    }
    guard (1...100_000_000).contains(m.contextLength) else {
      throw EngineError.invalidField("contextLength", "must be between 1 and 100000000")
    }
    guard m.costPer1kInput >= 0, m.costPer1kInput.isFinite else {
      throw EngineError.invalidField("costPer1kInput", "must be ≥ 0")
    }
    guard m.costPer1kOutput >= 0, m.costPer1kOutput.isFinite else {
      throw EngineError.invalidField("costPer1kOutput", "must be ≥ 0")
    }
    for (i, f) in m.fallbacks.enumerated() {
      if f == m.name { throw EngineError.invalidField("fallbacks[\(i)]", "a model cannot fall back to itself") }
      if f.isEmpty || f.count > 128 { throw EngineError.invalidField("fallbacks[\(i)]", "is not a model name") }
    }
    if m.provider == .script {
      guard let path = m.script, !path.isEmpty else {
        throw EngineError.invalidField("script", "provider script needs a script file")
      }
      _ = try ModelScript.load(path: path)
    } else if m.script != nil {
      throw EngineError.invalidField("script", "only provider script takes a script file")
    }
  }

  /// Adds a model, or replaces a registered or discovered one of the same name. Returns whether it
  /// replaced one.
  @discardableResult
  public func register(_ config: ModelConfig) async throws -> Bool {
    var m = config
    m.source = config.source == .discovered ? .discovered : .registered
    if m.name == BuiltinModels.local.name { throw EngineError.alreadyExists(kind: "model", id: m.name) }
    try validate(m)
    let text = JSONWriter.string(try JSONValueEncoder().encode(m))
    let now = clock.now().millisecondsSinceEpoch
    let name = m.name
    let provider = m.provider.rawValue
    let source = m.source.rawValue
    try await database.write { c in
      try c.execute(
        "INSERT INTO models(name, provider, config, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
          + "ON CONFLICT(name) DO UPDATE SET provider = excluded.provider, config = excluded.config, "
          + "source = excluded.source, updated_at = excluded.updated_at",
        [.text(name), .text(provider), .text(text), .text(source), .int(now), .int(now)])
    }
    return models.withLock { all in
      let replaced = all[m.name] != nil
      all[m.name] = m
      return replaced
    }
  }

  public func remove(_ name: String) async throws {
    if name == BuiltinModels.local.name {
      throw EngineError.invalidField("name", "the built-in local model cannot be removed")
    }
    guard get(name) != nil else { throw EngineError.notFound(kind: "model", id: name) }
    try await database.write { c in try c.execute("DELETE FROM models WHERE name = ?", [.text(name)]) }
    models.withLock { _ = $0.removeValue(forKey: name) }
  }

  public struct RefreshReport: Sendable {
    public var added: [String]
    public var updated: [String]
    public var removed: [String]
    public var errors: [String]
  }

  /// Asks Ollama for its models (replacing the discovered set) and adds the cloud models whose keys
  /// are present.
  public func refresh(discover: @Sendable () async throws -> [ModelConfig]) async -> RefreshReport {
    var report = RefreshReport(added: [], updated: [], removed: [], errors: [])
    do {
      let found = try await discover()
      ollamaStatus.withLock { $0 = (true, nil) }
      let before = models.withLock { $0.sorted.filter { $0.source == .discovered }.map(\.name) }
      for m in found {
        let existing = get(m.name)
        if existing?.source == .registered { continue }  // an explicit registration wins
        do {
          try await register(m)
          if existing == nil { report.added.append(m.name) } else if existing != m { report.updated.append(m.name) }
        } catch {
          report.errors.append("\(m.name): \(error)")
        }
      }
      for gone in before where !found.contains(where: { $0.name == gone }) {
        try? await database.write { c in
          try c.execute("DELETE FROM models WHERE name = ? AND source = 'discovered'", [.text(gone)])
        }
        models.withLock { _ = $0.removeValue(forKey: gone) }
        report.removed.append(gone)
      }
    } catch {
      ollamaStatus.withLock { $0 = (false, "\(error)") }
      report.errors.append("ollama: \(error)")
    }
    for m in BuiltinModels.cloud where Self.keyPresent(m, environment) && get(m.name) == nil {
      models.withLock { $0[m.name] = m }
      report.added.append(m.name)
    }
    return report
  }
}
