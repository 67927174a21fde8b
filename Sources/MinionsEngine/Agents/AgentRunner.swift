import MinionsCore
import MinionsCrypto
import Synchronization

/// The turn loop: loads or creates the session, builds the messages within the model's context,
/// streams the model, runs the tools it asks for (with approvals, in parallel when they only read),
/// hands sub-tasks to other agents, repeats up to `maxSteps`, and stores the turn in one transaction.
/// Every event goes to `emit` in order, and `emit` has returned for each before the outcome is returned.
public final class AgentRunner: Sendable {
  let agents: AgentCatalog
  let sessions: SessionStore
  let tools: ToolRegistry
  let router: ModelRouter
  let models: ModelRegistry
  let audit: AuditLog
  let metrics: MetricsStore
  let clock: EngineClock
  let logger: Logger
  /// The running turn of each session (one at a time per session).
  private let running = Mutex<[String: RunningTurn]>([:])

  /// How deep delegation may nest (the top agent is depth 0).
  public static let maxDelegationDepth = 3
  /// Characters of a tool's output given back to the model (the rest is cut, and the model told so).
  static let maxToolOutputForModel = 32_000

  struct RunningTurn {
    var turnID: String
    var userID: Int64
    var handle: TurnHandle
  }

  init(
    agents: AgentCatalog, sessions: SessionStore, tools: ToolRegistry, router: ModelRouter, models: ModelRegistry,
    audit: AuditLog, metrics: MetricsStore, clock: EngineClock, logger: Logger
  ) {
    self.metrics = metrics
    self.agents = agents
    self.sessions = sessions
    self.tools = tools
    self.router = router
    self.models = models
    self.audit = audit
    self.clock = clock
    self.logger = logger
  }

  /// One turn's request.
  public struct Request: Sendable {
    public var message: String
    public var agent: String
    public var sessionID: String?
    public var model: String?
    public var maxSteps: Int
    public var temperature: Double?
    /// The response cache: true to use it, false never, nil for deterministic calls only.
    public var cache: Bool?
    /// Where file tools work for this turn, when not the engine's workspace (an ACP session's cwd).
    public var workspace: String?
    /// The editor's files, when the client offers them (reads and writes go through it).
    public var editorFiles: (any EditorFiles)?
    /// Tools of this turn only (an ACP session's MCP servers), offered to every agent of the turn.
    public var sessionTools: [any Tool] = []

    public init(
      message: String, agent: String = "assistant", sessionID: String? = nil, model: String? = nil, maxSteps: Int = 8,
      temperature: Double? = nil, cache: Bool? = nil
    ) {
      self.cache = cache
      self.message = message
      self.agent = agent
      self.sessionID = sessionID
      self.model = model
      self.maxSteps = maxSteps
      self.temperature = temperature
    }
  }

  // MARK: Running and cancelling

  /// Runs one turn. Cancelling the calling task (or `cancel(sessionID:)`) ends it with stop reason
  /// `cancelled` and the content so far. Errors: NotFound (agent, session, model), a busy session,
  /// and the router's errors when the first model call fails.
  public func chat(
    _ request: Request, identity: Identity, approvals: any ApprovalGate,
    emit: @escaping @Sendable (TurnEvent) async -> Void
  ) async throws -> TurnOutcome {
    guard let userID = identity.userID else { throw EngineError.unauthenticated("this identity has no user") }
    guard let agent = agents.get(request.agent) else { throw EngineError.notFound(kind: "agent", id: request.agent) }
    let named = request.model ?? agent.model
    if let named, models.get(named) == nil { throw EngineError.notFound(kind: "model", id: named) }
    var history: [StoredMessage] = []
    let sessionID: String
    let isNew: Bool
    if let id = request.sessionID {
      _ = try await sessions.require(id, userID: userID)
      history = try await sessions.messages(id)
      sessionID = id
      isNew = false
    } else {
      sessionID = SessionStore.newID()
      isNew = true
    }
    let turnID = "t_" + Crypto.hex(Crypto.randomBytes(8))
    let remembered = isNew ? [:] : try await sessions.rememberedApprovals(sessionID)
    let turn = TurnContext(
      sessionID: sessionID, turnID: turnID, identity: identity, userID: userID, gate: approvals, emit: emit,
      maxSteps: max(1, request.maxSteps), temperature: request.temperature, cache: request.cache, model: named,
      remembered: remembered, workspace: request.workspace, editorFiles: request.editorFiles,
      sessionTools: request.sessionTools)

    let handle = TurnHandle()
    try running.withLock { r in
      if r[sessionID] != nil {
        throw EngineError.invalidField(
          "sessionId", "a turn is already running in this session: wait for its reply or cancel it with agent/cancel")
      }
      r[sessionID] = RunningTurn(turnID: turnID, userID: userID, handle: handle)
    }
    defer { running.withLock { r in if r[sessionID]?.turnID == turnID { r.removeValue(forKey: sessionID) } } }
    let work = Task { try await self.runTurn(request, agent: agent, history: history, isNew: isNew, turn: turn) }
    handle.attach(work)
    return try await withTaskCancellationHandler {
      try await work.value
    } onCancel: {
      work.cancel()
    }
  }

  /// Cancels the session's running turn, if the user has one running; returns whether one was.
  /// A cancel that arrives after the turn ended finds nothing and so never touches the next turn.
  public func cancel(sessionID: String, userID: Int64) -> Bool {
    guard let turn = running.withLock({ $0[sessionID] }), turn.userID == userID else { return false }
    turn.handle.cancel()
    return true
  }

  /// Whether the session has a turn running now.
  public func isRunning(sessionID: String) -> Bool { running.withLock { $0[sessionID] != nil } }

  // MARK: The turn

  private func runTurn(
    _ request: Request, agent: AgentDefinition, history: [StoredMessage], isNew: Bool, turn: TurnContext
  ) async throws -> TurnOutcome {
    let started = MonotonicClock.nanoseconds()
    let progress = TurnProgress(turnID: turn.turnID, agent: agent.name)
    let userMessage = StoredMessage(
      role: .user, content: request.message, turnID: turn.turnID, createdAt: clock.now())
    if isNew {
      try await sessions.create(turn.sessionID, userID: turn.userID, agent: agent.name, firstMessage: request.message)
    }
    await turn.emit(.began(sessionID: turn.sessionID, turnID: turn.turnID))
    let messages = contextMessages(agent: agent, history: history, message: request.message, model: turn.model)

    func outcome(_ stop: StopReason) -> TurnOutcome {
      let p = progress.snapshot()
      let model = p.model ?? turn.model ?? ""
      let tags = MetricsStore.tags(["user": turn.identity.username, "agent": agent.name, "model": model])
      metrics.record("chat.turns", 1, encodedTags: tags)
      metrics.record("chat.tokens", Double(p.promptTokens + p.completionTokens), encodedTags: tags)
      metrics.record(
        "chat.latency_ms", MonotonicClock.milliseconds(since: started),
        encodedTags: metrics.cachedTags("agent", agent.name))
      metrics.record(
        event: "chat", username: turn.identity.username, target: turn.sessionID,
        details: [
          "agent": .string(agent.name), "model": .string(model), "stopReason": .string(stop.rawValue),
          "tokens": .int(p.promptTokens + p.completionTokens), "toolCalls": .int(p.toolCalls.count),
        ])
      return TurnOutcome(
        sessionID: turn.sessionID, turnID: turn.turnID, agent: agent.name, model: p.model ?? turn.model ?? "",
        content: p.content, stopReason: stop, toolCalls: p.toolCalls, promptTokens: p.promptTokens,
        completionTokens: p.completionTokens, usageEstimated: p.estimated, ttftMs: p.ttftMs,
        totalMs: MonotonicClock.milliseconds(since: started), modelMs: p.modelMs,
        cached: p.modelCalls > 0 && p.cachedCalls == p.modelCalls)
    }

    do {
      let stop = try await runAgent(
        agent, messages: messages, model: turn.model, depth: 0, chain: [agent.name.lowercased()], turn: turn,
        progress: progress, started: started)
      try await sessions.appendTurn(sessionID: turn.sessionID, messages: [userMessage] + progress.committed())
      return outcome(stop)
    } catch is CancellationError {
      // Keep what was said: finished steps whole, the interrupted step's text without its tool calls.
      let kept = [userMessage] + progress.committed(includingPending: true)
      try await sessions.appendTurn(sessionID: turn.sessionID, messages: kept)
      if progress.snapshot().completionTokens == 0 && !progress.snapshot().content.isEmpty {
        progress.addUsage(prompt: 0, completion: max(1, progress.snapshot().content.utf8.count / 4), estimated: true)
      }
      return outcome(.cancelled)
    } catch {
      let kept = progress.committed()
      if !kept.isEmpty {
        try? await sessions.appendTurn(sessionID: turn.sessionID, messages: [userMessage] + kept)
      } else if isNew {
        await sessions.deleteIfEmpty(turn.sessionID)
      }
      throw error
    }
  }

  /// The system prompt, as much history as fits the model's context (whole turns, oldest dropped
  /// first), and the new message.
  func contextMessages(agent: AgentDefinition, history: [StoredMessage], message: String, model: String?)
    -> [ChatMessage]
  {
    let contextLength =
      model.flatMap { models.get($0)?.contextLength }
      ?? (try? router.selector.select(SelectionCriteria(requiredCapabilities: agent.requiredCapabilities)))?.model
      .contextLength ?? 8192
    let budget = max(256, contextLength - min(4096, contextLength / 4))
    var turns: [[ChatMessage]] = []
    var lastTurn: String?
    for m in history {
      if m.turnID != lastTurn {
        turns.append([])
        lastTurn = m.turnID
      }
      turns[turns.count - 1].append(m.chatMessage)
    }
    let specs = offeredTools(agent, model: model)
    func estimate(_ system: String) -> Int {
      ModelRequest(
        messages: [.system(system)] + turns.flatMap { $0 } + [.user(message)], tools: specs
      ).estimatedPromptTokens
    }
    var dropped = 0
    while !turns.isEmpty && estimate(agent.systemPrompt) > budget {
      dropped += turns.removeFirst().count
    }
    var system = agent.systemPrompt
    if dropped > 0 {
      system +=
        "\n\n(\(dropped) earlier message\(dropped == 1 ? " was" : "s were") left out to fit the model's context.)"
    }
    return [.system(system)] + turns.flatMap { $0 } + [.user(message)]
  }

  /// The tools offered to a model for this agent: its tools that exist, and `delegate` when it may
  /// delegate; none when the named model cannot use tools.
  func offeredTools(_ agent: AgentDefinition, model: String?, turn: TurnContext? = nil) -> [ToolSpec] {
    if let model, let config = models.get(model), !config.has(.toolUse) { return [] }
    var specs = agent.tools.compactMap { tools.tool(named: $0)?.definition.spec }
    for (_, tool) in (turn?.sessionTools ?? [:]).sorted(by: { $0.key < $1.key }) { specs.append(tool.definition.spec) }
    if !agent.canDelegateTo.isEmpty {
      specs.append(
        ToolSpec(
          name: "delegate",
          description: "Hand a focused sub-task to another agent and get its answer back.",
          parameters: [
            "type": "object",
            "properties": [
              "agent": ["type": "string", "enum": .array(agent.canDelegateTo.map(JSONValue.string))],
              "task": ["type": "string", "description": "What the other agent should do, with the context it needs."],
            ],
            "required": ["agent", "task"], "additionalProperties": false,
          ]))
    }
    return specs
  }

  /// One agent's steps: model call, tools, model call… Returns why it stopped. Text of the top agent
  /// goes into `progress`; a delegated agent's text is its return value through `subText`.
  @discardableResult
  private func runAgent(
    _ agent: AgentDefinition, messages initial: [ChatMessage], model: String?, depth: Int, chain: [String],
    turn: TurnContext, progress: TurnProgress, started: UInt64, subText: TextBox? = nil
  ) async throws -> StopReason {
    var messages = initial
    var modelName = model
    let specs = offeredTools(agent, model: model, turn: turn)
    var required = agent.requiredCapabilities
    if !specs.isEmpty && !required.contains(.toolUse) { required.append(.toolUse) }
    let isTop = depth == 0
    for step in 1...turn.maxSteps {
      let request = ModelRequest(
        messages: messages, tools: specs, temperature: turn.temperature ?? agent.temperature, cache: turn.cache)
      let criteria = SelectionCriteria(
        task: messages.last { $0.role == .user }?.content, requiredCapabilities: required,
        minimumContext: request.estimatedPromptTokens)
      if isTop { progress.beginStep() }
      let callStarted = MonotonicClock.nanoseconds()
      let result: ModelRunResult
      do {
        result = try await router.run(
          request, model: modelName, criteria: criteria,
          context: ModelCallContext(username: turn.identity.username, sessionID: turn.sessionID)
        ) { event in
          guard case .text(let s) = event, !s.isEmpty else { return }
          if isTop {
            progress.appendText(s, ttftMs: MonotonicClock.milliseconds(since: started))
          } else {
            subText?.append(s)
          }
          await turn.emit(.token(text: s, agent: agent.name))
        }
      } catch {
        // A cancelled call still read its prompt and took time: count both (estimated) in the reply.
        if Task.isCancelled {
          progress.addUsage(
            prompt: request.estimatedPromptTokens, completion: 0, estimated: true, model: isTop ? modelName : nil,
            modelMs: MonotonicClock.milliseconds(since: callStarted))
        }
        throw error
      }
      modelName = result.model.name  // the rest of the turn stays on the model that answered
      progress.addUsage(
        prompt: result.promptTokens, completion: result.completionTokens, estimated: result.usageEstimated,
        model: isTop ? result.model.name : nil, modelMs: result.totalMs, cached: result.cached)
      let calls = result.toolCalls
      if calls.isEmpty || step == turn.maxSteps {
        // A last step that still asks for tools ends the turn without running them (and the stored
        // message keeps only its text, so the history stays well formed).
        if isTop {
          progress.commit([
            StoredMessage(
              role: .assistant, content: result.text, agent: agent.name, turnID: turn.turnID, createdAt: clock.now())
          ])
        }
        if !calls.isEmpty { return .maxSteps }
        return result.finish == .length ? .maxTokens : .endTurn
      }
      if isTop {
        progress.setPending(
          StoredMessage(
            role: .assistant, content: result.text, agent: agent.name, turnID: turn.turnID, createdAt: clock.now()))
      }
      let outputs = try await runToolCalls(
        calls, agent: agent, model: modelName, depth: depth, chain: chain, turn: turn, progress: progress,
        started: started)
      messages.append(ChatMessage(role: .assistant, content: result.text, toolCalls: calls))
      var stored = [
        StoredMessage(
          role: .assistant, content: result.text, agent: agent.name, toolCalls: calls, turnID: turn.turnID,
          createdAt: clock.now())
      ]
      for (call, output) in zip(calls, outputs) {
        var text = output.text
        if text.count > Self.maxToolOutputForModel {
          text =
            String(text.prefix(Self.maxToolOutputForModel))
            + "\n[output cut at \(Self.maxToolOutputForModel) characters]"
        }
        messages.append(
          ChatMessage(role: .tool, content: text, toolCallID: call.id, toolName: call.name, isError: output.isError))
        stored.append(
          StoredMessage(
            role: .tool, content: text, agent: agent.name, toolCallID: call.id, toolName: call.name,
            isError: output.isError, turnID: turn.turnID, createdAt: clock.now()))
      }
      if isTop { progress.commit(stored) }
    }
    return .maxSteps
  }

  /// Runs a step's tool calls: all at once when none of them changes anything, else one after another
  /// in the model's order. Outputs come back in call order.
  private func runToolCalls(
    _ calls: [ToolCallRequest], agent: AgentDefinition, model: String?, depth: Int, chain: [String],
    turn: TurnContext, progress: TurnProgress, started: UInt64
  ) async throws -> [ToolOutput] {
    let readOnly = calls.allSatisfy { call in
      guard call.name != "delegate", let tool = tools.tool(named: call.name) else { return call.name != "delegate" }
      return !tool.needsApproval(call.arguments)
    }
    if readOnly && calls.count > 1 {
      return try await withThrowingTaskGroup(of: (Int, ToolOutput).self) { group in
        for (i, call) in calls.enumerated() {
          group.addTask {
            (
              i,
              try await self.runToolCall(
                call, position: i, agent: agent, model: model, depth: depth, chain: chain, turn: turn,
                progress: progress, started: started)
            )
          }
        }
        var outputs = [ToolOutput](repeating: .failure("not run"), count: calls.count)
        for try await (i, output) in group { outputs[i] = output }
        return outputs
      }
    }
    var outputs: [ToolOutput] = []
    for (i, call) in calls.enumerated() {
      outputs.append(
        try await runToolCall(
          call, position: i, agent: agent, model: model, depth: depth, chain: chain, turn: turn, progress: progress,
          started: started))
    }
    return outputs
  }

  private func runToolCall(
    _ call: ToolCallRequest, position: Int, agent: AgentDefinition, model: String?, depth: Int, chain: [String],
    turn: TurnContext, progress: TurnProgress, started: UInt64
  ) async throws -> ToolOutput {
    await turn.emit(.toolCall(callID: call.id, tool: call.name, arguments: call.arguments, agent: agent.name))
    let output: ToolOutput
    if call.name == "delegate" && !agent.canDelegateTo.isEmpty {
      output = try await delegate(
        call, from: agent, model: model, depth: depth, chain: chain, turn: turn, progress: progress, started: started)
    } else {
      output = try await runTool(call, agent: agent, turn: turn)
    }
    try Task.checkCancellation()
    await turn.emit(.toolResult(callID: call.id, isError: output.isError, output: output.text, agent: agent.name))
    if depth == 0 {
      progress.addToolCall(
        TurnToolCall(
          callID: call.id, tool: call.name, arguments: call.arguments, isError: output.isError, output: output.text),
        position: position)
    }
    return output
  }

  /// A registry tool, checked against the agent's list and the tool's schema, approved when it
  /// changes something.
  private func runTool(_ call: ToolCallRequest, agent: AgentDefinition, turn: TurnContext) async throws -> ToolOutput {
    let tool: any Tool
    if let own = turn.sessionTools[call.name] {
      tool = own
      do {
        try JSONSchemaValidator.validate(call.arguments, against: own.definition.inputSchema)
      } catch {
        return .failure("invalid arguments for \(call.name): \(error)")
      }
    } else {
      guard agent.tools.contains(call.name) else {
        return .failure("the tool '\(call.name)' is not available to the \(agent.name) agent")
      }
      do {
        tool = try tools.resolve(call.name, arguments: call.arguments)
      } catch EngineError.invalidField(let field, let reason) {
        return .failure("invalid arguments for \(call.name): \(field) \(reason)")
      }
    }
    var approval: String?
    if tool.needsApproval(call.arguments) {
      let (allowed, source, reason) = await approve(call, agent: agent, turn: turn)
      try Task.checkCancellation()
      guard allowed else { return .failure(reason) }
      approval = source.rawValue
    }
    return try await tools.run(
      tool, arguments: call.arguments,
      context: ToolContext(
        username: turn.identity.username, sessionID: turn.sessionID, agent: agent.name,
        timeoutMs: tool.definition.timeoutMs, workspace: turn.workspace, editorFiles: turn.editorFiles),
      approval: approval)
  }

  /// Asks for approval (a remembered answer first), remembers `*_always`, and audits the decision.
  private func approve(_ call: ToolCallRequest, agent: AgentDefinition, turn: TurnContext) async -> (
    Bool, ApprovalSource, String
  ) {
    let outcome: ApprovalOutcome
    let source: ApprovalSource
    if let remembered = turn.remembered(call.name) {
      (outcome, source) = (remembered ? .allowOnce : .rejectOnce, .remembered)
    } else {
      (outcome, source) = await turn.gate.decide(
        ApprovalRequest(
          sessionID: turn.sessionID, turnID: turn.turnID, callID: call.id, tool: call.name, arguments: call.arguments,
          agent: agent.name))
      if outcome == .allowAlways || outcome == .rejectAlways {
        let allow = outcome == .allowAlways
        turn.remember(call.name, allow: allow)
        do {
          try await sessions.rememberApproval(
            turn.sessionID, tool: call.name, allow: allow, by: turn.identity.username)
        } catch {
          logger.error("could not remember the approval for \(call.name): \(error)")
        }
      }
    }
    audit.record(
      username: turn.identity.username, action: "tool.approval", target: call.name,
      outcome: outcome.allows ? .ok : .denied,
      details: [
        "sessionId": .string(turn.sessionID), "turnId": .string(turn.turnID), "callId": .string(call.id),
        "agent": .string(agent.name), "decision": .string(outcome.rawValue), "decidedBy": .string(source.rawValue),
        "arguments": call.arguments,
      ])
    let reason: String
    switch (outcome, source) {
    case (_, .remembered): reason = "not approved: the user chose to always reject \(call.name) in this session"
    case (.cancelled, _): reason = "not approved: the approval request was cancelled"
    case (_, .policy):
      reason =
        "not approved: \(call.name) needs approval, this client cannot ask for it, and tools.approvalPolicy is deny"
    default: reason = "not approved: the user rejected this call"
    }
    return (outcome.allows, source, reason)
  }

  /// The `delegate` tool: hands the task to another agent, whose turn runs inside this one.
  private func delegate(
    _ call: ToolCallRequest, from agent: AgentDefinition, model: String?, depth: Int, chain: [String],
    turn: TurnContext, progress: TurnProgress, started: UInt64
  ) async throws -> ToolOutput {
    guard let targetName = call.arguments["agent"]?.stringValue, let task = call.arguments["task"]?.stringValue,
      !task.trimmed().isEmpty
    else {
      return .failure("invalid arguments for delegate: give agent and task as strings")
    }
    guard agent.canDelegateTo.contains(where: { $0.lowercased() == targetName.lowercased() }) else {
      return .failure(
        "the \(agent.name) agent may delegate only to: \(agent.canDelegateTo.joined(separator: ", "))")
    }
    guard let target = agents.get(targetName) else { return .failure("there is no agent named '\(targetName)'") }
    guard !chain.contains(target.name.lowercased()) else {
      return .failure(
        "delegating to \(target.name) would loop (\((chain + [target.name.lowercased()]).joined(separator: " → ")))")
    }
    guard depth + 1 <= Self.maxDelegationDepth else {
      return .failure("delegation is limited to \(Self.maxDelegationDepth) levels")
    }
    await turn.emit(.handoff(from: agent.name, to: target.name, task: task))
    let text = TextBox()
    let stop = try await runAgent(
      target, messages: [.system(target.systemPrompt), .user(task)], model: target.model ?? turn.model,
      depth: depth + 1, chain: chain + [target.name.lowercased()], turn: turn, progress: progress, started: started,
      subText: text)
    let answer = text.value.trimmed()
    if answer.isEmpty { return .failure("the \(target.name) agent gave no answer (\(stop.rawValue))") }
    return .success(answer)
  }
}

/// What a turn needs everywhere: its ids, who runs it, how approvals are decided, where events go.
final class TurnContext: Sendable {
  let sessionID: String
  let turnID: String
  let identity: Identity
  let userID: Int64
  let gate: any ApprovalGate
  let emit: @Sendable (TurnEvent) async -> Void
  let maxSteps: Int
  let temperature: Double?
  let cache: Bool?
  let model: String?
  let workspace: String?
  let editorFiles: (any EditorFiles)?
  let sessionTools: [String: any Tool]
  private let approvals: Mutex<[String: Bool]>

  init(
    sessionID: String, turnID: String, identity: Identity, userID: Int64, gate: any ApprovalGate,
    emit: @escaping @Sendable (TurnEvent) async -> Void, maxSteps: Int, temperature: Double?, cache: Bool? = nil,
    model: String?, remembered: [String: Bool], workspace: String? = nil, editorFiles: (any EditorFiles)? = nil,
    sessionTools: [any Tool] = []
  ) {
    self.cache = cache
    self.workspace = workspace
    self.editorFiles = editorFiles
    self.sessionTools = Dictionary(sessionTools.map { ($0.definition.name, $0) }) { first, _ in first }
    self.sessionID = sessionID
    self.turnID = turnID
    self.identity = identity
    self.userID = userID
    self.gate = gate
    self.emit = emit
    self.maxSteps = maxSteps
    self.temperature = temperature
    self.model = model
    self.approvals = Mutex(remembered)
  }

  func remembered(_ tool: String) -> Bool? { approvals.withLock { $0[tool] } }
  func remember(_ tool: String, allow: Bool) { approvals.withLock { $0[tool] = allow } }
}

/// What a turn has done so far: the top agent's text, its tool calls, usage, and the messages to store
/// (finished steps, and the step in progress).
final class TurnProgress: Sendable {
  let turnID: String
  let agent: String

  init(turnID: String, agent: String) {
    self.turnID = turnID
    self.agent = agent
  }

  struct State {
    var content = ""
    var ttftMs: Double?
    var toolCalls: [TurnToolCall] = []
    var calls: [(step: Int, position: Int, call: TurnToolCall)] = []
    var step = 0
    var promptTokens = 0
    var completionTokens = 0
    var estimated = false
    var modelMs = 0.0
    /// Model calls made, and how many of them the response cache answered.
    var modelCalls = 0
    var cachedCalls = 0
    var model: String?
    var committed: [StoredMessage] = []
    var pending: StoredMessage?
    var stepText = ""
  }

  private let state = Mutex(State())

  func snapshot() -> State { state.withLock { $0 } }

  func beginStep() {
    state.withLock {
      $0.step += 1
      $0.stepText = ""
      $0.pending = nil
    }
  }

  func appendText(_ s: String, ttftMs: Double) {
    state.withLock {
      if $0.ttftMs == nil { $0.ttftMs = ttftMs }
      $0.content += s
      $0.stepText += s
    }
  }

  func addUsage(
    prompt: Int, completion: Int, estimated: Bool, model: String? = nil, modelMs: Double = 0, cached: Bool? = nil
  ) {
    state.withLock {
      if let cached {
        $0.modelCalls += 1
        if cached { $0.cachedCalls += 1 }
      }
      $0.modelMs += modelMs
      $0.promptTokens += prompt
      $0.completionTokens += completion
      $0.estimated = $0.estimated || estimated
      if let model { $0.model = model }
    }
  }

  /// Records a finished call of the current step at its place (parallel calls finish in any order).
  func addToolCall(_ call: TurnToolCall, position: Int) {
    state.withLock { s in
      s.calls.append((s.step, position, call))
      s.calls.sort { ($0.step, $0.position) < ($1.step, $1.position) }
      s.toolCalls = s.calls.map(\.call)
    }
  }

  func setPending(_ message: StoredMessage) { state.withLock { $0.pending = message } }

  func commit(_ messages: [StoredMessage]) {
    state.withLock {
      $0.committed += messages
      $0.pending = nil
      $0.stepText = ""
    }
  }

  /// The messages to store; with `includingPending`, also the interrupted step's text (without tool calls).
  func committed(includingPending: Bool = false) -> [StoredMessage] {
    state.withLock { s in
      guard includingPending, !s.stepText.isEmpty else { return s.committed }
      var text =
        s.pending
        ?? StoredMessage(role: .assistant, content: "", agent: agent, turnID: turnID, createdAt: Timestamp.now())
      text.content = s.stepText
      text.toolCalls = []
      return s.committed + [text]
    }
  }
}

/// The running turn's task, for `agent/cancel`; a cancel before the task is attached still takes effect.
final class TurnHandle: Sendable {
  private let state = Mutex<(task: Task<TurnOutcome, any Error>?, cancelled: Bool)>((nil, false))

  func attach(_ task: Task<TurnOutcome, any Error>) {
    let cancelNow = state.withLock { s -> Bool in
      s.task = task
      return s.cancelled
    }
    if cancelNow { task.cancel() }
  }

  func cancel() {
    let task = state.withLock { s -> Task<TurnOutcome, any Error>? in
      s.cancelled = true
      return s.task
    }
    task?.cancel()
  }
}

/// Text gathered from a delegated agent's tokens.
final class TextBox: Sendable {
  private let text = Mutex("")
  func append(_ s: String) { text.withLock { $0 += s } }
  var value: String { text.withLock { $0 } }
}
