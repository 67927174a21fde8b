import CSQLite

/// What SQL from someone else (a model, a user) may do on a `SandboxedConnection`, decided by SQLite's
/// authorizer for every action a statement would take while it is compiled.
///
/// `sqlite3_stmt_readonly` alone is not enough to tell a harmless statement (it is true for ATTACH and
/// BEGIN), so every action is judged here: a read-only policy allows only reading (SELECT, recursive CTEs,
/// functions and a few read-only pragmas); a read-write policy allows changing the database but never
/// attaching another file, loading an extension or changing how the connection works.
public struct SQLAuthorizationPolicy: Sendable, Equatable {
  /// Whether the statement may change the database (INSERT, CREATE, …).
  public var allowsWrites: Bool

  public init(allowsWrites: Bool) { self.allowsWrites = allowsWrites }

  /// The verdict on one action.
  public enum Decision: Sendable, Equatable {
    case allow
    /// Refused, with why (the caller's error message).
    case deny(String)
  }

  /// Pragmas that only read and take no value (`PRAGMA user_version`, never `PRAGMA user_version = 3`).
  public static let readOnlyPragmas: Set<String> = [
    "application_id", "auto_vacuum", "collation_list", "compile_options", "data_version", "database_list",
    "encoding", "foreign_keys", "freelist_count", "function_list", "integrity_check", "journal_mode",
    "module_list", "page_count", "page_size", "pragma_list", "quick_check", "schema_version", "user_version",
  ]

  /// Pragmas that read about one table or index, named as their argument (`PRAGMA table_info(users)`).
  public static let tablePragmas: Set<String> = [
    "foreign_key_check", "foreign_key_list", "index_info", "index_list", "index_xinfo", "table_info", "table_list",
    "table_xinfo",
  ]

  /// Pragmas a read-write statement may also set: numbers the database keeps for its application.
  public static let settablePragmas: Set<String> = ["application_id", "user_version"]

  /// The tables holding the schema, written by CREATE, DROP and ALTER.
  static let schemaTables: Set<String> = ["sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"]

  /// Functions never callable: loading native code, or (FTS3's two-argument tokenizer) reaching a pointer.
  public static let deniedFunctions: Set<String> = ["fts3_tokenizer", "load_extension"]

  /// Judges one authorizer callback: `action` is SQLite's action code (`SQLITE_INSERT`, …) and `first`,
  /// `second` its two detail arguments (for a pragma its name and value, for a function its name).
  public func decide(action: Int32, _ first: String?, _ second: String?) -> Decision {
    switch action {
    case SQLITE_SELECT, SQLITE_READ, SQLITE_RECURSIVE:
      return .allow
    case SQLITE_FUNCTION:
      let name = (second ?? "").lowercased()
      return Self.deniedFunctions.contains(name) ? .deny("the function \(name)() is not allowed") : .allow
    case SQLITE_PRAGMA:
      return decidePragma((first ?? "").lowercased(), value: second)
    case SQLITE_ATTACH:
      return .deny("ATTACH is not allowed: only the named database can be used")
    case SQLITE_DETACH:
      return .deny("DETACH is not allowed")
    case SQLITE_TRANSACTION, SQLITE_SAVEPOINT:
      return .deny("BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not allowed: each call runs on its own")
    case SQLITE_INSERT, SQLITE_UPDATE, SQLITE_DELETE:
      if !allowsWrites && Self.schemaTables.contains((first ?? "").lowercased()) {
        // How CREATE, DROP and ALTER (and, internally, table-valued pragma functions) first show up.
        return .deny(
          "changing the schema is not allowed in a read-only query (use operation \"execute\"; for a table's "
            + "columns use PRAGMA table_info(name) rather than pragma_table_info())")
      }
      return allowsWrites ? .allow : .deny(Self.readOnlyRefusal(action))
    default:
      return allowsWrites ? .allow : .deny(Self.readOnlyRefusal(action))
    }
  }

  private static func readOnlyRefusal(_ action: Int32) -> String {
    "\(describe(action)) is not allowed in a read-only query (use operation \"execute\")"
  }

  private func decidePragma(_ name: String, value: String?) -> Decision {
    if Self.tablePragmas.contains(name) { return .allow }
    if Self.readOnlyPragmas.contains(name) && value == nil { return .allow }
    if allowsWrites && Self.settablePragmas.contains(name) { return .allow }
    let spelled = value.map { "PRAGMA \(name) = \($0)" } ?? "PRAGMA \(name)"
    return .deny("\(spelled) is not allowed (only pragmas that read, such as table_info, are)")
  }

  /// The statement kind an action code stands for, for messages.
  static func describe(_ action: Int32) -> String {
    switch action {
    case SQLITE_INSERT: return "INSERT"
    case SQLITE_UPDATE: return "UPDATE"
    case SQLITE_DELETE: return "DELETE"
    case SQLITE_CREATE_INDEX, SQLITE_CREATE_TEMP_INDEX: return "CREATE INDEX"
    case SQLITE_CREATE_TABLE, SQLITE_CREATE_TEMP_TABLE: return "CREATE TABLE"
    case SQLITE_CREATE_TRIGGER, SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TRIGGER"
    case SQLITE_CREATE_VIEW, SQLITE_CREATE_TEMP_VIEW: return "CREATE VIEW"
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE"
    case SQLITE_DROP_INDEX, SQLITE_DROP_TEMP_INDEX: return "DROP INDEX"
    case SQLITE_DROP_TABLE, SQLITE_DROP_TEMP_TABLE: return "DROP TABLE"
    case SQLITE_DROP_TRIGGER, SQLITE_DROP_TEMP_TRIGGER: return "DROP TRIGGER"
    case SQLITE_DROP_VIEW, SQLITE_DROP_TEMP_VIEW: return "DROP VIEW"
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE"
    case SQLITE_ALTER_TABLE: return "ALTER TABLE"
    case SQLITE_REINDEX: return "REINDEX"
    case SQLITE_ANALYZE: return "ANALYZE"
    default: return "this statement (authorizer action \(action))"
    }
  }
}
