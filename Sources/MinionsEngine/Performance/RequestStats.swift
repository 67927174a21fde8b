import MinionsCore
import Synchronization

/// Live figures of the requests the server answered: totals since start, and the latest requests (up
/// to `window` of them, within the last five minutes) for rates, error rates and latency percentiles,
/// overall and per method. Fed by the protocol layer for every request; read by `metrics/snapshot` and
/// the alert rules.
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
    /// The recent requests of each method, busiest first.
    public var byMethod: [MethodFigures]
  }

  /// One method's share of the recent requests.
  public struct MethodFigures: Sendable, Equatable {
    public var method: String
    public var count: Int
    public var errors: Int
    public var p50Ms: Double?
    public var p95Ms: Double?
    public var p99Ms: Double?
  }

  struct Sample {
    var at: Int64
    var ms: Float
    var method: UInt16
    var error: Bool
  }

  struct State {
    var total = 0
    var errors = 0
    var ring: [Sample] = []
    var next = 0
    /// Method names by their index in samples; past `maxMethods` names they share the last slot.
    var methodNames: [String] = []
    var methodIndex: [String: UInt16] = [:]
  }

  static let window = 8192
  static let maxMethods = 255
  static let otherMethods = "(other)"
  private let clock: EngineClock
  private let state = Mutex(State())

  init(clock: EngineClock) { self.clock = clock }

  /// Counts one answered request of `method`.
  public func record(method: String = "", milliseconds: Double, error: Bool) {
    let at = clock.now().millisecondsSinceEpoch
    state.withLock { s in
      let index: UInt16
      if let i = s.methodIndex[method] {
        index = i
      } else if s.methodNames.count < Self.maxMethods {
        index = UInt16(s.methodNames.count)
        s.methodNames.append(method)
        s.methodIndex[method] = index
      } else {
        index = UInt16(Self.maxMethods)
      }
      let sample = Sample(at: at, ms: Float(milliseconds), method: index, error: error)
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
    let (total, errors, recent, names) = state.withLock { s in
      (s.total, s.errors, s.ring.filter { $0.at >= since }, s.methodNames)
    }
    let lastTen = recent.reduce(0) { $0 + ($1.at >= now - 10_000 ? 1 : 0) }
    let overall = Self.percentiles(recent.map(\.ms))
    var grouped: [UInt16: [Sample]] = [:]
    for sample in recent { grouped[sample.method, default: []].append(sample) }
    let byMethod = grouped.map { index, samples in
      let p = Self.percentiles(samples.map(\.ms))
      return MethodFigures(
        method: Int(index) < names.count ? names[Int(index)] : Self.otherMethods, count: samples.count,
        errors: samples.reduce(0) { $0 + ($1.error ? 1 : 0) }, p50Ms: p.0, p95Ms: p.1, p99Ms: p.2)
    }.sorted { ($0.count, $1.method) > ($1.count, $0.method) }
    return Figures(
      requestsTotal: total, errorsTotal: errors, requestsPerSecond: Double(lastTen) / 10,
      errorRate: recent.isEmpty ? 0 : Double(recent.reduce(0) { $0 + ($1.error ? 1 : 0) }) / Double(recent.count),
      p50Ms: overall.0, p95Ms: overall.1, p99Ms: overall.2, recentCount: recent.count, byMethod: byMethod)
  }

  /// Nearest-rank p50, p95 and p99 in milliseconds (rounded to the microsecond), nil without samples.
  static func percentiles(_ values: [Float]) -> (Double?, Double?, Double?) {
    guard !values.isEmpty else { return (nil, nil, nil) }
    let sorted = values.sorted()
    func pct(_ q: Double) -> Double {
      let i = Swift.min(sorted.count - 1, Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
      return (Double(sorted[i]) * 1000).rounded() / 1000
    }
    return (pct(0.5), pct(0.95), pct(0.99))
  }
}
