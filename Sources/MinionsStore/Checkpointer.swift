import CSQLite
import MinionsCore

/// Copies the write-ahead log back into the database on a thread and connection of its own, so no
/// commit ever waits for a checkpoint (SQLite's automatic checkpoint runs inside the commit that
/// crosses the threshold, with an fsync: a ~10 ms stall every few hundred writes).
///
/// The main connection's WAL hook reports the log's size after each commit; past `thresholdPages`
/// the checkpointer is woken and runs a PASSIVE checkpoint, which never blocks readers or writers.
/// Should writes outrun it until the log is four times that size, the committing connection
/// checkpoints itself, so the log stays bounded.
final class Checkpointer: @unchecked Sendable {  // `connection` is used only on the checkpointer thread;
  // the rest is guarded by `lock`
  static let thresholdPages: Int32 = 1000

  private let path: String
  private let logger: Logger
  private let lock = ConditionLock()
  private var requested = false
  private var stopping = false
  private let stopped = OneShotEvent()
  private var connection: Connection?

  init(path: String, logger: Logger) {
    self.path = path
    self.logger = logger
    spawnThread(name: "sqlite-checkpoint") { [self] in run() }
  }

  /// Installs the WAL hook on the main connection (on its thread) and turns off automatic checkpoints.
  func attach(to main: Connection) throws {
    try main.execute("PRAGMA wal_autocheckpoint=0")
    let context = Unmanaged.passUnretained(self).toOpaque()
    sqlite3_wal_hook(
      main.handle,
      { context, db, _, pages in
        if pages >= Checkpointer.thresholdPages * 4 {
          // Writes outrun the background checkpoints: bound the log here, as SQLite itself would.
          sqlite3_wal_checkpoint_v2(db, nil, SQLITE_CHECKPOINT_PASSIVE, nil, nil)
        } else if pages >= Checkpointer.thresholdPages {
          Unmanaged<Checkpointer>.fromOpaque(context!).takeUnretainedValue().request()
        }
        return SQLITE_OK
      }, context)
  }

  /// Asks for a checkpoint soon (cheap; called from the commit hook).
  func request() {
    lock.withLock {
      requested = true
      lock.signal()
    }
  }

  /// Stops the thread after any checkpoint in progress; the main connection's close does the last one.
  func stop() {
    lock.withLock {
      stopping = true
      lock.signal()
    }
    stopped.wait()
  }

  private func run() {
    while true {
      lock.lock()
      while !requested && !stopping { lock.wait() }
      let stop = stopping
      requested = false
      lock.unlock()
      if stop { break }
      checkpoint()
    }
    connection = nil
    stopped.signal()
  }

  private func checkpoint() {
    do {
      if connection == nil {
        let c = try Connection(path: path)
        sqlite3_busy_timeout(c.handle, 1000)
        // A new connection learns the file is in WAL mode only once it reads it.
        _ = try c.scalarText("PRAGMA journal_mode")
        connection = c
      }
      var logPages: Int32 = 0
      var copied: Int32 = 0
      let rc = sqlite3_wal_checkpoint_v2(connection!.handle, nil, SQLITE_CHECKPOINT_PASSIVE, &logPages, &copied)
      if rc != SQLITE_OK && rc != SQLITE_BUSY {
        logger.warning("checkpoint failed: \(String(cString: sqlite3_errstr(rc)))")
      }
    } catch {
      logger.warning("checkpoint connection: \(error)")
    }
  }
}
