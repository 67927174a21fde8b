import MinionsCore
import MinionsEngine
import MinionsHTTP
import MinionsTestSupport
import Testing

@Suite struct AnthropicProviderTests {
  /// The recorded stream shape of anthropic-sdk-python's tool_use fixture, with a text block and pings.
  static let stream = """
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_1","content":[],"stop_reason":null,"usage":{"input_tokens":377,"output_tokens":1}}}

    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: ping
    data: {"type": "ping"}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me "}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"check. "}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01","name":"get_weather","input":{}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"locati"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"on\\": \\"Oslo\\"}"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":30}}

    event: message_delta
    data: {"type":"message_delta","delta":{},"usage":{"output_tokens":65}}

    event: message_stop
    data: {"type":"message_stop"}


    """

  @Test func streamsTextAndToolUseWithCumulativeUsage() async throws {
    let server = try LoopbackHTTPServer { _ in
      .pieces(200, Self.stream, sizes: [7, 1, 33], contentType: "text/event-stream")
    }
    let e = try await engine(with: server, provider: .anthropic)
    let r = try await run(
      e, model: "test-model", ModelRequest(messages: conversationWithToolResult, tools: [weatherTool], temperature: 0))
    #expect(r.text == "Let me check. " && r.finish == .toolCalls)
    #expect(r.toolCalls == [ToolCallRequest(id: "toolu_01", name: "get_weather", arguments: ["location": "Oslo"])])
    #expect(r.promptTokens == 377 && r.completionTokens == 65 && !r.usageEstimated)
    let req = server.requests[0]
    #expect(
      req.path == "/v1/messages" && req.header("x-api-key") == "ak-test"
        && req.header("anthropic-version") == "2023-06-01")
    let body = req.json
    #expect(body?["system"] == "Be brief." && body?["max_tokens"] == 4096 && body?["stream"] == true)
    #expect(
      body?["tools"] == [
        ["name": "get_weather", "description": "Weather for a city", "input_schema": weatherTool.parameters]
      ])
    // The earlier tool round in Anthropic's shape: tool_use in the assistant turn, tool_result in a user turn.
    #expect(
      body?["messages"] == [
        ["role": "user", "content": [["type": "text", "text": "Weather in Tokyo?"]]],
        [
          "role": "assistant",
          "content": [["type": "tool_use", "id": "call_1", "name": "get_weather", "input": ["city": "Tokyo"]]],
        ],
        [
          "role": "user",
          "content": [["type": "tool_result", "tool_use_id": "call_1", "content": "22°C", "is_error": false]],
        ],
      ])
  }

  @Test func overloaded529IsRetried() async throws {
    let calls = Counter()
    let server = try LoopbackHTTPServer { _ in
      calls.next() == 0
        ? .body(
          529, #"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
          headers: [("retry-after-ms", "20")])
        : .body(200, Self.stream, contentType: "text/event-stream")
    }
    let e = try await engine(with: server, provider: .anthropic)
    let r = try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    #expect(r.attempts == 2 && r.text == "Let me check. ")
  }

  @Test func anErrorEventMidStreamFails() async throws {
    let body = """
      event: message_start
      data: {"type":"message_start","message":{"usage":{"input_tokens":5,"output_tokens":1}}}

      event: content_block_delta
      data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

      event: error
      data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}


      """
    let server = try LoopbackHTTPServer { _ in .body(200, body, contentType: "text/event-stream") }
    let e = try await engine(with: server, provider: .anthropic)
    await #expect {
      try await run(e, model: "test-model", ModelRequest(messages: [.user("hi")]))
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.kind == .midStream && m.httpStatus == 529
    }
  }

  @Test func aMissingKeyIsAConfigurationError() async throws {
    let e = try await makeTestEngine()
    try await e.models.register(ModelConfig(name: "claude-x", provider: .anthropic, capabilities: [.textGeneration]))
    #expect(e.models.unavailableReason(e.models.get("claude-x")!) == "no API key: set ANTHROPIC_API_KEY")
    await #expect(throws: ModelRoutingError.self) {
      try await run(e, model: "claude-x", ModelRequest(messages: [.user("hi")]))
    }
  }
}

@Suite struct OllamaProviderTests {
  static let stream =
    [
      #"{"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":"The"},"done":false}"#,
      #"{"model":"llama3.2","created_at":"2026-01-01T00:00:00Z","message":{"role":"assistant","content":" weather"},"done":false}"#,
      #"{"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Tokyo"}}}]},"done":false}"#,
      #"{"model":"llama3.2","message":{"role":"assistant","content":""},"done_reason":"stop","done":true,"total_duration":182242375,"load_duration":41295167,"prompt_eval_count":169,"prompt_eval_duration":24573166,"eval_count":15,"eval_duration":115959084}"#,
    ].joined(separator: "\n") + "\n"

  @Test func streamsNDJSONWithWholeToolCallsAndKeepsLoadTimeApart() async throws {
    let server = try LoopbackHTTPServer { _ in
      .pieces(200, Self.stream, sizes: [9, 2, 40], contentType: "application/x-ndjson")
    }
    let e = try await engine(with: server, provider: .ollama, model: "llama3.2")
    let r = try await run(
      e, model: "llama3.2", ModelRequest(messages: conversationWithToolResult, tools: [weatherTool], temperature: 0.5))
    #expect(r.text == "The weather" && r.finish == .toolCalls)
    #expect(r.toolCalls.map(\.name) == ["get_weather"] && r.toolCalls[0].arguments == ["city": "Tokyo"])
    #expect(r.promptTokens == 169 && r.completionTokens == 15)
    let rows = try await e.database.read { c in try c.query("SELECT load_ms FROM model_calls") }
    #expect(rows.first?["load_ms"].double.map { abs($0 - 41.295167) < 0.01 } == true)
    let body = server.requests[0].json
    #expect(
      server.requests[0].path == "/api/chat" && body?["stream"] == true && body?["options"]?["temperature"] == 0.5)
    #expect(body?["tools"]?[0]?["function"]?["name"] == "get_weather")
    let messages = body?["messages"]?.arrayValue ?? []
    #expect(
      messages[2] == [
        "role": "assistant", "content": "",
        "tool_calls": [["function": ["name": "get_weather", "arguments": ["city": "Tokyo"]]]],
      ])
    #expect(messages[3] == ["role": "tool", "tool_name": "get_weather", "content": "22°C"])
  }

  @Test func aMidStreamErrorLine() async throws {
    let body =
      #"{"message":{"role":"assistant","content":"Hi"},"done":false}"# + "\n"
      + #"{"error":"model runner has unexpectedly stopped"}"# + "\n"
    let server = try LoopbackHTTPServer { _ in .body(200, body, contentType: "application/x-ndjson") }
    let e = try await engine(with: server, provider: .ollama, model: "llama3.2")
    await #expect {
      try await run(e, model: "llama3.2", ModelRequest(messages: [.user("hi")]))
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.kind == .midStream && m.message == "model runner has unexpectedly stopped"
    }
  }

  @Test func anErrorStatusCarriesOllamasMessage() async throws {
    let server = try LoopbackHTTPServer { _ in
      .body(404, #"{"error":"model \"nope\" not found, try pulling it first"}"#)
    }
    let e = try await engine(with: server, provider: .ollama, model: "nope")
    await #expect {
      try await run(e, model: "nope", ModelRequest(messages: [.user("hi")]))
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.httpStatus == 404 && m.message.contains("try pulling it first") && !m.retryable
    }
  }

  @Test func refreshDiscoversModelsAndCapabilities() async throws {
    let server = try LoopbackHTTPServer { req in
      switch req.path {
      case "/api/tags":
        return .body(
          200,
          #"{"models":[{"name":"llama3.2:latest","model":"llama3.2:latest","details":{"family":"llama","parameter_size":"3.2B"}},{"name":"qwen2.5-coder:7b","details":{"parameter_size":"7.6B"}},{"name":"llava:13b","details":{"parameter_size":"13B"}}]}"#
        )
      case "/api/show":
        switch req.json?["model"]?.stringValue {
        case "llama3.2:latest":
          return .body(200, #"{"capabilities":["completion","tools"],"model_info":{"llama.context_length":131072}}"#)
        case "qwen2.5-coder:7b":
          return .body(
            200, #"{"capabilities":["completion","tools","insert"],"model_info":{"qwen2.context_length":32768}}"#)
        default: return .body(200, #"{"capabilities":["completion","vision"]}"#)
        }
      default: return .body(404, "{}")
      }
    }
    let e = try await makeTestEngine(environment: ["OLLAMA_HOST": server.baseURL])
    let report = await e.refreshModels()
    #expect(report.added.sorted() == ["llama3.2:latest", "llava:13b", "qwen2.5-coder:7b"] && report.errors.isEmpty)
    let llama = e.models.get("llama3.2:latest")
    #expect(llama?.capabilities == [.textGeneration, .toolUse, .longContext] && llama?.contextLength == 131072)
    #expect(e.models.get("qwen2.5-coder:7b")?.capabilities == [.textGeneration, .toolUse, .codeGeneration])
    #expect(e.models.get("llava:13b")?.capabilities == [.textGeneration, .vision])
    #expect(e.models.get("llava:13b")?.source == .discovered)
    // A model that disappears from Ollama disappears here.
    server.stop()
    let down = await e.refreshModels()
    #expect(!down.errors.isEmpty)
    #expect(e.models.unavailableReason(e.models.get("llama3.2:latest")!) == "Ollama did not answer the last refresh")
  }

  @Test(
    arguments: [
      (nil, "http://127.0.0.1:11434"), ("", "http://127.0.0.1:11434"), ("0.0.0.0", "http://0.0.0.0:11434"),
      ("example.org:8080", "http://example.org:8080"), ("http://example.org", "http://example.org:80"),
      ("https://example.org", "https://example.org:443"), ("ollama.com", "https://ollama.com:443"),
      ("[::1]:5000", "http://[::1]:5000"), ("http://10.0.0.5:11434/ollama/", "http://10.0.0.5:11434/ollama"),
      (":9999", "http://127.0.0.1:9999"), ("host:notaport", "http://127.0.0.1:11434"),
    ] as [(String?, String)])
  func ollamaHostFollowsOllamasRules(_ value: String?, _ expected: String) {
    #expect(ollamaBaseURL(value) == expected)
  }
}
