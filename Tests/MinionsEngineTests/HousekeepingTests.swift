import MinionsCore
import MinionsStore
import MinionsTestSupport
import Testing

@testable import MinionsEngine

/// The engine's timer: monitor samples into the metrics store, and retention.
@Suite struct HousekeepingTests {
  func count(_ e: Engine, _ sql: String) async throws -> Int {
    try await e.database.read { c in Int(try c.scalarInt(sql) ?? -1) }
  }

  @Test func aTickRecordsTheMachineAndTheProcess() async throws {
    let e = try await makeTestEngine()
    await e.housekeepingTick(prune: false)
    try await e.metrics.flush()
    for name in [
      "system.cpu_percent", "system.memory_percent", "process.rss_bytes", "process.threads", "cache.entries",
    ] {
      #expect(try await count(e, "SELECT count(*) FROM metrics WHERE name = '\(name)'") == 1, "\(name)")
    }
    let rss = try await e.database.read { c in
      try c.queryOne("SELECT value FROM metrics WHERE name = 'process.rss_bytes'")?[0].double
    }
    #expect((rss ?? 0) > 1_000_000)
  }

  @Test func pruningEnforcesTheRetentionSetting() async throws {
    let e = try await makeTestEngine()
    let now = e.clock.now().millisecondsSinceEpoch
    let old = now - 10 * 86_400_000
    try await e.database.write { c in
      try c.execute("INSERT INTO metrics(at, name, value, tags) VALUES (?, 'old', 1, '{}')", [.int(old)])
      try c.execute("INSERT INTO metrics(at, name, value, tags) VALUES (?, 'new', 1, '{}')", [.int(now)])
      try c.execute("INSERT INTO events(at, kind, details) VALUES (?, 'old', '{}')", [.int(old)])
    }
    await e.housekeepingTick(prune: true)  // 90 days: both stay
    #expect(try await count(e, "SELECT count(*) FROM metrics WHERE name IN ('old', 'new')") == 2)
    _ = try await e.settings.update(scope: .system, userID: 0, values: ["metrics.retentionDays": 7], now: e.clock.now())
    await e.housekeepingTick(prune: false)  // pruning only on its own schedule
    #expect(try await count(e, "SELECT count(*) FROM metrics WHERE name = 'old'") == 1)
    await e.housekeepingTick(prune: true)
    #expect(try await count(e, "SELECT count(*) FROM metrics WHERE name IN ('old', 'new')") == 1)
    #expect(try await count(e, "SELECT count(*) FROM events WHERE kind = 'old'") == 0)
  }

  @Test func theTimerSamplesUntilTheEngineCloses() async throws {
    let e = try await makeTestEngine()
    e.startHousekeeping(.init(sampleSeconds: 0.05, pruneSeconds: 3600))
    var samples = 0
    for _ in 0..<300 where samples < 3 {
      await waitSeconds(0.02)
      try await e.metrics.flush()
      samples = try await count(e, "SELECT count(*) FROM metrics WHERE name = 'system.cpu_percent'")
    }
    #expect(samples >= 3)
    e.close()
  }
}
