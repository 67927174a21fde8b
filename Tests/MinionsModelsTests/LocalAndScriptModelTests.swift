import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Testing

@Suite struct LocalModelTests {
  let tools = ["file_operations", "database", "http_request", "delegate"].map {
    ToolSpec(name: $0, description: "", parameters: ["type": "object"])
  }

  func events(_ e: Engine, _ messages: [ChatMessage], tools: [ToolSpec] = []) async throws -> (
    ModelRunResult, [ModelEvent]
  ) {
    let log = EventLog()
    let r = try await run(e, model: "local", ModelRequest(messages: messages, tools: tools), log: log)
    return (r, log.all)
  }

  @Test func itIsHonestAndStreamsWordByWord() async throws {
    let e = try await makeTestEngine()
    let (r, events) = try await events(e, [.user("What is the capital of France?")])
    #expect(r.text.contains("built-in offline model") && r.text.contains("OPENAI_API_KEY"))
    #expect(events.filter { if case .text = $0 { return true } else { return false } }.count > 20)
    #expect(r.finish == .stop && !r.usageEstimated)
  }

  @Test func itIsDeterministic() async throws {
    let e = try await makeTestEngine()
    let a = try await events(e, [.user("read README.md please")], tools: tools)
    let b = try await events(e, [.user("read README.md please")], tools: tools)
    #expect(a.1 == b.1)
  }

  @Test(arguments: [
    ("list the files", "file_operations", ["operation": "list", "path": "."] as JSONValue),
    ("please list the files in src", "file_operations", ["operation": "list", "path": "src"] as JSONValue),
    ("read README.md", "file_operations", ["operation": "read", "path": "README.md"] as JSONValue),
    (
      "query data.db: SELECT name FROM t", "database",
      ["operation": "query", "database": "data.db", "sql": "SELECT name FROM t"] as JSONValue
    ),
    ("fetch https://example.org/x", "http_request", ["method": "GET", "url": "https://example.org/x"] as JSONValue),
    (
      "ask the coder to write a sort function", "delegate",
      ["agent": "coder", "task": "write a sort function"] as JSONValue
    ),
  ])
  func plainRequestsBecomeToolCalls(_ text: String, _ tool: String, _ arguments: JSONValue) async throws {
    let e = try await makeTestEngine()
    let (r, _) = try await events(e, [.user(text)], tools: tools)
    #expect(r.finish == .toolCalls)
    #expect(r.toolCalls.map(\.name) == [tool])
    #expect(r.toolCalls.first?.arguments == arguments)
  }

  @Test func withoutTheToolItJustAnswers() async throws {
    let e = try await makeTestEngine()
    let (r, _) = try await events(e, [.user("list the files")])
    #expect(r.toolCalls.isEmpty && r.finish == .stop)
  }

  @Test func itSummarisesToolResults() async throws {
    let e = try await makeTestEngine()
    let messages: [ChatMessage] = [
      .user("list the files"),
      ChatMessage(
        role: .assistant, content: "", toolCalls: [ToolCallRequest(id: "c", name: "file_operations", arguments: [:])]),
      ChatMessage(
        role: .tool, content: "README.md\nPackage.swift\nSources", toolCallID: "c", toolName: "file_operations"),
    ]
    let (r, _) = try await events(e, messages, tools: tools)
    #expect(r.text == "Here is what I found. file_operations returned 3 lines: README.md, Package.swift, Sources")
  }
}

@Suite struct ScriptModelTests {
  func scripted(_ script: String) async throws -> Engine {
    let e = try await makeTestEngine()
    let path = try writeTemporaryFile(script, name: "script.json")
    try await e.models.register(
      ModelConfig(name: "scripted", provider: .script, capabilities: [.textGeneration, .toolUse], script: path))
    return e
  }

  @Test func turnsAreTakenByMatchThenInOrderAndStartOver() async throws {
    let e = try await scripted(
      """
      {"turns": [
        {"events": [{"text": "first"}]},
        {"match": "(?i)weather", "events": [{"toolCall": {"tool": "get_weather", "arguments": {"city": "Oslo"}}}],
         "usage": {"promptTokens": 11, "completionTokens": 7}},
        {"events": [{"text": "second"}, {"text": " part"}]}
      ]}
      """)
    func say(_ text: String) async throws -> ModelRunResult {
      try await run(e, model: "scripted", ModelRequest(messages: [.user(text)]))
    }
    let weather = try await say("What's the WEATHER?")
    #expect(weather.toolCalls.map(\.name) == ["get_weather"] && weather.toolCalls[0].arguments == ["city": "Oslo"])
    #expect(
      weather.promptTokens == 11 && weather.completionTokens == 7 && !weather.usageEstimated
        && weather.finish == .toolCalls)
    #expect(try await say("hello").text == "first")
    #expect(try await say("hello again").text == "second part")
    // Every turn used: the script starts over.
    #expect(try await say("and again").text == "first")
  }

  @Test func theNewestToolResultIsWhatAMatchSees() async throws {
    let e = try await scripted(
      #"{"turns":[{"match":"^22°C$","events":[{"text":"It is warm."}]},{"events":[{"text":"fallback"}]}]}"#)
    let r = try await run(e, model: "scripted", ModelRequest(messages: conversationWithToolResult))
    #expect(r.text == "It is warm.")
  }

  @Test func scriptedErrorsAreProviderErrors() async throws {
    let e = try await scripted(#"{"turns":[{"events":[{"error":{"httpStatus":400,"message":"bad request"}}]}]}"#)
    await #expect {
      try await run(e, model: "scripted", ModelRequest(messages: [.user("x")]))
    } throws: { error in
      guard case .failed(let m)? = error as? ModelRoutingError else { return false }
      return m.httpStatus == 400 && m.provider == .script && !m.retryable
    }
  }

  @Test func delaysAreCancellable() async throws {
    let e = try await scripted(#"{"turns":[{"events":[{"text":"a"},{"delayMs":60000},{"text":"b"}]}]}"#)
    let log = EventLog()
    let task = Task { try await run(e, model: "scripted", ModelRequest(messages: [.user("x")]), log: log) }
    try await Task.sleep(nanoseconds: 100_000_000)
    let started = MonotonicClock.nanoseconds()
    task.cancel()
    _ = await task.result
    // The delay is a minute: returning well before it shows the cancel cut it short.
    #expect(MonotonicClock.milliseconds(since: started) < 30_000)
    #expect(log.text == "a")
  }

  @Test(arguments: [
    (#"{}"#, "needs a non-empty"),
    (#"{"turns":[{"events":[{"sing":"x"}]}]}"#, "turns[0].events[0] must be"),
    (#"{"turns":[{"match":"(","events":[]}]}"#, "not a valid regular expression"),
    (#"{"turns":[{"events":[{"toolCall":{"arguments":{}}}]}]}"#, "needs \"tool\""),
    (#"{"turns":[{"events":[],"usage":{"promptTokens":1}}]}"#, "usage needs"),
    ("not json", "is not JSON"),
  ])
  func badScriptsAreRefusedAtRegistration(_ text: String, _ fragment: String) async throws {
    let e = try await makeTestEngine()
    let path = try writeTemporaryFile(text)
    await #expect {
      try await e.models.register(
        ModelConfig(name: "bad", provider: .script, capabilities: [.textGeneration], script: path))
    } throws: { error in
      guard case .invalidField("script", let reason)? = error as? EngineError else { return false }
      return reason.contains(fragment)
    }
  }
}
