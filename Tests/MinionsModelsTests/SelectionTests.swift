import MinionsCore
import MinionsEngine
import MinionsTestSupport
import Testing

@Suite struct SelectionTests {
  /// Three usable models with measured figures, one without its key, plus the built-in local model.
  func fixture(clock: EngineClock = EngineClock()) async throws -> Engine {
    let e = try await makeTestEngine(clock: clock)
    try await e.models.register(
      ModelConfig(
        name: "fast-cheap", provider: .openai, capabilities: [.textGeneration, .codeGeneration],
        baseURL: "http://127.0.0.1:1/v1", costPer1kInput: 0.0001, costPer1kOutput: 0.0002, quality: 0.5))
    try await e.models.register(
      ModelConfig(
        name: "smart", provider: .openai, capabilities: [.textGeneration, .reasoning, .codeGeneration, .toolUse],
        baseURL: "http://127.0.0.1:1/v1", contextLength: 200_000, costPer1kInput: 0.01,
        costPer1kOutput: 0.03, quality: 0.9))
    try await e.models.register(
      ModelConfig(name: "vision-one", provider: .anthropic, capabilities: [.textGeneration, .vision]))
    for _ in 0..<5 {
      e.modelStats.record(sample("fast-cheap", ttft: 100, total: 400, tps: 100, clock: clock))
      e.modelStats.record(sample("smart", ttft: 1500, total: 6000, tps: 20, clock: clock))
    }
    return e
  }

  func sample(_ model: String, ttft: Double, total: Double, tps: Double, ok: Bool = true, clock: EngineClock)
    -> ModelCallRecord
  {
    ModelCallRecord(
      at: clock.now(), model: model, provider: .openai, status: ok ? .ok : .error, errorKind: nil, httpStatus: nil,
      ttftMs: ttft, totalMs: total, loadMs: nil, promptTokens: 10, completionTokens: 40, tokensPerSecond: tps, cost: 0,
      estimated: false, attempt: 1, fallbackFrom: nil, username: nil, sessionID: nil)
  }

  @Test(
    arguments: [
      (SelectionCriteria(strategy: .fastest), "fast-cheap"),
      (SelectionCriteria(strategy: .quality), "smart"),
      (SelectionCriteria(strategy: .cheapest), "local"),
      (SelectionCriteria(strategy: .balanced), "fast-cheap"),
      (SelectionCriteria(requiredCapabilities: [.reasoning]), "smart"),
      (SelectionCriteria(requiredCapabilities: [.toolUse], strategy: .cheapest), "local"),
      (SelectionCriteria(strategy: .quality, exclude: ["smart"]), "fast-cheap"),
      (SelectionCriteria(minimumContext: 100_000), "smart"),
    ] as [(SelectionCriteria, String)])
  func strategiesAndFilters(_ criteria: SelectionCriteria, _ expected: String) async throws {
    let e = try await fixture()
    let r = try e.selector.select(criteria)
    #expect(r.model.name == expected, "\(criteria.strategy) \(criteria.requiredCapabilities): \(r.candidates)")
  }

  @Test func everyCandidateAppearsWithAScoreOrAReason() async throws {
    let e = try await fixture()
    let r = try e.selector.select(SelectionCriteria(requiredCapabilities: [.codeGeneration]))
    #expect(Set(r.candidates.map(\.model)) == Set(e.models.all.map(\.name)))
    let byName = Dictionary(uniqueKeysWithValues: r.candidates.map { ($0.model, $0) })
    #expect(byName["vision-one"]?.excluded == "lacks code_generation")
    #expect(byName["fast-cheap"]?.score != nil && byName["fast-cheap"]?.excluded == nil)
    let scores = r.candidates.compactMap(\.score)
    #expect(scores == scores.sorted(by: >))
    #expect(r.reasons.first == "has the required capabilities: code_generation")
    #expect(r.reasons.contains { $0.contains("p50 400 ms") && $0.contains("100 tokens/s") })
  }

  @Test func nothingFitsListsWhy() async throws {
    let e = try await fixture()
    #expect {
      try e.selector.select(SelectionCriteria(requiredCapabilities: [.vision]))
    } throws: { error in
      guard case .noModel(let candidates)? = error as? ModelSelector.Failure else { return false }
      let reasons = Dictionary(uniqueKeysWithValues: candidates.map { ($0.model, $0.excluded ?? "") })
      return reasons["vision-one"] == "unavailable: no API key: set ANTHROPIC_API_KEY"
        && reasons["local"] == "lacks vision"
        && candidates.allSatisfy { $0.score == nil }
    }
  }

  @Test func theTaskWordingNudgesTowardsWhatItNeeds() async throws {
    let e = try await fixture()
    let plain = try e.selector.select(SelectionCriteria(task: "say hello", strategy: .balanced))
    let code = try e.selector.select(SelectionCriteria(task: "fix this python function bug", strategy: .balanced))
    #expect(code.reasons.contains("the task looks like it needs code_generation: this model has it"))
    let plainScore = plain.candidates.first { $0.model == "local" }?.score ?? 0
    let codeScore = code.candidates.first { $0.model == "local" }?.score ?? 0
    #expect(codeScore > plainScore)  // local has code_generation: it gains
    let analysis = try e.selector.select(SelectionCriteria(task: "explain why this proof works", strategy: .balanced))
    #expect(analysis.reasons.contains { $0.contains("reasoning") })
  }

  @Test func untriedModelsGetALittleExploration() async throws {
    let e = try await fixture()
    try await e.models.register(
      ModelConfig(
        name: "fresh", provider: .openai, capabilities: [.textGeneration],
        baseURL: "http://127.0.0.1:1/v1", quality: 0.5))
    let r = try e.selector.select(SelectionCriteria(strategy: .balanced))
    let reasons = try e.selector.select(
      SelectionCriteria(strategy: .balanced, exclude: ["fast-cheap", "smart", "local"])
    ).reasons
    #expect(reasons.contains { $0.contains("not measured yet") })
    #expect(r.candidates.contains { $0.model == "fresh" && $0.score != nil })
  }

  @Test func repeatedFailuresCoolAModelDownUntilItExpires() async throws {
    let clock = EngineClock()
    let e = try await fixture(clock: clock)
    let failure = ModelError(
      kind: .network, provider: .openai, model: "fast-cheap", retryable: true, message: "refused")
    for _ in 0..<3 { e.modelHealth.recordFailure("fast-cheap", failure) }
    let until = e.modelHealth.cooldownUntil("fast-cheap")
    #expect(until != nil)
    let r = try e.selector.select(SelectionCriteria(strategy: .fastest))
    #expect(r.model.name != "fast-cheap")
    #expect(r.candidates.first { $0.model == "fast-cheap" }?.excluded?.hasPrefix("cooling down until") == true)
    clock.advance(seconds: 31)
    #expect(e.modelHealth.cooldownUntil("fast-cheap") == nil)
    #expect(try e.selector.select(SelectionCriteria(strategy: .fastest)).model.name == "fast-cheap")
  }

  @Test func equalScoresRankByNameAndTheRankingFeedsFailover() async throws {
    let e = try await makeTestEngine()
    for name in ["twin-b", "twin-a", "twin-c"] {
      try await e.models.register(
        ModelConfig(name: name, provider: .openai, capabilities: [.textGeneration], baseURL: "http://127.0.0.1:1/v1"))
    }
    let r = try e.selector.select(SelectionCriteria(strategy: .balanced, exclude: ["local"]))
    #expect(r.candidates.map(\.model) == ["twin-a", "twin-b", "twin-c", "local"])
    #expect(r.ranked.map(\.name) == ["twin-a", "twin-b", "twin-c"])
    #expect(r.model.name == "twin-a")
  }

  @Test func taskWordingIsMatchedWithoutRegardToCase() async throws {
    let e = try await fixture()
    let shouted = try e.selector.select(SelectionCriteria(task: "FIX THIS PYTHON BUG", strategy: .balanced))
    #expect(shouted.reasons.contains { $0.hasPrefix("the task looks like it needs code_generation") })
    let vision = try e.selector.select(SelectionCriteria(task: "Describe this Screenshot", strategy: .balanced))
    #expect(vision.reasons.contains { $0.hasPrefix("the task looks like it needs vision") })
    let plain = try e.selector.select(SelectionCriteria(task: "hello there", strategy: .balanced))
    #expect(!plain.reasons.contains { $0.hasPrefix("the task looks like") })
  }

  @Test func selectionAmongTwoHundredModelsRanksThemAll() async throws {
    let e = try await makeTestEngine()
    for i in 0..<200 {
      try await e.models.register(
        ModelConfig(
          name: "m\(i)", provider: .openai, capabilities: [.textGeneration],
          baseURL: "http://127.0.0.1:1/v1", costPer1kInput: Double(i) / 1000))
    }
    #expect(e.models.all.count == 201)
    // Two free models (m0 and local): the better prior breaks the tie.
    let r = try e.selector.select(SelectionCriteria(strategy: .cheapest))
    #expect(r.model.name == "m0")
    #expect(r.ranked.count == 201 && r.candidates.count == 201)
    let scores = r.candidates.compactMap(\.score)
    #expect(scores == scores.sorted(by: >))
    #expect(r.ranked.map(\.name) == r.candidates.map(\.model))
  }
}

@Suite struct RouterTests {
  @Test func aRetryAfterBeyondTheCapFailsOverAtOnce() async throws {
    let busy = try LoopbackHTTPServer { _ in
      .body(429, #"{"error":{"message":"quota"}}"#, headers: [("Retry-After", "120")])
    }
    let ok = try LoopbackHTTPServer { _ in
      .body(
        200, sse([#"{"choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}"#, "[DONE]"]),
        contentType: "text/event-stream")
    }
    let e = try await engine(with: ok, provider: .openai, model: "spare")
    try await e.models.register(
      ModelConfig(
        name: "busy", provider: .openai, capabilities: [.textGeneration],
        baseURL: busy.baseURL + "/v1", fallbacks: ["spare"]))
    let started = MonotonicClock.nanoseconds()
    let r = try await run(e, model: "busy", ModelRequest(messages: [.user("hi")]))
    #expect(r.model.name == "spare" && busy.requests.count == 1)
    #expect(MonotonicClock.milliseconds(since: started) < 60_000)  // not the 120 s Retry-After
    let cooldown = e.modelHealth.cooldownUntil("busy")
    #expect(cooldown != nil)
  }

  @Test func anUnnamedCallFailsOverToTheNextCandidate() async throws {
    let broken = try LoopbackHTTPServer { _ in .body(500, #"{"error":{"message":"down"}}"#) }
    let e = try await engine(with: broken, provider: .openai, model: "preferred")
    // Make "preferred" rank first by quality; the local model is the next candidate.
    try await e.models.register(
      ModelConfig(
        name: "preferred", provider: .openai, capabilities: [.textGeneration],
        baseURL: broken.baseURL + "/v1", quality: 1))
    let r = try await run(
      e, model: nil, ModelRequest(messages: [.user("hello")]), criteria: SelectionCriteria(strategy: .quality))
    #expect(r.model.name == "local" && broken.requests.count == 3)
  }

  @Test func anUnknownModelIsNotFound() async throws {
    let e = try await makeTestEngine()
    await #expect(throws: EngineError.notFound(kind: "model", id: "ghost")) {
      try await run(e, model: "ghost", ModelRequest(messages: [.user("hi")]))
    }
  }
}
