import MinionsCore
import MinionsStore

/// A report: a few headline figures and tables, over a period.
public struct Report: Sendable {
  public struct Table: Sendable {
    public var name: String
    public var title: String
    public var columns: [String]
    public var rows: [[JSONValue]]
  }

  public var type: ReportType
  public var from: Timestamp
  public var until: Timestamp
  /// Headline figures in a fixed order.
  public var summary: [(String, JSONValue)]
  public var tables: [Table]

  /// The report as JSON: `{type, from, until, summary: {…}, tables: {name: [{column: value}]}}`.
  public var json: JSONValue {
    var tablesJSON: [String: JSONValue] = [:]
    for t in tables {
      tablesJSON[t.name] = .array(
        t.rows.map { row in .object(Dictionary(uniqueKeysWithValues: zip(t.columns, row).map { ($0, $1) })) })
    }
    return [
      "type": .string(type.rawValue), "from": .string(from.iso8601()), "until": .string(until.iso8601()),
      "summary": .object(Dictionary(uniqueKeysWithValues: summary)), "tables": .object(tablesJSON),
    ]
  }
}

public enum ReportType: String, Sendable, CaseIterable, Codable, JSONSchemaEnum {
  case usage, performance, models, tools, security
}

/// Builds reports from the hourly rollups and histograms (never from raw rows, so a report costs the
/// same over a thousand metrics or a million).
public struct ReportBuilder: Sendable {
  let database: Database
  let metrics: MetricsStore
  let clock: EngineClock

  public init(database: Database, metrics: MetricsStore, clock: EngineClock) {
    self.database = database
    self.metrics = metrics
    self.clock = clock
  }

  public func build(_ type: ReportType, hours: Int) async throws -> Report {
    try await metrics.flush()
    let until = clock.now()
    let fromMs = until.millisecondsSinceEpoch - Int64(hours) * 3_600_000
    let from = Timestamp(millisecondsSinceEpoch: fromMs - fromMs % MetricsStore.hourMs)
    let range = Range(from: from.millisecondsSinceEpoch, until: until.millisecondsSinceEpoch, hours: hours)
    switch type {
    case .usage: return try await usage(range, from, until)
    case .performance: return try await performance(range, from, until)
    case .models: return try await models(range, from, until)
    case .tools: return try await tools(range, from, until)
    case .security: return try await security(range, from, until)
    }
  }

  struct Range {
    var from: Int64
    var until: Int64
    var hours: Int
    var seconds: Double { Double(until - from) / 1000 }
  }

  struct Aggregate {
    var count = 0
    var sum = 0.0
  }

  /// Sums of a metric's rollups, grouped by one tag (or all together when `tag` is nil).
  func totals(_ name: String, by tag: String?, _ r: Range) async throws -> [String: Aggregate] {
    let key = tag.map { "coalesce(json_extract(tags, '$.\($0)'), '')" } ?? "''"
    return try await database.read { c in
      var out: [String: Aggregate] = [:]
      try c.forEachRow(
        "SELECT \(key), sum(count), sum(sum) FROM metric_rollups WHERE name = ? AND hour >= ? AND hour <= ? GROUP BY 1",
        [.text(name), .int(r.from), .int(r.until)]
      ) { row in
        out[row[0].text ?? "", default: Aggregate()] = Aggregate(count: row[1].int ?? 0, sum: row[2].double ?? 0)
      }
      return out
    }
  }

  /// Sums of a metric per time bucket (hours or days), and the averages for gauges.
  func series(_ name: String, bucketMs: Int64, _ r: Range) async throws -> [Int64: Aggregate] {
    try await database.read { c in
      var out: [Int64: Aggregate] = [:]
      try c.forEachRow(
        "SELECT hour - hour % ?, sum(count), sum(sum) FROM metric_rollups WHERE name = ? AND hour >= ? AND hour <= ? "
          + "GROUP BY 1", [.int(bucketMs), .text(name), .int(r.from), .int(r.until)]
      ) { row in
        out[row[0].int64 ?? 0] = Aggregate(count: row[1].int ?? 0, sum: row[2].double ?? 0)
      }
      return out
    }
  }

  /// Latency histograms of a `…_ms` metric, grouped by one tag (nil: all together), as bucket counts.
  func histograms(_ name: String, by tag: String?, _ r: Range) async throws -> [String: [Int: Int]] {
    let key = tag.map { "coalesce(json_extract(tags, '$.\($0)'), '')" } ?? "''"
    return try await database.read { c in
      var out: [String: [Int: Int]] = [:]
      try c.forEachRow(
        "SELECT \(key), bucket, sum(count) FROM metric_histograms WHERE name = ? AND hour >= ? AND hour <= ? "
          + "GROUP BY 1, 2", [.text(name), .int(r.from), .int(r.until)]
      ) { row in
        out[row[0].text ?? "", default: [:]][row[1].int ?? 0] = row[2].int ?? 0
      }
      return out
    }
  }

  static func round(_ v: Double, _ digits: Double = 2) -> JSONValue {
    let p = Foundationless.pow10(digits)
    return .double((v * p).rounded() / p)
  }

  static func pct(_ h: [Int: Int]?, _ q: Double) -> JSONValue {
    guard let h, let v = LatencyHistogram.quantile(q, of: h) else { return .null }
    return round(v, 1)
  }

  static func rate(_ part: Int, _ whole: Int) -> JSONValue {
    whole == 0 ? .double(0) : round(Double(part) / Double(whole) * 100)
  }

  // MARK: usage

  func usage(_ r: Range, _ from: Timestamp, _ until: Timestamp) async throws -> Report {
    let requests = try await totals("rpc.requests", by: nil, r)[""]?.count ?? 0
    let turnsByUser = try await totals("chat.turns", by: "user", r)
    let tokensByUser = try await totals("chat.tokens", by: "user", r)
    let costByUser = try await totals("model.cost", by: "user", r)
    let toolsByUser = try await totals("tool.calls", by: "user", r)
    let turnsByAgent = try await totals("chat.turns", by: "agent", r)
    let tokensByAgent = try await totals("chat.tokens", by: "agent", r)
    let callsByModel = try await totals("model.calls", by: "model", r)
    let tokensByModel = try await totals("model.tokens", by: "model", r)
    let costByModel = try await totals("model.cost", by: "model", r)
    let day: Int64 = 86_400_000
    let bucket = r.hours <= 48 ? MetricsStore.hourMs : day
    let requestsByTime = try await series("rpc.requests", bucketMs: bucket, r)
    let turnsByTime = try await series("chat.turns", bucketMs: bucket, r)
    let tokensByTime = try await series("chat.tokens", bucketMs: bucket, r)
    let costByTime = try await series("model.cost", bucketMs: bucket, r)
    let toolsByTime = try await series("tool.calls", bucketMs: bucket, r)
    let sessions = try await database.read { c in
      try c.scalarInt("SELECT count(*) FROM sessions WHERE created_at >= ?", [.int(r.from)]) ?? 0
    }
    let chats = turnsByUser.values.reduce(0) { $0 + $1.count }
    let tokens = tokensByUser.values.reduce(0) { $0 + $1.sum }
    let cost = costByUser.values.reduce(0) { $0 + $1.sum }
    let toolCalls = toolsByUser.values.reduce(0) { $0 + $1.count }
    let times = Set(requestsByTime.keys).union(turnsByTime.keys).union(toolsByTime.keys).sorted()
    let users = Set(turnsByUser.keys).union(toolsByUser.keys).union(costByUser.keys).filter { !$0.isEmpty }.sorted {
      (turnsByUser[$0]?.count ?? 0, $1) > (turnsByUser[$1]?.count ?? 0, $0)
    }
    return Report(
      type: .usage, from: from, until: until,
      summary: [
        ("requests", .int(requests)), ("chats", .int(chats)), ("tokens", .int(Int(tokens))),
        ("cost", Self.round(cost, 4)), ("activeUsers", .int(turnsByUser.keys.filter { !$0.isEmpty }.count)),
        ("sessions", .int(Int(sessions))), ("toolCalls", .int(toolCalls)),
      ],
      tables: [
        Report.Table(
          name: bucket == day ? "byDay" : "byHour", title: bucket == day ? "By day" : "By hour",
          columns: [bucket == day ? "day" : "hour", "requests", "chats", "tokens", "cost", "toolCalls"],
          rows: times.map { t in
            [
              .string(
                bucket == day
                  ? String(Timestamp(millisecondsSinceEpoch: t).iso8601().prefix(10))
                  : Timestamp(millisecondsSinceEpoch: t).iso8601()),
              .int(requestsByTime[t]?.count ?? 0), .int(turnsByTime[t]?.count ?? 0),
              .int(Int(tokensByTime[t]?.sum ?? 0)), Self.round(costByTime[t]?.sum ?? 0, 4),
              .int(toolsByTime[t]?.count ?? 0),
            ]
          }),
        Report.Table(
          name: "byUser", title: "By user", columns: ["user", "chats", "tokens", "cost", "toolCalls"],
          rows: users.map { u in
            [
              .string(u), .int(turnsByUser[u]?.count ?? 0), .int(Int(tokensByUser[u]?.sum ?? 0)),
              Self.round(costByUser[u]?.sum ?? 0, 4), .int(toolsByUser[u]?.count ?? 0),
            ]
          }),
        Report.Table(
          name: "byAgent", title: "By agent", columns: ["agent", "chats", "tokens"],
          rows: turnsByAgent.keys.sorted().map { a in
            [.string(a), .int(turnsByAgent[a]?.count ?? 0), .int(Int(tokensByAgent[a]?.sum ?? 0))]
          }),
        Report.Table(
          name: "byModel", title: "By model", columns: ["model", "calls", "tokens", "cost"],
          rows: callsByModel.keys.sorted().map { m in
            [
              .string(m), .int(callsByModel[m]?.count ?? 0), .int(Int(tokensByModel[m]?.sum ?? 0)),
              Self.round(costByModel[m]?.sum ?? 0, 4),
            ]
          }),
      ])
  }

  // MARK: performance

  func performance(_ r: Range, _ from: Timestamp, _ until: Timestamp) async throws -> Report {
    let requests = try await totals("rpc.requests", by: "method", r)
    let errors = try await totals("rpc.errors", by: "method", r)
    let latency = try await histograms("rpc.latency_ms", by: "method", r)
    var all: [Int: Int] = [:]
    for h in latency.values { for (b, n) in h { all[b, default: 0] += n } }
    let total = requests.values.reduce(0) { $0 + $1.count }
    let failed = errors.values.reduce(0) { $0 + $1.count }
    let bucket: Int64 = r.hours <= 48 ? MetricsStore.hourMs : 86_400_000
    let cpu = try await series("system.cpu_percent", bucketMs: bucket, r)
    let memory = try await series("system.memory_percent", bucketMs: bucket, r)
    let rss = try await series("process.rss_bytes", bucketMs: bucket, r)
    let processCPU = try await series("process.cpu_percent", bucketMs: bucket, r)
    func average(_ a: Aggregate?) -> JSONValue {
      a.map { $0.count == 0 ? .null : Self.round($0.sum / Double($0.count), 1) } ?? .null
    }
    return Report(
      type: .performance, from: from, until: until,
      summary: [
        ("requests", .int(total)), ("errors", .int(failed)), ("errorRatePercent", Self.rate(failed, total)),
        ("requestsPerSecond", Self.round(Double(total) / max(1, r.seconds), 3)), ("p50Ms", Self.pct(all, 0.5)),
        ("p95Ms", Self.pct(all, 0.95)), ("p99Ms", Self.pct(all, 0.99)),
      ],
      tables: [
        Report.Table(
          name: "byMethod", title: "By method",
          columns: ["method", "requests", "errors", "errorRatePercent", "p50Ms", "p95Ms", "p99Ms"],
          rows: requests.keys.sorted { (requests[$0]!.count, $1) > (requests[$1]!.count, $0) }.map { m in
            let n = requests[m]?.count ?? 0
            let e = errors[m]?.count ?? 0
            return [
              .string(m), .int(n), .int(e), Self.rate(e, n), Self.pct(latency[m], 0.5), Self.pct(latency[m], 0.95),
              Self.pct(latency[m], 0.99),
            ]
          }),
        Report.Table(
          name: "resources", title: bucket == MetricsStore.hourMs ? "Resources by hour" : "Resources by day",
          columns: ["time", "cpuPercent", "memoryPercent", "processCpuPercent", "rssMB"],
          rows: Set(cpu.keys).union(rss.keys).sorted().map { t in
            [
              .string(Timestamp(millisecondsSinceEpoch: t).iso8601()), average(cpu[t]), average(memory[t]),
              average(processCPU[t]),
              rss[t].map { $0.count == 0 ? .null : Self.round($0.sum / Double($0.count) / 1_048_576, 1) } ?? .null,
            ]
          }),
      ])
  }

  // MARK: models

  func models(_ r: Range, _ from: Timestamp, _ until: Timestamp) async throws -> Report {
    let calls = try await totals("model.calls", by: "model", r)
    let errors = try await totals("model.errors", by: "model", r)
    let tokens = try await totals("model.tokens", by: "model", r)
    let cost = try await totals("model.cost", by: "model", r)
    let tps = try await totals("model.tokens_per_second", by: "model", r)
    let latency = try await histograms("model.latency_ms", by: "model", r)
    let ttft = try await histograms("model.ttft_ms", by: "model", r)
    let names = calls.keys.sorted { (calls[$0]!.count, $1) > (calls[$1]!.count, $0) }
    return Report(
      type: .models, from: from, until: until,
      summary: [
        ("calls", .int(calls.values.reduce(0) { $0 + $1.count })),
        ("errors", .int(errors.values.reduce(0) { $0 + $1.count })),
        ("tokens", .int(Int(tokens.values.reduce(0) { $0 + $1.sum }))),
        ("cost", Self.round(cost.values.reduce(0) { $0 + $1.sum }, 4)),
      ],
      tables: [
        Report.Table(
          name: "byModel", title: "By model",
          columns: [
            "model", "calls", "errors", "errorRatePercent", "p50Ms", "p95Ms", "p50TtftMs", "tokensPerSecond", "tokens",
            "cost",
          ],
          rows: names.map { m in
            let n = calls[m]?.count ?? 0
            let e = errors[m]?.count ?? 0
            let speed: JSONValue =
              tps[m].map { $0.count == 0 ? .null : Self.round($0.sum / Double($0.count), 1) } ?? .null
            return [
              .string(m), .int(n), .int(e), Self.rate(e, n), Self.pct(latency[m], 0.5), Self.pct(latency[m], 0.95),
              Self.pct(ttft[m], 0.5), speed, .int(Int(tokens[m]?.sum ?? 0)), Self.round(cost[m]?.sum ?? 0, 4),
            ]
          })
      ])
  }

  // MARK: tools

  func tools(_ r: Range, _ from: Timestamp, _ until: Timestamp) async throws -> Report {
    let calls = try await totals("tool.calls", by: "tool", r)
    let errors = try await totals("tool.errors", by: "tool", r)
    let latency = try await histograms("tool.latency_ms", by: "tool", r)
    let names = calls.keys.sorted { (calls[$0]!.count, $1) > (calls[$1]!.count, $0) }
    return Report(
      type: .tools, from: from, until: until,
      summary: [
        ("calls", .int(calls.values.reduce(0) { $0 + $1.count })),
        ("errors", .int(errors.values.reduce(0) { $0 + $1.count })),
      ],
      tables: [
        Report.Table(
          name: "byTool", title: "By tool", columns: ["tool", "calls", "errors", "errorRatePercent", "p50Ms", "p95Ms"],
          rows: names.map { t in
            let n = calls[t]?.count ?? 0
            let e = errors[t]?.count ?? 0
            return [
              .string(t), .int(n), .int(e), Self.rate(e, n), Self.pct(latency[t], 0.5), Self.pct(latency[t], 0.95),
            ]
          })
      ])
  }

  // MARK: security

  func security(_ r: Range, _ from: Timestamp, _ until: Timestamp) async throws -> Report {
    // Every audit entry is counted as `audit.ACTION` with its outcome and user.
    let rows: [(String, String, String, Int)] = try await database.read { c in
      var out: [(String, String, String, Int)] = []
      try c.forEachRow(
        "SELECT name, coalesce(json_extract(tags, '$.outcome'), ''), coalesce(json_extract(tags, '$.user'), ''), "
          + "sum(count) FROM metric_rollups WHERE name LIKE 'audit.%' AND hour >= ? AND hour <= ? GROUP BY 1, 2, 3",
        [.int(r.from), .int(r.until)]
      ) { row in
        out.append((String((row[0].text ?? "").dropFirst(6)), row[1].text ?? "", row[2].text ?? "", row[3].int ?? 0))
      }
      return out
    }
    func count(_ action: String, _ outcomes: Set<String>) -> Int {
      rows.filter { $0.0 == action && outcomes.contains($0.1) }.reduce(0) { $0 + $1.3 }
    }
    var byAction: [String: Int] = [:]
    var failuresByUser: [String: (failed: Int, locked: Int, denied: Int)] = [:]
    for (action, outcome, user, n) in rows {
      byAction["\(action)\u{0}\(outcome)", default: 0] += n
      if action == "auth.login" && outcome != "ok" { failuresByUser[user, default: (0, 0, 0)].failed += n }
      if action == "auth.lockout" { failuresByUser[user, default: (0, 0, 0)].locked += n }
      if action == "permission.denied" { failuresByUser[user, default: (0, 0, 0)].denied += n }
    }
    return Report(
      type: .security, from: from, until: until,
      summary: [
        ("logins", .int(count("auth.login", ["ok"]))),
        ("failedLogins", .int(count("auth.login", ["failed", "locked"]))),
        ("lockouts", .int(count("auth.lockout", ["locked", "ok", "failed", "denied"]))),
        ("permissionDenials", .int(count("permission.denied", ["denied"]))),
        ("tokenFailures", .int(count("auth.token", ["failed"]) + count("auth.apikey", ["failed"]))),
      ],
      tables: [
        Report.Table(
          name: "byUser", title: "Failures by user",
          columns: ["user", "failedLogins", "lockouts", "permissionDenials"],
          rows: failuresByUser.keys.sorted().map { u in
            let f = failuresByUser[u]!
            return [.string(u.isEmpty ? "(unknown)" : u), .int(f.failed), .int(f.locked), .int(f.denied)]
          }),
        Report.Table(
          name: "byAction", title: "Audit entries by action", columns: ["action", "outcome", "count"],
          rows: byAction.keys.sorted().map { k in
            let parts = k.split(separator: "\u{0}", omittingEmptySubsequences: false)
            return [.string(String(parts[0])), .string(String(parts[1])), .int(byAction[k]!)]
          }),
      ])
  }
}

/// Powers of ten without Foundation.
enum Foundationless {
  static func pow10(_ n: Double) -> Double {
    var p = 1.0
    for _ in 0..<Int(n) { p *= 10 }
    return p
  }
}
