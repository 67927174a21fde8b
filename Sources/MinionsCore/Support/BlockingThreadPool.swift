#if canImport(Glibc)
  import Glibc
#endif

/// Threads for blocking work (walking directories, stepping a SQLite query, waiting on a process) that
/// must not sit on Swift's cooperative pool. Threads are kept for reuse while idle (so a call does not
/// pay for creating one) and end after `idleSeconds` without work; at most `maxThreads` run at once,
/// beyond which jobs wait their turn in order.
public final class BlockingThreadPool: @unchecked Sendable {  // all mutable state is guarded by `lock`
  public static let shared = BlockingThreadPool(name: "blocking", maxThreads: 64)

  private let lock = ConditionLock()
  private var jobs: [() -> Void] = []
  private var head = 0
  private var threads = 0
  private var idle = 0
  private let name: String
  private let maxThreads: Int
  private let idleSeconds: Double

  public init(name: String, maxThreads: Int, idleSeconds: Double = 30) {
    self.name = name
    self.maxThreads = max(1, maxThreads)
    self.idleSeconds = idleSeconds
  }

  /// Queues `job`; an idle thread takes it, or a new one when none is idle and the limit allows.
  public func submit(_ job: @escaping @Sendable () -> Void) {
    lock.lock()
    jobs.append(job)
    let pending = jobs.count - head
    var spawn = false
    if idle >= pending {
      lock.signal()
    } else if threads < maxThreads {
      threads += 1
      spawn = true
    } else {
      lock.signal()
    }
    lock.unlock()
    // SQLite and directory walks want more stack than the 512 KiB default.
    if spawn { spawnThread(name: name, stackSize: 1 << 20) { [self] in work() } }
  }

  /// Runs `body` on a pool thread and returns its result to the awaiting task.
  public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
      submit { continuation.resume(returning: body()) }
    }
  }

  private func work() {
    lock.lock()
    while true {
      if head == jobs.count {
        idle += 1
        let woken = lock.wait(seconds: idleSeconds)
        idle -= 1
        if !woken && head == jobs.count {
          threads -= 1
          lock.unlock()
          return
        }
        continue
      }
      let job = jobs[head]
      head += 1
      if head == jobs.count {
        jobs.removeAll(keepingCapacity: true)
        head = 0
      }
      lock.unlock()
      job()
      lock.lock()
    }
  }
}
