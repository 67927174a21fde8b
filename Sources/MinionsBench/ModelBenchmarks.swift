import Foundation
import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Issue 4's figures: token relay from a loopback OpenAI-compatible provider to a JSON-RPC client
/// (throughput flat out, and the engine's added latency per token at a steady pace), and model
/// selection among 200 registered models.
enum ModelBenchmarks {
  /// An SSE chunk whose token text is the send time on the shared monotonic clock.
  static func stampedChunk() -> [UInt8] {
    Array("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\(MonotonicClock.nanoseconds())|\"}}]}\n\n".utf8)
  }

  static let finish = Array(
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n".utf8)

  /// A provider that streams `tokens` stamped tokens, `pauseMicros` apart; with no pause it streams as
  /// fast as it can, 32 tokens to a write.
  static func provider(tokens: Int, pauseMicros: Int) throws -> LoopbackHTTPServer {
    try LoopbackHTTPServer { _ in
      let sent = Mutex(0)
      let perWrite = pauseMicros > 0 ? 1 : 32
      return ScriptedResponse(
        status: 200, headers: [("Content-Type", "text/event-stream")],
        steps: [
          .generate {
            let n = sent.withLock { v -> Int in
              let start = v
              v += perWrite
              return start
            }
            if n > tokens { return nil }
            if pauseMicros > 0 {
              let until = MonotonicClock.nanoseconds() + UInt64(pauseMicros) * 1000
              while MonotonicClock.nanoseconds() < until {}  // a precise pace (a sleep would overshoot)
            }
            var bytes: [UInt8] = []
            for _ in 0..<min(perWrite, tokens - n) { bytes += stampedChunk() }
            if n + perWrite >= tokens { bytes += finish }
            return bytes
          }
        ])
    }
  }

  struct Relay {
    var tokensPerSecond: Double
    var latencies: [Double]
  }

  /// One chat through the engine process; measures tokens delivered as agent/update notifications.
  static func relay(enginePath: String, tokens: Int, pauseMicros: Int) throws -> Relay {
    let server = try provider(tokens: tokens, pauseMicros: pauseMicros)
    defer { server.stop() }
    let dir = try makeTemporaryDirectory()
    let peer = try StdioPeer([enginePath, "serve"], environment: ["MINIONS_LOG": "warning", "MINIONS_DATA_DIR": dir])
    defer { peer.stop() }
    peer.send(
      lspFrame(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{"tokenCoalesceMs":0}}}"#))
    _ = peer.readFrameBody()
    peer.send(
      lspFrame(
        #"{"jsonrpc":"2.0","id":2,"method":"models/register","params":{"name":"relay","provider":"openai","capabilities":["text_generation"],"baseURL":"\#(server.baseURL)/v1"}}"#
      ))
    _ = peer.readFrameBody()
    peer.send(lspFrame(#"{"jsonrpc":"2.0","id":3,"method":"agent/chat","params":{"message":"go","model":"relay"}}"#))
    var latencies: [Double] = []
    latencies.reserveCapacity(tokens)
    var first: UInt64? = nil
    let deadline = MonotonicClock.nanoseconds() + 60_000_000_000
    while let body = peer.readFrameBody(), MonotonicClock.nanoseconds() < deadline {
      let now = MonotonicClock.nanoseconds()
      // The token text is the provider's send time: `"text":"123|"`.
      guard let end = find(textKey, in: body) else {
        if find(replyKey, in: body) != nil { break }
        continue
      }
      var i = end
      var stamp: UInt64 = 0
      while i < body.count, body[i] >= 0x30, body[i] <= 0x39 {
        stamp = stamp * 10 + UInt64(body[i] - 0x30)
        i += 1
      }
      if first == nil { first = now }
      if now > stamp { latencies.append(Double(now - stamp) / 1000) }
    }
    let seconds = Double(MonotonicClock.nanoseconds() - (first ?? MonotonicClock.nanoseconds())) / 1e9
    return Relay(tokensPerSecond: Double(latencies.count) / max(seconds, 1e-9), latencies: latencies.sorted())
  }

  static let textKey = Array(#""text":""#.utf8)
  static let replyKey = Array(#""id":3"#.utf8)

  /// The index just past the first occurrence of `needle` in `hay`.
  static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    return hay.withUnsafeBufferPointer { h in
      needle.withUnsafeBufferPointer { n in
        var i = 0
        let last = h.count - n.count
        while i <= last {
          if h[i] == n[0] {
            var k = 1
            while k < n.count && h[i + k] == n[k] { k += 1 }
            if k == n.count { return i + n.count }
          }
          i += 1
        }
        return nil
      }
    }
  }

  /// Token relay, flat out and paced.
  static func relay(enginePath: String) throws -> [BenchRow] {
    _ = try relay(enginePath: enginePath, tokens: 2000, pauseMicros: 0)  // warm-up
    let flatOut = try relay(enginePath: enginePath, tokens: 200_000, pauseMicros: 0)
    let paced = try relay(enginePath: enginePath, tokens: 4000, pauseMicros: 250)
    let p99 = percentile(paced.latencies, 99) / 1000
    return [
      BenchRow(
        issue: "#4", name: "token relay, provider → JSON-RPC client", value: flatOut.tokensPerSecond, unit: "tokens/s",
        target: "≥ 100,000", meets: flatOut.tokensPerSecond >= 100_000),
      BenchRow(
        issue: "#4", name: "added latency per token p50 (4,000 tokens/s)",
        value: percentile(paced.latencies, 50) / 1000,
        unit: "ms", higherIsBetter: false),
      BenchRow(
        issue: "#4", name: "added latency per token p99 (4,000 tokens/s)", value: p99, unit: "ms", target: "≤ 1",
        meets: p99 <= 1, higherIsBetter: false),
    ]
  }

  /// Selection among 200 models, each with measured figures.
  static func selection() async throws -> [BenchRow] {
    let dir = try makeTemporaryDirectory()
    let engine = try Engine(
      configuration: EngineConfiguration(dataDirectory: dir, workspace: dir, environment: [:]), logger: .disabled)
    for i in 0..<200 {
      let name = "model-\(i)"
      try await engine.models.register(
        ModelConfig(
          name: name, provider: .openai,
          capabilities: i % 3 == 0 ? [.textGeneration, .codeGeneration] : [.textGeneration],
          baseURL: "http://127.0.0.1:1/v1", costPer1kInput: Double(i) / 10_000, costPer1kOutput: Double(i) / 5000,
          quality: Double(i % 10) / 10))
      for k in 0..<5 {
        engine.modelStats.record(
          ModelCallRecord(
            at: engine.clock.now(), model: name, provider: .openai, status: .ok, ttftMs: Double(100 + i + k),
            totalMs: Double(900 + i * 3),
            promptTokens: 50, completionTokens: 200, tokensPerSecond: Double(20 + i % 50), cost: 0, estimated: false,
            attempt: 1))
      }
    }
    let criteria = SelectionCriteria(
      task: "write a swift function", requiredCapabilities: [.textGeneration], strategy: .balanced)
    for _ in 0..<200 { _ = try engine.selector.select(criteria) }
    var samples: [Double] = []
    for _ in 0..<2000 {
      let start = MonotonicClock.nanoseconds()
      _ = try engine.selector.select(criteria)
      samples.append(Double(MonotonicClock.nanoseconds() - start) / 1000)
    }
    samples.sort()
    engine.close()
    return [
      BenchRow(
        issue: "#4", name: "models/select among 200 models, p50", value: percentile(samples, 50), unit: "µs",
        target: "≤ 50", meets: percentile(samples, 50) <= 50, higherIsBetter: false)
    ]
  }
}
