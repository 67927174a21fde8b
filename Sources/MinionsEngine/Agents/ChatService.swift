import MinionsCore
import MinionsCrypto

/// One question, one model call, streamed: the chat that exists until the agents' turn loop arrives.
public final class ChatService: Sendable {
  let router: ModelRouter
  let clock: EngineClock

  init(router: ModelRouter, clock: EngineClock) {
    self.router = router
    self.clock = clock
  }

  public struct Request: Sendable {
    public var message: String
    public var agent: String
    public var model: String?
    public var sessionID: String?
    public var temperature: Double?

    public init(
      message: String, agent: String = "assistant", model: String? = nil, sessionID: String? = nil,
      temperature: Double? = nil
    ) {
      self.message = message
      self.agent = agent
      self.model = model
      self.sessionID = sessionID
      self.temperature = temperature
    }
  }

  /// Streams the answer's text through `emit`; a cancelled turn returns what was said so far.
  public func chat(_ request: Request, identity: Identity, emit: (TurnEvent) async throws -> Void) async throws
    -> TurnOutcome
  {
    let sessionID = request.sessionID ?? "s_" + Crypto.hex(Crypto.randomBytes(8))
    let turnID = "t_" + Crypto.hex(Crypto.randomBytes(8))
    let started = MonotonicClock.nanoseconds()
    let modelRequest = ModelRequest(
      messages: [
        .system("You are \(request.agent), a helpful assistant. Answer clearly and briefly."), .user(request.message),
      ],
      temperature: request.temperature)
    var content = ""
    var firstToken: Double? = nil
    var modelName = request.model ?? ""
    try await emit(.began(sessionID: sessionID, turnID: turnID))
    do {
      let result = try await router.run(
        modelRequest, model: request.model,
        criteria: SelectionCriteria(
          task: request.message, requiredCapabilities: [.textGeneration],
          minimumContext: modelRequest.estimatedPromptTokens),
        context: ModelCallContext(username: identity.username, sessionID: sessionID)
      ) { event in
        if case .text(let s) = event {
          if firstToken == nil { firstToken = MonotonicClock.milliseconds(since: started) }
          content += s
          try await emit(.token(text: s, agent: request.agent))
        }
      }
      modelName = result.model.name
      return TurnOutcome(
        sessionID: sessionID, turnID: turnID, agent: request.agent, model: modelName, content: content,
        stopReason: result.finish == .length ? .maxTokens : .endTurn, toolCalls: [], promptTokens: result.promptTokens,
        completionTokens: result.completionTokens, usageEstimated: result.usageEstimated, ttftMs: firstToken,
        totalMs: MonotonicClock.milliseconds(since: started), cached: false)
    } catch is CancellationError {
      let completion = max(1, content.utf8.count / 4)
      return TurnOutcome(
        sessionID: sessionID, turnID: turnID, agent: request.agent, model: modelName, content: content,
        stopReason: .cancelled,
        toolCalls: [], promptTokens: modelRequest.estimatedPromptTokens,
        completionTokens: content.isEmpty ? 0 : completion,
        usageEstimated: true, ttftMs: firstToken, totalMs: MonotonicClock.milliseconds(since: started), cached: false)
    }
  }
}
