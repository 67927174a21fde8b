import MinionsCore
import MinionsStore

#if canImport(Glibc)
  import Glibc
#endif

/// The built-in `database` tool: SQL on SQLite files in the workspace (never the engine's own database),
/// through a `SandboxedConnection` opened for the one call.
///
/// `query`, `tables` and `schema` open the file read-only and may only read; `execute` (which needs
/// approval) may change it, and creates a new database file only when its name ends in `.db`, `.sqlite`
/// or `.sqlite3` and its directory exists. Whatever the operation: exactly one statement, no ATTACH, no
/// extensions, no pragma that writes, parameters bound by position, a row limit and a time limit; the
/// work runs on a thread of its own and stops promptly when the call is cancelled.
public struct DatabaseTool: Tool {
  /// Bounds on one call.
  public struct Limits: Sendable, Equatable {
    /// How long a statement may run before it is interrupted.
    public var timeLimitMs: Int
    /// Rows returned when `maxRows` is not given.
    public var defaultMaxRows: Int
    /// The most `maxRows` may ask for.
    public var maxRowsCap: Int
    /// Roughly the most bytes of values returned; rows past it are left out (and said to be).
    public var maxResultBytes: Int

    public init(
      timeLimitMs: Int = 10_000, defaultMaxRows: Int = 500, maxRowsCap: Int = 10_000, maxResultBytes: Int = 4 << 20
    ) {
      self.timeLimitMs = timeLimitMs
      self.defaultMaxRows = defaultMaxRows
      self.maxRowsCap = maxRowsCap
      self.maxResultBytes = maxResultBytes
    }
  }

  /// The operations, as the `operation` argument names them.
  public enum Operation: String, Sendable, CaseIterable {
    case query, execute, tables, schema
  }

  /// The tool's name, as models and `tools/list` see it.
  public static let name = "database"
  /// File name endings `execute` may create a new database under.
  public static let creatableExtensions = [".db", ".sqlite", ".sqlite3"]

  public let definition: ToolDefinition
  /// The workspace directory, as configured.
  public let workspace: String
  /// The engine's own database files, refused even inside the workspace (with their -wal, -shm and
  /// -journal files).
  public let protectedPaths: [String]
  /// The bounds every call runs under.
  public let limits: Limits
  let confinement: Workspace

  public init(workspace: String, protectedPaths: [String], limits: Limits = Limits()) {
    self.workspace = workspace
    self.protectedPaths = protectedPaths
    self.limits = limits
    self.confinement = Workspace(path: workspace)
    self.definition = ToolDefinition(
      name: Self.name,
      description: """
        Runs SQL on a SQLite database file in the workspace. query: one read-only statement (SELECT, WITH, \
        read-only PRAGMAs such as table_info), returning at most maxRows rows (default \(limits.defaultMaxRows)). \
        execute: one statement that may change the database (INSERT, UPDATE, DELETE, CREATE, …); a new file \
        is created only for names ending in .db, .sqlite or .sqlite3. tables: the tables and views. schema: \
        their CREATE statements. Parameters (?) are bound from params in order. ATTACH, extensions and \
        several statements in one call are refused; a statement running longer than \
        \(limits.timeLimitMs / 1000) s is stopped.
        """,
      category: "data",
      inputSchema: [
        "type": "object",
        "properties": [
          "operation": [
            "type": "string", "enum": .array(Operation.allCases.map { .string($0.rawValue) }),
            "description": "What to do.",
          ],
          "database": [
            "type": "string", "minLength": 1, "maxLength": 4096,
            "description": "The SQLite file, relative to the workspace.",
          ],
          "sql": [
            "type": "string", "minLength": 1, "maxLength": .int(1 << 20),
            "description": "Exactly one SQL statement (query, execute).",
          ],
          "params": [
            "type": "array", "maxItems": 999,
            "items": ["type": ["string", "number", "integer", "boolean", "null"]],
            "description": "Values for the statement's parameters, in order.",
          ],
          "maxRows": [
            "type": "integer", "minimum": 1, "maximum": .int(limits.maxRowsCap),
            "description": "The most rows to return (default \(limits.defaultMaxRows)).",
          ],
        ],
        "required": ["operation", "database"],
        "additionalProperties": false,
      ],
      requiresApproval: true)
  }

  /// Only `execute` changes anything, so only it needs approval (an unknown operation does too).
  public func needsApproval(_ arguments: JSONValue) -> Bool {
    guard let name = arguments["operation"]?.stringValue, let operation = Operation(rawValue: name) else { return true }
    return operation == .execute
  }

  public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
    let request: Request
    do throws(ToolFailure) {
      request = try Request(arguments, limits: limits)
    } catch {
      return .failure(error.message)
    }
    let interruption = QueryInterruption(timeLimitMs: limits.timeLimitMs)
    let output = await BlockingWork.run(onCancel: { interruption.cancel() }) { [self] in
      do throws(ToolFailure) {
        return try perform(request, interruption: interruption)
      } catch {
        return .failure(error.message)
      }
    }
    try Task.checkCancellation()
    return output
  }

  /// A call's arguments, checked.
  struct Request: Sendable {
    var operation: Operation
    var database: String
    var sql: String
    var parameters: [SQLValue]
    var maxRows: Int

    init(_ arguments: JSONValue, limits: Limits) throws(ToolFailure) {
      guard let name = arguments["operation"]?.stringValue, let operation = Operation(rawValue: name) else {
        throw ToolFailure("operation must be one of \(Operation.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      guard let database = arguments["database"]?.stringValue, !database.isEmpty else {
        throw ToolFailure("database is required (a SQLite file in the workspace)")
      }
      self.operation = operation
      self.database = database
      switch operation {
      case .query, .execute:
        guard let sql = arguments["sql"]?.stringValue, !sql.trimmed().isEmpty else {
          throw ToolFailure("sql is required for \(operation.rawValue)")
        }
        self.sql = sql
      case .tables:
        self.sql = """
          SELECT name, type FROM sqlite_schema
          WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name
          """
      case .schema:
        self.sql = """
          SELECT type, name, sql FROM sqlite_schema
          WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
          ORDER BY tbl_name, type DESC, name
          """
      }
      var parameters: [SQLValue] = []
      if let given = arguments["params"], !given.isNull {
        guard operation == .query || operation == .execute else {
          throw ToolFailure("params are only for query and execute")
        }
        guard let values = given.arrayValue else { throw ToolFailure("params must be an array") }
        for (index, value) in values.enumerated() {
          switch value {
          case .null: parameters.append(.null)
          case .bool(let b): parameters.append(.int(b ? 1 : 0))
          case .int(let i): parameters.append(.int(Int64(i)))
          case .double(let d): parameters.append(.double(d))
          case .string(let s): parameters.append(.text(s))
          case .array, .object:
            throw ToolFailure("params[\(index)] must be a string, a number, a boolean or null")
          }
        }
      }
      self.parameters = parameters
      let wanted = arguments["maxRows"]?.intValue ?? limits.defaultMaxRows
      guard wanted >= 1 else { throw ToolFailure("maxRows must be at least 1") }
      // Listing a schema is not cut short by a small maxRows meant for queries.
      self.maxRows = operation == .query || operation == .execute ? min(wanted, limits.maxRowsCap) : limits.maxRowsCap
    }
  }

  // MARK: On the tool's own thread

  func perform(_ request: Request, interruption: QueryInterruption) throws(ToolFailure) -> ToolOutput {
    let path = try confinement.resolve(request.database)
    try refuseProtected(path)
    let writes = request.operation == .execute
    var creating = false
    if path.exists {
      var info = stat()
      guard stat(path.absolute, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
        throw ToolFailure("\(path.shown) is not a regular file")
      }
      // Another name for the same file could be anywhere, also outside the workspace.
      guard !writes || info.st_nlink <= 1 else {
        throw ToolFailure("refused: \(path.shown) has other hard links, which may be outside the workspace")
      }
    } else {
      guard writes else { throw ToolFailure("\(path.shown) does not exist") }
      guard path.existingCount == path.components.count - 1 else {
        throw ToolFailure("\(path.shown) does not exist, nor does its directory")
      }
      guard Self.creatableExtensions.contains(where: { path.name.lowercased().hasSuffix($0) }) else {
        throw ToolFailure(
          "\(path.shown) does not exist; execute creates a new database only for names ending in "
            + Self.creatableExtensions.joined(separator: ", "))
      }
      creating = true
    }

    let result: SandboxedResult
    do {
      let connection = try SandboxedConnection(
        path: path.absolute, access: writes ? .readWrite(createIfMissing: creating) : .readOnly,
        interruption: interruption)
      defer { connection.close() }
      result = try connection.run(
        request.sql, parameters: request.parameters, maxRows: request.maxRows, maxBytes: limits.maxResultBytes)
    } catch {
      if creating { Self.removeIfEmpty(path.absolute) }
      throw ToolFailure(error.kind == .sqlite ? "SQLite: \(error.message)" : error.message)
    }
    return SQLResultFormatter.output(for: request.operation, result: result, database: path.relative)
  }

  /// Refuses the engine's own database files, by real path and by file identity (a hard link is the
  /// same file under another name), and a journal file of the target that is a link elsewhere.
  private func refuseProtected(_ path: WorkspacePath) throws(ToolFailure) {
    let refusal = ToolFailure("refused: \(path.shown) is one of the engine's own database files")
    var names: Set<String> = []
    var identities: Set<FileIdentity> = []
    for protected in protectedPaths where !protected.isEmpty {
      let real = Self.realPath(protected)
      for suffix in ["", "-wal", "-shm", "-journal"] {
        names.insert(protected + suffix)
        names.insert(real + suffix)
        if let identity = FileIdentity(path: real + suffix, following: true) { identities.insert(identity) }
      }
    }
    for suffix in ["", "-wal", "-shm", "-journal"] {
      let candidate = path.absolute + suffix
      if names.contains(candidate) { throw refusal }
      if suffix.isEmpty {
        if let identity = FileIdentity(path: candidate, following: true), identities.contains(identity) {
          throw refusal
        }
        continue
      }
      // SQLite opens these next to the database, following links: none may lead elsewhere.
      var info = stat()
      guard lstat(candidate, &info) == 0 else { continue }
      if info.st_mode & S_IFMT == S_IFLNK {
        throw ToolFailure("refused: \(path.relative)\(suffix) is a symbolic link")
      }
      if let identity = FileIdentity(path: candidate, following: false), identities.contains(identity) {
        throw refusal
      }
    }
  }

  private static func realPath(_ path: String) -> String {
    guard let resolved = realpath(path, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// Removes a database file this call created if the statement failed before writing anything.
  private static func removeIfEmpty(_ path: String) {
    var info = stat()
    if lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_size == 0 { unlink(path) }
  }
}

/// A file's device and inode: the same file whatever name it is reached by.
struct FileIdentity: Hashable, Sendable {
  let device: UInt64
  let inode: UInt64

  init?(path: String, following: Bool) {
    var info = stat()
    guard (following ? stat(path, &info) : lstat(path, &info)) == 0 else { return nil }
    device = UInt64(info.st_dev)
    inode = UInt64(info.st_ino)
  }
}
