import MinionsCore
import MinionsStore
import Synchronization

/// A tool's figures, as `tools/list` shows them.
public struct ToolStatsSnapshot: Sendable, Equatable, Codable {
  public var calls: Int
  public var errors: Int
  /// Median duration of the latest calls, in milliseconds (nil before the first call).
  public var p50Ms: Double?

  public static let empty = ToolStatsSnapshot(calls: 0, errors: 0, p50Ms: nil)
}

/// One tool call, as recorded (a row in `tool_calls`).
public struct ToolRunRecord: Sendable {
  public var at: Timestamp
  public var tool: String
  public var username: String?
  public var sessionID: String?
  public var agent: String?
  public var durationMs: Double
  public var isError: Bool
  /// How the call was allowed when it needed approval: `client`, `remembered`, `policy`, or nil.
  public var approval: String?
}

/// Per-tool counts and a rolling median over the latest calls; one stored row per call, gathered in
/// memory and written in batches (at most a fifth of a second later), so a call costs no database work.
public final class ToolStats: Sendable {
  struct PerTool {
    var calls = 0
    var errors = 0
    var recent: [Double] = []
  }

  static let window = 200
  private let database: Database
  private let perTool = Mutex<[String: PerTool]>([:])
  /// Rows not yet handed to the database.
  private let pending = Mutex<[[SQLValue]]>([])
  static let flushDelay = 0.2
  static let flushRows = 500

  private let metrics: MetricsStore?

  init(database: Database, metrics: MetricsStore? = nil) throws {
    self.database = database
    self.metrics = metrics
    let rows = try database.sync { c in
      try c.query("SELECT tool, count(*), sum(is_error) FROM tool_calls GROUP BY tool")
    }
    var loaded: [String: PerTool] = [:]
    for row in rows {
      guard let tool = row[0].text else { continue }
      var p = PerTool(calls: row[1].int ?? 0, errors: row[2].int ?? 0)
      let durations = try database.sync { c in
        try c.query(
          "SELECT duration_ms FROM tool_calls WHERE tool = ? ORDER BY id DESC LIMIT \(Self.window)", [.text(tool)])
      }
      p.recent = durations.reversed().compactMap { $0[0].double }
      loaded[tool] = p
    }
    perTool.withLock { $0 = loaded }
  }

  public func snapshot(_ tool: String) -> ToolStatsSnapshot {
    perTool.withLock { all in
      guard let p = all[tool] else { return .empty }
      let sorted = p.recent.sorted()
      let median = sorted.isEmpty ? nil : sorted[(sorted.count - 1) / 2]
      return ToolStatsSnapshot(calls: p.calls, errors: p.errors, p50Ms: median.map { ($0 * 100).rounded() / 100 })
    }
  }

  func record(_ r: ToolRunRecord) {
    if let metrics {
      let tags = MetricsStore.tags(["tool": r.tool, "user": r.username ?? ""])
      metrics.record("tool.calls", 1, encodedTags: tags, at: r.at)
      if r.isError { metrics.record("tool.errors", 1, encodedTags: tags, at: r.at) }
      metrics.record("tool.latency_ms", r.durationMs, encodedTags: metrics.cachedTags("tool", r.tool), at: r.at)
    }
    perTool.withLock { all in
      var p = all[r.tool] ?? PerTool()
      p.calls += 1
      if r.isError { p.errors += 1 }
      p.recent.append(r.durationMs)
      if p.recent.count > Self.window { p.recent.removeFirst(p.recent.count - Self.window) }
      all[r.tool] = p
    }
    let values: [SQLValue] = [
      .int(r.at.millisecondsSinceEpoch), .text(r.tool), r.username.map(SQLValue.text) ?? .null,
      r.sessionID.map(SQLValue.text) ?? .null, r.agent.map(SQLValue.text) ?? .null, .double(r.durationMs),
      .int(r.isError ? 1 : 0), r.approval.map(SQLValue.text) ?? .null,
    ]
    let count = pending.withLock { p -> Int in
      p.append(values)
      return p.count
    }
    if count == 1 {
      Deadlines.shared.schedule(after: Self.flushDelay) { [weak self] in self?.flush() }
    } else if count >= Self.flushRows {
      flush()
    }
  }

  /// Hands the gathered rows to the database (also done on close, through `Database.close`'s queue).
  func flush() {
    let rows = pending.withLock { p -> [[SQLValue]] in
      defer { p.removeAll() }
      return p
    }
    guard !rows.isEmpty else { return }
    database.writeLater { c in
      for values in rows {
        try c.execute(
          "INSERT INTO tool_calls(at, tool, username, session_id, agent, duration_ms, is_error, approval) "
            + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values)
      }
    }
  }
}
