import MinionsCore
import MinionsStore
import Synchronization

/// One security event.
public struct AuditEntry: Sendable, Codable {
  public var id: Int64
  public var at: Timestamp
  public var username: String?
  public var action: String
  public var target: String?
  public var outcome: String
  public var details: JSONValue
}

/// The append-only log of security events: logins, logouts, user and key changes, permission denials,
/// settings changes, approved tool executions. Text is stored with control characters escaped (so an
/// entry cannot forge another line in an export), and never holds a password, token or key.
public final class AuditLog: Sendable {
  public enum Outcome: String, Sendable {
    case ok, failed, denied, locked
  }

  public struct Query: Sendable {
    public var since: Timestamp?
    public var until: Timestamp?
    public var username: String?
    public var action: String?
    public var limit: Int
    public var cursor: Int64?

    public init(
      since: Timestamp? = nil, until: Timestamp? = nil, username: String? = nil, action: String? = nil,
      limit: Int = 100, cursor: Int64? = nil
    ) {
      self.since = since
      self.until = until
      self.username = username
      self.action = action
      self.limit = limit
      self.cursor = cursor
    }
  }

  private let database: Database
  private let clock: EngineClock
  /// Where every entry is also counted (`audit.ACTION` metrics and an event), for reports and alerts.
  private let metrics: MetricsStore?

  init(database: Database, clock: EngineClock, metrics: MetricsStore? = nil) {
    self.database = database
    self.clock = clock
    self.metrics = metrics
  }

  private let listeners = Mutex<[@Sendable (String, Outcome) -> Void]>([])

  /// Calls `listener` with the action and outcome of every entry (the alert rules count failed logins).
  public func observe(_ listener: @escaping @Sendable (_ action: String, _ outcome: Outcome) -> Void) {
    listeners.withLock { $0.append(listener) }
  }

  private func observe(_ username: String?, _ action: String, _ target: String?, _ outcome: Outcome) {
    for l in listeners.withLock({ $0 }) { l(action, outcome) }
    guard let metrics else { return }
    metrics.record(
      "audit." + action, 1, tags: ["outcome": outcome.rawValue, "user": String((username ?? "").prefix(64))])
    metrics.record(event: action, username: username, target: target, details: ["outcome": .string(outcome.rawValue)])
  }

  /// Escapes control characters (including DEL and the Unicode line separators) as `\uXXXX`.
  public static func sanitize(_ text: String) -> String {
    var out = ""
    out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
    for s in text.unicodeScalars {
      if s.value < 0x20 || s.value == 0x7F || (0x80...0x9F).contains(s.value) || s.value == 0x2028 || s.value == 0x2029
      {
        let hex = String(s.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
      } else {
        out.unicodeScalars.append(s)
      }
    }
    return out
  }

  static func sanitize(_ value: JSONValue) -> JSONValue {
    switch value {
    case .string(let s): return .string(sanitize(s))
    case .array(let a): return .array(a.map(sanitize))
    case .object(let o):
      var out: [String: JSONValue] = [:]
      for (k, v) in o { out[sanitize(k)] = sanitize(v) }
      return .object(out)
    default: return value
    }
  }

  /// Appends an entry. Written in order on the database thread without making the caller wait.
  public func record(
    username: String?, action: String, target: String? = nil, outcome: Outcome,
    details: [String: JSONValue] = [:]
  ) {
    let values = row(username: username, action: action, target: target, outcome: outcome, details: details)
    database.writeLater { c in try c.execute(Self.insertSQL, values) }
    observe(username, action, target, outcome)
  }

  /// Appends an entry inside the caller's transaction (for changes whose audit row must commit with them).
  func record(
    in connection: Connection, username: String?, action: String, target: String? = nil, outcome: Outcome,
    details: [String: JSONValue] = [:]
  ) throws {
    try connection.execute(
      Self.insertSQL, row(username: username, action: action, target: target, outcome: outcome, details: details))
    observe(username, action, target, outcome)
  }

  private static let insertSQL =
    "INSERT INTO audit(at, username, action, target, outcome, details) VALUES (?, ?, ?, ?, ?, ?)"

  private func row(username: String?, action: String, target: String?, outcome: Outcome, details: [String: JSONValue])
    -> [SQLValue]
  {
    [
      .int(clock.now().millisecondsSinceEpoch), username.map { .text(Self.sanitize($0)) } ?? .null,
      .text(Self.sanitize(action)), target.map { .text(Self.sanitize($0)) } ?? .null, .text(outcome.rawValue),
      .text(JSONWriter.string(Self.sanitize(.object(details)))),
    ]
  }

  /// Entries newest first, filtered; `nextCursor` continues where this page ended (nil at the end).
  public func query(_ q: Query) async throws -> (entries: [AuditEntry], nextCursor: Int64?) {
    var conditions: [String] = []
    var values: [SQLValue] = []
    if let since = q.since { conditions.append("at >= ?"); values.append(.int(since.millisecondsSinceEpoch)) }
    if let until = q.until { conditions.append("at < ?"); values.append(.int(until.millisecondsSinceEpoch)) }
    if let u = q.username { conditions.append("username = ? COLLATE NOCASE"); values.append(.text(Self.sanitize(u))) }
    if let a = q.action {
      if a.hasSuffix(".*") {
        conditions.append("action LIKE ? ESCAPE '\\'")
        values.append(
          .text(
            String(a.dropLast(2)).replacing("%", with: "\\%").replacing("_", with: "\\_")
              + ".%"))
      } else {
        conditions.append("action = ?")
        values.append(.text(a))
      }
    }
    if let c = q.cursor { conditions.append("id < ?"); values.append(.int(c)) }
    let limit = max(1, min(q.limit, 1000))
    let sql =
      "SELECT id, at, username, action, target, outcome, details FROM audit"
      + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
      + " ORDER BY id DESC LIMIT \(limit + 1)"
    let bound = values
    let rows = try await database.read { c in try c.query(sql, bound) }
    let entries = rows.prefix(limit).map { r in
      AuditEntry(
        id: r["id"].int64 ?? 0, at: Timestamp(millisecondsSinceEpoch: r["at"].int64 ?? 0), username: r["username"].text,
        action: r["action"].text ?? "", target: r["target"].text, outcome: r["outcome"].text ?? "",
        details: r["details"].text.flatMap { try? JSONParser.parse($0) } ?? [:])
    }
    let next = rows.count > limit ? entries.last?.id : nil
    return (Array(entries), next)
  }
}
