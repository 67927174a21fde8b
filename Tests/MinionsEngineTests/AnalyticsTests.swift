import MinionsCore
import MinionsStore
import MinionsTestSupport
import Synchronization
import Testing

@testable import MinionsEngine

@Suite struct MetricsStoreTests {
  @Test func recordedMetricsLandInBatchesWithRollupsAndHistograms() async throws {
    let e = try await makeTestEngine()
    let hour = e.clock.now().millisecondsSinceEpoch / 3_600_000 * 3_600_000
    let at = Timestamp(millisecondsSinceEpoch: hour + 60_000)
    for i in 0..<1000 {
      e.metrics.record("test.latency_ms", Double(i % 100) + 1, tags: ["method": i % 2 == 0 ? "a" : "b"], at: at)
    }
    e.metrics.record("test.count", 5, at: at)
    #expect(e.metrics.buffered >= 1001)
    try await e.metrics.flush()
    #expect(e.metrics.buffered == 0)
    let raw = try await e.database.read { try $0.scalarInt("SELECT count(*) FROM metrics WHERE name LIKE 'test.%'") }
    #expect(raw == 1001)
    let rollup = try await e.database.read { c in
      try c.queryOne(
        "SELECT count, sum, min, max FROM metric_rollups WHERE name = 'test.latency_ms' AND tags = ? AND hour = ?",
        [.text(#"{"method":"a"}"#), .int(hour)])
    }
    #expect(rollup?[0].int == 500 && rollup?[2].double == 1 && rollup?[3].double == 99)
    var expectedSum = 0.0
    for i in stride(from: 0, to: 1000, by: 2) { expectedSum += Double(i % 100) + 1 }
    #expect(rollup?[1].double == expectedSum)
    let buckets = try await e.database.read { c in
      try c.scalarInt("SELECT sum(count) FROM metric_histograms WHERE name = 'test.latency_ms'")
    }
    #expect(buckets == 1000)
    let noHistogram = try await e.database.read { c in
      try c.scalarInt("SELECT count(*) FROM metric_histograms WHERE name = 'test.count'")
    }
    #expect(noHistogram == 0)  // only `…_ms` metrics keep histograms
    // A second batch adds to the same rollup row.
    e.metrics.record("test.count", 7, at: at)
    try await e.metrics.flush()
    let total = try await e.database.read { c in
      try c.queryOne("SELECT count, sum, max FROM metric_rollups WHERE name = 'test.count'")
    }
    #expect(total?[0].int == 2 && total?[1].double == 12 && total?[2].double == 7)
  }

  @Test func perRequestFiguresAreCountedWithoutARowEach() async throws {
    let e = try await makeTestEngine()
    let tags = e.metrics.cachedTags("method", "ping")
    for i in 0..<300 { e.metrics.record("test.rpc_ms", Double(i), encodedTags: tags, keepsRow: false) }
    try await e.metrics.flush()
    let raw = try await e.database.read { try $0.scalarInt("SELECT count(*) FROM metrics WHERE name = 'test.rpc_ms'") }
    #expect(raw == 0)
    let rollup = try await e.database.read { c in
      try c.queryOne("SELECT sum(count), sum(sum) FROM metric_rollups WHERE name = 'test.rpc_ms'")
    }
    #expect(rollup?[0].int == 300 && rollup?[1].double == Double(299 * 300 / 2))
    let histogram = try await e.database.read { c in
      try c.scalarInt("SELECT sum(count) FROM metric_histograms WHERE name = 'test.rpc_ms'")
    }
    #expect(histogram == 300)
  }

  @Test func theBufferIsWrittenByItselfShortlyAfter() async throws {
    let e = try await makeTestEngine()
    e.metrics.record("test.later", 1)
    var written = 0
    for _ in 0..<300 where written == 0 {
      await waitSeconds(0.02)
      written = Int(
        try await e.database.read { try $0.scalarInt("SELECT count(*) FROM metrics WHERE name = 'test.later'") } ?? 0)
    }
    #expect(written == 1)
  }

  @Test func histogramQuantilesAreCloseToTheTruth() {
    var counts: [Int: Int] = [:]
    for v in 1...1000 { counts[LatencyHistogram.bucket(Double(v)), default: 0] += 1 }
    let p50 = LatencyHistogram.quantile(0.5, of: counts)!
    let p99 = LatencyHistogram.quantile(0.99, of: counts)!
    #expect(abs(p50 - 500) / 500 < 0.05)
    #expect(abs(p99 - 990) / 990 < 0.05)
    #expect(LatencyHistogram.quantile(0.5, of: [:]) == nil)
    #expect(LatencyHistogram.bucket(0) == LatencyHistogram.bucket(0.001))
  }

  @Test func pruningRemovesWhatIsOlderThanTheRetention() async throws {
    let clock = EngineClock()
    let e = try await makeTestEngine(clock: clock)
    e.metrics.record("test.old", 1, at: clock.now().adding(milliseconds: -100 * 86_400_000))
    e.metrics.record("test.new", 1)
    e.metrics.record(event: "test.event", username: "u")
    try await e.metrics.flush()
    let removed = try await e.metrics.prune(olderThanDays: 90)
    #expect(removed == 2)  // the old raw row and its rollup
    let names = try await e.database.read { c in try c.query("SELECT name FROM metrics").compactMap { $0[0].text } }
    #expect(names.contains("test.new") && !names.contains("test.old"))
    #expect(
      try await e.database.read { try $0.scalarInt("SELECT count(*) FROM events WHERE kind = 'test.event'") } == 1)
  }
}

@Suite struct ReportTests {
  /// A known data set: chats by two users and agents, model calls, tool calls, requests, audit entries.
  func engine() async throws -> Engine {
    let e = try await makeTestEngine()
    let m = e.metrics
    for _ in 0..<3 { m.record("chat.turns", 1, tags: ["user": "ann", "agent": "coder", "model": "m1"]) }
    m.record("chat.turns", 1, tags: ["user": "bob", "agent": "assistant", "model": "m2"])
    m.record("chat.tokens", 300, tags: ["user": "ann", "agent": "coder", "model": "m1"])
    m.record("chat.tokens", 100, tags: ["user": "bob", "agent": "assistant", "model": "m2"])
    m.record("model.calls", 1, tags: ["model": "m1", "provider": "openai", "user": "ann"])
    m.record("model.calls", 1, tags: ["model": "m1", "provider": "openai", "user": "ann"])
    m.record("model.errors", 1, tags: ["model": "m1", "provider": "openai", "user": "ann"])
    m.record("model.cost", 0.25, tags: ["model": "m1", "provider": "openai", "user": "ann"])
    m.record("model.tokens", 400, tags: ["model": "m1", "provider": "openai", "user": "ann"])
    for ms in [10.0, 20, 30, 40] { m.record("model.latency_ms", ms, tags: ["model": "m1"]) }
    for i in 0..<10 {
      m.record("tool.calls", 1, tags: ["tool": "file_operations", "user": "ann"])
      m.record("tool.latency_ms", Double(i + 1), tags: ["tool": "file_operations"])
    }
    m.record("tool.errors", 1, tags: ["tool": "file_operations", "user": "ann"])
    for i in 0..<20 {
      m.record("rpc.requests", 1, tags: ["method": "agent/chat"])
      m.record("rpc.latency_ms", Double(100 + i), tags: ["method": "agent/chat"])
    }
    m.record("rpc.errors", 1, tags: ["method": "agent/chat"])
    m.record("audit.auth.login", 1, tags: ["outcome": "ok", "user": "ann"])
    m.record("audit.auth.login", 2, tags: ["outcome": "failed", "user": "eve"])
    m.record("audit.auth.lockout", 1, tags: ["outcome": "locked", "user": "eve"])
    return e
  }

  func build(_ e: Engine, _ type: ReportType) async throws -> JSONValue {
    try await ReportBuilder(database: e.database, metrics: e.metrics, clock: e.clock).build(type, hours: 24).json
  }

  @Test func usageSumsChatsTokensCostAndBreaksThemDown() async throws {
    let e = try await engine()
    let r = try await build(e, .usage)
    #expect(r["summary"]?["chats"] == 4 && r["summary"]?["tokens"] == 400 && r["summary"]?["cost"] == 0.25)
    #expect(r["summary"]?["requests"] == 20 && r["summary"]?["toolCalls"] == 10 && r["summary"]?["activeUsers"] == 2)
    #expect(r["tables"]?["byUser"]?[0] == ["user": "ann", "chats": 3, "tokens": 300, "cost": 0.25, "toolCalls": 10])
    #expect(r["tables"]?["byAgent"]?.arrayValue?.count == 2)
    #expect(r["tables"]?["byModel"]?[0]?["calls"] == 2)
    #expect(r["tables"]?["byHour"]?.arrayValue?.count == 1)
  }

  @Test func performanceModelsToolsAndSecurity() async throws {
    let e = try await engine()
    let perf = try await build(e, .performance)
    #expect(perf["summary"]?["requests"] == 20 && perf["summary"]?["errors"] == 1)
    #expect(perf["summary"]?["errorRatePercent"]?.doubleValue == 5)
    let p50 = perf["tables"]?["byMethod"]?[0]?["p50Ms"]?.doubleValue ?? 0
    #expect(abs(p50 - 109.5) / 109.5 < 0.06)
    let models = try await build(e, .models)
    let m1 = models["tables"]?["byModel"]?[0]
    #expect(m1?["model"] == "m1" && m1?["calls"] == 2 && m1?["errors"] == 1)
    #expect(m1?["errorRatePercent"]?.doubleValue == 50)
    #expect(abs((m1?["p50Ms"]?.doubleValue ?? 0) - 20) / 20 < 0.06)
    let tools = try await build(e, .tools)
    let tool = tools["tables"]?["byTool"]?[0]
    #expect(tool?["tool"] == "file_operations" && tool?["calls"] == 10 && tool?["errors"] == 1)
    #expect(tool?["errorRatePercent"]?.doubleValue == 10)
    #expect(abs((tool?["p50Ms"]?.doubleValue ?? 0) - 5) < 0.5)
    let security = try await build(e, .security)
    #expect(security["summary"]?["logins"] == 1 && security["summary"]?["failedLogins"] == 1)
    #expect(security["summary"]?["lockouts"] == 1)
    #expect(
      security["tables"]?["byUser"]?.arrayValue?.contains { $0["user"] == "eve" && $0["failedLogins"] == 1 } == true)
  }

  @Test func engineActivityIsRecordedWithoutAsking() async throws {
    let e = try await makeTestEngine()
    _ = try await e.runner.chat(
      AgentRunner.Request(message: "hello", model: "local"), identity: e.localOwner, approvals: e.policyApprovals
    ) { _ in }
    let r = try await build(e, .usage)
    #expect(r["summary"]?["chats"] == 1 && r["summary"]?["sessions"] == 1)
    let models = try await build(e, .models)
    #expect(models["tables"]?["byModel"]?[0]?["model"] == "local")
    let events = try await e.database.read { try $0.scalarInt("SELECT count(*) FROM events WHERE kind = 'chat'") }
    #expect(events == 1)
  }
}

@Suite struct AlertTests {
  @Test func aRuleFiresOnceWhileItsConditionHoldsAndClears() async throws {
    let e = try await makeTestEngine()
    let raised = EventCollectorBox()
    e.alerts.observe { alert, up in raised.add("\(up ? "raised" : "cleared") \(alert.rule)") }
    // The CPU rule judges the average over its one-minute window, and only once it has watched that long.
    await e.alerts.evaluate(AlertInputs(cpuPercent: 95, memoryPercent: 40))
    e.clock.advance(seconds: 30)
    await e.alerts.evaluate(AlertInputs(cpuPercent: 95, memoryPercent: 40))
    #expect(raised.all.isEmpty)  // half a window seen: too early to judge
    e.clock.advance(seconds: 30)
    await e.alerts.evaluate(AlertInputs(cpuPercent: 95, memoryPercent: 40))
    #expect(raised.all == ["raised cpu_high"])
    e.clock.advance(seconds: 30)
    await e.alerts.evaluate(AlertInputs(cpuPercent: 93, memoryPercent: 40))
    #expect(raised.all == ["raised cpu_high"])  // de-duplicated while it holds
    e.clock.advance(seconds: 30)
    await e.alerts.evaluate(AlertInputs(cpuPercent: 88, memoryPercent: 40))
    #expect(raised.all == ["raised cpu_high"])  // one lower reading: the minute's average stays above 90
    e.clock.advance(seconds: 40)
    await e.alerts.evaluate(AlertInputs(cpuPercent: 10, memoryPercent: 40))
    #expect(raised.all == ["raised cpu_high", "cleared cpu_high"])
    let stored = try await e.alerts.list(since: nil)
    #expect(stored.count == 1 && stored[0].resolvedAt != nil && stored[0].value == 95 && stored[0].threshold == 90)
    #expect(stored[0].message.contains("CPU averaged 95 % over 1 min"))
  }

  @Test func errorRateAndFailedLoginRules() async throws {
    let e = try await makeTestEngine()
    for i in 0..<40 { e.requests.record(milliseconds: 5, error: i % 4 == 0) }  // 25 % errors
    for _ in 0..<11 { e.alerts.noteFailedLogin() }
    await e.alerts.evaluate(AlertInputs(cpuPercent: nil, memoryPercent: nil))
    let rules = Set(try await e.alerts.list(since: nil).map(\.rule))
    #expect(rules == ["error_rate_high", "failed_logins"])
  }

  @Test func failedLoginsAreCountedFromTheAuditLog() async throws {
    let e = try await makeTestEngine()
    _ = try await e.users.create(username: "carol", email: nil, password: "password-1", role: .user, actor: nil)
    for _ in 0..<11 {
      _ = try? await e.authenticator.login(username: "carol", password: "wrong-password", source: "test")
    }
    await e.alerts.evaluate(AlertInputs(cpuPercent: nil, memoryPercent: nil))
    #expect(try await e.alerts.list(since: nil).contains { $0.rule == "failed_logins" })
  }

  @Test func rulesAreValidatedAndPersisted() async throws {
    let dir = try temporaryDirectory(prefix: "minions-alerts")
    do {
      let e = try await makeTestEngine(dataDirectory: dir)
      await #expect(throws: EngineError.invalidField("rules[0].threshold", "is a percentage: at most 100")) {
        try await e.alerts.setRules([
          AlertRule(name: "x", kind: .cpu, threshold: 150, windowMinutes: 1, severity: .info)
        ])
      }
      await #expect(throws: EngineError.self) {
        try await e.alerts.setRules([
          AlertRule(name: "x", kind: .cpu, threshold: 50, windowMinutes: 1, severity: .info),
          AlertRule(name: "x", kind: .memory, threshold: 50, windowMinutes: 1, severity: .info),
        ])
      }
      try await e.alerts.setRules([
        AlertRule(name: "hot", kind: .cpu, threshold: 50, windowMinutes: 1, severity: .critical)
      ])
      e.close()
    }
    let again = try await makeTestEngine(dataDirectory: dir)
    #expect(again.alerts.currentRules.map(\.name) == ["hot"])
  }
}

final class EventCollectorBox: Sendable {
  private let items = Mutex<[String]>([])
  func add(_ s: String) { items.withLock { $0.append(s) } }
  var all: [String] { items.withLock { $0 } }
}
