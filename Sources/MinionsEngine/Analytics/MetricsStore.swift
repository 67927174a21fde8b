import MinionsCore
import MinionsStore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Metrics (`name`, `value`, `tags` at a time) and events (discrete happenings: logins, chats, tool
/// calls, errors), recorded by the engine and by `analytics/record`.
///
/// Recording appends to an in-memory buffer (cheap enough for every request); the buffer is written
/// in one transaction per batch — at most `flushInterval` later, or at once past `flushRows` — together
/// with hourly rollups (count, sum, min, max per name and tags) that reports read instead of raw rows,
/// and, for metrics named `…_ms`, a log-scale histogram per hour for percentiles. Raw rows are kept
/// `metrics.retentionDays` (pruned by `prune`).
public final class MetricsStore: Sendable {
  public struct Point: Sendable {
    public var at: Int64
    public var name: String
    public var value: Double
    /// Canonical JSON of the tags (sorted keys), so equal tags group together.
    public var tags: String
    /// Whether the point is stored as a row of its own, or only counted in the rollups and histograms.
    public var keepsRow: Bool = true
  }

  public struct Event: Sendable {
    public var at: Int64
    public var kind: String
    public var username: String?
    public var target: String?
    public var details: JSONValue
  }

  private let database: Database
  private let clock: EngineClock
  private let logger: Logger
  private let points = Mutex<[Point]>([])
  private let events = Mutex<[Event]>([])
  private let recorded = Atomic<Int>(0)
  private let tagCache = Mutex<[String: String]>([:])
  let flushInterval: Double
  let flushRows: Int

  init(database: Database, clock: EngineClock, logger: Logger, flushInterval: Double = 1, flushRows: Int = 50_000) {
    self.database = database
    self.clock = clock
    self.logger = logger
    self.flushInterval = flushInterval
    self.flushRows = flushRows
  }

  /// The canonical JSON of a tag set.
  public static func tags(_ tags: [String: String]) -> String {
    tags.isEmpty ? "{}" : JSONWriter.string(.object(tags.mapValues(JSONValue.string)))
  }

  /// Metrics recorded since the engine started (all of them, flushed or not).
  public var totalRecorded: Int { recorded.load(ordering: .relaxed) }

  /// Records a metric now (or at `at`).
  public func record(_ name: String, _ value: Double, tags: [String: String] = [:], at: Timestamp? = nil) {
    record(name, value, encodedTags: Self.tags(tags), at: at)
  }

  /// Records a metric whose tags are already canonical JSON (the hot paths keep them ready).
  ///
  /// - Parameter keepsRow: false for per-request figures (`rpc.*`) that only reports read: they go into
  ///   the hourly rollups and histograms without a row each, which would double the database's work
  ///   under load for nothing a report or an alert needs.
  public func record(_ name: String, _ value: Double, encodedTags: String, at: Timestamp? = nil, keepsRow: Bool = true)
  {
    let point = Point(
      at: (at ?? clock.now()).millisecondsSinceEpoch, name: name, value: value.isFinite ? value : 0, tags: encodedTags,
      keepsRow: keepsRow)
    let count = points.withLock { p -> Int in
      p.append(point)
      return p.count
    }
    recorded.add(1, ordering: .relaxed)
    scheduleFlush(count)
  }

  /// The canonical tags for one key and value, remembered (for per-request tags such as the method).
  public func cachedTags(_ key: String, _ value: String) -> String {
    let cacheKey = key + "\u{0}" + value
    if let t = tagCache.withLock({ $0[cacheKey] }) { return t }
    let t = Self.tags([key: value])
    tagCache.withLock { c in if c.count < 10_000 { c[cacheKey] = t } }
    return t
  }

  public func record(event kind: String, username: String?, target: String? = nil, details: JSONValue = [:]) {
    let event = Event(
      at: clock.now().millisecondsSinceEpoch, kind: kind, username: username, target: target, details: details)
    let count = events.withLock { e -> Int in
      e.append(event)
      return e.count
    }
    scheduleFlush(count)
  }

  private func scheduleFlush(_ buffered: Int) {
    if buffered == 1 {
      Deadlines.shared.schedule(after: flushInterval) { [weak self] in self?.flushLater() }
    } else if buffered == flushRows {
      flushLater()
    }
  }

  /// Rows waiting in memory.
  public var buffered: Int { points.withLock { $0.count } + events.withLock { $0.count } }

  private func take() -> ([Point], [Event]) {
    (
      points.withLock { p in
        defer { p.removeAll(keepingCapacity: true) }; return p
      },
      events.withLock { e in
        defer { e.removeAll(keepingCapacity: true) }; return e
      }
    )
  }

  /// Queues the buffered rows for writing without waiting.
  public func flushLater() {
    let (p, e) = take()
    guard !p.isEmpty || !e.isEmpty else { return }
    database.writeLater { c in try Self.write(p, e, into: c) }
  }

  /// Writes the buffered rows and waits until they are committed (reports call this first).
  public func flush() async throws {
    let (p, e) = take()
    // Even with nothing buffered, a write orders this after background writes already queued.
    try await database.write { c in try Self.write(p, e, into: c) }
  }

  static let hourMs: Int64 = 3_600_000

  /// One batch: raw rows, hourly rollups and histograms, in the caller's transaction.
  static func write(_ points: [Point], _ events: [Event], into c: Connection) throws {
    struct RollupKey: Hashable {
      var name: String
      var hour: Int64
      var tags: String
    }
    struct HistogramKey: Hashable {
      var key: RollupKey
      var bucket: Int
    }
    var rollups: [RollupKey: (count: Int, sum: Double, min: Double, max: Double)] = [:]
    var histograms: [HistogramKey: Int] = [:]
    for p in points {
      if p.keepsRow {
        try c.execute(
          "INSERT INTO metrics(at, name, value, tags) VALUES (?, ?, ?, ?)",
          [.int(p.at), .text(p.name), .double(p.value), .text(p.tags)])
      }
      let key = RollupKey(name: p.name, hour: p.at - p.at % hourMs, tags: p.tags)
      if var r = rollups[key] {
        r.count += 1
        r.sum += p.value
        r.min = Swift.min(r.min, p.value)
        r.max = Swift.max(r.max, p.value)
        rollups[key] = r
      } else {
        rollups[key] = (1, p.value, p.value, p.value)
      }
      if p.name.hasSuffix("_ms") {
        histograms[HistogramKey(key: key, bucket: LatencyHistogram.bucket(p.value)), default: 0] += 1
      }
    }
    for (k, r) in rollups {
      try c.execute(
        "INSERT INTO metric_rollups(hour, name, tags, count, sum, min, max) VALUES (?, ?, ?, ?, ?, ?, ?) "
          + "ON CONFLICT(name, hour, tags) DO UPDATE SET count = count + excluded.count, sum = sum + excluded.sum, "
          + "min = min(min, excluded.min), max = max(max, excluded.max)",
        [
          .int(k.hour), .text(k.name), .text(k.tags), .int(Int64(r.count)), .double(r.sum), .double(r.min),
          .double(r.max),
        ])
    }
    for (k, n) in histograms {
      try c.execute(
        "INSERT INTO metric_histograms(hour, name, tags, bucket, count) VALUES (?, ?, ?, ?, ?) "
          + "ON CONFLICT(name, hour, tags, bucket) DO UPDATE SET count = count + excluded.count",
        [.int(k.key.hour), .text(k.key.name), .text(k.key.tags), .int(Int64(k.bucket)), .int(Int64(n))])
    }
    for e in events {
      try c.execute(
        "INSERT INTO events(at, kind, username, target, details) VALUES (?, ?, ?, ?, ?)",
        [
          .int(e.at), .text(e.kind), e.username.map(SQLValue.text) ?? .null, e.target.map(SQLValue.text) ?? .null,
          .text(JSONWriter.string(e.details)),
        ])
    }
  }

  /// Deletes raw rows, rollups, histograms and events older than `days`; returns the rows removed.
  @discardableResult
  public func prune(olderThanDays days: Int) async throws -> Int {
    let cutoff = clock.now().millisecondsSinceEpoch - Int64(days) * 86_400_000
    return try await database.write { c in
      var removed = 0
      for sql in [
        "DELETE FROM metrics WHERE at < ?", "DELETE FROM events WHERE at < ?",
        "DELETE FROM metric_rollups WHERE hour < ?", "DELETE FROM metric_histograms WHERE hour < ?",
      ] {
        try c.execute(sql, [.int(cutoff)])
        removed += c.changes
      }
      return removed
    }
  }
}

/// Log-scale buckets for latencies: 8 per doubling (about ±4.5 % around a bucket's middle), from
/// 1 µs to beyond an hour; percentiles come from the bucket counts.
public enum LatencyHistogram {
  static let perDoubling = 8.0
  static let offset = 80  // bucket 80 starts at 1 ms; 0 is ~1 µs

  public static func bucket(_ ms: Double) -> Int {
    let v = Swift.max(ms, 0.001)
    return Swift.min(255, Swift.max(0, Int((log2(v) * perDoubling).rounded(.down)) + offset))
  }

  /// The middle of a bucket, in milliseconds.
  public static func value(ofBucket b: Int) -> Double {
    exp2((Double(b - offset) + 0.5) / perDoubling)
  }

  /// The `q` quantile (0…1) of a histogram given as bucket → count.
  public static func quantile(_ q: Double, of counts: [Int: Int]) -> Double? {
    let total = counts.values.reduce(0, +)
    guard total > 0 else { return nil }
    let target = Swift.max(1, Int((q * Double(total)).rounded(.up)))
    var seen = 0
    for b in counts.keys.sorted() {
      seen += counts[b]!
      if seen >= target { return value(ofBucket: b) }
    }
    return nil
  }
}
