import CSQLite
import MinionsCore
import Synchronization

/// Stops the statements of a `SandboxedConnection`: when `cancel()` is called (from any thread: a
/// cancelled task) or once the deadline has passed.
///
/// The connection's progress handler asks `shouldStop` every thousand virtual-machine steps, and
/// `cancel()` also calls `sqlite3_interrupt` on the open connection, which reaches it even inside one long
/// step (a big sort).
public final class QueryInterruption: Sendable {
  /// When the work must end, in `MonotonicClock` nanoseconds.
  public let deadline: UInt64
  /// How long the work was given, for messages.
  public let timeLimitMs: Int
  private let cancelled = AtomicFlag()
  /// The connection currently running, registered while it is open; the lock keeps `sqlite3_interrupt`
  /// from reaching a connection being closed.
  private let running = Mutex<RunningConnection?>(nil)

  /// A time limit of `timeLimitMs` starting now.
  public init(timeLimitMs: Int) {
    self.timeLimitMs = timeLimitMs
    self.deadline = MonotonicClock.nanoseconds() + UInt64(max(0, timeLimitMs)) * 1_000_000
  }

  /// Stops the work as soon as possible.
  public func cancel() {
    cancelled.set()
    running.withLock { connection in
      if let connection { sqlite3_interrupt(connection.handle) }
    }
  }

  /// Whether `cancel()` was called.
  public var isCancelled: Bool { cancelled.isSet }
  /// Whether the time limit has passed.
  public var isPastDeadline: Bool { MonotonicClock.nanoseconds() >= deadline }
  /// Whether the work should stop now (cancelled or out of time).
  public var shouldStop: Bool { isCancelled || isPastDeadline }

  func register(_ handle: OpaquePointer) {
    running.withLock { $0 = RunningConnection(handle: handle) }
    if isCancelled { cancel() }  // cancelled while opening
  }

  func unregister() { running.withLock { $0 = nil } }
}

/// A connection handle that `QueryInterruption.cancel()` may interrupt from another thread.
struct RunningConnection: @unchecked Sendable {  // only used under QueryInterruption.running's lock
  let handle: OpaquePointer
}
