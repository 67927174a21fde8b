import MinionsCore
import MinionsCrypto
import MinionsStore
import Synchronization

/// A rule: what is measured, the threshold it must stay under, over which window, how loud.
public struct AlertRule: Sendable, Codable, Equatable {
  public enum Kind: String, Sendable, Codable, CaseIterable, JSONSchemaEnum {
    /// Machine CPU use, percent.
    case cpu
    /// Machine memory use, percent.
    case memory
    /// Failed requests among those answered in the window, percent.
    case errorRate = "error_rate"
    /// Failed logins in the window (a count).
    case failedLogins = "failed_logins"
    /// The window's p95 request latency as a multiple of its baseline (its typical p95 over the last hour).
    case latencyP95 = "latency_p95"
  }

  public enum Severity: String, Sendable, Codable, CaseIterable, JSONSchemaEnum { case info, warning, critical }

  public var name: String
  public var kind: Kind
  /// The value above which the alert fires (percent, count or multiple, by kind).
  public var threshold: Double
  public var windowMinutes: Int
  public var severity: Severity
  public var enabled: Bool

  public init(name: String, kind: Kind, threshold: Double, windowMinutes: Int, severity: Severity, enabled: Bool = true)
  {
    self.name = name
    self.kind = kind
    self.threshold = threshold
    self.windowMinutes = windowMinutes
    self.severity = severity
    self.enabled = enabled
  }

  /// The rules in force until `alerts/setRules` changes them.
  public static let defaults: [AlertRule] = [
    AlertRule(name: "cpu_high", kind: .cpu, threshold: 90, windowMinutes: 1, severity: .warning),
    AlertRule(name: "memory_high", kind: .memory, threshold: 90, windowMinutes: 1, severity: .warning),
    AlertRule(name: "error_rate_high", kind: .errorRate, threshold: 5, windowMinutes: 5, severity: .critical),
    AlertRule(name: "failed_logins", kind: .failedLogins, threshold: 10, windowMinutes: 5, severity: .warning),
    AlertRule(name: "latency_p95_high", kind: .latencyP95, threshold: 3, windowMinutes: 5, severity: .warning),
  ]

  func validate(at index: Int) throws {
    let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789_-.")
    guard (1...64).contains(name.count), name.lowercased().allSatisfy({ allowed.contains($0) }) else {
      throw EngineError.invalidField("rules[\(index)].name", "must be 1 to 64 letters, digits, _, - or .")
    }
    guard threshold.isFinite, threshold >= 0 else {
      throw EngineError.invalidField("rules[\(index)].threshold", "must be a number ≥ 0")
    }
    if (kind == .cpu || kind == .memory || kind == .errorRate) && threshold > 100 {
      throw EngineError.invalidField("rules[\(index)].threshold", "is a percentage: at most 100")
    }
    guard (1...1440).contains(windowMinutes) else {
      throw EngineError.invalidField("rules[\(index)].windowMinutes", "must be between 1 and 1440")
    }
  }
}

/// An alert: a rule's condition held at `at`; `resolvedAt` once it cleared.
public struct Alert: Sendable, Equatable {
  public var id: String
  public var rule: String
  public var severity: AlertRule.Severity
  public var message: String
  public var value: Double
  public var threshold: Double
  public var at: Timestamp
  public var resolvedAt: Timestamp?
}

/// What the alert rules look at, gathered on each monitor tick.
public struct AlertInputs: Sendable {
  public var cpuPercent: Double?
  public var memoryPercent: Double?

  public init(cpuPercent: Double?, memoryPercent: Double?) {
    self.cpuPercent = cpuPercent
    self.memoryPercent = memoryPercent
  }
}

/// Evaluates the rules on the monitor's timer, raising an alert when a condition starts to hold and
/// resolving it when it stops; while it holds, nothing new is raised (one alert per episode). Alerts
/// are stored and announced to observers (the protocol layer sends `alerts/raised` and `alerts/cleared`).
public final class AlertCenter: Sendable {
  private let database: Database
  private let clock: EngineClock
  private let requests: RequestStats
  private let logger: Logger
  private let rules = Mutex<[AlertRule]>(AlertRule.defaults)
  /// The open alert of each rule.
  private let active = Mutex<[String: Alert]>([:])
  /// Failed logins (ms since the epoch), kept for the longest login window.
  private let failedLogins = Mutex<[Int64]>([])
  /// The typical p95 latency: a slow moving average of the p95 seen on each tick.
  private let baselineP95 = Mutex<Double?>(nil)
  private let observers = Mutex<[@Sendable (Alert, Bool) -> Void]>([])
  /// CPU and memory readings of each tick (the longest window's worth), and when the first came, so a
  /// rule judges the average over its whole window and waits until it has watched that long.
  private let resources = Mutex<(first: Int64?, samples: [ResourceSample])>((nil, []))

  struct ResourceSample {
    var at: Int64
    var cpu: Double?
    var memory: Double?
  }

  init(database: Database, clock: EngineClock, requests: RequestStats, logger: Logger) throws {
    self.database = database
    self.clock = clock
    self.requests = requests
    self.logger = logger
    let stored = try database.sync { c in try c.query("SELECT config FROM alert_rules ORDER BY name") }
    let decoded = stored.compactMap { row -> AlertRule? in
      guard let text = row[0].text, let json = try? JSONParser.parse(text) else { return nil }
      return try? JSONValueDecoder().decode(AlertRule.self, from: json)
    }
    if !decoded.isEmpty { rules.withLock { $0 = decoded } }
    let open = try database.sync { c in
      try c.query("SELECT id, rule, severity, message, value, threshold, at FROM alerts WHERE resolved_at IS NULL")
    }
    active.withLock { a in
      for r in open {
        let alert = Alert(
          id: r[0].text ?? "", rule: r[1].text ?? "",
          severity: AlertRule.Severity(rawValue: r[2].text ?? "") ?? .warning,
          message: r[3].text ?? "", value: r[4].double ?? 0, threshold: r[5].double ?? 0,
          at: Timestamp(millisecondsSinceEpoch: r[6].int64 ?? 0), resolvedAt: nil)
        a[alert.rule] = alert
      }
    }
  }

  /// Calls `observer` with each alert raised (`true`) or resolved (`false`).
  public func observe(_ observer: @escaping @Sendable (Alert, Bool) -> Void) {
    observers.withLock { $0.append(observer) }
  }

  public var currentRules: [AlertRule] { rules.withLock { $0 } }

  /// Replaces the rules (validated; names unique); persisted. Alerts of rules that are gone are resolved.
  public func setRules(_ new: [AlertRule]) async throws {
    var names = Set<String>()
    for (i, r) in new.enumerated() {
      try r.validate(at: i)
      guard names.insert(r.name).inserted else {
        throw EngineError.invalidField("rules[\(i)].name", "'\(r.name)' appears twice")
      }
    }
    let encoded = try new.map { ($0.name, JSONWriter.string(try JSONValueEncoder().encode($0))) }
    let now = clock.now().millisecondsSinceEpoch
    try await database.write { c in
      try c.execute("DELETE FROM alert_rules")
      for (name, config) in encoded {
        try c.execute(
          "INSERT INTO alert_rules(name, config, updated_at) VALUES (?, ?, ?)", [.text(name), .text(config), .int(now)])
      }
    }
    rules.withLock { $0 = new }
    let orphaned = active.withLock { a in a.keys.filter { !names.contains($0) } }
    for rule in orphaned { await resolve(rule) }
  }

  /// Counts a failed login (for the `failed_logins` rules).
  public func noteFailedLogin() {
    let now = clock.now().millisecondsSinceEpoch
    failedLogins.withLock { f in
      f.append(now)
      f.removeAll { now - $0 > 1440 * 60_000 }
    }
  }

  /// Evaluates every enabled rule against `inputs` (CPU and memory rules judge the average of the
  /// readings over their window, once the engine has watched for about that long) and the live request
  /// figures.
  public func evaluate(_ inputs: AlertInputs) async {
    let now = clock.now().millisecondsSinceEpoch
    let history = resources.withLock { r -> (first: Int64?, samples: [ResourceSample]) in
      if r.first == nil && (inputs.cpuPercent != nil || inputs.memoryPercent != nil) { r.first = now }
      r.samples.append(ResourceSample(at: now, cpu: inputs.cpuPercent, memory: inputs.memoryPercent))
      r.samples.removeAll { now - $0.at > 1440 * 60_000 }
      return r
    }
    /// The average reading over the last `minutes`, nil until the readings cover about that long.
    func average(_ minutes: Int, _ reading: (ResourceSample) -> Double?) -> Double? {
      let window = Int64(minutes) * 60_000
      guard let first = history.first, now - first >= window * 9 / 10 else { return nil }
      let values = history.samples.filter { now - $0.at <= window }.compactMap(reading)
      return values.isEmpty ? nil : values.reduce(0, +) / Double(values.count)
    }
    // The baseline moves slowly (about an hour at one tick every 5 s), so a spike stands out.
    // The request figures of each window, computed once per evaluation (several rules share a window).
    var figuresByWindow: [Int: RequestStats.Figures] = [:]
    func figures(minutes: Int) -> RequestStats.Figures {
      if let f = figuresByWindow[minutes] { return f }
      let f = requests.figures(overLast: Double(minutes) * 60)
      figuresByWindow[minutes] = f
      return f
    }
    let current = figures(minutes: 5)
    if let p95 = current.p95Ms, current.recentCount >= 20 {
      baselineP95.withLock { b in b = b.map { $0 + (p95 - $0) / 720 } ?? p95 }
    }
    for rule in rules.withLock({ $0 }) where rule.enabled {
      let figures = figures(minutes: rule.windowMinutes)
      var value: Double?
      var message = ""
      switch rule.kind {
      case .cpu:
        value = average(rule.windowMinutes, \.cpu)
        message =
          "CPU averaged \(format(value ?? 0)) % over \(rule.windowMinutes) min (above \(format(rule.threshold)) %)"
      case .memory:
        value = average(rule.windowMinutes, \.memory)
        message =
          "memory averaged \(format(value ?? 0)) % over \(rule.windowMinutes) min (above \(format(rule.threshold)) %)"
      case .errorRate:
        if figures.recentCount >= 20 { value = figures.errorRate * 100 }
        message =
          "\(format(value ?? 0)) % of the last \(figures.recentCount) requests failed (above \(format(rule.threshold)) %)"
      case .failedLogins:
        let since = now - Int64(rule.windowMinutes) * 60_000
        value = Double(failedLogins.withLock { $0.filter { $0 >= since }.count })
        message = "\(Int(value ?? 0)) failed logins in \(rule.windowMinutes) min (above \(format(rule.threshold)))"
      case .latencyP95:
        if let p95 = figures.p95Ms, figures.recentCount >= 20, let base = baselineP95.withLock({ $0 }), base > 0 {
          value = p95 / base
          message = "p95 latency \(format(p95)) ms is \(format(p95 / base))× its baseline of \(format(base)) ms"
        }
      }
      let firing = value.map { $0 > rule.threshold } ?? false
      let open = active.withLock { $0[rule.name] }
      if firing && open == nil {
        await raise(rule, value: value ?? 0, message: message)
      } else if !firing && open != nil && value != nil {
        await resolve(rule.name)
      }
    }
  }

  private func format(_ v: Double) -> String {
    let r = (v * 10).rounded() / 10
    return r == r.rounded() ? String(Int(r)) : String(r)
  }

  private func raise(_ rule: AlertRule, value: Double, message: String) async {
    let alert = Alert(
      id: "alert_" + Crypto.hex(Crypto.randomBytes(6)), rule: rule.name, severity: rule.severity, message: message,
      value: (value * 1000).rounded() / 1000, threshold: rule.threshold, at: clock.now(), resolvedAt: nil)
    do {
      try await database.write { c in
        try c.execute(
          "INSERT INTO alerts(id, rule, severity, message, value, threshold, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          [
            .text(alert.id), .text(alert.rule), .text(alert.severity.rawValue), .text(alert.message),
            .double(alert.value), .double(alert.threshold), .int(alert.at.millisecondsSinceEpoch),
          ])
      }
    } catch {
      logger.error("could not store alert \(alert.rule): \(error)")
    }
    active.withLock { $0[rule.name] = alert }
    logger.warning("alert \(rule.name): \(message)")
    for o in observers.withLock({ $0 }) { o(alert, true) }
  }

  private func resolve(_ rule: String) async {
    guard var alert = active.withLock({ $0.removeValue(forKey: rule) }) else { return }
    alert.resolvedAt = clock.now()
    let resolved = alert
    _ = try? await database.write { c in
      try c.execute(
        "UPDATE alerts SET resolved_at = ? WHERE id = ?",
        [.int(resolved.resolvedAt!.millisecondsSinceEpoch), .text(resolved.id)])
    }
    for o in observers.withLock({ $0 }) { o(resolved, false) }
  }

  /// Stored alerts since `since` (default: the last 7 days), newest first.
  public func list(since: Timestamp?, limit: Int = 500) async throws -> [Alert] {
    let from = (since ?? clock.now().adding(milliseconds: -7 * 86_400_000)).millisecondsSinceEpoch
    return try await database.read { c in
      try c.query(
        "SELECT id, rule, severity, message, value, threshold, at, resolved_at FROM alerts WHERE at >= ? "
          + "ORDER BY at DESC, id LIMIT ?", [.int(from), .int(Int64(limit))]
      ).map { r in
        Alert(
          id: r[0].text ?? "", rule: r[1].text ?? "",
          severity: AlertRule.Severity(rawValue: r[2].text ?? "") ?? .warning,
          message: r[3].text ?? "", value: r[4].double ?? 0, threshold: r[5].double ?? 0,
          at: Timestamp(millisecondsSinceEpoch: r[6].int64 ?? 0),
          resolvedAt: r[7].int64.map(Timestamp.init(millisecondsSinceEpoch:)))
      }
    }
  }
}
