/// OS threads that run blocking jobs in FIFO order, bridged to async callers.
///
/// Blocking C calls (sqlite3_step, crypt_r, walking directories, waiting on a process) must not occupy
/// Swift's cooperative pool, which has only as many threads as cores: they run here instead. Threads
/// start when work arrives, up to `maxThreads`, and are kept for the next job; with `idleSeconds`, an
/// idle thread ends after that long. With one thread it is a serial executor, which is how the database
/// keeps its single connection to one thread at a time.
public final class WorkerThreads: @unchecked Sendable {  // all mutable state is guarded by `lock`
  /// The shared pool for short blocking work (tool calls): up to 64 threads, idle ones end after 30 s.
  public static let blocking = WorkerThreads(name: "blocking", maxThreads: 64, idleSeconds: 30)

  private let lock = ConditionLock()
  private var jobs: [() -> Void] = []
  private var head = 0
  private var stopped = false
  private var threads = 0
  private var idle = 0
  private let name: String
  private let maxThreads: Int
  private let idleSeconds: Double?

  public init(name: String, maxThreads: Int = 1, idleSeconds: Double? = nil) {
    self.name = name
    self.maxThreads = max(1, maxThreads)
    self.idleSeconds = idleSeconds
  }

  private func work() {
    lock.lock()
    while true {
      if head == jobs.count {
        if stopped { break }
        idle += 1
        var woken = true
        if let idleSeconds { woken = lock.wait(seconds: idleSeconds) } else { lock.wait() }
        idle -= 1
        if !woken && head == jobs.count && !stopped { break }
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
    threads -= 1
    lock.unlock()
  }

  /// Queues `job` without waiting for it.
  public func submit(_ job: @escaping @Sendable () -> Void) {
    lock.lock()
    jobs.append(job)
    var spawn = false
    if idle < jobs.count - head && threads < maxThreads {
      threads += 1
      spawn = true
    } else {
      lock.signal()
    }
    lock.unlock()
    // SQLite and directory walks want more stack than the 512 KiB default.
    if spawn { spawnThread(name: name, stackSize: 1 << 20) { [self] in work() } }
  }

  /// Runs `body` on a worker thread and returns its result to the awaiting task.
  public func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
      submit { continuation.resume(returning: body()) }
    }
  }

  /// Runs `body` on a worker thread and returns its result to the awaiting task.
  public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
      submit {
        do {
          continuation.resume(returning: try body())
        } catch {
          continuation.resume(throwing: error)
        }
      }
    }
  }

  /// Runs `body` on a worker thread and blocks the calling OS thread until it is done.
  /// - Important: never from the cooperative pool (use `run`); for the command line and startup.
  public func runBlocking<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
    let done = OneShotEvent()
    let result = ResultBox<T>()
    submit {
      result.set(Result { try body() })
      done.signal()
    }
    done.wait()
    return try result.get()
  }

  /// Lets queued jobs finish, then stops the threads.
  public func stop() {
    lock.lock()
    stopped = true
    lock.broadcast()
    lock.unlock()
  }
}

/// A result handed from one thread to another after a signal.
final class ResultBox<T: Sendable>: @unchecked Sendable {  // written once before the signal, read after
  private var value: Result<T, any Error>?
  func set(_ r: Result<T, any Error>) { value = r }
  func get() throws -> T { try value!.get() }
}
