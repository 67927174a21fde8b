import CSQLite
import MinionsCore

/// The one SQLite connection of a `Database`.
/// - Important: only ever used on the database's own thread; `Database` hands it to the closures it
///   runs there and nowhere else.
public final class Connection {
  let handle: OpaquePointer
  private var cache: [String: Statement] = [:]
  private var transactionDepth = 0
  public let path: String

  init(path: String, readOnly: Bool = false) throws {
    var db: OpaquePointer?
    let flags =
      (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
      | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
    let rc = sqlite3_open_v2(path, &db, flags, nil)
    guard rc == SQLITE_OK, let db else {
      let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
      sqlite3_close_v2(db)
      throw StoreError(kind: .open, code: rc, message: "cannot open \(path): \(message)")
    }
    self.handle = db
    self.path = path
  }

  deinit {
    cache.removeAll()  // finalize statements before closing
    sqlite3_close_v2(handle)
  }

  func error(_ rc: Int32, kind: StoreError.Kind?, sql: String?) -> StoreError {
    let message = String(cString: sqlite3_errmsg(handle))
    let primary = rc & 0xFF
    let resolved: StoreError.Kind
    switch primary {
    case SQLITE_CONSTRAINT: resolved = .constraint
    case SQLITE_BUSY, SQLITE_LOCKED: resolved = .busy
    case SQLITE_INTERRUPT: resolved = .interrupted
    default: resolved = kind ?? .step
    }
    return StoreError(kind: resolved, code: rc, message: message, sql: sql)
  }

  /// A cached prepared statement for `sql`.
  func statement(_ sql: String) throws -> Statement {
    if let s = cache[sql] { return s }
    let s = try Statement(connection: self, sql: sql)
    cache[sql] = s
    return s
  }

  /// Runs a statement that returns no rows.
  public func execute(_ sql: String, _ values: [SQLValue] = []) throws {
    let s = try statement(sql)
    try s.bind(values)
    defer { s.finish() }
    while try s.step() {}
  }

  public func execute(_ sql: String, _ values: SQLBindable...) throws {
    try execute(sql, values.map(\.sqlValue))
  }

  /// Runs several statements without parameters (migrations, pragmas).
  public func executeScript(_ sql: String) throws {
    var errorMessage: UnsafeMutablePointer<CChar>?
    let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
    if rc != SQLITE_OK {
      let message = errorMessage.map { String(cString: $0) } ?? "error \(rc)"
      sqlite3_free(errorMessage)
      throw StoreError(kind: .step, code: rc, message: message, sql: sql)
    }
  }

  /// All rows of a query.
  public func query(_ sql: String, _ values: [SQLValue] = []) throws -> [Row] {
    let s = try statement(sql)
    try s.bind(values)
    defer { s.finish() }
    var rows: [Row] = []
    while try s.step() { rows.append(s.currentRow()) }
    return rows
  }

  public func query(_ sql: String, _ values: SQLBindable...) throws -> [Row] {
    try query(sql, values.map(\.sqlValue))
  }

  /// The first row of a query, if any.
  public func queryOne(_ sql: String, _ values: [SQLValue] = []) throws -> Row? {
    let s = try statement(sql)
    try s.bind(values)
    defer { s.finish() }
    return try s.step() ? s.currentRow() : nil
  }

  public func queryOne(_ sql: String, _ values: SQLBindable...) throws -> Row? {
    try queryOne(sql, values.map(\.sqlValue))
  }

  /// Calls `body` for each row without collecting them (exports, large scans).
  public func forEachRow(_ sql: String, _ values: [SQLValue] = [], _ body: (Row) throws -> Void) throws {
    let s = try statement(sql)
    try s.bind(values)
    defer { s.finish() }
    while try s.step() { try body(s.currentRow()) }
  }

  public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
  public var changes: Int { Int(sqlite3_changes(handle)) }

  /// Runs `body` in a transaction that commits when it returns and rolls back when it throws. Nested
  /// calls join the outer transaction.
  public func inTransaction<T>(_ body: () throws -> T) throws -> T {
    if transactionDepth > 0 {
      transactionDepth += 1
      defer { transactionDepth -= 1 }
      return try body()
    }
    try execute("BEGIN IMMEDIATE")
    transactionDepth = 1
    do {
      let result = try body()
      transactionDepth = 0
      try execute("COMMIT")
      return result
    } catch {
      transactionDepth = 0
      try? execute("ROLLBACK")
      throw error
    }
  }

  /// A single-value pragma or query result as text.
  public func scalarText(_ sql: String) throws -> String? {
    try queryOne(sql)?.values.first?.text
  }

  public func scalarInt(_ sql: String, _ values: [SQLValue] = []) throws -> Int64? {
    try queryOne(sql, values)?.values.first?.int64
  }
}
