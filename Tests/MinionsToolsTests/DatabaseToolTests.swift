import Foundation
import MinionsCore
import MinionsEngine
import MinionsStore
import Testing

@Suite struct DatabaseToolTests {
  let box: SandboxDirectory
  let tool: DatabaseTool

  init() throws {
    box = try SandboxDirectory()
    tool = DatabaseTool(workspace: box.workspace, protectedPaths: [])
  }

  /// `data.db` in the workspace (made by the store's own `Database`, so in WAL mode): a table of five
  /// people.
  func makeDatabase(_ name: String = "data.db") async throws {
    let path = box.path(name)
    try await onOwnThread {
      let db = try Database(path: path, logger: .disabled)
      try db.sync { c in
        try c.executeScript(
          """
          CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, photo BLOB);
          INSERT INTO people (name, age, photo) VALUES
            ('ada', 36, x'00ff'), ('bob', 41, NULL), ('cy', 7, NULL), ('di', 58, NULL), ('ed', 23, NULL);
          CREATE VIEW adults AS SELECT name FROM people WHERE age >= 18;
          CREATE INDEX people_age ON people(age);
          """)
      }
      db.close()
    }
  }

  func query(_ sql: String, _ extra: [String: JSONValue] = [:], on database: String = "data.db") async throws
    -> ToolOutput
  {
    var arguments: [String: JSONValue] = ["operation": "query", "database": .string(database), "sql": .string(sql)]
    arguments.merge(extra) { $1 }
    return try await call(tool, .object(arguments))
  }

  func execute(_ sql: String, on database: String = "data.db") async throws -> ToolOutput {
    try await call(tool, ["operation": "execute", "database": .string(database), "sql": .string(sql)])
  }

  func peopleCount() async throws -> JSONValue? {
    try await query("SELECT count(*) AS n FROM people").structured?["rows"]?[0]?[0]
  }

  // MARK: What works

  @Test func aQueryReturnsATextTableAndJSON() async throws {
    try await makeDatabase()
    let out = try await query("SELECT id, name, age, photo FROM people WHERE id <= 2 ORDER BY id")
    #expect(!out.isError)
    #expect(out.text == "id | name | age | photo\n1 | ada | 36 | x'00ff'\n2 | bob | 41 | NULL\n(2 rows)")
    #expect(out.structured?["columns"] == ["id", "name", "age", "photo"])
    #expect(out.structured?["rows"]?[0] == [1, "ada", 36, ["blob": "x'00ff'", "bytes": 2]])
    #expect(out.structured?["rows"]?[1] == [2, "bob", 41, nil])
    #expect(out.structured?["truncated"] == false)
  }

  @Test func parametersAreBoundInOrder() async throws {
    try await makeDatabase()
    let out = try await query(
      "SELECT name FROM people WHERE age > ? AND name <> ?2 ORDER BY name", ["params": [30, "bob"]])
    #expect(out.structured?["rows"] == [["ada"], ["di"]])
    let injection = try await query("SELECT count(*) FROM people WHERE name = ?", ["params": ["x' OR '1'='1"]])
    #expect(injection.structured?["rows"] == [[0]])
    let wrong = try await query("SELECT ? + ?", ["params": [1]])
    #expect(wrong.isError && wrong.text == "the statement has 2 parameters but 1 was given")
  }

  @Test func rowsPastMaxRowsAreLeftOutAndThatIsSaid() async throws {
    try await makeDatabase()
    let out = try await query("SELECT name FROM people ORDER BY id", ["maxRows": 2])
    #expect(out.structured?["rows"] == [["ada"], ["bob"]] && out.structured?["truncated"] == true)
    #expect(out.text.hasSuffix("[truncated: showing the first 2 rows; raise maxRows or narrow the query]"))
    let exact = try await query("SELECT name FROM people", ["maxRows": 5])
    #expect(exact.structured?["truncated"] == false)
  }

  @Test func theDefaultRowLimitApplies() async throws {
    try await makeDatabase()
    let limited = DatabaseTool(workspace: box.workspace, protectedPaths: [], limits: .init(defaultMaxRows: 3))
    let out = try await call(
      limited,
      [
        "operation": "query", "database": "data.db",
        "sql": "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 1000) SELECT x FROM n",
      ])
    #expect(out.structured?["rowCount"] == 3 && out.structured?["truncated"] == true)
  }

  @Test func tablesAndSchemaDescribeTheDatabase() async throws {
    try await makeDatabase()
    let tables = try await call(tool, ["operation": "tables", "database": "data.db"])
    #expect(tables.text == "view adults\ntable people")
    let schema = try await call(tool, ["operation": "schema", "database": "data.db"])
    #expect(!schema.isError)
    #expect(schema.text.contains("CREATE TABLE people (id INTEGER PRIMARY KEY"))
    #expect(schema.text.contains("CREATE INDEX people_age ON people(age);"))
    let info = try await query("PRAGMA table_info(people)")
    #expect(!info.isError && info.structured?["rows"]?.arrayValue?.count == 4)
    let version = try await query("PRAGMA user_version")
    #expect(!version.isError)
  }

  @Test func executeChangesTheDatabaseAndIsTheOnlyOperationNeedingApproval() async throws {
    try await makeDatabase()
    let out = try await execute("INSERT INTO people (name, age) VALUES ('fay', 30)")
    #expect(!out.isError && out.text == "OK: 1 row changed (last inserted rowid 6)")
    #expect(out.structured?["changes"] == 1 && out.structured?["lastInsertRowId"] == 6)
    #expect(try await peopleCount() == 6)
    let update = try await call(
      tool,
      [
        "operation": "execute", "database": "data.db", "sql": "UPDATE people SET age = ? WHERE age < ?",
        "params": [18, 18],
      ])
    #expect(update.text == "OK: 1 row changed")
    let returning = try await execute("DELETE FROM people WHERE name = 'fay' RETURNING id, name")
    #expect(returning.structured?["rows"] == [[6, "fay"]] && returning.structured?["changes"] == 1)

    #expect(tool.definition.requiresApproval && tool.definition.category == "data")
    #expect(tool.needsApproval(["operation": "execute", "database": "d.db", "sql": "DELETE FROM t"]))
    for op in ["query", "tables", "schema"] {
      #expect(!tool.needsApproval(["operation": .string(op), "database": "d.db", "sql": "SELECT 1"]), "\(op)")
    }
  }

  @Test func executeCreatesANewFileOnlyUnderADatabaseName() async throws {
    let made = try await execute("CREATE TABLE t (x)", on: "fresh.sqlite")
    #expect(!made.isError && box.exists("fresh.sqlite"))
    let tables = try await call(tool, ["operation": "tables", "database": "fresh.sqlite"])
    #expect(tables.text == "table t")
    let text = try await execute("CREATE TABLE t (x)", on: "notes.txt")
    #expect(text.isError && text.text.hasPrefix("\"notes.txt\" does not exist; execute creates a new database only"))
    #expect(!box.exists("notes.txt"))
    let nested = try await execute("CREATE TABLE t (x)", on: "no/such/dir.db")
    #expect(nested.isError && !box.exists("no"))
    let failed = try await execute("CREATE TABLE (", on: "broken.db")
    #expect(failed.isError && !box.exists("broken.db"))
    let missing = try await query("SELECT 1", on: "absent.db")
    #expect(missing.isError && missing.text == "\"absent.db\" does not exist" && !box.exists("absent.db"))
  }

  @Test func aFileThatIsNotADatabaseIsReported() async throws {
    try box.write("fake.db", "this is not a database, just text that is long enough to have a header")
    let out = try await query("SELECT 1 FROM sqlite_schema")
    #expect(out.isError)
    let fake = try await query("SELECT * FROM sqlite_schema", on: "fake.db")
    #expect(fake.isError && fake.text.contains("not a database"))
  }

  // MARK: What is refused

  @Test func attachIsRefused() async throws {
    try await makeDatabase()
    for sql in ["ATTACH DATABASE 'other.db' AS other", "ATTACH 'file:other.db?mode=rwc' AS o"] {
      let viaQuery = try await query(sql)
      #expect(viaQuery.isError && viaQuery.text.hasPrefix("refused: ATTACH is not allowed"), "\(sql)")
      let viaExecute = try await execute(sql)
      #expect(viaExecute.isError && viaExecute.text.hasPrefix("refused: ATTACH is not allowed"), "\(sql)")
    }
    #expect(!box.exists("other.db"))
    let detach = try await execute("DETACH DATABASE main")
    #expect(detach.isError)
  }

  @Test func vacuumIntoAnotherFileIsRefused() async throws {
    try await makeDatabase()
    let out = try await execute("VACUUM INTO '\(box.outside)/copy.db'")
    #expect(out.isError)
    #expect(!box.exists(box.outside + "/copy.db"))
  }

  @Test(arguments: [
    "PRAGMA journal_mode=DELETE", "PRAGMA writable_schema=1", "PRAGMA writable_schema = ON", "PRAGMA query_only = 0",
    "PRAGMA user_version = 7", "PRAGMA foreign_keys = OFF", "PRAGMA temp_store_directory = '/tmp'",
  ])
  func pragmaWritesAreRefusedInAQuery(sql: String) async throws {
    try await makeDatabase()
    let out = try await query(sql)
    #expect(out.isError && out.text.hasPrefix("refused: PRAGMA"))
    #expect(try await query("PRAGMA user_version").structured?["rows"] == [[0]])
  }

  @Test(arguments: ["PRAGMA journal_mode=DELETE", "PRAGMA writable_schema=1", "PRAGMA cache_size = -2000000"])
  func pragmaWritesThatChangeTheConnectionAreRefusedInExecute(sql: String) async throws {
    try await makeDatabase()
    let out = try await execute(sql)
    #expect(out.isError && out.text.hasPrefix("refused: PRAGMA"))
    let mode = try await query("PRAGMA journal_mode")
    #expect(mode.structured?["rows"] == [["wal"]])
  }

  @Test func executeMaySetTheUserVersion() async throws {
    try await makeDatabase()
    #expect(!(try await execute("PRAGMA user_version = 7")).isError)
    #expect(try await query("PRAGMA user_version").structured?["rows"] == [[7]])
  }

  @Test func loadExtensionIsRefused() async throws {
    try await makeDatabase()
    for sql in [
      "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libsqlite3.so.0')", "SELECT load_extension('x', 'y')",
    ] {
      let out = try await query(sql)
      #expect(out.isError && out.text == "refused: the function load_extension() is not allowed")
      #expect(try await execute(sql).isError)
    }
  }

  @Test(arguments: [
    "SELECT 1; SELECT 2", "SELECT 1; DROP TABLE people", "SELECT 1;DELETE FROM people", "SELECT 1; garbage",
    "SELECT 1 /* x */ ; ATTACH 'x.db' AS x",
  ])
  func twoStatementsAreRefused(sql: String) async throws {
    try await makeDatabase()
    let out = try await query(sql)
    #expect(out.isError && out.text.hasPrefix("only one statement may run per call"))
    let viaExecute = try await execute(sql)
    #expect(viaExecute.isError && viaExecute.text.hasPrefix("only one statement may run per call"))
    #expect(try await peopleCount() == 5)
  }

  @Test func aTrailingSemicolonOrCommentIsOneStatement() async throws {
    try await makeDatabase()
    for sql in ["SELECT 1;", "SELECT 1; -- done", "SELECT 1 ; ; /* end */ \n"] {
      let out = try await query(sql)
      #expect(!out.isError && out.structured?["rows"] == [[1]], "\(sql)")
    }
    let empty = try await query("-- nothing here")
    #expect(empty.isError && empty.text == "there is no SQL statement (only whitespace or comments)")
  }

  @Test(arguments: [
    "INSERT INTO people (name) VALUES ('mallory')", "UPDATE people SET name = 'x'", "DELETE FROM people",
    "REPLACE INTO people (id, name) VALUES (1, 'x')", "CREATE TABLE planted (x)", "CREATE TEMP TABLE t (x)",
    "DROP TABLE people", "ALTER TABLE people ADD COLUMN x", "CREATE INDEX i ON people(name)", "DROP VIEW adults",
    "CREATE TRIGGER tr AFTER INSERT ON people BEGIN SELECT 1; END", "REINDEX", "ANALYZE", "BEGIN", "SAVEPOINT s",
    "WITH x AS (SELECT 1) INSERT INTO people (name) SELECT 'x' FROM x",
    "INSERT INTO people (name) VALUES ('x') RETURNING id",
  ])
  func writesThroughAQueryAreRefused(sql: String) async throws {
    try await makeDatabase()
    let out = try await query(sql)
    #expect(out.isError && out.text.hasPrefix("refused:"))
    #expect(try await peopleCount() == 5)
    let tables = try await call(tool, ["operation": "tables", "database": "data.db"])
    #expect(tables.text == "view adults\ntable people")
  }

  @Test func aLongQueryIsStoppedAtTheTimeLimit() async throws {
    try await makeDatabase()
    let quick = DatabaseTool(workspace: box.workspace, protectedPaths: [], limits: .init(timeLimitMs: 200))
    let out = try await call(
      quick,
      [
        "operation": "query", "database": "data.db",
        "sql": "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n",
      ])
    #expect(out.isError && out.text == "the statement ran longer than 200 ms and was stopped")
  }

  @Test(.timeLimit(.minutes(1)))
  func cancellingACallInterruptsItsQuery() async throws {
    try await makeDatabase()
    // Without cancellation this query would run for the whole ten-minute limit (and the test time out).
    let patient = DatabaseTool(workspace: box.workspace, protectedPaths: [], limits: .init(timeLimitMs: 600_000))
    let task = Task {
      try await patient.run(
        [
          "operation": "query", "database": "data.db",
          "sql": "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n",
        ], context: ToolContext())
    }
    try await Task.sleep(nanoseconds: 100_000_000)
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
    // The connection was closed: the database is free for the next call.
    #expect(try await execute("INSERT INTO people (name) VALUES ('after')").isError == false)
  }

  @Test func theEnginesOwnDatabaseIsRefused() async throws {
    try await makeDatabase("engine.db")
    try box.write("engine.db-wal", "")
    try box.makeDirectory("sub")
    try box.link("alias.db", to: "engine.db")
    try FileManager.default.linkItem(atPath: box.path("engine.db"), toPath: box.path("hardlink.db"))
    let guarded = DatabaseTool(workspace: box.workspace, protectedPaths: [box.path("engine.db")])
    for name in ["engine.db", "./sub/../engine.db", .string(box.path("engine.db")), "alias.db", "hardlink.db"]
      as [JSONValue]
    {
      let out = try await call(guarded, ["operation": "query", "database": name, "sql": "SELECT * FROM people"])
      #expect(out.isError && out.text.hasPrefix("refused:") && out.text.contains("engine's own database"), "\(name)")
      let write = try await call(guarded, ["operation": "execute", "database": name, "sql": "DELETE FROM people"])
      #expect(write.isError, "\(name)")
    }
    let wal = try await call(
      guarded, ["operation": "execute", "database": "engine.db-wal", "sql": "CREATE TABLE x (y)"])
    #expect(wal.isError && wal.text.contains("engine's own database"))
    let shm = try await call(
      guarded, ["operation": "execute", "database": "engine.db-shm", "sql": "CREATE TABLE x (y)"])
    #expect(shm.isError && !box.exists("engine.db-shm"))
  }

  @Test func aJournalFileThatIsALinkIsRefused() async throws {
    try await makeDatabase()
    try box.link("data.db-wal", to: box.outside + "/secret.txt")
    let out = try await execute("INSERT INTO people (name) VALUES ('x')")
    #expect(out.isError && out.text == "refused: data.db-wal is a symbolic link")
    #expect(box.read(box.outside + "/secret.txt") == SandboxDirectory.secret)
  }

  @Test func executeOnAFileWithOtherHardLinksIsRefused() async throws {
    try await makeDatabase()
    try FileManager.default.linkItem(atPath: box.path("data.db"), toPath: box.outside + "/same.db")
    let out = try await execute("DELETE FROM people")
    #expect(out.isError && out.text == "refused: \"data.db\" has other hard links, which may be outside the workspace")
    #expect(try await peopleCount() == 5)
  }

  @Test func aDatabaseOutsideTheWorkspaceIsRefused() async throws {
    try await makeDatabase()
    try FileManager.default.copyItem(atPath: box.path("data.db"), toPath: box.outside + "/theirs.db")
    for name in ["../outside/theirs.db", .string(box.outside + "/theirs.db")] as [JSONValue] {
      let out = try await call(tool, ["operation": "query", "database": name, "sql": "SELECT * FROM people"])
      #expect(out.isError && out.text.contains("is outside the workspace"), "\(name)")
    }
    try box.link("link.db", to: box.outside + "/theirs.db")
    let viaLink = try await query("SELECT * FROM people", on: "link.db")
    #expect(viaLink.isError && viaLink.text.contains("is outside the workspace"))
    let create = try await execute("CREATE TABLE t (x)", on: "../outside/new.db")
    #expect(create.isError && !box.exists(box.outside + "/new.db"))
  }

  @Test func runDefendsItselfWithoutTheSchema() async throws {
    try await makeDatabase()
    let noSQL = try await tool.run(["operation": "query", "database": "data.db"], context: ToolContext())
    #expect(noSQL.isError && noSQL.text == "sql is required for query")
    let badParams = try await tool.run(
      ["operation": "query", "database": "data.db", "sql": "SELECT ?", "params": [["nested"]]], context: ToolContext())
    #expect(badParams.isError && badParams.text == "params[0] must be a string, a number, a boolean or null")
    let huge = try await tool.run(
      ["operation": "query", "database": "data.db", "sql": "SELECT 1", "maxRows": 1_000_000], context: ToolContext())
    #expect(!huge.isError)
    #expect(!schemaAccepts(tool, ["operation": "query", "database": "data.db", "sql": "SELECT 1", "maxRows": 10_001]))
    #expect(!schemaAccepts(tool, ["operation": "drop", "database": "data.db"]))
    let blob = try await tool.run(
      ["operation": "query", "database": "data.db", "sql": "SELECT zeroblob(100000000)"], context: ToolContext())
    #expect(blob.isError && blob.text.contains("too big"))
  }
}

@Suite struct SQLAuthorizationPolicyTests {
  @Test func aReadOnlyPolicyAllowsOnlyReading() {
    let policy = SQLAuthorizationPolicy(allowsWrites: false)
    #expect(policy.decide(action: 21, nil, nil) == .allow)  // SELECT
    #expect(policy.decide(action: 20, "people", "name") == .allow)  // READ
    #expect(policy.decide(action: 31, nil, "upper") == .allow)  // FUNCTION
    #expect(policy.decide(action: 18, "people", nil) != .allow)  // INSERT
    #expect(policy.decide(action: 24, "x.db", nil) != .allow)  // ATTACH
    #expect(policy.decide(action: 19, "table_info", "people") == .allow)  // PRAGMA
    #expect(policy.decide(action: 19, "user_version", nil) == .allow)
    #expect(policy.decide(action: 19, "user_version", "3") != .allow)
    #expect(policy.decide(action: 31, nil, "LOAD_EXTENSION") != .allow)
  }

  @Test func aReadWritePolicyStillRefusesAttachAndConnectionPragmas() {
    let policy = SQLAuthorizationPolicy(allowsWrites: true)
    #expect(policy.decide(action: 18, "people", nil) == .allow)  // INSERT
    #expect(policy.decide(action: 2, "t", nil) == .allow)  // CREATE TABLE
    #expect(policy.decide(action: 24, "x.db", nil) != .allow)  // ATTACH
    #expect(policy.decide(action: 19, "user_version", "3") == .allow)
    #expect(policy.decide(action: 19, "journal_mode", "off") != .allow)
    #expect(policy.decide(action: 22, "BEGIN", nil) != .allow)  // TRANSACTION
  }
}
