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

  /// Starts the timer (again, with new intervals, if it runs). Nothing runs at once — start-up and the
  /// first requests have the machine to themselves: the first sample comes one interval later, the
  /// first prune a minute later (or at the prune interval, if shorter), then every prune interval.
  func start(_ intervals: Intervals, tick: @escaping @Sendable (_ prune: Bool) async -> Void) {
    let task = Task.detached(priority: .utility) {
      var nextPrune = MonotonicClock.nanoseconds() + UInt64(min(intervals.pruneSeconds, 60) * 1e9)
      while !Task.isCancelled {
        try? await Task.sleep(nanoseconds: UInt64(intervals.sampleSeconds * 1e9))
        if Task.isCancelled { break }
        let now = MonotonicClock.nanoseconds()
        let prune = now >= nextPrune
        if prune { nextPrune = now + UInt64(intervals.pruneSeconds * 1e9) }
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
