import Foundation
import MinionsCore
import MinionsEngine
import Synchronization

/// Issue 6's analytics figures: metrics ingest in memory and into SQLite, a usage report over a million
/// stored metrics, `analytics/record` over the protocol, and the task queue's submit → start overhead.
enum AnalyticsBenchmarks {
  static let rowsStored = 1_000_000

  static func run(enginePath: String) async throws -> [BenchRow] {
    let dir = try makeTemporaryDirectory()
    let engine = try Engine(
      configuration: EngineConfiguration(dataDirectory: dir, workspace: dir, environment: [:]), logger: .disabled)
    defer { engine.close() }

    // A week of traffic: the metrics a chat, its model call, its request and a tool call record, for
    // 20 users, 5 agents and 5 models, spread evenly over seven days.
    let users = (0..<20).map { "user\($0)" }
    let agents = ["assistant", "coder", "researcher", "analyst", "coordinator"]
    let models = ["llama3.2", "qwen2.5-coder", "gpt-4o-mini", "claude-haiku", "local"]
    let chatTags = (0..<100).map { i in
      MetricsStore.tags(["user": users[i % 20], "agent": agents[i % 5], "model": models[(i / 5) % 5]])
    }
    let modelTags = (0..<100).map { i in
      MetricsStore.tags(["model": models[i % 5], "provider": "ollama", "user": users[i % 20]])
    }
    let methodTags = engine.metrics.cachedTags("method", "agent/chat")
    let toolTags = (0..<20).map { MetricsStore.tags(["tool": "file_operations", "user": users[$0]]) }
    let now = engine.clock.now().millisecondsSinceEpoch
    let span: Int64 = 7 * 86_400_000
    let perChat = 8
    let chats = rowsStored / perChat
    let ingestStart = MonotonicClock.nanoseconds()
    for i in 0..<chats {
      let at = Timestamp(millisecondsSinceEpoch: now - span + span * Int64(i) / Int64(chats))
      let chat = chatTags[i % 100]
      let model = modelTags[i % 100]
      engine.metrics.record("chat.turns", 1, encodedTags: chat, at: at)
      engine.metrics.record("chat.tokens", Double(100 + i % 400), encodedTags: chat, at: at)
      engine.metrics.record("model.calls", 1, encodedTags: model, at: at)
      engine.metrics.record("model.tokens", Double(100 + i % 400), encodedTags: model, at: at)
      engine.metrics.record("model.cost", 0.0001, encodedTags: model, at: at)
      engine.metrics.record("rpc.requests", 1, encodedTags: methodTags, at: at)
      engine.metrics.record("rpc.latency_ms", Double(200 + i % 900), encodedTags: methodTags, at: at)
      engine.metrics.record("tool.calls", 1, encodedTags: toolTags[i % 20], at: at)
    }
    let ingestSeconds = Double(MonotonicClock.nanoseconds() - ingestStart) / 1e9
    try await engine.metrics.flush()
    let persistSeconds = Double(MonotonicClock.nanoseconds() - ingestStart) / 1e9
    let inMemory = Double(chats * perChat) / ingestSeconds
    let persisted = Double(chats * perChat) / persistSeconds

    let builder = ReportBuilder(database: engine.database, metrics: engine.metrics, clock: engine.clock)
    var reportMs: [Double] = []
    for _ in 0..<7 {
      let start = MonotonicClock.nanoseconds()
      let report = try await builder.build(.usage, hours: 168)
      reportMs.append(MonotonicClock.milliseconds(since: start))
      let counted = report.summary.first { $0.0 == "chats" }?.1.intValue ?? -1
      if counted != chats { note("analytics: the usage report counted \(counted) chats of \(chats)") }
    }
    let reportP50 = percentile(reportMs.sorted(), 50)

    let submitToStart = try await taskOverhead(engine)
    let record = try recordOverProtocol(enginePath: enginePath)

    return [
      BenchRow(
        issue: "#6", name: "metrics recorded/s in memory (one thread)", value: inMemory, unit: "rows/s",
        target: "≥ 1,000,000", meets: inMemory >= 1_000_000),
      BenchRow(
        issue: "#6", name: "metrics persisted/s into SQLite (1M rows, with rollups)", value: persisted, unit: "rows/s",
        target: "≥ 200,000", meets: persisted >= 200_000),
      BenchRow(
        issue: "#6", name: "usage report over 1M stored metrics (7 days), p50", value: reportP50, unit: "ms",
        target: "< 200", meets: reportP50 < 200, higherIsBetter: false),
      BenchRow(
        issue: "#6", name: "analytics/record over stdio, 64 in flight", value: record, unit: "req/s",
        target: "≥ 50,000", meets: record >= 50_000),
      BenchRow(
        issue: "#6", name: "task submit → start overhead, p50", value: submitToStart, unit: "µs", target: "≤ 50",
        meets: submitToStart <= 50, higherIsBetter: false),
    ]
  }

  /// Microseconds from the call to `submit` to the task's start, median of sequential submissions.
  static func taskOverhead(_ engine: Engine) async throws -> Double {
    let started = Mutex<[UInt64]>([])
    engine.tasks.onStart { _ in
      let t = MonotonicClock.nanoseconds()
      started.withLock { $0.append(t) }
    }
    await engine.tasks.start { _, _ in TaskQueue.TaskResult(value: .null) }
    var samples: [Double] = []
    let params: JSONValue = ["tool": "file_operations", "arguments": ["operation": "stat", "path": "."]]
    for i in 0..<3000 {
      let begin = MonotonicClock.nanoseconds()
      _ = try await engine.tasks.submit(kind: .tool, params: params, priority: .normal, identity: engine.localOwner)
      var waited = 0
      while started.withLock({ $0.count }) <= i, waited < 100_000 {
        await Task.yield()
        waited += 1
      }
      guard let t = started.withLock({ $0.count > i ? $0[i] : nil }) else { break }
      if i >= 200 { samples.append(Double(t - begin) / 1000) }  // the first ones warm up
    }
    engine.tasks.onStart(nil)
    return percentile(samples.sorted(), 50)
  }

  /// `analytics/record` requests per second over stdio with 64 in flight.
  static func recordOverProtocol(enginePath: String) throws -> Double {
    let dataDir = try makeTemporaryDirectory()
    let peer = try StdioPeer(
      [enginePath, "serve"], environment: ["MINIONS_LOG": "warning", "MINIONS_DATA_DIR": dataDir])
    defer { peer.stop() }
    _ = peer.initialize()
    let request: @Sendable (Int) -> [UInt8] = { id in
      lspFrame(
        #"{"jsonrpc":"2.0","id":\#(id),"method":"analytics/record","params":{"name":"editor.keystrokes","value":\#(id % 97),"tags":{"lang":"swift"}}}"#
      )
    }
    _ = pipelinedThroughput(peer, requests: 5000, window: 64, maxSeconds: 5, request: request)  // warm-up
    return pipelinedThroughput(peer, requests: 300_000, window: 64, maxSeconds: 10, request: request)
  }
}
