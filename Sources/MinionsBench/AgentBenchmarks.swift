import Foundation
import MinionsCore
import MinionsEngine
import MinionsStore

/// Issue 5's figures: the engine's own time per turn with a script model that answers at once (the
/// model's time subtracted), tool dispatch for a trivial built-in, and session search over 100,000
/// messages.
enum AgentBenchmarks {
  static func run() async throws -> [BenchRow] {
    let dir = try makeTemporaryDirectory()
    let engine = try Engine(
      configuration: EngineConfiguration(
        dataDirectory: dir, workspace: dir, environment: [:], localModelTokenDelay: 0),
      logger: .disabled)
    defer { engine.close() }
    // One model answers in text at once; the other calls a tool first, then answers its result.
    let plain = dir + "/plain.json"
    try
      #"{"turns": [{"events": [{"text": "Hello "}, {"text": "there."}], "usage": {"promptTokens": 20, "completionTokens": 2}}]}"#
      .write(toFile: plain, atomically: true, encoding: .utf8)
    let tooling = dir + "/tooling.json"
    try #"""
    {"turns": [
      {"match": "^\\.: directory", "events": [{"text": "The workspace is a directory."}]},
      {"events": [{"toolCall": {"tool": "file_operations", "arguments": {"operation": "stat", "path": "."}}}]}
    ]}
    """#.write(toFile: tooling, atomically: true, encoding: .utf8)
    for (name, path) in [("bench-plain", plain), ("bench-tooling", tooling)] {
      try await engine.models.register(
        ModelConfig(name: name, provider: .script, capabilities: [.textGeneration, .toolUse], script: path))
    }
    try await engine.agents.save(
      AgentDefinition(name: "bench", description: "", systemPrompt: "You answer.", tools: ["file_operations"]),
      by: nil, replace: false)

    /// Engine time per turn (the turn's wall time less its model calls), over `count` turns.
    func turns(_ message: String, model: String, count: Int) async throws -> [Double] {
      var samples: [Double] = []
      var session: String?
      for i in 0..<count {
        let outcome = try await engine.runner.chat(
          AgentRunner.Request(
            message: message, agent: "bench", sessionID: i % 20 == 0 ? nil : session, model: model),
          identity: engine.localOwner, approvals: engine.policyApprovals
        ) { _ in }
        session = outcome.sessionID
        samples.append(outcome.totalMs - outcome.modelMs)
      }
      return samples.sorted()
    }
    _ = try await turns("hi", model: "bench-plain", count: 50)  // warm-up
    let plainTurns = try await turns("hi", model: "bench-plain", count: 1000)
    let withTool = try await turns("look around", model: "bench-tooling", count: 500)

    // Tool dispatch: validation, timeout guard, the call, the record.
    let context = ToolContext(username: "bench", timeoutMs: 30_000)
    var dispatch: [Double] = []
    for i in 0..<5200 {
      let start = MonotonicClock.nanoseconds()
      _ = try await engine.tools.execute(
        "file_operations", arguments: ["operation": "stat", "path": "."], context: context)
      if i >= 200 { dispatch.append(Double(MonotonicClock.nanoseconds() - start) / 1000) }
    }
    dispatch.sort()

    let (search, rare) = try await searchLatency(engine)

    return [
      BenchRow(
        issue: "#5", name: "turn overhead, text only (engine time, p50)", value: percentile(plainTurns, 50), unit: "ms",
        target: "≤ 1", meets: percentile(plainTurns, 50) <= 1, higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "turn overhead, text only (engine time, p99)", value: percentile(plainTurns, 99), unit: "ms",
        target: "≤ 1", meets: percentile(plainTurns, 99) <= 1, higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "turn overhead, one tool call, two model calls (p50)", value: percentile(withTool, 50),
        unit: "ms", target: "≤ 1", meets: percentile(withTool, 50) <= 1, higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "turn overhead, one tool call, two model calls (p99)", value: percentile(withTool, 99),
        unit: "ms", higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "tool dispatch, file_operations stat (p50)", value: percentile(dispatch, 50), unit: "µs",
        target: "≤ 100", meets: percentile(dispatch, 50) <= 100, higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "tool dispatch, file_operations stat (p99)", value: percentile(dispatch, 99), unit: "µs",
        higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "sessions/search over 100,000 messages, common word (p50)", value: percentile(search, 50),
        unit: "ms", target: "≤ 20", meets: percentile(search, 50) <= 20, higherIsBetter: false),
      BenchRow(
        issue: "#5", name: "sessions/search over 100,000 messages, two rare words (p50)", value: percentile(rare, 50),
        unit: "ms", target: "≤ 20", meets: percentile(rare, 50) <= 20, higherIsBetter: false),
    ]
  }

  /// Fills 1,000 sessions with 100 messages each of 12 words drawn (skewed towards the first words)
  /// from a 5,000-word vocabulary, then times searches.
  static func searchLatency(_ engine: Engine) async throws -> ([Double], [Double]) {
    let userID = engine.localOwner.userID!
    try await engine.database.write { c in
      var seed: UInt64 = 42
      func next() -> UInt64 {
        seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return seed >> 33
      }
      func word() -> String {
        // The square of a uniform draw skews towards low numbers: a few common words, a long tail.
        let u = Double(next() % 10_000) / 10_000
        return "w\(Int(u * u * 5000))"
      }
      for s in 0..<1000 {
        let id = "s_bench_\(s)"
        try c.execute(
          "INSERT INTO sessions(id, user_id, title, agent, created_at, updated_at, message_count) VALUES (?, ?, ?, ?, ?, ?, 100)",
          [.text(id), .int(userID), .text("session \(s)"), .text("bench"), .int(Int64(s)), .int(Int64(s))])
        for m in 0..<100 {
          let text = (0..<12).map { _ in word() }.joined(separator: " ")
          try c.execute(
            "INSERT INTO messages(session_id, turn_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)",
            [.text(id), .text("t\(m / 2)"), .text(m % 2 == 0 ? "user" : "assistant"), .text(text), .int(Int64(m))])
        }
      }
    }
    var common: [Double] = []
    var rare: [Double] = []
    for i in 0..<220 {
      var start = MonotonicClock.nanoseconds()
      _ = try await engine.sessions.search(userID: userID, query: "w\(i % 40)", limit: 20)
      if i >= 20 { common.append(MonotonicClock.milliseconds(since: start)) }
      start = MonotonicClock.nanoseconds()
      _ = try await engine.sessions.search(userID: userID, query: "w\(4000 + i) w\(4500 + i)", limit: 20)
      if i >= 20 { rare.append(MonotonicClock.milliseconds(since: start)) }
    }
    return (common.sorted(), rare.sorted())
  }
}
