import MinionsCore
import MinionsStore
import Synchronization

/// One provider attempt, as recorded.
public struct ModelCallRecord: Sendable {
  public enum Status: String, Sendable { case ok, error, cancelled }

  public var at: Timestamp
  public var model: String
  public var provider: ProviderKind
  public var status: Status
  public var errorKind: String?
  public var httpStatus: Int?
  public var ttftMs: Double?
  public var totalMs: Double
  public var loadMs: Double?
  public var promptTokens: Int
  public var completionTokens: Int
  public var tokensPerSecond: Double?
  public var cost: Double
  /// True when the provider gave no usage (or the stream was cut) and the counts are estimates.
  public var estimated: Bool
  public var attempt: Int
  /// The model this attempt failed over from.
  public var fallbackFrom: String?
  public var username: String?
  public var sessionID: String?

  public init(
    at: Timestamp, model: String, provider: ProviderKind, status: Status, errorKind: String? = nil,
    httpStatus: Int? = nil,
    ttftMs: Double? = nil, totalMs: Double, loadMs: Double? = nil, promptTokens: Int, completionTokens: Int,
    tokensPerSecond: Double? = nil, cost: Double, estimated: Bool, attempt: Int, fallbackFrom: String? = nil,
    username: String? = nil, sessionID: String? = nil
  ) {
    self.at = at
    self.model = model
    self.provider = provider
    self.status = status
    self.errorKind = errorKind
    self.httpStatus = httpStatus
    self.ttftMs = ttftMs
    self.totalMs = totalMs
    self.loadMs = loadMs
    self.promptTokens = promptTokens
    self.completionTokens = completionTokens
    self.tokensPerSecond = tokensPerSecond
    self.cost = cost
    self.estimated = estimated
    self.attempt = attempt
    self.fallbackFrom = fallbackFrom
    self.username = username
    self.sessionID = sessionID
  }
}

/// A model's measured figures, as `models/list` shows them.
public struct ModelStatsSnapshot: Sendable, Codable, Equatable {
  public var requests: Int
  public var errors: Int
  /// Errors among the attempts of the last 10 minutes.
  public var errorRate: Double
  public var p50LatencyMs: Double?
  public var p95LatencyMs: Double?
  public var p50TtftMs: Double?
  public var tokensPerSecond: Double?

  public static let empty = ModelStatsSnapshot(
    requests: 0, errors: 0, errorRate: 0, p50LatencyMs: nil, p95LatencyMs: nil,
    p50TtftMs: nil, tokensPerSecond: nil)
}

/// Rolling per-model figures over the latest attempts, and one stored row per attempt.
public final class ModelStats: Sendable {
  struct Sample {
    var at: Int64
    var ok: Bool
    var totalMs: Double
    var ttftMs: Double?
    var tokensPerSecond: Double?
  }

  struct PerModel {
    var requests = 0
    var errors = 0
    var recent: [Sample] = []
    var snapshot = ModelStatsSnapshot.empty
  }

  static let window = 200
  static let errorWindowMs: Int64 = 10 * 60_000
  private let database: Database
  private let clock: EngineClock
  private let perModel = Mutex<[String: PerModel]>([:])
  /// Every model's latest snapshot, kept apart so that selection takes the whole table in one copy.
  private let snapshotTable = Mutex<[String: ModelStatsSnapshot]>([:])

  private let metrics: MetricsStore?

  init(database: Database, clock: EngineClock, metrics: MetricsStore? = nil) throws {
    self.database = database
    self.clock = clock
    self.metrics = metrics
    let counts = try database.sync { c in
      try c.query(
        "SELECT model, count(*), sum(status = 'error') FROM model_calls WHERE status != 'cancelled' GROUP BY model")
    }
    var loaded: [String: PerModel] = [:]
    for row in counts {
      guard let model = row[0].text else { continue }
      var p = PerModel()
      p.requests = row[1].int ?? 0
      p.errors = row[2].int ?? 0
      let name = model
      let samples = try database.sync { c in
        try c.query(
          "SELECT at, status, total_ms, ttft_ms, tokens_per_second FROM model_calls WHERE model = ? AND status != 'cancelled' ORDER BY id DESC LIMIT \(Self.window)",
          [.text(name)])
      }
      p.recent = samples.reversed().map {
        Sample(
          at: $0[0].int64 ?? 0, ok: $0[1].text == "ok", totalMs: $0[2].double ?? 0, ttftMs: $0[3].double,
          tokensPerSecond: $0[4].double)
      }
      p.snapshot = Self.compute(p, now: clock.now().millisecondsSinceEpoch)
      loaded[model] = p
    }
    perModel.withLock { $0 = loaded }
    snapshotTable.withLock { $0 = loaded.mapValues(\.snapshot) }
  }

  public func snapshot(_ model: String) -> ModelStatsSnapshot {
    snapshotTable.withLock { $0[model] } ?? .empty
  }

  /// Every measured model's snapshot (models never tried are absent).
  public func snapshots() -> [String: ModelStatsSnapshot] { snapshotTable.withLock { $0 } }

  /// True once the model has been tried at least once.
  public func hasSamples(_ model: String) -> Bool { perModel.withLock { ($0[model]?.recent.isEmpty ?? true) == false } }

  public func record(_ r: ModelCallRecord) {
    let now = clock.now().millisecondsSinceEpoch
    if let metrics, r.status != .cancelled {
      let tags = MetricsStore.tags(["model": r.model, "provider": r.provider.rawValue, "user": r.username ?? ""])
      metrics.record("model.calls", 1, encodedTags: tags, at: r.at)
      if r.status == .error { metrics.record("model.errors", 1, encodedTags: tags, at: r.at) }
      metrics.record("model.tokens", Double(r.promptTokens + r.completionTokens), encodedTags: tags, at: r.at)
      metrics.record("model.cost", r.cost, encodedTags: tags, at: r.at)
      let byModel = metrics.cachedTags("model", r.model)
      if r.status == .ok {
        metrics.record("model.latency_ms", r.totalMs, encodedTags: byModel, at: r.at)
        if let ttft = r.ttftMs { metrics.record("model.ttft_ms", ttft, encodedTags: byModel, at: r.at) }
        if let tps = r.tokensPerSecond {
          metrics.record("model.tokens_per_second", tps, encodedTags: byModel, at: r.at)
        }
      }
    }
    if r.status != .cancelled {
      perModel.withLock { all in
        var p = all[r.model] ?? PerModel()
        p.requests += 1
        if r.status == .error { p.errors += 1 }
        p.recent.append(
          Sample(
            at: r.at.millisecondsSinceEpoch, ok: r.status == .ok, totalMs: r.totalMs, ttftMs: r.ttftMs,
            tokensPerSecond: r.tokensPerSecond))
        if p.recent.count > Self.window { p.recent.removeFirst(p.recent.count - Self.window) }
        p.snapshot = Self.compute(p, now: now)
        all[r.model] = p
        let snapshot = p.snapshot
        snapshotTable.withLock { $0[r.model] = snapshot }
      }
    }
    let values: [SQLValue] = [
      .int(r.at.millisecondsSinceEpoch), .text(r.model), .text(r.provider.rawValue), .text(r.status.rawValue),
      r.errorKind.map(SQLValue.text) ?? .null, r.httpStatus.map { .int(Int64($0)) } ?? .null,
      r.ttftMs.map(SQLValue.double) ?? .null,
      .double(r.totalMs), r.loadMs.map(SQLValue.double) ?? .null, .int(Int64(r.promptTokens)),
      .int(Int64(r.completionTokens)),
      r.tokensPerSecond.map(SQLValue.double) ?? .null, .double(r.cost), .int(r.estimated ? 1 : 0),
      .int(Int64(r.attempt)),
      r.fallbackFrom.map(SQLValue.text) ?? .null, r.username.map(SQLValue.text) ?? .null,
      r.sessionID.map(SQLValue.text) ?? .null,
    ]
    database.writeLater { c in
      try c.execute(
        "INSERT INTO model_calls(at, model, provider, status, error_kind, http_status, ttft_ms, total_ms, load_ms, prompt_tokens, "
          + "completion_tokens, tokens_per_second, cost, estimated, attempt, fallback_from, username, session_id) "
          + "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
    }
  }

  static func compute(_ p: PerModel, now: Int64) -> ModelStatsSnapshot {
    let ok = p.recent.filter(\.ok)
    let latencies = ok.map(\.totalMs).sorted()
    let ttfts = ok.compactMap(\.ttftMs).sorted()
    let rates = ok.compactMap(\.tokensPerSecond).sorted()
    let windowed = p.recent.filter { now - $0.at <= errorWindowMs }
    let errorRate = windowed.isEmpty ? 0 : Double(windowed.filter { !$0.ok }.count) / Double(windowed.count)
    func pct(_ s: [Double], _ q: Double) -> Double? {
      guard !s.isEmpty else { return nil }
      return s[min(s.count - 1, max(0, Int((q * Double(s.count)).rounded(.up)) - 1))]
    }
    return ModelStatsSnapshot(
      requests: p.requests, errors: p.errors, errorRate: errorRate, p50LatencyMs: pct(latencies, 0.5),
      p95LatencyMs: pct(latencies, 0.95), p50TtftMs: pct(ttfts, 0.5), tokensPerSecond: pct(rates, 0.5))
  }
}

/// Cooldowns: a model that keeps failing, or that a provider asked us to leave alone (429, 529),
/// is skipped until its cooldown ends. Visible in `models/list` as `cooldownUntil`.
public final class ModelHealth: Sendable {
  struct State {
    var failures: [Int64] = []
    var cooldownUntil: Int64?
    var level = 0
  }

  static let failureWindowMs: Int64 = 60_000
  static let failuresBeforeCooldown = 3
  static let baseCooldownMs: Int64 = 30_000
  static let maxCooldownMs: Int64 = 10 * 60_000
  private let clock: EngineClock
  private let states = Mutex<[String: State]>([:])

  init(clock: EngineClock) { self.clock = clock }

  /// The models cooling down now, with when each cooldown ends (ms since the epoch).
  public func activeCooldowns() -> [String: Int64] {
    let now = clock.now().millisecondsSinceEpoch
    return states.withLock { s in
      var active: [String: Int64] = [:]
      for (model, state) in s {
        if let until = state.cooldownUntil, until > now { active[model] = until }
      }
      return active
    }
  }

  /// When the model's cooldown ends, if it is cooling down now.
  public func cooldownUntil(_ model: String) -> Timestamp? {
    let now = clock.now().millisecondsSinceEpoch
    return states.withLock { s in
      guard let until = s[model]?.cooldownUntil, until > now else { return nil }
      return Timestamp(millisecondsSinceEpoch: until)
    }
  }

  func recordSuccess(_ model: String) {
    states.withLock { s in
      s[model]?.failures = []
      s[model]?.level = 0
    }
  }

  public func recordFailure(_ model: String, _ error: ModelError) {
    let now = clock.now().millisecondsSinceEpoch
    states.withLock { s in
      var st = s[model] ?? State()
      if error.httpStatus == 429 || error.httpStatus == 529 {
        // The provider said it is busy: leave it alone for as long as it asked (at least 5 s).
        let wait = Int64(max(error.retryAfterMs ?? 0, 5_000))
        st.cooldownUntil = max(st.cooldownUntil ?? 0, now + min(wait, Self.maxCooldownMs))
      } else if error.retryable {
        st.failures = st.failures.filter { now - $0 <= Self.failureWindowMs } + [now]
        if st.failures.count >= Self.failuresBeforeCooldown {
          let ms = min(Self.baseCooldownMs << Int64(min(st.level, 10)), Self.maxCooldownMs)
          st.cooldownUntil = now + ms
          st.level += 1
          st.failures = []
        }
      }
      s[model] = st
    }
  }
}
