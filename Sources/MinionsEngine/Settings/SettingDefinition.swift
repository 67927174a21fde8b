import MinionsCore

/// One typed setting: its name, what values it takes, and its default.
public struct SettingDefinition: Sendable {
  public enum Kind: Sendable {
    case integer(ClosedRange<Int>)
    case choice([String])
    case string(maxLength: Int)
    /// A list of strings, each checked by the validator (which returns a reason when it refuses one).
    case stringList(maxCount: Int, validate: @Sendable (String) -> String?)
    case boolean
  }

  public let name: String
  public let kind: Kind
  public let defaultValue: JSONValue
  public let description: String

  /// Checks a value; returns the reason it is refused, or nil.
  public func problem(with value: JSONValue) -> String? {
    switch kind {
    case .integer(let range):
      guard let i = value.intValue, case .int = value else { return "expected integer, got \(value.typeName)" }
      return range.contains(i) ? nil : "must be between \(range.lowerBound) and \(range.upperBound)"
    case .choice(let options):
      guard let s = value.stringValue else { return "expected string, got \(value.typeName)" }
      return options.contains(s) ? nil : "must be one of \(options.joined(separator: ", "))"
    case .string(let maxLength):
      guard let s = value.stringValue else { return "expected string, got \(value.typeName)" }
      if s.utf8.count > maxLength { return "must be at most \(maxLength) bytes" }
      if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
        return "must not contain control characters"
      }
      return nil
    case .stringList(let maxCount, let validate):
      guard let items = value.arrayValue else { return "expected array, got \(value.typeName)" }
      if items.count > maxCount { return "at most \(maxCount) entries" }
      for (i, item) in items.enumerated() {
        guard let s = item.stringValue else { return "[\(i)]: expected string, got \(item.typeName)" }
        if let reason = validate(s) { return "[\(i)] \"\(s)\": \(reason)" }
      }
      return nil
    case .boolean:
      return value.boolValue == nil ? "expected boolean, got \(value.typeName)" : nil
    }
  }
}

/// The settings the engine knows (contract §7, plus a few of its own), with their defaults.
public enum SettingCatalog {
  public static let system: [SettingDefinition] = [
    SettingDefinition(
      name: "tools.http.allowHosts", kind: .stringList(maxCount: 256, validate: validateHostEntry), defaultValue: [],
      description: "hosts (host or host:port) the http_request tool may reach even on loopback or private addresses"),
    SettingDefinition(
      name: "tools.approvalPolicy", kind: .choice(["deny", "allow"]), defaultValue: "deny",
      description: "what happens to a tool call needing approval when the client cannot be asked"),
    SettingDefinition(
      name: "tasks.maxConcurrent", kind: .integer(1...1000), defaultValue: 20,
      description: "tasks running at once"),
    SettingDefinition(
      name: "tasks.keepResultsHours", kind: .integer(1...8760), defaultValue: 24,
      description: "how long finished tasks (and their results) are kept"),
    SettingDefinition(
      name: "cache.maxEntries", kind: .integer(0...10_000_000), defaultValue: 10_000,
      description: "entries the response cache holds (0 turns it off)"),
    SettingDefinition(
      name: "cache.ttlSeconds", kind: .integer(1...31_536_000), defaultValue: 3600,
      description: "how long a cached entry lives"),
    SettingDefinition(
      name: "security.lockout.maxFailures", kind: .integer(1...100), defaultValue: 5,
      description: "failed logins in a row that lock an account"),
    SettingDefinition(
      name: "security.lockout.minutes", kind: .integer(1...1440), defaultValue: 15,
      description: "first lock time; it doubles on each repeat, up to 24 hours"),
    SettingDefinition(
      name: "security.tokenTTLMinutes", kind: .integer(1...43_200), defaultValue: 60,
      description: "lifetime of login tokens"),
    SettingDefinition(
      name: "security.passwordHashCost", kind: .integer(10...15), defaultValue: 12,
      description: "bcrypt cost for new password hashes; lower-cost hashes are upgraded at login"),
    SettingDefinition(
      name: "metrics.retentionDays", kind: .integer(1...3650), defaultValue: 90,
      description: "how long metrics and events are kept"),
    SettingDefinition(
      name: "http.prometheus", kind: .boolean, defaultValue: false,
      description: "serve GET /metrics in the Prometheus text format in HTTP mode"),
  ]

  public static let user: [SettingDefinition] = [
    SettingDefinition(
      name: "theme", kind: .choice(["system", "light", "dark", "high-contrast"]), defaultValue: "system",
      description: "the dashboard theme"),
    SettingDefinition(
      name: "defaultAgent", kind: .string(maxLength: 64), defaultValue: "assistant",
      description: "the agent a chat uses when it names none"),
    SettingDefinition(
      name: "defaultModel", kind: .string(maxLength: 128), defaultValue: "",
      description: "the model a chat uses when it names none (empty: let the engine select)"),
  ]

  /// `host` or `host:port`, a DNS name or an IP literal (IPv6 in brackets with a port).
  static func validateHostEntry(_ entry: String) -> String? {
    if entry.isEmpty || entry.utf8.count > 261 { return "must be a host or host:port" }
    if entry.unicodeScalars.contains(where: {
      $0.value <= 0x20 || $0.value == 0x7F || "/@?#".unicodeScalars.contains($0)
    }) {
      return "must be a host or host:port, without scheme, path or credentials"
    }
    var host = Substring(entry)
    if entry.hasPrefix("[") {
      guard let close = entry.firstIndex(of: "]") else { return "unclosed IPv6 bracket" }
      let rest = entry[entry.index(after: close)...]
      if !rest.isEmpty {
        guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else {
          return "bad port"
        }
      }
      return nil
    }
    if let colon = entry.lastIndex(of: ":") {
      host = entry[..<colon]
      guard let port = Int(entry[entry.index(after: colon)...]), (1...65535).contains(port) else { return "bad port" }
      if host.contains(":") { return "IPv6 addresses need brackets" }
    }
    return host.isEmpty ? "empty host" : nil
  }
}
