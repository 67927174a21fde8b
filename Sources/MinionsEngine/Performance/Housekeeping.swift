import MinionsCore
import Synchronization

/// The engine's timer. Every `sampleSeconds` it samples the system monitor into the metrics store
/// (`system.*`, `process.*`) and evaluates the alert rules; every `pruneSeconds` it enforces
/// `metrics.retentionDays`, drops finished tasks past `tasks.keepResultsHours` and sweeps expired
/// cache entries.
public final class Housekeeping: Sendable {
  public struct Intervals: Sendable {
    public var sampleSeconds: Double
    public var pruneSeconds: Double

    public init(sampleSeconds: Double = 5, pruneSeconds: Double = 3600) {
      self.sampleSeconds = sampleSeconds
      self.pruneSeconds = pruneSeconds
    }
  }

  private let loop = Mutex<Task<Void, Never>?>(nil)

  init() {}

  /// Starts the timer (again, with new intervals, if it runs). The first sample is taken at once.
  func start(_ intervals: Intervals, tick: @escaping @Sendable (_ prune: Bool) async -> Void) {
    let task = Task.detached(priority: .utility) {
      var lastPrune = MonotonicClock.nanoseconds()
      await tick(true)
      while !Task.isCancelled {
        try? await Task.sleep(nanoseconds: UInt64(intervals.sampleSeconds * 1e9))
        if Task.isCancelled { break }
        let now = MonotonicClock.nanoseconds()
        let prune = Double(now - lastPrune) / 1e9 >= intervals.pruneSeconds
        if prune { lastPrune = now }
        await tick(prune)
      }
    }
    loop.withLock {
      $0?.cancel()
      $0 = task
    }
  }

  /// Stops the timer; a tick in progress finishes.
  func stop() {
    loop.withLock {
      $0?.cancel()
      $0 = nil
    }
  }
}
