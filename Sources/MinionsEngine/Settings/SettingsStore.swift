import MinionsCore
import MinionsStore
import Synchronization

/// System settings and per-user preferences: typed, validated, persisted, and read from memory on hot
/// paths. Every change is written in one transaction and audited by the caller.
public final class SettingsStore: Sendable {
  public enum Scope: String, Sendable, Codable, CaseIterable, JSONSchemaEnum {
    case system, user
  }

  private struct Cache {
    var system: [String: JSONValue] = [:]
    var user: [Int64: [String: JSONValue]] = [:]
  }

  private let database: Database
  private let cache = Mutex(Cache())
  private let observers = Mutex<[@Sendable (String, JSONValue) -> Void]>([])
  private let systemDefinitions: [String: SettingDefinition]
  private let userDefinitions: [String: SettingDefinition]

  init(database: Database) throws {
    self.database = database
    systemDefinitions = Dictionary(uniqueKeysWithValues: SettingCatalog.system.map { ($0.name, $0) })
    userDefinitions = Dictionary(uniqueKeysWithValues: SettingCatalog.user.map { ($0.name, $0) })
    let rows = try database.sync { c in try c.query("SELECT scope, user_id, key, value FROM settings") }
    var loaded = Cache()
    for row in rows {
      guard let key = row["key"].text, let text = row["value"].text, let value = try? JSONParser.parse(text) else {
        continue
      }
      if row["scope"].text == "system" {
        // A stored value no longer valid (e.g. after a range change) falls back to the default.
        if let d = systemDefinitions[key], d.problem(with: value) == nil { loaded.system[key] = value }
      } else if let uid = row["user_id"].int64, let d = userDefinitions[key], d.problem(with: value) == nil {
        loaded.user[uid, default: [:]][key] = value
      }
    }
    cache.withLock { $0 = loaded }
  }

  /// The effective value of a system setting (stored, else default).
  public func system(_ name: String) -> JSONValue {
    if let v = cache.withLock({ $0.system[name] }) { return v }
    return systemDefinitions[name]?.defaultValue ?? .null
  }

  public func int(_ name: String) -> Int {
    system(name).intValue ?? systemDefinitions[name]?.defaultValue.intValue ?? 0
  }
  public func string(_ name: String) -> String { system(name).stringValue ?? "" }
  public func strings(_ name: String) -> [String] { system(name).arrayValue?.compactMap(\.stringValue) ?? [] }

  /// Every system setting with its effective value.
  public var systemValues: [String: JSONValue] {
    let stored = cache.withLock { $0.system }
    var all: [String: JSONValue] = [:]
    for d in SettingCatalog.system { all[d.name] = stored[d.name] ?? d.defaultValue }
    return all
  }

  /// Every preference of a user with its effective value.
  public func userValues(userID: Int64) -> [String: JSONValue] {
    let stored = cache.withLock { $0.user[userID] ?? [:] }
    var all: [String: JSONValue] = [:]
    for d in SettingCatalog.user { all[d.name] = stored[d.name] ?? d.defaultValue }
    return all
  }

  /// Calls `observer` after each system setting change (name, new value).
  public func observe(_ observer: @escaping @Sendable (String, JSONValue) -> Void) {
    observers.withLock { $0.append(observer) }
  }

  /// Validates every value first (nothing is written if one is wrong), then stores them together.
  /// Returns the changed settings with their previous values, for the audit log.
  public func update(scope: Scope, userID: Int64, values: [String: JSONValue], now: Timestamp) async throws
    -> [(name: String, old: JSONValue, new: JSONValue)]
  {
    let definitions = scope == .system ? systemDefinitions : userDefinitions
    guard !values.isEmpty else { throw EngineError.invalidField("values", "give at least one setting") }
    for name in values.keys.sorted() {
      guard let d = definitions[name] else {
        let known = (scope == .system ? SettingCatalog.system : SettingCatalog.user).map(\.name).joined(separator: ", ")
        throw EngineError.invalidField("values.\(name)", "unknown \(scope.rawValue) setting (known: \(known))")
      }
      if let reason = d.problem(with: values[name]!) { throw EngineError.invalidField("values.\(name)", reason) }
    }
    let owner = scope == .system ? 0 : userID
    let before = scope == .system ? systemValues : userValues(userID: userID)
    let encoded = values.map { ($0.key, JSONWriter.string($0.value)) }
    try await database.write { c in
      for (key, text) in encoded {
        try c.execute(
          "INSERT INTO settings(scope, user_id, key, value, updated_at) VALUES (?, ?, ?, ?, ?) "
            + "ON CONFLICT(scope, user_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
          [.text(scope.rawValue), .int(owner), .text(key), .text(text), .int(now.millisecondsSinceEpoch)])
      }
    }
    cache.withLock { c in
      for (k, v) in values {
        if scope == .system { c.system[k] = v } else { c.user[userID, default: [:]][k] = v }
      }
    }
    if scope == .system {
      let callbacks = observers.withLock { $0 }
      for (k, v) in values { for o in callbacks { o(k, v) } }
    }
    return values.keys.sorted().map { (name: $0, old: before[$0] ?? .null, new: values[$0]!) }
  }

  /// Forgets a deleted user's preferences.
  func forgetUser(_ userID: Int64) {
    cache.withLock { _ = $0.user.removeValue(forKey: userID) }
  }
}
