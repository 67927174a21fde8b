import MinionsCore
import MinionsTestSupport
import Synchronization
import Testing

@testable import MinionsEngine

/// The model response cache: what is cached, how a hit streams, and that settings apply live.
@Suite struct ResponseCacheTests {
  /// An engine with a `scripted` model answering from `script`.
  func engine(_ script: String) async throws -> Engine {
    let e = try await makeTestEngine()
    let path = try writeTemporaryFile(script, name: "script.json")
    try await e.models.register(
      ModelConfig(
        name: "scripted", provider: .script, capabilities: [.textGeneration, .toolUse], contextLength: 100_000,
        script: path))
    return e
  }

  /// Runs one call and returns its result and the events it streamed.
  func run(_ e: Engine, _ request: ModelRequest) async throws -> (ModelRunResult, [ModelEvent]) {
    let events = Mutex<[ModelEvent]>([])
    let result = try await e.router.run(
      request, model: "scripted", criteria: SelectionCriteria(), context: ModelCallContext()
    ) { event in events.withLock { $0.append(event) } }
    return (result, events.withLock { $0 })
  }

  static let twoTurns =
    #"{"turns": [{"events": [{"text": "Looking"}, {"text": " it up."}, {"toolCall": {"tool": "notebook", "arguments": {"text": "x"}}}], "usage": {"promptTokens": 11, "completionTokens": 7}},"#
    + #"{"events": [{"text": "a different answer"}]}]}"#

  @Test func aCachedAnswerStreamsTheSameEventsWithoutCallingTheModel() async throws {
    let e = try await engine(Self.twoTurns)
    let request = ModelRequest(messages: [.user("hi")], cache: true)
    let (live, liveEvents) = try await run(e, request)
    #expect(!live.cached && live.text == "Looking it up." && live.toolCalls.map(\.name) == ["notebook"])
    let (hit, hitEvents) = try await run(e, request)
    #expect(hit.cached && hit.cost == 0)
    #expect(hitEvents == liveEvents)  // text deltas and tool-call events, in order
    #expect(hit.text == live.text && hit.toolCalls == live.toolCalls && hit.finish == live.finish)
    #expect(hit.promptTokens == 11 && hit.completionTokens == 7 && !hit.usageEstimated)
    // The script's second turn was never used: the next uncached call gets it.
    let (next, _) = try await run(e, ModelRequest(messages: [.user("hi")], cache: false))
    #expect(next.text == "a different answer" && !next.cached)
    let stats = e.responseCache.entries.stats
    #expect(stats.hits == 1 && stats.entries == 1)
  }

  @Test func onlyDeterministicOrRequestedCallsAreCached() async throws {
    let local = ModelConfig(name: "local", provider: .local, capabilities: [.textGeneration])
    let script = ModelConfig(name: "s", provider: .script, capabilities: [.textGeneration])
    let m: [ChatMessage] = [.user("x")]
    #expect(ResponseCache.isCacheable(ModelRequest(messages: m, temperature: 0), model: local))
    #expect(!ResponseCache.isCacheable(ModelRequest(messages: m, temperature: 0.7), model: local))
    #expect(!ResponseCache.isCacheable(ModelRequest(messages: m), model: local))
    #expect(ResponseCache.isCacheable(ModelRequest(messages: m, temperature: 0.7, cache: true), model: local))
    #expect(!ResponseCache.isCacheable(ModelRequest(messages: m, temperature: 0, cache: false), model: local))
    // A script counts its turns, so it is cached only when asked.
    #expect(!ResponseCache.isCacheable(ModelRequest(messages: m, temperature: 0), model: script))
    #expect(ResponseCache.isCacheable(ModelRequest(messages: m, cache: true), model: script))
  }

  @Test func theKeyCoversModelMessagesToolsAndSampling() {
    let a = ModelConfig(name: "a", provider: .local, capabilities: [.textGeneration])
    let b = ModelConfig(name: "b", provider: .local, capabilities: [.textGeneration])
    let base = ModelRequest(messages: [.system("s"), .user("x")], temperature: 0)
    let key = ResponseCache.key(base, model: a)
    #expect(key.count == 64 && key == ResponseCache.key(base, model: a))
    var other = base
    other.messages[1].content = "y"
    var hotter = base
    hotter.temperature = 0.5
    var longer = base
    longer.maxTokens = 100
    var tooled = base
    tooled.tools = [ToolSpec(name: "t", description: "d", parameters: ["type": "object"])]
    let keys = [
      ResponseCache.key(base, model: b), ResponseCache.key(other, model: a), ResponseCache.key(hotter, model: a),
      ResponseCache.key(longer, model: a), ResponseCache.key(tooled, model: a),
    ]
    #expect(Set(keys + [key]).count == 6)
  }

  @Test func aFailedStreamIsNotCached() async throws {
    let e = try await engine(
      #"{"turns": [{"events": [{"error": {"httpStatus": 400, "message": "bad request"}}]}, {"events": [{"text": "ok"}]}]}"#
    )
    let request = ModelRequest(messages: [.user("hi")], cache: true)
    await #expect(throws: (any Error).self) { _ = try await run(e, request) }
    #expect(e.responseCache.entries.count == 0)
    let (second, _) = try await run(e, request)
    #expect(second.text == "ok" && !second.cached)
  }

  @Test func aDeterministicTurnIsAnsweredFromTheCacheAndSaysSo() async throws {
    let e = try await makeTestEngine()
    func turn(_ temperature: Double?, cache: Bool? = nil) async throws -> (TurnOutcome, String) {
      let log = EventCollector()
      let o = try await e.runner.chat(
        AgentRunner.Request(message: "hello", model: "local", temperature: temperature, cache: cache),
        identity: e.localOwner, approvals: e.policyApprovals
      ) { log.add($0) }
      return (o, log.tokens)
    }
    let (first, firstTokens) = try await turn(0)
    let (second, secondTokens) = try await turn(0)
    #expect(!first.cached && second.cached)
    #expect(second.content == first.content && secondTokens == firstTokens && !secondTokens.isEmpty)
    let (uncached, _) = try await turn(0, cache: false)
    #expect(!uncached.cached)
    let (warm, _) = try await turn(0.8)
    #expect(!warm.cached)
  }

  @Test func settingsResizeAndRetimeTheCacheLive() async throws {
    let e = try await makeTestEngine()
    let cache = e.responseCache.entries
    #expect(cache.maxEntries == 10_000 && cache.ttlSeconds == 3600)
    for i in 0..<5 {
      cache.set("k\(i)", .modelAnswer(CachedResponse(events: [.text("\(i)")], usage: nil, finish: .stop)))
    }
    _ = try await e.settings.update(
      scope: .system, userID: 0, values: ["cache.maxEntries": 2, "cache.ttlSeconds": 60], now: e.clock.now())
    #expect(cache.maxEntries == 2 && cache.count == 2 && cache.ttlSeconds == 60)
    #expect(cache.get("k4") != nil && cache.get("k0") == nil)
    _ = try await e.settings.update(scope: .system, userID: 0, values: ["cache.maxEntries": 0], now: e.clock.now())
    #expect(cache.count == 0)
  }
}
