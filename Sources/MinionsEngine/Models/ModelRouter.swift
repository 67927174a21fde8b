import MinionsCore

/// Who a model call is for (recorded with its figures).
public struct ModelCallContext: Sendable {
  public var username: String?
  public var sessionID: String?

  public init(username: String? = nil, sessionID: String? = nil) {
    self.username = username
    self.sessionID = sessionID
  }
}

/// The outcome of a routed model call.
public struct ModelRunResult: Sendable {
  public var model: ModelConfig
  public var text: String
  public var toolCalls: [ToolCallRequest]
  public var finish: FinishReason
  public var promptTokens: Int
  public var completionTokens: Int
  /// True when the provider gave no usage and the counts are estimates.
  public var usageEstimated: Bool
  public var ttftMs: Double?
  public var totalMs: Double
  public var cost: Double
  /// Attempts made in all (retries and failovers included).
  public var attempts: Int
  /// Whether the answer was replayed from the response cache (no provider was called; cost 0).
  public var cached: Bool = false
}

/// Why no model could answer.
public enum ModelRoutingError: Error, Sendable {
  /// Nothing passes the filters (-32021).
  case noModelAvailable(candidates: [SelectionResult.Candidate])
  /// Every attempt failed, or the stream failed after output reached the client (-32020).
  case failed(ModelError)
}

/// Runs model calls with resilience: retries for transient failures (408, 409, 429, 5xx, 529, network)
/// with exponential backoff and jitter, honouring `retry-after-ms` / `Retry-After` up to a cap; failover
/// to the next candidate only before the first output reached the caller; cooldowns for models that keep
/// failing; and one measured record per attempt.
public final class ModelRouter: Sendable {
  public struct Options: Sendable {
    public var maxRetries: Int
    /// First backoff in seconds (doubled each retry, up to `maxDelay`, with jitter).
    public var baseDelay: Double
    public var maxDelay: Double
    /// A Retry-After longer than this (seconds) is not waited for: the call fails over instead.
    public var retryAfterCap: Double

    public init(maxRetries: Int = 2, baseDelay: Double = 0.5, maxDelay: Double = 8, retryAfterCap: Double = 30) {
      self.maxRetries = maxRetries
      self.baseDelay = baseDelay
      self.maxDelay = maxDelay
      self.retryAfterCap = retryAfterCap
    }
  }

  let registry: ModelRegistry
  let stats: ModelStats
  let health: ModelHealth
  let selector: ModelSelector
  let providers: [ProviderKind: any ModelProvider]
  let options: Options
  let clock: EngineClock
  let logger: Logger
  /// Completed answers of deterministic requests; nil turns caching off.
  let cache: ResponseCache?

  init(
    registry: ModelRegistry, stats: ModelStats, health: ModelHealth, providers: [ProviderKind: any ModelProvider],
    options: Options, clock: EngineClock, logger: Logger, cache: ResponseCache? = nil
  ) {
    self.cache = cache
    self.registry = registry
    self.stats = stats
    self.health = health
    self.selector = ModelSelector(registry: registry, stats: stats, health: health)
    self.providers = providers
    self.options = options
    self.clock = clock
    self.logger = logger
  }

  /// The models a call will try, in order: a named model then its fallbacks, or the selection's ranking.
  func plan(model name: String?, criteria: SelectionCriteria) throws -> [ModelConfig] {
    guard let name else {
      do {
        return try selector.select(criteria).ranked
      } catch ModelSelector.Failure.noModel(let candidates) {
        throw ModelRoutingError.noModelAvailable(candidates: candidates)
      }
    }
    guard let named = registry.get(name) else { throw EngineError.notFound(kind: "model", id: name) }
    var plan = [named]
    for f in named.fallbacks {
      if let m = registry.get(f), !plan.contains(where: { $0.name == m.name }) { plan.append(m) }
    }
    // Models without a key cannot be tried at all; cooling ones go last (still tried if nothing else is left).
    let usable = plan.filter { registry.unavailableReason($0) == nil }
    if usable.isEmpty {
      throw ModelRoutingError.failed(
        ModelError(
          kind: .configuration, provider: named.provider, model: named.name, retryable: false,
          message: registry.unavailableReason(named) ?? "unavailable"))
    }
    return usable.filter { health.cooldownUntil($0.name) == nil }
      + usable.filter { health.cooldownUntil($0.name) != nil }
  }

  /// Runs `request`, forwarding text and tool-call events to `emit` as they arrive.
  public func run(
    _ request: ModelRequest, model name: String?, criteria: SelectionCriteria, context: ModelCallContext,
    emit: (ModelEvent) async throws -> Void
  ) async throws -> ModelRunResult {
    let candidates = try plan(model: name, criteria: criteria)
    var attempts = 0
    var lastError: ModelError? = nil
    var previous: String? = nil
    for model in candidates {
      guard let provider = providers[model.provider] else { continue }
      let cacheKey =
        cache != nil && ResponseCache.isCacheable(request, model: model)
        ? ResponseCache.key(request, model: model) : nil
      if let cacheKey, case .modelAnswer(let hit)? = cache?.entries.get(cacheKey) {
        return try await replay(hit, model: model, request: request, attempts: attempts, emit: emit)
      }
      var recorded: [ModelEvent] = []
      var retry = 0
      while true {
        attempts += 1
        let started = MonotonicClock.nanoseconds()
        var firstOutput: UInt64? = nil
        var text = ""
        var assembler = ToolCallAssembler()
        var usage: (Int, Int)? = nil
        var finish: FinishReason? = nil
        var loadMs: Double? = nil
        recorded.removeAll(keepingCapacity: true)
        func record(_ status: ModelCallRecord.Status, _ error: ModelError?) -> ModelCallRecord {
          let end = MonotonicClock.nanoseconds()
          let prompt = usage?.0 ?? request.estimatedPromptTokens
          let completion = usage?.1 ?? max(text.utf8.count + assembler.argumentCharacters, 0) / 4
          var tps: Double? = nil
          if let first = firstOutput, completion > 0, end > first {
            tps = Double(completion) / (Double(end - first) / 1e9)
          }
          let r = ModelCallRecord(
            at: clock.now(), model: model.name, provider: model.provider, status: status,
            errorKind: error?.kind.rawValue,
            httpStatus: error?.httpStatus, ttftMs: firstOutput.map { Double($0 - started) / 1e6 },
            totalMs: Double(end - started) / 1e6, loadMs: loadMs, promptTokens: prompt, completionTokens: completion,
            tokensPerSecond: tps, cost: model.cost(promptTokens: prompt, completionTokens: completion),
            estimated: usage == nil,
            attempt: attempts, fallbackFrom: previous, username: context.username, sessionID: context.sessionID)
          stats.record(r)
          return r
        }
        do {
          try await provider.complete(request, model: model) { event in
            switch event {
            case .text(let s):
              if firstOutput == nil { firstOutput = MonotonicClock.nanoseconds() }
              text += s
              if cacheKey != nil { recorded.append(event) }
              try await emit(event)
            case .toolCallStart, .toolCallArguments, .toolCallEnd:
              if firstOutput == nil { firstOutput = MonotonicClock.nanoseconds() }
              assembler.apply(event)
              if cacheKey != nil { recorded.append(event) }
              try await emit(event)
            case .usage(let p, let c): usage = (p, c)
            case .finish(let r): finish = r
            case .loadTime(let ms): loadMs = ms
            }
          }
          let r = record(.ok, nil)
          health.recordSuccess(model.name)
          if let cacheKey, let cache {
            cache.entries.set(
              cacheKey,
              .modelAnswer(CachedResponse(events: recorded, usage: usage.map { ($0.0, $0.1) }, finish: finish)))
          }
          return ModelRunResult(
            model: model, text: text, toolCalls: assembler.calls,
            finish: finish ?? (assembler.isEmpty ? .stop : .toolCalls),
            promptTokens: r.promptTokens, completionTokens: r.completionTokens, usageEstimated: r.estimated,
            ttftMs: r.ttftMs,
            totalMs: r.totalMs, cost: r.cost, attempts: attempts)
        } catch let error as ModelError {
          _ = record(.error, error)
          health.recordFailure(model.name, error)
          lastError = error
          logger.info("\(model.name) attempt \(attempts) failed: \(error)")
          // Once output reached the caller there is no going back: no retry, no failover.
          if firstOutput != nil { throw ModelRoutingError.failed(error) }
          guard error.retryable, retry < options.maxRetries else { break }
          let delay = backoff(retry: retry, retryAfterMs: error.retryAfterMs)
          guard let delay else { break }  // asked to wait longer than we will: fail over now
          retry += 1
          try await Task.sleep(nanoseconds: UInt64(delay * 1e9))
        } catch {
          _ = record(.cancelled, nil)
          throw error  // cancellation (or the caller's own error from emit)
        }
      }
      previous = model.name
    }
    throw ModelRoutingError.failed(
      lastError
        ?? ModelError(
          kind: .configuration, provider: .local, model: name ?? "?",
          retryable: false, message: "no provider could serve the call"))
  }

  /// Streams a cached answer through `emit` as the provider once did, and returns it as a call that
  /// cost nothing. It is not a model call: no stats, no health change.
  private func replay(
    _ hit: CachedResponse, model: ModelConfig, request: ModelRequest, attempts: Int,
    emit: (ModelEvent) async throws -> Void
  ) async throws -> ModelRunResult {
    let started = MonotonicClock.nanoseconds()
    var text = ""
    var assembler = ToolCallAssembler()
    var firstOutput: UInt64? = nil
    for event in hit.events {
      try Task.checkCancellation()
      if firstOutput == nil { firstOutput = MonotonicClock.nanoseconds() }
      switch event {
      case .text(let s): text += s
      case .toolCallStart, .toolCallArguments, .toolCallEnd: assembler.apply(event)
      default: break
      }
      try await emit(event)
    }
    let completion = hit.usage?.completionTokens ?? max(text.utf8.count + assembler.argumentCharacters, 0) / 4
    return ModelRunResult(
      model: model, text: text, toolCalls: assembler.calls,
      finish: hit.finish ?? (assembler.isEmpty ? .stop : .toolCalls),
      promptTokens: hit.usage?.promptTokens ?? request.estimatedPromptTokens, completionTokens: completion,
      usageEstimated: hit.usage == nil, ttftMs: firstOutput.map { Double($0 - started) / 1e6 },
      totalMs: MonotonicClock.milliseconds(since: started), cost: 0, attempts: attempts, cached: true)
  }

  /// Seconds to wait before retry `retry` (0-based); nil when the provider asked for longer than the cap.
  func backoff(retry: Int, retryAfterMs: Int?) -> Double? {
    if let ms = retryAfterMs {
      let seconds = Double(ms) / 1000
      return seconds <= options.retryAfterCap ? seconds : nil
    }
    let exponential = min(options.baseDelay * Double(1 << min(retry, 20)), options.maxDelay)
    return exponential * Double.random(in: 0.8...1.2)
  }
}
