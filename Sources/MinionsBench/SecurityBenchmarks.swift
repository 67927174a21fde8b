import Foundation
import MinionsCore
import MinionsCrypto
import MinionsEngine

/// Issue 3's figures: JWT issue/verify (PyJWT in the same run), permission checks, bcrypt login latency,
/// audit rows in and out of SQLite.
enum SecurityBenchmarks {
  /// Runs `body` in rounds of `batch` until `seconds` pass (at most `maxOps`); returns operations/s.
  static func rate(seconds: Double = 1.5, batch: Int = 1000, maxOps: Int = 50_000_000, _ body: () -> Void) -> Double {
    let start = MonotonicClock.nanoseconds()
    var n = 0
    while n < maxOps {
      for _ in 0..<batch { body() }
      n += batch
      if Double(MonotonicClock.nanoseconds() - start) / 1e9 >= seconds { break }
    }
    return Double(n) / (Double(MonotonicClock.nanoseconds() - start) / 1e9)
  }

  static func run(peerPython: String?) async throws -> [BenchRow] {
    let secret = "a benchmark secret of at least 32 bytes!"
    let issuer = TokenIssuer(key: Array(secret.utf8))
    let now = Timestamp.now()
    var sink = 0
    let issueRate = rate {
      sink &+=
        issuer.issue(subject: "alice", userID: 7, role: "user", tokenVersion: 1, ttlSeconds: 3600, now: now).token.utf8
        .count
    }
    let token = issuer.issue(subject: "alice", userID: 7, role: "user", tokenVersion: 1, ttlSeconds: 3600, now: now)
      .token
    let verifyRate = rate {
      if let c = try? issuer.verify(token, now: now) { sink &+= Int(c.userID) }
    }

    // Permission checks: the bitset test every call goes through.
    let identities = Role.allCases.map { Identity(userID: 1, username: "u", role: $0, method: .password) }
    let permissions = Permission.allCases
    var granted = 0
    let checkStart = MonotonicClock.nanoseconds()
    let checks = 200_000_000
    for i in 0..<checks {
      if identities[i & 3].has(permissions[i % permissions.count]) { granted &+= 1 }
    }
    let checkRate = Double(checks) / (Double(MonotonicClock.nanoseconds() - checkStart) / 1e9)
    sink &+= granted

    // bcrypt login latency at the default cost (12).
    let directory = try makeTemporaryDirectory()
    let engine = try Engine(
      configuration: EngineConfiguration(dataDirectory: directory, workspace: directory, environment: [:]),
      logger: .disabled)
    _ = try await engine.users.create(
      username: "bench", email: nil, password: "bench-password", role: .user, actor: nil)
    var logins: [Double] = []
    for _ in 0..<7 {
      let start = MonotonicClock.nanoseconds()
      _ = try await engine.authenticator.login(username: "bench", password: "bench-password", source: "bench")
      logins.append(MonotonicClock.milliseconds(since: start))
    }

    // Audit rows: appended as the engine appends them (queued to the database thread, a transaction each),
    // then read back in pages.
    let rows = 30_000
    let insertStart = MonotonicClock.nanoseconds()
    for i in 0..<rows {
      engine.audit.record(
        username: "bench", action: "bench.event", target: "t\(i)", outcome: .ok, details: ["i": .int(i)])
    }
    _ = try await engine.database.read { c in try c.scalarInt("SELECT count(*) FROM audit") }  // waits for the queue
    let insertRate = Double(rows) / (Double(MonotonicClock.nanoseconds() - insertStart) / 1e9)
    let readStart = MonotonicClock.nanoseconds()
    var cursor: Int64? = nil
    var read = 0
    repeat {
      let page = try await engine.audit.query(.init(action: "bench.event", limit: 1000, cursor: cursor))
      read += page.entries.count
      cursor = page.nextCursor
    } while cursor != nil
    let readRate = Double(read) / (Double(MonotonicClock.nanoseconds() - readStart) / 1e9)
    engine.close()

    var peer: (issue: Double, verify: Double)? = nil
    if let python = peerPython {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: python)
      p.arguments = [benchSourceDirectory + "/Peers/pyjwt_bench.py"]
      let out = Pipe()
      p.standardOutput = out
      p.standardError = FileHandle.nullDevice
      try p.run()
      let data = out.fileHandleForReading.readDataToEndOfFile()
      p.waitUntilExit()
      if let v = try? JSONParser.parse(Array(data)), let i = v["issue"]?.doubleValue, let d = v["verify"]?.doubleValue {
        peer = (i, d)
      }
    }
    if sink == 42 { print("") }  // keeps the measured work from being optimized away
    let peerName = peerPython == nil ? nil : "PyJWT"
    return [
      BenchRow(
        issue: "#3", name: "JWT HS256 issue (one core)", value: issueRate, unit: "ops/s", target: "≥ 300,000",
        meets: issueRate >= 300_000, peerName: peerName, peerValue: peer?.issue),
      BenchRow(
        issue: "#3", name: "JWT HS256 verify (one core)", value: verifyRate, unit: "ops/s", target: "≥ 300,000",
        meets: verifyRate >= 300_000, peerName: peerName, peerValue: peer?.verify),
      BenchRow(
        issue: "#3", name: "permission checks", value: checkRate, unit: "checks/s", target: "≥ 50,000,000",
        meets: checkRate >= 50_000_000),
      BenchRow(
        issue: "#3", name: "bcrypt login latency, cost 12 (median of 7)", value: percentile(logins.sorted(), 50),
        unit: "ms",
        higherIsBetter: false),
      BenchRow(issue: "#3", name: "audit rows appended", value: insertRate, unit: "rows/s"),
      BenchRow(issue: "#3", name: "audit rows read (pages of 1000)", value: readRate, unit: "rows/s"),
    ]
  }
}
