import MinionsCore
import Synchronization

/// A value that is set once, by a thread or a task, and awaited by any number of tasks or threads.
///
/// Bridges the threads that watch a subprocess (reaper, pipe readers) to async callers without
/// occupying the cooperative pool: async waiters park on continuations, threads on a condition.
final class AsyncOneShot<Value: Sendable>: Sendable {
  private struct State {
    var value: Value?
    var waiters: [Int: CheckedContinuation<Value, any Error>] = [:]
    /// Waiters whose task was cancelled before their continuation was stored.
    var cancelledEarly: Set<Int> = []
    var nextWaiter = 0
  }

  private let state = Mutex(State())
  private let event = OneShotEvent()

  init() {}

  /// Sets the value and wakes every waiter; returns false (and changes nothing) when already set.
  @discardableResult
  func resolve(_ value: Value) -> Bool {
    let waiters: [CheckedContinuation<Value, any Error>]? = state.withLock { s in
      guard s.value == nil else { return nil }
      s.value = value
      let list = Array(s.waiters.values)
      s.waiters = [:]
      s.cancelledEarly = []
      return list
    }
    guard let waiters else { return false }
    event.signal()
    for waiter in waiters { waiter.resume(returning: value) }
    return true
  }

  /// The value, if it was set.
  var current: Value? { state.withLock { $0.value } }

  /// Waits for the value; cancelling the waiting task does not end the wait.
  func wait() async -> Value {
    if let value = current { return value }
    let id = state.withLock { s -> Int in
      s.nextWaiter += 1
      return s.nextWaiter
    }
    // Never throws: only `waitCancellable` resumes with an error, and only its own waiters.
    return try! await withCheckedThrowingContinuation { continuation in
      let value: Value? = state.withLock { s in
        if let value = s.value { return value }
        s.waiters[id] = continuation
        return nil
      }
      if let value { continuation.resume(returning: value) }
    }
  }

  /// Waits for the value, or throws `CancellationError` as soon as the waiting task is cancelled.
  func waitCancellable() async throws -> Value {
    if let value = current { return value }
    try Task.checkCancellation()
    let id = state.withLock { s -> Int in
      s.nextWaiter += 1
      return s.nextWaiter
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let immediate: Result<Value, any Error>? = state.withLock { s in
          if let value = s.value { return .success(value) }
          if s.cancelledEarly.remove(id) != nil { return .failure(CancellationError()) }
          s.waiters[id] = continuation
          return nil
        }
        if let immediate { continuation.resume(with: immediate) }
      }
    } onCancel: {
      let waiter: CheckedContinuation<Value, any Error>? = state.withLock { s in
        if let waiter = s.waiters.removeValue(forKey: id) { return waiter }
        if s.value == nil { s.cancelledEarly.insert(id) }
        return nil
      }
      waiter?.resume(throwing: CancellationError())
    }
  }

  /// Blocks the calling OS thread until the value is set or `timeoutSeconds` pass.
  /// - Important: only on threads of our own, never on the cooperative pool.
  func waitBlocking(timeoutSeconds: Double? = nil) -> Value? {
    event.wait(timeout: timeoutSeconds)
    return current
  }
}
