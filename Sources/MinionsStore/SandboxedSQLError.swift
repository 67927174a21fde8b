/// Why SQL on a `SandboxedConnection` did not run, with a message meant for whoever wrote the SQL.
public struct SandboxedSQLError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The database could not be opened (missing, not a database, unreadable).
    case open
    /// The authorizer refused an action (a write in a query, ATTACH, a pragma, load_extension).
    case denied
    /// More than one statement, or none.
    case statementCount
    /// The parameters do not fit the statement.
    case parameters
    /// The time limit passed; the statement was interrupted.
    case timeLimit
    /// The work was cancelled; the statement was interrupted.
    case cancelled
    /// SQLite refused or failed the statement (syntax, constraint, busy, …).
    case sqlite
  }

  public var kind: Kind
  /// What went wrong, for whoever wrote the SQL.
  public var message: String
  /// SQLite's extended result code, when SQLite reported the failure.
  public var code: Int32?

  public init(_ kind: Kind, _ message: String, code: Int32? = nil) {
    self.kind = kind
    self.message = message
    self.code = code
  }

  public var description: String { message }
}
