import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Starts a detached OS thread running `body`.
///
/// Used for work that blocks in the kernel (reading a pipe or socket, writing to a slow peer) so it
/// never occupies Swift's cooperative thread pool.
public func spawnThread(name: String, stackSize: Int = 512 * 1024, _ body: @escaping @Sendable () -> Void) {
  final class Box: @unchecked Sendable {  // handed to exactly one new thread, which consumes it
    let body: @Sendable () -> Void
    let name: String
    init(_ body: @escaping @Sendable () -> Void, name: String) {
      self.body = body
      self.name = name
    }
  }
  let box = Unmanaged.passRetained(Box(body, name: name)).toOpaque()
  var attr = pthread_attr_t()
  pthread_attr_init(&attr)
  pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
  pthread_attr_setstacksize(&attr, stackSize)
  var thread = pthread_t()
  let rc = pthread_create(
    &thread, &attr,
    { raw in
      let box = Unmanaged<AnyObject>.fromOpaque(raw!).takeRetainedValue()
      let b = unsafeDowncast(box, to: Box.self)
      b.body()
      return nil
    }, box)
  pthread_attr_destroy(&attr)
  precondition(rc == 0, "pthread_create failed: \(rc)")
}

/// A mutex with a condition variable, for threads that must sleep until state changes.
///
/// - Important: Only for OS threads we own (reader, writer); async code uses `Mutex` and continuations.
public final class ConditionLock: @unchecked Sendable {  // the pthread objects are the synchronization
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let cond: UnsafeMutablePointer<pthread_cond_t>

  public init() {
    mutex = .allocate(capacity: 1)
    cond = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    var attr = pthread_condattr_t()
    pthread_condattr_init(&attr)
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
    pthread_cond_init(cond, &attr)
    pthread_condattr_destroy(&attr)
  }

  deinit {
    pthread_cond_destroy(cond)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    cond.deallocate()
  }

  public func lock() { pthread_mutex_lock(mutex) }
  public func unlock() { pthread_mutex_unlock(mutex) }
  public func wait() { pthread_cond_wait(cond, mutex) }

  /// Waits at most `seconds`; returns false on timeout.
  @discardableResult
  public func wait(seconds: Double) -> Bool {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let total = Double(now.tv_sec) + Double(now.tv_nsec) / 1e9 + seconds
    var deadline = timespec(tv_sec: Int(total), tv_nsec: Int((total - Double(Int(total))) * 1e9))
    return pthread_cond_timedwait(cond, mutex, &deadline) == 0
  }

  public func signal() { pthread_cond_signal(cond) }
  public func broadcast() { pthread_cond_broadcast(cond) }

  public func withLock<T>(_ body: () throws -> T) rethrows -> T {
    lock()
    defer { unlock() }
    return try body()
  }
}

/// A one-shot flag that threads can wait on.
public final class OneShotEvent: Sendable {
  private let lock = ConditionLock()
  private let state = AtomicFlag()

  public init() {}

  public func signal() {
    lock.withLock {
      state.set()
      lock.broadcast()
    }
  }

  public var isSignalled: Bool { state.isSet }

  /// Blocks the calling thread until signalled or `timeout` seconds pass; returns whether signalled.
  @discardableResult
  public func wait(timeout: Double? = nil) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if let timeout {
      let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
      while !state.isSet {
        let now = MonotonicClock.nanoseconds()
        if now >= deadline { return false }
        lock.wait(seconds: Double(deadline - now) / 1e9)
      }
      return true
    }
    while !state.isSet { lock.wait() }
    return true
  }
}

/// A boolean that can be set once from any thread.
public final class AtomicFlag: Sendable {
  private let value = Atomic<Bool>(false)
  public init() {}
  public func set() { value.store(true, ordering: .releasing) }
  public var isSet: Bool { value.load(ordering: .acquiring) }
  /// Sets the flag; returns true only for the call that changed it.
  public func setIfUnset() -> Bool {
    value.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
  }
}
