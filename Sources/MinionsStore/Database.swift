import CSQLite
import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// One numbered schema change, applied once, in order, inside a transaction.
public struct Migration: Sendable {
  public let version: Int
  public let name: String
  public let sql: String

  public init(_ version: Int, _ name: String, _ sql: String) {
    self.version = version
    self.name = name
    self.sql = sql
  }
}

/// The SQLite database: one connection (`SQLITE_OPEN_NOMUTEX`) owned by one thread, which every read
/// and write runs on, in order. Async callers are suspended, not blocked, while their work runs.
///
/// Opening verifies WAL journaling, sets `synchronous=NORMAL` (a commit survives the process being
/// killed), turns on foreign keys and a busy timeout, and applies pending migrations.
public final class Database: Sendable {
  public let path: String
  private let worker: WorkerThreads
  private let holder: ConnectionHolder
  private let logger: Logger
  private let laterWrites = LaterWrites()
  private let checkpointer: Checkpointer

  /// Opens (creating if needed) the database at `path`.
  public init(path: String, migrations: [Migration] = [], logger: Logger, busyTimeoutMs: Int32 = 5000) throws {
    self.path = path
    self.logger = logger
    self.worker = WorkerThreads(name: "sqlite")
    self.holder = ConnectionHolder()
    let checkpointer = Checkpointer(path: path, logger: logger)
    self.checkpointer = checkpointer
    let holder = self.holder
    do {
      try open(path: path, holder: holder, checkpointer: checkpointer, busyTimeoutMs: busyTimeoutMs)
      try migrate(migrations)
    } catch {
      checkpointer.stop()
      worker.stop()
      throw error
    }
  }

  private func open(path: String, holder: ConnectionHolder, checkpointer: Checkpointer, busyTimeoutMs: Int32) throws {
    try worker.runBlocking {
      let connection = try Connection(path: path)
      sqlite3_busy_timeout(connection.handle, busyTimeoutMs)
      let mode = try connection.scalarText("PRAGMA journal_mode=WAL")
      guard mode?.lowercased() == "wal" else {
        throw StoreError(
          kind: .configuration, code: SQLITE_ERROR,
          message: "could not enable WAL journaling (journal_mode is \(mode ?? "unknown"))")
      }
      try connection.execute("PRAGMA synchronous=NORMAL")
      try connection.execute("PRAGMA foreign_keys=ON")
      guard try connection.scalarInt("PRAGMA foreign_keys") == 1 else {
        throw StoreError(kind: .configuration, code: SQLITE_ERROR, message: "foreign keys could not be enabled")
      }
      try checkpointer.attach(to: connection)
      holder.connection = connection
    }
  }

  /// Applies every migration newer than the database's `user_version`, each in its own transaction.
  public func migrate(_ migrations: [Migration]) throws {
    let logger = self.logger
    try sync { connection in
      let current = try connection.scalarInt("PRAGMA user_version") ?? 0
      for m in migrations.sorted(by: { $0.version < $1.version }) where m.version > current {
        do {
          try connection.inTransaction {
            try connection.executeScript(m.sql)
            try connection.execute("PRAGMA user_version = \(m.version)")
          }
          logger.debug("applied migration \(m.version) (\(m.name))")
        } catch let error as StoreError {
          throw StoreError(
            kind: .migration, code: error.code, message: "migration \(m.version) (\(m.name)) failed: \(error.message)")
        }
      }
    }
  }

  /// Runs `body` on the database thread.
  public func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
    let holder = self.holder
    return try await worker.run { try body(holder.connection!) }
  }

  /// Runs `body` on the database thread inside a transaction (committed before this returns).
  public func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
    let holder = self.holder
    return try await worker.run {
      let c = holder.connection!
      return try c.inTransaction { try body(c) }
    }
  }

  /// Queues a write without waiting for it (audit rows and metrics that no reply acknowledges).
  /// Writes queued while the database is busy are committed together in one transaction, each in its
  /// own savepoint (so one failing write is rolled back and logged without losing the others). Anything
  /// read after this call sees the write.
  public func writeLater(_ body: @escaping @Sendable (Connection) throws -> Void) {
    guard laterWrites.append(body) else { return }  // a drain is already queued and will take it
    let holder = self.holder
    let logger = self.logger
    let later = self.laterWrites
    worker.submit {
      let jobs = later.takeAll()
      guard let c = holder.connection, !jobs.isEmpty else { return }
      do {
        try c.inTransaction {
          for job in jobs {
            try c.execute("SAVEPOINT later")
            do {
              try job(c)
              try c.execute("RELEASE later")
            } catch {
              try c.execute("ROLLBACK TO later")
              try c.execute("RELEASE later")
              logger.error("background write failed: \(error)")
            }
          }
        }
      } catch {
        logger.error("background writes failed: \(error)")
      }
    }
  }

  /// Runs `body` on the database thread and blocks until done.
  /// - Important: for the command line and startup only, never from async code.
  public func sync<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) throws -> T {
    let holder = self.holder
    return try worker.runBlocking { try body(holder.connection!) }
  }

  /// Runs `body` on a read-only connection of its own, opened for this call, inside one read
  /// transaction: it sees a consistent snapshot and, with WAL, never holds up the engine's own reads and
  /// writes however long it takes (exports, large scans). Blocks the calling thread: call it from a
  /// worker thread, not from async code.
  public func withSnapshotReader<T>(_ body: (Connection) throws -> T) throws -> T {
    let reader = try Connection(path: path, readOnly: true)
    try reader.execute("PRAGMA busy_timeout=5000")
    try reader.execute("BEGIN")
    defer { try? reader.execute("COMMIT") }
    return try body(reader)
  }

  /// Waits for queued work, then closes the connection.
  public func close() {
    checkpointer.stop()
    let holder = self.holder
    _ = try? worker.runBlocking { holder.connection = nil }
    worker.stop()
  }
}

/// Writes queued by `writeLater`, drained together by one job on the database thread.
final class LaterWrites: Sendable {
  private let state = Mutex<(jobs: [@Sendable (Connection) throws -> Void], drainQueued: Bool)>(([], false))

  /// Adds a write; true when the caller must queue a drain.
  func append(_ job: @escaping @Sendable (Connection) throws -> Void) -> Bool {
    state.withLock { s in
      s.jobs.append(job)
      if s.drainQueued { return false }
      s.drainQueued = true
      return true
    }
  }

  func takeAll() -> [@Sendable (Connection) throws -> Void] {
    state.withLock { s in
      let jobs = s.jobs
      s.jobs = []
      s.drainQueued = false
      return jobs
    }
  }
}

/// Owns the connection; it is only touched from the database thread.
final class ConnectionHolder: @unchecked Sendable {  // confined to the single "sqlite" worker thread
  var connection: Connection?
}

/// The data directory: `MINIONS_DATA_DIR`, else `$XDG_DATA_HOME/minions`, else `~/.local/share/minions`.
public enum DataDirectory {
  public static func resolve(environment: [String: String]) -> String {
    if let d = environment["MINIONS_DATA_DIR"], !d.isEmpty { return d }
    if let x = environment["XDG_DATA_HOME"], !x.isEmpty { return x + "/minions" }
    return (environment["HOME"] ?? "/tmp") + "/.local/share/minions"
  }

  /// Creates `path` (and missing parents) if needed. A directory created here gets mode 0700; an
  /// existing one is left as its owner set it.
  public static func prepare(_ path: String) throws {
    let parts = path.split(separator: "/")
    var current = path.hasPrefix("/") ? "" : "."
    for (i, part) in parts.enumerated() {
      current += "/" + part
      var st = stat()
      if stat(current, &st) == 0 { continue }
      let isLast = i == parts.count - 1
      if mkdir(current, isLast ? 0o700 : 0o755) != 0 && errno != EEXIST {
        throw StoreError(
          kind: .open, code: SQLITE_CANTOPEN,
          message: "cannot create data directory \(current): \(String(cString: strerror(errno)))")
      }
      if isLast { chmod(current, 0o700) }
    }
  }
}
