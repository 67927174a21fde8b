/// A fixed set of OS threads that run blocking jobs in FIFO order, bridged to async callers.
///
/// Blocking C calls (sqlite3_step, crypt_r, curl_easy_perform) must not occupy Swift's cooperative
/// pool, which has only as many threads as cores: they run here instead. With one thread it is a
/// serial executor, which is how the database keeps its single connection to one thread.
public final class WorkerThreads: @unchecked Sendable {  // `jobs` and `stopped` are guarded by `lock`
  private let lock = ConditionLock()
  private var jobs: [() -> Void] = []
  private var head = 0
  private var stopped = false
  private let threadIDs: [Int]
  private let name: String

  public init(name: String, count: Int = 1) {
    self.name = name
    self.threadIDs = Array(0..<max(1, count))
    for i in threadIDs {
      spawnThread(name: "\(name)-\(i)") { [self] in run() }
    }
  }

  private func run() {
    lock.lock()
    while true {
      while head == jobs.count && !stopped { lock.wait() }
      if head == jobs.count && stopped { break }
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
    lock.unlock()
  }

  /// Queues `job` without waiting for it.
  public func submit(_ job: @escaping @Sendable () -> Void) {
    lock.lock()
    jobs.append(job)
    lock.signal()
    lock.unlock()
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
