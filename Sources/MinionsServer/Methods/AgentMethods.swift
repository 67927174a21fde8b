import JSONRPC
import MinionsCore
import MinionsEngine

/// `agent/chat` and its `agent/update` stream.
enum AgentMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "agent/chat", summary: "Runs one turn of a conversation with an agent, streaming agent/update notifications.",
      description:
        "Every agent/update of the turn is written before this reply. Cancel with $/cancelRequest: the reply then has stopReason cancelled and the content so far.",
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
      let agent =
        p.agent ?? call.engine.settings.userValues(userID: identity.userID ?? 0)["defaultAgent"]?.stringValue
        ?? "assistant"
      var model = p.model
      if model == nil,
        let preferred = call.engine.settings.userValues(userID: identity.userID ?? 0)["defaultModel"]?.stringValue,
        !preferred.isEmpty
      {
        model = preferred
      }
      let request = ChatService.Request(
        message: p.message, agent: agent, model: model, sessionID: p.sessionId,
        temperature: p.temperature)
      let writer = TurnUpdateWriter(session: call.session, coalesceMs: call.session.capabilities.tokenCoalesceMs ?? 0)
      let outcome = try await call.engine.chat.chat(request, identity: identity) { event in await writer.send(event) }
      await writer.finish()
      return AgentChatResult(outcome)
    }

    table.registerServerNotification(
      "agent/update",
      summary: "One event of a running turn: token, toolCall, toolResult or handoff; seq counts from 1.",
      params: AgentUpdateParams.self)
  }
}
