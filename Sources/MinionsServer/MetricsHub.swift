import JSONRPC
import MinionsCore
import MinionsEngine
import Synchronization

/// Builds `metrics/snapshot` and drives `metrics/subscribe`: one loop per subscription that sends the
/// newest snapshot as `metrics/update` through the connection's latest-only slot, so a client that
/// reads slowly gets fewer, fresh updates and the server's memory never grows for it. Snapshots taken
/// within `reuseMs` of each other are shared, so many subscribers cost one sample.
final class MetricsHub: Sendable {
  static let minimumIntervalMs = 100
  static let maximumIntervalMs = 3_600_000
  static let maxSubscriptionsPerConnection = 16
  static let reuseMs: UInt64 = 50

  private struct Subscription {
    var id: String
    var task: Task<Void, Never>
    var gate: SendGate
  }

  /// Whether a subscription may still send; checked and cleared under one lock, so once
  /// `unsubscribe` returns no update of it can be queued.
  private final class SendGate: Sendable {
    let open = Mutex(true)
  }

  private let subscriptions = Mutex<[Int: [Subscription]]>([:])
  private let counter = Atomic<Int>(0)
  /// Updates handed to connections since the start (queued or replacing an unread one).
  let updatesSent = Atomic<Int>(0)
  private let latest = Mutex<(at: UInt64, snapshot: MetricsSnapshot)?>(nil)

  /// The current figures, or ones taken less than `reuseMs` ago.
  func snapshot(server: MinionsServer) async -> MetricsSnapshot {
    let now = MonotonicClock.nanoseconds()
    if let cached = latest.withLock({ $0 }), now - cached.at < Self.reuseMs * 1_000_000 { return cached.snapshot }
    let engine = server.engine
    let sample = await WorkerThreads.blocking.run { engine.monitor.sample() }
    let requests = engine.requests.figures()
    let counts = engine.tasks.counts
    let finished = (try? await engine.tasks.finishedCounts()) ?? (0, 0)
    func round(_ x: Double, _ places: Double) -> Double { (x * places).rounded() / places }
    var system = sample.system
    system.cpuPercent = round(system.cpuPercent, 10)
    system.memoryPercent = round(system.memoryPercent, 100)
    var process = sample.process
    process.cpuPercent = round(process.cpuPercent, 10)
    process.uptimeSeconds = round(process.uptimeSeconds, 1000)
    let snapshot = MetricsSnapshot(
      timestamp: sample.timestamp, system: system, process: process,
      server: .init(
        connections: server.connectionCount, requestsTotal: requests.requestsTotal,
        requestsPerSecond: requests.requestsPerSecond, errorsTotal: requests.errorsTotal,
        errorRate: (requests.errorRate * 10_000).rounded() / 10_000,
        latencyMs: .init(p50: requests.p50Ms, p95: requests.p95Ms, p99: requests.p99Ms),
        methods: requests.byMethod.map {
          .init(
            method: $0.method, count: $0.count, errors: $0.errors,
            latencyMs: .init(p50: $0.p50Ms, p95: $0.p95Ms, p99: $0.p99Ms))
        }),
      cache: .init(engine.responseCache.entries.stats),
      tasks: .init(queued: counts.queued, running: counts.running, completed: finished.0, failed: finished.1))
    latest.withLock { $0 = (MonotonicClock.nanoseconds(), snapshot) }
    return snapshot
  }

  /// Makes a subscription sending `session` a snapshot every `intervalMs`, the first as soon as the
  /// returned `start` is called (after the subscribe reply, so the client knows the id first).
  func subscribe(session: ClientSession, server: MinionsServer, intervalMs: Int) throws -> (
    id: String, start: @Sendable () -> Void
  ) {
    let (started, starter) = AsyncStream<Void>.makeStream()
    let connection = session.connection.number
    let id = "m_\(counter.add(1, ordering: .relaxed).newValue)"
    try subscriptions.withLock { all in
      let mine = all[connection] ?? []
      guard mine.count < Self.maxSubscriptionsPerConnection else {
        throw ResponseError.invalidParams(
          field: "intervalMs",
          "this connection already has \(Self.maxSubscriptionsPerConnection) metrics subscriptions; "
            + "end one with metrics/unsubscribe first")
      }
      let gate = SendGate()
      let task = Task { [weak server, weak session] in
        for await _ in started { break }  // ends at once if cancelled first
        var next = MonotonicClock.nanoseconds()
        while !Task.isCancelled {
          guard let server, let session else { return }
          let snapshot = await self.snapshot(server: server)
          if Task.isCancelled { return }
          if let params = try? JSONValueEncoder(nilEncoding: .null).encode(
            MetricsUpdateParams(subscriptionId: id, snapshot: snapshot))
          {
            gate.open.withLock { open in
              if open {
                session.notifyLatest(key: "metrics/update " + id, "metrics/update", params)
                self.updatesSent.add(1, ordering: .relaxed)
              }
            }
          }
          // Keep the cadence: the next update is due an interval after the previous was due.
          next += UInt64(intervalMs) * 1_000_000
          let now = MonotonicClock.nanoseconds()
          if next < now { next = now }
          try? await Task.sleep(nanoseconds: next - now)
        }
      }
      all[connection, default: []].append(Subscription(id: id, task: task, gate: gate))
    }
    return (
      id,
      {
        starter.yield()
        starter.finish()
      }
    )
  }

  /// Ends one of the connection's subscriptions; false when it has none with this id.
  func unsubscribe(_ id: String, connection: Int) -> Bool {
    let removed = subscriptions.withLock { all -> Subscription? in
      guard let i = all[connection]?.firstIndex(where: { $0.id == id }) else { return nil }
      let s = all[connection]!.remove(at: i)
      if all[connection]!.isEmpty { all.removeValue(forKey: connection) }
      return s
    }
    guard let removed else { return false }
    removed.gate.open.withLock { $0 = false }
    removed.task.cancel()
    return true
  }

  /// Ends every subscription of a closed connection.
  func connectionClosed(_ connection: Int) {
    let removed = subscriptions.withLock { $0.removeValue(forKey: connection) } ?? []
    for s in removed {
      s.gate.open.withLock { $0 = false }
      s.task.cancel()
    }
  }

  /// Subscriptions open on a connection (for tests).
  func count(connection: Int) -> Int { subscriptions.withLock { $0[connection]?.count ?? 0 } }
}
