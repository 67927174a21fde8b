import CSQLite
import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// A short-lived SQLite connection for SQL written by someone else (a model, a user) on a database file
/// that is not the engine's own: one statement at a time, under an authorizer, a time limit and limits
/// on what a value or a statement may weigh.
///
/// Whatever the access, it never attaches another file (the authorizer denies ATTACH and
/// `SQLITE_LIMIT_ATTACHED` is 0, which also stops `VACUUM INTO`), never loads an extension, never runs a
/// pragma that changes how the connection works, and runs in SQLite's defensive mode with an untrusted
/// schema. Read-only access opens the file `SQLITE_OPEN_READONLY`, sets `query_only`, and its authorizer
/// allows nothing but reading.
///
/// - Important: used on one thread (the one that made it); only its `QueryInterruption` may be touched
///   from others.
public final class SandboxedConnection {
  /// How the file is opened.
  public enum Access: Sendable, Equatable {
    /// Reading only.
    case readOnly
    /// Reading and writing; creating the file only when `createIfMissing`.
    case readWrite(createIfMissing: Bool)
  }

  /// Bounds on what one statement may weigh.
  public struct Limits: Sendable, Equatable {
    /// The largest string or blob a statement may make (`SQLITE_LIMIT_LENGTH`), so `zeroblob(1e9)` fails.
    public var maxValueBytes: Int
    /// The longest statement text (`SQLITE_LIMIT_SQL_LENGTH`).
    public var maxSQLBytes: Int

    public init(maxValueBytes: Int = 16 << 20, maxSQLBytes: Int = 1 << 20) {
      self.maxValueBytes = maxValueBytes
      self.maxSQLBytes = maxSQLBytes
    }
  }

  /// The database file.
  public let path: String
  /// How it was opened.
  public let access: Access
  private let handle: OpaquePointer
  private let sentry: Sentry
  private var isOpen = true

  /// Opens `path` (`SQLITE_OPEN_NOFOLLOW`: a symbolic link is refused) and installs the guards.
  public init(path: String, access: Access, interruption: QueryInterruption, limits: Limits = Limits())
    throws(SandboxedSQLError)
  {
    var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW
    switch access {
    case .readOnly: flags |= SQLITE_OPEN_READONLY
    case .readWrite(let create): flags |= SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0)
    }
    var db: OpaquePointer?
    let rc = sqlite3_open_v2(path, &db, flags, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      sqlite3_close_v2(db)
      throw SandboxedSQLError(.open, "cannot open the database: \(message)", code: rc)
    }
    self.path = path
    self.access = access
    self.handle = db
    self.sentry = Sentry(policy: SQLAuthorizationPolicy(allowsWrites: access != .readOnly), interruption: interruption)
    try configure(limits: limits)  // on failure, deinit closes the handle
    interruption.register(db)
  }

  deinit { close() }

  /// Closes the connection (also done when it is released).
  public func close() {
    guard isOpen else { return }
    isOpen = false
    sentry.interruption.unregister()
    sqlite3_close_v2(handle)
  }

  private func configure(limits: Limits) throws(SandboxedSQLError) {
    let options: [(Int32, Int32, String)] = [
      (SQLITE_DBCONFIG_DEFENSIVE, 1, "defensive mode"),
      (SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, "untrusted schema"),
      (SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, "no extension loading"),
      (SQLITE_DBCONFIG_ENABLE_FTS3_TOKENIZER, 0, "no FTS3 tokenizer pointers"),
    ]
    for (option, value, what) in options {
      var now: Int32 = -1
      guard csqlite_db_config_int(handle, option, value, &now) == SQLITE_OK, now == value else {
        throw SandboxedSQLError(.open, "cannot configure the connection (\(what))")
      }
    }
    sqlite3_limit(handle, SQLITE_LIMIT_ATTACHED, 0)
    sqlite3_limit(handle, SQLITE_LIMIT_LENGTH, Int32(clamping: limits.maxValueBytes))
    sqlite3_limit(handle, SQLITE_LIMIT_SQL_LENGTH, Int32(clamping: limits.maxSQLBytes))
    if access == .readOnly {
      // Before the authorizer, which would deny this pragma.
      let rc = sqlite3_exec(handle, "PRAGMA query_only = 1", nil, nil, nil)
      guard rc == SQLITE_OK else {
        throw SandboxedSQLError(.open, "cannot open the database read-only: \(errorMessage)", code: rc)
      }
    }
    let context = Unmanaged.passUnretained(sentry).toOpaque()
    sqlite3_busy_handler(
      handle,
      { context, _ in
        let sentry = Unmanaged<Sentry>.fromOpaque(context!).takeUnretainedValue()
        if sentry.interruption.shouldStop { return 0 }
        usleep(5_000)
        return 1
      }, context)
    sqlite3_progress_handler(
      handle, 1000,
      { context in
        Unmanaged<Sentry>.fromOpaque(context!).takeUnretainedValue().interruption.shouldStop ? 1 : 0
      }, context)
    let rc = sqlite3_set_authorizer(
      handle,
      { context, action, first, second, _, _ in
        let sentry = Unmanaged<Sentry>.fromOpaque(context!).takeUnretainedValue()
        return sentry.authorize(action, first.map { String(cString: $0) }, second.map { String(cString: $0) })
      }, context)
    guard rc == SQLITE_OK else { throw SandboxedSQLError(.open, "cannot install the authorizer", code: rc) }
  }

  private var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

  /// The error for a failed prepare or step, told apart: refused by the authorizer, interrupted, or SQLite's.
  private func failure(_ rc: Int32) -> SandboxedSQLError {
    let interruption = sentry.interruption
    // A denial is told by the reason recorded (SQLite reports some, such as CREATE TABLE, as SQLITE_ERROR).
    if let denial = sentry.lastDenial { return SandboxedSQLError(.denied, "refused: \(denial)", code: rc) }
    switch rc & 0xFF {
    case SQLITE_AUTH:
      return SandboxedSQLError(.denied, "refused: \(errorMessage)", code: rc)
    case SQLITE_INTERRUPT where interruption.isCancelled:
      return SandboxedSQLError(.cancelled, "cancelled", code: rc)
    case SQLITE_INTERRUPT:
      return SandboxedSQLError(
        .timeLimit, "the statement ran longer than \(interruption.timeLimitMs) ms and was stopped", code: rc)
    default:
      return SandboxedSQLError(.sqlite, errorMessage, code: rc)
    }
  }

  /// Runs exactly one statement with `parameters` bound positionally (`?`, `?1`, `:name` by their
  /// order), collecting at most `maxRows` rows and about `maxBytes` of values; `truncated` says whether
  /// there were more. A statement that writes runs to its end even past the limits.
  public func run(_ sql: String, parameters: [SQLValue] = [], maxRows: Int, maxBytes: Int = 4 << 20)
    throws(SandboxedSQLError) -> SandboxedResult
  {
    guard !sql.utf8.contains(0) else { throw SandboxedSQLError(.statementCount, "the SQL contains a NUL byte") }
    let text = Array(sql.utf8)
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: text.count + 1)
    defer { buffer.deallocate() }
    for (i, byte) in text.enumerated() { buffer[i] = CChar(bitPattern: byte) }
    buffer[text.count] = 0

    let (first, afterFirst) = try prepare(buffer, from: 0, count: text.count)
    guard let statement = first else {
      throw SandboxedSQLError(.statementCount, "there is no SQL statement (only whitespace or comments)")
    }
    defer { sqlite3_finalize(statement) }
    try checkNothingFollows(buffer, from: afterFirst, count: text.count)
    try bind(parameters, to: statement)
    return try collect(statement, maxRows: max(0, maxRows), maxBytes: maxBytes)
  }

  /// Compiles the statement starting at `offset`; returns it (nil for only whitespace or comments) and
  /// where the text after it starts.
  private func prepare(_ buffer: UnsafeMutablePointer<CChar>, from offset: Int, count: Int)
    throws(SandboxedSQLError) -> (OpaquePointer?, Int)
  {
    sentry.lastDenial = nil
    var statement: OpaquePointer?
    var tail: UnsafePointer<CChar>?
    let rc = sqlite3_prepare_v2(handle, buffer + offset, Int32(count - offset), &statement, &tail)
    guard rc == SQLITE_OK else { throw failure(rc) }
    let next = tail.map { $0 - UnsafePointer(buffer) } ?? count
    return (statement, max(offset, min(next, count)))
  }

  /// Refuses a second statement: the text after the first must be only whitespace, comments and `;`.
  private func checkNothingFollows(_ buffer: UnsafeMutablePointer<CChar>, from start: Int, count: Int)
    throws(SandboxedSQLError)
  {
    var offset = start
    while offset < count {
      let rest = String(cString: buffer + offset)
      let refusal = SandboxedSQLError(
        .statementCount,
        "only one statement may run per call; more SQL follows the first statement: \"\(rest.trimmed().prefix(80))\"")
      let statement: OpaquePointer?
      let next: Int
      do {
        (statement, next) = try prepare(buffer, from: offset, count: count)
      } catch {
        throw refusal
      }
      if let statement {
        sqlite3_finalize(statement)
        throw refusal
      }
      if next <= offset { break }
      offset = next
    }
  }

  private func bind(_ values: [SQLValue], to statement: OpaquePointer) throws(SandboxedSQLError) {
    let expected = Int(sqlite3_bind_parameter_count(statement))
    guard values.count == expected else {
      let wanted = expected == 1 ? "1 parameter" : "\(expected) parameters"
      let given = values.count == 1 ? "1 was" : "\(values.count) were"
      throw SandboxedSQLError(.parameters, "the statement has \(wanted) but \(given) given")
    }
    for (i, value) in values.enumerated() {
      let rc = value.bind(to: statement, at: Int32(i + 1))
      guard rc == SQLITE_OK else { throw failure(rc) }
    }
  }

  private func collect(_ statement: OpaquePointer, maxRows: Int, maxBytes: Int) throws(SandboxedSQLError)
    -> SandboxedResult
  {
    let readOnly = sqlite3_stmt_readonly(statement) != 0
    let changesBefore = sqlite3_total_changes64(handle)
    let columnCount = sqlite3_column_count(statement)
    let columns = (0..<columnCount).map { String(cString: sqlite3_column_name(statement, $0)) }
    var rows: [[SQLValue]] = []
    var bytes = 0
    var truncated = false
    while true {
      let rc = sqlite3_step(statement)
      if rc == SQLITE_DONE { break }
      guard rc == SQLITE_ROW else { throw failure(rc) }
      if !truncated && rows.count < maxRows {
        let row = (0..<columnCount).map { SQLValue(column: $0, of: statement) }
        let weight = row.reduce(0) { $0 + $1.weight }
        if rows.isEmpty || bytes + weight <= maxBytes {
          rows.append(row)
          bytes += weight
          continue
        }
      }
      truncated = true
      if readOnly { break }  // a write runs to its end; its extra rows are not kept
    }
    // sqlite3_changes keeps the count of an earlier statement when this one (CREATE, DROP) changed no rows.
    let changed = !readOnly && sqlite3_total_changes64(handle) != changesBefore
    return SandboxedResult(
      columns: columns, rows: rows, truncated: truncated, changes: changed ? Int(sqlite3_changes64(handle)) : 0,
      lastInsertRowID: sqlite3_last_insert_rowid(handle), readOnly: readOnly)
  }

  /// What the C callbacks reach through their context pointer: the policy, the interruption, and the
  /// reason of the last denial (for the message).
  private final class Sentry {
    let policy: SQLAuthorizationPolicy
    let interruption: QueryInterruption
    var lastDenial: String?

    init(policy: SQLAuthorizationPolicy, interruption: QueryInterruption) {
      self.policy = policy
      self.interruption = interruption
    }

    func authorize(_ action: Int32, _ first: String?, _ second: String?) -> Int32 {
      switch policy.decide(action: action, first, second) {
      case .allow: return SQLITE_OK
      case .deny(let reason):
        if lastDenial == nil { lastDenial = reason }
        return SQLITE_DENY
      }
    }
  }
}

/// What one statement on a `SandboxedConnection` returned.
public struct SandboxedResult: Sendable, Equatable {
  /// The column names, in order.
  public var columns: [String]
  /// The rows kept, each with one value per column.
  public var rows: [[SQLValue]]
  /// Whether rows were left out (past `maxRows` or the byte budget).
  public var truncated: Bool
  /// Rows changed by a statement that writes (0 for one that only reads).
  public var changes: Int
  /// The rowid of the last row this statement inserted (0 when it inserted none).
  public var lastInsertRowID: Int64
  /// Whether the statement only read (`sqlite3_stmt_readonly`).
  public var readOnly: Bool

  public init(
    columns: [String], rows: [[SQLValue]], truncated: Bool, changes: Int, lastInsertRowID: Int64, readOnly: Bool
  ) {
    self.columns = columns
    self.rows = rows
    self.truncated = truncated
    self.changes = changes
    self.lastInsertRowID = lastInsertRowID
    self.readOnly = readOnly
  }
}

extension SQLValue {
  /// Column `index` of the current row of `statement`.
  init(column index: Int32, of statement: OpaquePointer) {
    switch sqlite3_column_type(statement, index) {
    case SQLITE_INTEGER: self = .int(sqlite3_column_int64(statement, index))
    case SQLITE_FLOAT: self = .double(sqlite3_column_double(statement, index))
    case SQLITE_TEXT:
      let n = Int(sqlite3_column_bytes(statement, index))
      guard let p = sqlite3_column_text(statement, index) else {
        self = .text("")
        return
      }
      self = .text(String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self))
    case SQLITE_BLOB:
      let n = Int(sqlite3_column_bytes(statement, index))
      guard n > 0, let p = sqlite3_column_blob(statement, index) else {
        self = .blob([])
        return
      }
      self = .blob(Array(UnsafeRawBufferPointer(start: p, count: n)))
    default: self = .null
    }
  }

  /// Binds the value as parameter `index` (from 1) of `statement`; SQLite's result code.
  func bind(to statement: OpaquePointer, at index: Int32) -> Int32 {
    switch self {
    case .null: return sqlite3_bind_null(statement, index)
    case .int(let v): return sqlite3_bind_int64(statement, index, v)
    case .double(let v): return sqlite3_bind_double(statement, index, v)
    case .text(let v):
      // With an explicit byte count, so a NUL inside the text is kept, not taken as the end.
      var text = v
      return text.withUTF8 { utf8 in
        utf8.withMemoryRebound(to: CChar.self) { chars in
          guard let base = chars.baseAddress, chars.count > 0 else {
            return sqlite3_bind_text(statement, index, "", 0, csqlite_transient())
          }
          return sqlite3_bind_text(statement, index, base, Int32(chars.count), csqlite_transient())
        }
      }
    case .blob(let v) where v.isEmpty:
      return sqlite3_bind_zeroblob(statement, index, 0)  // a nil pointer would bind NULL
    case .blob(let v):
      return v.withUnsafeBytes {
        sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), csqlite_transient())
      }
    }
  }

  /// Roughly how many bytes the value takes, for result budgets.
  var weight: Int {
    switch self {
    case .null, .int, .double: return 8
    case .text(let s): return s.utf8.count + 8
    case .blob(let b): return b.count + 8
    }
  }
}
