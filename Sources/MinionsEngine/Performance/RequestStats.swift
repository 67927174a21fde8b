import MinionsCore
import Synchronization

/// Live figures of the requests the server answered: totals since start, and the latest requests (up
/// to `window` of them, within the last five minutes) for rates, error rates and latency percentiles.
/// Fed by the protocol layer for every request; read by `metrics/snapshot` and the alert rules.
public final class RequestStats: Sendable {
  public struct Figures: Sendable, Equatable {
    public var requestsTotal: Int
    public var errorsTotal: Int
    /// Requests per second over the last ten seconds.
    public var requestsPerSecond: Double
    /// Errors among the recent requests (0…1).
    public var errorRate: Double
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?
    /// How many recent requests the rates and percentiles are over.
    public var recentCount: Int
  }

  struct Sample {
    var at: Int64
    var ms: Float
    var error: Bool
  }

  struct State {
    var total = 0
    var errors = 0
    var ring: [Sample] = []
    var next = 0
  }

  static let window = 8192
  static let recentMs: Int64 = 5 * 60_000
  private let clock: EngineClock
  private let state = Mutex(State())

  init(clock: EngineClock) { self.clock = clock }

  /// Counts one answered request.
  public func record(milliseconds: Double, error: Bool) {
    let sample = Sample(at: clock.now().millisecondsSinceEpoch, ms: Float(milliseconds), error: error)
    state.withLock { s in
      s.total += 1
      if error { s.errors += 1 }
      if s.ring.count < Self.window {
        s.ring.append(sample)
      } else {
        s.ring[s.next] = sample
      }
      s.next = (s.next + 1) % Self.window
    }
  }

  /// The figures over the last `seconds` (default five minutes) and the totals.
  public func figures(overLast seconds: Double = 300) -> Figures {
    let now = clock.now().millisecondsSinceEpoch
    let since = now - Int64(seconds * 1000)
    let (total, errors, recent) = state.withLock { s in (s.total, s.errors, s.ring.filter { $0.at >= since }) }
    let lastTen = recent.filter { $0.at >= now - 10_000 }.count
    let latencies = recent.map(\.ms).sorted()
    func pct(_ q: Double) -> Double? {
      guard !latencies.isEmpty else { return nil }
      let i = Swift.min(latencies.count - 1, Swift.max(0, Int((q * Double(latencies.count)).rounded(.up)) - 1))
      return (Double(latencies[i]) * 1000).rounded() / 1000
    }
    return Figures(
      requestsTotal: total, errorsTotal: errors, requestsPerSecond: Double(lastTen) / 10,
      errorRate: recent.isEmpty ? 0 : Double(recent.filter(\.error).count) / Double(recent.count),
      p50Ms: pct(0.5), p95Ms: pct(0.95), p99Ms: pct(0.99), recentCount: recent.count)
  }
}
