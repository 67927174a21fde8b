import JSONRPC
import MinionsCore
import MinionsEngine

/// `agent/chat` with its `agent/update` stream and `approval/request`, `agent/cancel`, and `agents/*`.
enum AgentMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "agent/chat",
      summary: "Runs one turn of a conversation with an agent, streaming agent/update notifications.",
      description:
        "Every agent/update of the turn is written before this reply. Tools that change things need approval "
        + "(approval/request when the client declared capabilities.approvals, else tools.approvalPolicy). Cancel with "
        + "$/cancelRequest or agent/cancel: the reply then has stopReason cancelled and the content so far.",
      access: .permission(.chat), errors: [.providerError, .noModelAvailable, .notFound],
      params: AgentChatParams.self, result: AgentChatResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      guard !p.message.isEmpty else { throw ResponseError.invalidParams(field: "message", "must not be empty") }
      guard p.message.utf8.count <= 1 << 20 else {
        throw ResponseError.invalidParams(field: "message", "must be at most 1 MiB")
      }
      if let steps = p.maxSteps, !(1...64).contains(steps) {
        throw ResponseError.invalidParams(field: "maxSteps", "must be between 1 and 64")
      }
      if let t = p.temperature, !(0...2).contains(t) {
        throw ResponseError.invalidParams(field: "temperature", "must be between 0 and 2")
      }
      let preferences = call.engine.settings.userValues(userID: identity.userID ?? 0)
      let agent = p.agent ?? preferences["defaultAgent"]?.stringValue ?? "assistant"
      var model = p.model
      if model == nil, let preferred = preferences["defaultModel"]?.stringValue, !preferred.isEmpty {
        model = preferred
      }
      let request = AgentRunner.Request(
        message: p.message, agent: agent, sessionID: p.sessionId, model: model, maxSteps: p.maxSteps ?? 8,
        temperature: p.temperature, cache: p.cache)
      let writer = TurnUpdateWriter(session: call.session, coalesceMs: call.session.capabilities.tokenCoalesceMs ?? 0)
      let gate: any ApprovalGate =
        call.session.capabilities.approvals == true
        ? ClientApprovalGate(session: call.session, logger: call.logger) : call.engine.policyApprovals
      let outcome = try await call.engine.runner.chat(request, identity: identity, approvals: gate) { event in
        await writer.send(event)
      }
      await writer.finish()
      return AgentChatResult(outcome)
    }

    table.register(
      "agent/cancel",
      summary: "Stops the session's running turn; that turn's reply then has stopReason cancelled.",
      description: "Returns cancelled: false when no turn is running (a late cancel never affects the next turn).",
      access: .permission(.chat), errors: [.notFound], params: AgentCancelParams.self, result: AgentCancelResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      _ = try await call.engine.sessions.require(p.sessionId, userID: identity.userID ?? -1)
      return AgentCancelResult(
        cancelled: call.engine.runner.cancel(sessionID: p.sessionId, userID: identity.userID ?? -1))
    }

    table.registerServerNotification(
      "agent/update",
      summary: "One event of a running turn: token, toolCall, toolResult or handoff; seq counts from 1.",
      params: AgentUpdateParams.self)

    table.registerServerRequest(
      "approval/request",
      summary:
        "Asks the client to approve a tool call (sent only to clients that declared capabilities.approvals).",
      params: ApprovalRequestParams.self, result: ApprovalRequestResult.self)

    table.register(
      "agents/list", summary: "Lists the built-in and custom agents.",
      access: .permission(.toolsRead), params: NoParams.self, result: AgentsListResult.self
    ) { _, call in
      AgentsListResult(agents: call.engine.agents.all.map(AgentRecord.init))
    }

    table.register(
      "agents/create", summary: "Adds a custom agent; persisted.",
      access: .permission(.toolsManage), errors: [.alreadyExists], params: AgentCreateParams.self,
      result: AgentResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      let agent = p.definition()
      try call.engine.agents.validate(agent) { call.engine.tools.tool(named: $0) != nil }
      try await call.engine.agents.save(agent, by: identity.username, replace: false)
      call.engine.audit.record(username: identity.username, action: "agent.create", target: agent.name, outcome: .ok)
      return AgentResult(agent: AgentRecord(call.engine.agents.get(agent.name)!))
    }

    table.register(
      "agents/update", summary: "Changes a custom agent: the fields given replace its own.",
      access: .permission(.toolsManage), errors: [.notFound], params: AgentUpdateParamsRecord.self,
      result: AgentResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      guard let existing = call.engine.agents.get(p.name) else { throw EngineError.notFound(kind: "agent", id: p.name) }
      if existing.builtin {
        throw ResponseError.invalidParams(field: "name", "'\(existing.name)' is a built-in agent and cannot be changed")
      }
      let agent = p.apply(to: existing)
      try call.engine.agents.validate(agent) { call.engine.tools.tool(named: $0) != nil }
      try await call.engine.agents.save(agent, by: identity.username, replace: true)
      call.engine.audit.record(username: identity.username, action: "agent.update", target: agent.name, outcome: .ok)
      return AgentResult(agent: AgentRecord(call.engine.agents.get(agent.name)!))
    }

    table.register(
      "agents/delete", summary: "Deletes a custom agent.",
      access: .permission(.toolsManage), errors: [.notFound], params: AgentNameParams.self, result: RemovedResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      try await call.engine.agents.delete(p.name)
      call.engine.audit.record(username: identity.username, action: "agent.delete", target: p.name, outcome: .ok)
      return RemovedResult(removed: true)
    }
  }
}

/// Asks the connected client to approve a call with `approval/request` and maps its answer. No answer
/// within ten minutes, an error reply, or a malformed answer counts as cancelled (the call is not run).
struct ClientApprovalGate: ApprovalGate {
  let session: ClientSession
  let logger: Logger

  static let options: [ApprovalOptionRecord] = ApprovalOutcome.offered.map {
    ApprovalOptionRecord(optionId: $0.rawValue, name: $0.label, kind: $0.rawValue)
  }

  func decide(_ r: ApprovalRequest) async -> (ApprovalOutcome, ApprovalSource) {
    let params = ApprovalRequestParams(
      sessionId: r.sessionID, turnId: r.turnID, callId: r.callID, tool: r.tool, arguments: r.arguments,
      agent: r.agent, options: Self.options)
    guard let encoded = try? JSONValueEncoder().encode(params) else { return (.cancelled, .client) }
    switch await session.connection.request("approval/request", encoded, timeout: 600) {
    case .success(let value):
      guard let answer = try? JSONValueDecoder().decode(ApprovalRequestResult.self, from: value) else {
        logger.info("approval/request for \(r.callID): the client's answer is malformed; counted as cancelled")
        return (.cancelled, .client)
      }
      if answer.outcome == .selected, let id = answer.optionId, let outcome = ApprovalOutcome(rawValue: id),
        outcome != .cancelled
      {
        return (outcome, .client)
      }
      return (.cancelled, .client)
    case .failure(let error):
      logger.info("approval/request for \(r.callID) got no answer (\(error)); counted as cancelled")
      return (.cancelled, .client)
    }
  }
}
