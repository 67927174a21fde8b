/// A store failure, carrying SQLite's result code.
public struct StoreError: Error, Sendable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case open
    case prepare
    case step
    case bind
    /// A UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint failed (SQLITE_CONSTRAINT).
    case constraint
    /// The database is busy or locked past the busy timeout.
    case busy
    case migration
    case configuration
    case interrupted
  }

  public var kind: Kind
  /// SQLite's (extended) result code.
  public var code: Int32
  public var message: String
  /// The statement, when there is one (never with bound values: they may be secrets).
  public var sql: String?

  public init(kind: Kind, code: Int32, message: String, sql: String? = nil) {
    self.kind = kind
    self.code = code
    self.message = message
    self.sql = sql
  }

  public var description: String {
    var s = "SQLite error \(code) (\(kind)): \(message)"
    if let sql { s += " in \(sql.prefix(200))" }
    return s
  }

  public var isUniqueViolation: Bool { kind == .constraint && (code == 2067 || code == 1555) }
}
