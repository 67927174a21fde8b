import Foundation
import MinionsCore
import MinionsEngine
import MinionsHTTP
import MinionsTestSupport
import Synchronization
import Testing

@Suite struct OpenAIProviderTests {
  static let textStream =
    ": keep-alive comment\r\n"
    + sse([
      #"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{"content":"lo, wörld 😀"},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#,
      #"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}"#,
      "[DONE]",
    ]).replacingOccurrences(of: "\n", with: "\r\n")

  @Test func streamsTextInAwkwardChunksWithUsage() async throws {
    let server = try LoopbackHTTPServer { _ in
      .pieces(200, Self.textStream, sizes: [1, 3, 17, 2, 64], contentType: "text/event-stream")
    }
    let e = try await engine(with: server, provider: .openai)
    let log = EventLog()
    let r = try await run(
      e, model: "test-model", ModelRequest(messages: [.user("hi")], temperature: 0.2, maxTokens: 50), log: log)
    #expect(log.text == "Hello, wörld 😀" && r.text == "Hello, wörld 😀")
    #expect(r.finish == .stop && r.promptTokens == 12 && r.completionTokens == 4 && !r.usageEstimated)
    #expect(r.ttftMs != nil && r.attempts == 1)
    let req = server.requests[0]
    #expect(req.path == "/v1/chat/completions" && req.header("authorization") == "Bearer sk-test")
    let body = req.json
    #expect(
      body?["model"] == "test-model" && body?["stream"] == true && body?["stream_options"]?["include_usage"] == true)
    #expect(body?["temperature"] == 0.2 && body?["max_tokens"] == 50)
    #expect(body?["messages"] == [["role": "user", "content": "hi"]])
  }

  @Test func toolCallsArriveIncrementallyByIndex() async throws {
    let stream = sse([
      #"{"choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_A","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_B","type":"function","function":{"name":"get_weather","arguments":"{\"city\":"}}]},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\":\"Tokyo\"}"}}]},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}]}"#,
      #"{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#,
      #"{"choices":[],"usage":{"prompt_tokens":44,"completion_tokens":16,"total_tokens":60}}"#, "[DONE]",
    ])
    let server = try LoopbackHTTPServer { _ in .pieces(200, stream, sizes: [5, 11], contentType: "text/event-stream") }
    let e = try await engine(with: server, provider: .openai)
    let r = try await run(
      e, model: "test-model", ModelRequest(messages: conversationWithToolResult, tools: [weatherTool]))
    #expect(r.finish == .toolCalls)
    #expect(
      r.toolCalls == [
        ToolCallRequest(id: "call_A", name: "get_weather", arguments: ["city": "Tokyo"]),
        ToolCallRequest(id: "call_B", name: "get_weather", arguments: ["city": "Oslo"]),
      ])
    let body = server.requests[0].json
    // Tools in OpenAI's schema; the earlier call and its result in OpenAI's message format.
    #expect(
      body?["tools"] == [
        [
          "type": "function",
          "function": [
            "name": "get_weather", "description": "Weather for a city",
            "parameters": weatherTool.parameters,
          ],
        ]
      ])
    let messages = body?["messages"]?.arrayValue ?? []
    #expect(
      messages[2] == [
        "role": "assistant", "content": nil,
        "tool_calls": [
          ["id": "call_1", "type": "function", "function": ["name": "get_weather", "arguments": #"{"city":"Tokyo"}"#]]
        ],
      ])
    #expect(messages[3] == ["role": "tool", "tool_call_id": "call_1", "content": "22°C"])
  }

  @Test func aStreamWithoutUsageIsMarkedEstimated() async throws {
    let stream = sse([
      #"{"choices":[{"index":0,"delta":{"content":"twelve chars"},"finish_reason":"stop"}]}"#, "[DONE]",
    ])
    let server = try LoopbackHTTPServer { _ in .body(200, stream, contentType: "text/event-stream") }
    let e = try await engine(with: server, provider: .openai)
    let r = try await run(e, model: "test-model", ModelRequest(messages: [.user("count to twelve please")]))
    #expect(r.usageEstimated && r.completionTokens == 3 && r.promptTokens > 0)
  }

  @Test func a500ThenSuccessIsRetried() async throws {
    let calls = Counter()
    let server = try LoopbackHTTPServer { _ in
      calls.next() == 0
        ? .body(500, #"{"error":{"message":"server hiccup","type":"server_error"}}"#)
        : .body(200, Self.textStream, contentType: "text/event-stream")
    }
    let e = try await engine(with: server, provider: .openai)
    let r = try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    #expect(r.text == "Hello, wörld 😀" && r.attempts == 2 && server.requests.count == 2)
    #expect(e.modelStats.snapshot("test-model").errors == 1)
  }

  @Test func a429WithRetryAfterIsHonoured() async throws {
    let calls = Counter()
    let server = try LoopbackHTTPServer { _ in
      calls.next() == 0
        ? .body(429, #"{"error":{"message":"slow down"}}"#, headers: [("Retry-After", "1")])
        : .body(200, Self.textStream, contentType: "text/event-stream")
    }
    let e = try await engine(with: server, provider: .openai)
    let started = MonotonicClock.nanoseconds()
    let r = try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    #expect(r.attempts == 2)
    #expect(MonotonicClock.milliseconds(since: started) >= 950)  // waited as asked, not the 10 ms test backoff
    #expect(e.modelHealth.cooldownUntil("test-model") != nil)  // and the model cools down as it asked
  }

  @Test func otherClientErrorsAreNotRetried() async throws {
    let server = try LoopbackHTTPServer { _ in
      .body(400, #"{"error":{"message":"bad tools","type":"invalid_request_error"}}"#)
    }
    let e = try await engine(with: server, provider: .openai)
    await #expect {
      try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.httpStatus == 400 && !m.retryable && m.message == "bad tools"
    }
    #expect(server.requests.count == 1)
  }

  @Test func aMidStreamErrorAfterOutputIsNotRetried() async throws {
    let stream = sse([
      #"{"choices":[{"index":0,"delta":{"content":"partial "},"finish_reason":null}]}"#,
      #"{"error":{"message":"model crashed","type":"server_error"}}"#,
    ])
    let server = try LoopbackHTTPServer { _ in .body(200, stream, contentType: "text/event-stream") }
    let e = try await engine(with: server, provider: .openai)
    let log = EventLog()
    await #expect {
      try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]), log: log)
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.kind == .midStream && m.message == "model crashed"
    }
    #expect(log.text == "partial " && server.requests.count == 1)
  }

  @Test func aCutStreamIsAnErrorWithEstimatedUsage() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(
        status: 200,
        steps: [
          .bytes(Array(sse([#"{"choices":[{"index":0,"delta":{"content":"half an ans"}}]}"#]).utf8)),
          .pause(0.05), .hangUp,
        ])
    }
    let e = try await engine(with: server, provider: .openai)
    await #expect(throws: ModelRoutingError.self) {
      try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    }
    let rows = try await e.database.read { c in
      try c.query("SELECT status, estimated, completion_tokens FROM model_calls")
    }
    #expect(
      rows.count == 1 && rows[0]["status"] == "error" && rows[0]["estimated"] == 1 && rows[0]["completion_tokens"] == 2)
  }

  @Test func aStallPastTheIdleTimeoutFails() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(
        status: 200,
        steps: [.bytes(Array(sse([#"{"choices":[{"index":0,"delta":{"content":"a"}}]}"#]).utf8)), .pause(6)])
    }
    let e = try await engine(with: server, provider: .openai)
    await #expect {
      try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.kind == .midStream && m.message.contains("stalled")
    }
  }

  @Test func cancellationStopsTheTransfer() async throws {
    let server = try LoopbackHTTPServer { _ in
      var steps: [ScriptedResponse.Step] = []
      for i in 0..<500 {
        steps += [.bytes(Array(sse([#"{"choices":[{"index":0,"delta":{"content":"t\#(i) "}}]}"#]).utf8)), .pause(0.02)]
      }
      return ScriptedResponse(status: 200, steps: steps)
    }
    let e = try await engine(with: server, provider: .openai)
    let log = EventLog()
    let task = Task { try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]), log: log) }
    try await Task.sleep(nanoseconds: 200_000_000)
    task.cancel()
    let outcome = await task.result
    if case .success = outcome { Issue.record("the stream was not cancelled") }
    let seen = log.all.count
    try await Task.sleep(nanoseconds: 200_000_000)
    #expect(log.all.count == seen)  // nothing more arrives
    var closed = false
    for _ in 0..<100 where !closed {
      closed = server.activeConnections == 0
      try await Task.sleep(nanoseconds: 10_000_000)
    }
    #expect(closed)
  }

  @Test func aRefusedConnectionFailsOverToTheFallback() async throws {
    let good = try LoopbackHTTPServer { _ in .body(200, Self.textStream, contentType: "text/event-stream") }
    let dead = try LoopbackHTTPServer { _ in .body(200, "") }
    let deadURL = dead.baseURL
    dead.stop()
    let e = try await engine(with: good, provider: .openai, model: "backup")
    try await e.models.register(
      ModelConfig(
        name: "primary", provider: .openai, capabilities: [.textGeneration],
        baseURL: deadURL + "/v1", fallbacks: ["backup"]))
    let r = try await run(e, model: "primary", ModelRequest(messages: [.user("hi")]))
    #expect(r.model.name == "backup" && r.attempts == 4)  // three tries of primary, then the fallback
    let rows = try await e.database.read { c in
      try c.query("SELECT model, status, fallback_from FROM model_calls ORDER BY id")
    }
    #expect(rows.map { $0["model"].text ?? "" } == ["primary", "primary", "primary", "backup"])
    #expect(rows.last?["fallback_from"] == "primary")
  }
}

/// Counts calls from the server's threads.
final class Counter: Sendable {
  private let n = Mutex<Int>(0)
  func next() -> Int {
    n.withLock { v in
      defer { v += 1 }; return v
    }
  }
}
