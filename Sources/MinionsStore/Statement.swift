import CSQLite
import MinionsCore

/// A prepared statement, reused from the connection's cache and finalized in deinit.
/// - Important: used only on its database's thread.
public final class Statement {
  let handle: OpaquePointer
  let sql: String
  private unowned let connection: Connection
  public private(set) lazy var columnNames: [String] = {
    (0..<sqlite3_column_count(handle)).map { String(cString: sqlite3_column_name(handle, $0)) }
  }()

  init(connection: Connection, sql: String) throws {
    var stmt: OpaquePointer?
    let rc = sqlite3_prepare_v3(connection.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
    guard rc == SQLITE_OK, let stmt else {
      throw connection.error(rc, kind: .prepare, sql: sql)
    }
    self.handle = stmt
    self.sql = sql
    self.connection = connection
  }

  deinit { sqlite3_finalize(handle) }

  func bind(_ values: [SQLValue]) throws {
    sqlite3_reset(handle)
    sqlite3_clear_bindings(handle)
    let expected = Int(sqlite3_bind_parameter_count(handle))
    guard values.count == expected else {
      throw StoreError(
        kind: .bind, code: SQLITE_RANGE, message: "expected \(expected) parameters, got \(values.count)", sql: sql)
    }
    for (i, value) in values.enumerated() {
      let index = Int32(i + 1)
      let rc: Int32
      switch value {
      case .null: rc = sqlite3_bind_null(handle, index)
      case .int(let v): rc = sqlite3_bind_int64(handle, index, v)
      case .double(let v): rc = sqlite3_bind_double(handle, index, v)
      case .text(let v):
        // With an explicit byte count, so a NUL inside the text is kept, not taken as the end.
        var text = v
        rc = text.withUTF8 { utf8 in
          utf8.withMemoryRebound(to: CChar.self) { chars in
            guard let base = chars.baseAddress, chars.count > 0 else {
              return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
            }
            return sqlite3_bind_text(handle, index, base, Int32(chars.count), csqlite_transient())
          }
        }
      case .blob(let v):
        rc = v.withUnsafeBytes {
          sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), csqlite_transient())
        }
      }
      guard rc == SQLITE_OK else { throw connection.error(rc, kind: .bind, sql: sql) }
    }
  }

  /// Steps once: true when a row is available.
  func step() throws -> Bool {
    let rc = sqlite3_step(handle)
    switch rc {
    case SQLITE_ROW: return true
    case SQLITE_DONE: return false
    default:
      let error = connection.error(rc, kind: nil, sql: sql)
      sqlite3_reset(handle)
      throw error
    }
  }

  func column(_ i: Int32) -> SQLValue { SQLValue(column: i, of: handle) }

  func currentRow() -> Row {
    let n = sqlite3_column_count(handle)
    var values: [SQLValue] = []
    values.reserveCapacity(Int(n))
    for i in 0..<n { values.append(column(i)) }
    return Row(columns: columnNames, values: values)
  }

  func finish() { sqlite3_reset(handle) }
}
