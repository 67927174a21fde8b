import MinionsCore
import MinionsStore
import MinionsTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct DatabaseTests {
  func open(_ migrations: [Migration] = [], path: String? = nil) throws -> Database {
    let dir = try temporaryDirectory(prefix: "minions-db")
    return try Database(path: path ?? dir + "/test.sqlite3", migrations: migrations, logger: .disabled)
  }

  let schema = [
    Migration(
      1, "items",
      "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, owner INTEGER REFERENCES owners(id));"
        + "CREATE TABLE owners (id INTEGER PRIMARY KEY);"),
    Migration(2, "price", "ALTER TABLE items ADD COLUMN price REAL;"),
  ]

  @Test func opensInWALWithForeignKeysAndNormalSync() throws {
    let db = try open()
    #expect(try db.sync { try $0.scalarText("PRAGMA journal_mode") } == "wal")
    #expect(try db.sync { try $0.scalarInt("PRAGMA foreign_keys") } == 1)
    #expect(try db.sync { try $0.scalarInt("PRAGMA synchronous") } == 1)  // NORMAL
    db.close()
  }

  @Test func theLogIsCheckpointedInTheBackgroundAndStaysBounded() async throws {
    let dir = try temporaryDirectory(prefix: "minions-db")
    let path = dir + "/wal.sqlite3"
    let db = try Database(
      path: path, migrations: [Migration(1, "blobs", "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)")],
      logger: .disabled)
    // Commits never checkpoint themselves (that is the background thread's job).
    #expect(try db.sync { try $0.scalarInt("PRAGMA wal_autocheckpoint") } == 0)
    // 24 MB written in 480 commits: without checkpoints the log would hold all of it.
    let row = [UInt8](repeating: 7, count: 50_000)
    for _ in 0..<480 {
      try await db.write { c in try c.execute("INSERT INTO blobs(data) VALUES (?)", [.blob(row)]) }
      await waitSeconds(0.002)
    }
    var st = stat()
    #expect(stat(path + "-wal", &st) == 0)
    #expect(st.st_size < 12 << 20, "the log grew to \(st.st_size) bytes")
    #expect(try await db.read { try $0.scalarInt("SELECT count(*) FROM blobs") } == 480)
    db.close()
  }

  @Test func migrationsApplyInOrderOnceEach() throws {
    let dir = try temporaryDirectory(prefix: "minions-db")
    let path = dir + "/m.sqlite3"
    let db = try Database(path: path, migrations: schema, logger: .disabled)
    #expect(try db.sync { try $0.scalarInt("PRAGMA user_version") } == 2)
    try db.sync { try $0.execute("INSERT INTO items(name, price) VALUES ('a', 1.5)") }
    db.close()
    // Reopening applies nothing twice (ALTER TABLE would fail) and keeps the data.
    let again = try Database(path: path, migrations: schema, logger: .disabled)
    #expect(try again.sync { try $0.query("SELECT name, price FROM items") }.first?["price"] == .double(1.5))
    again.close()
  }

  @Test func aFailingMigrationRollsBackAndSaysWhich() throws {
    let broken = schema + [Migration(3, "broken", "CREATE TABLE ok (x); CREATE TABLE items (y);")]
    #expect {
      try open(broken)
    } throws: { error in
      guard let e = error as? StoreError else { return false }
      return e.kind == .migration && e.message.contains("migration 3 (broken)")
    }
  }

  @Test func transactionsCommitOrRollBack() async throws {
    let db = try open(schema)
    try await db.write { c in try c.execute("INSERT INTO items(name) VALUES (?)", "kept") }
    await #expect(throws: StoreError.self) {
      try await db.write { c in
        try c.execute("INSERT INTO items(name) VALUES (?)", "lost")
        try c.execute("INSERT INTO items(name) VALUES (?)", "kept")  // UNIQUE violation: all of it rolls back
      }
    }
    let names = try await db.read { c in
      try c.query("SELECT name FROM items ORDER BY name").compactMap { $0["name"].text }
    }
    #expect(names == ["kept"])
    db.close()
  }

  @Test func errorsCarrySQLitesResultCode() throws {
    let db = try open(schema)
    try db.sync { try $0.execute("INSERT INTO items(name) VALUES ('x')") }
    do {
      try db.sync { try $0.execute("INSERT INTO items(name) VALUES ('x')") }
      Issue.record("no error")
    } catch let e as StoreError {
      #expect(e.kind == .constraint && e.code == 2067 && e.isUniqueViolation)  // SQLITE_CONSTRAINT_UNIQUE
    }
    do {
      try db.sync { try $0.execute("INSERT INTO items(name, owner) VALUES ('y', 42)") }
      Issue.record("no error")
    } catch let e as StoreError {
      #expect(e.kind == .constraint && e.code == 787)  // SQLITE_CONSTRAINT_FOREIGNKEY
    }
    #expect(throws: StoreError.self) { try db.sync { try $0.execute("SELEKT 1") } }
    #expect(throws: StoreError.self) { try db.sync { try $0.execute("SELECT ?", [.int(1), .int(2)]) } }
    db.close()
  }

  @Test func valuesRoundTripByType() throws {
    let db = try open()
    let row = try db.sync { c in
      try c.queryOne(
        "SELECT ? AS i, ? AS d, ? AS t, ? AS b, ? AS n",
        [.int(-5), .double(2.5), .text("héllo\u{0}x"), .blob([0, 1, 255]), .null])
    }
    #expect(
      row?["i"] == .int(-5) && row?["d"] == .double(2.5) && row?["b"] == .blob([0, 1, 255]) && row?["n"] == .null)
    #expect(row?["t"] == .text("héllo\u{0}x"))
    db.close()
  }

  @Test func concurrentCallersAreSerializedInOrder() async throws {
    let db = try open(schema)
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<200 {
        group.addTask { try await db.write { c in try c.execute("INSERT INTO items(name) VALUES (?)", "n\(i)") } }
      }
      try await group.waitForAll()
    }
    #expect(try await db.read { try $0.scalarInt("SELECT count(*) FROM items") } == 200)
    db.close()
  }

  @Test func dataDirectoryIsCreatedPrivate() throws {
    let base = try temporaryDirectory(prefix: "minions-dd")
    let path = base + "/a/b/data"
    try DataDirectory.prepare(path)
    var st = stat()
    #expect(stat(path, &st) == 0)
    #expect(st.st_mode & 0o777 == 0o700)
    #expect(DataDirectory.resolve(environment: ["MINIONS_DATA_DIR": "/x"]) == "/x")
    #expect(DataDirectory.resolve(environment: ["XDG_DATA_HOME": "/xdg", "HOME": "/h"]) == "/xdg/minions")
    #expect(DataDirectory.resolve(environment: ["HOME": "/h"]) == "/h/.local/share/minions")
  }
}
