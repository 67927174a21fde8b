import JSONRPC
import MinionsCore
import MinionsEngine

/// Sends one turn's `agent/update` notifications in order, numbering them, and merges token updates
/// that arrive within the client's `tokenCoalesceMs` into one. `finish()` flushes; the turn's reply is
/// sent only after it, so every update is written before the reply.
actor TurnUpdateWriter {
  private let session: ClientSession
  private var sessionID: String
  private var turnID: String
  private let coalesceMs: Int
  private var seq = 0
  private var buffer = ""
  private var bufferAgent: String?
  private var flushTask: Task<Void, Never>?

  init(session: ClientSession, sessionID: String, turnID: String, coalesceMs: Int) {
    self.session = session
    self.sessionID = sessionID
    self.turnID = turnID
    self.coalesceMs = coalesceMs
  }

  func send(_ event: TurnEvent) async {
    if case .began(let session, let turn) = event {
      sessionID = session
      turnID = turn
      return
    }
    if case .token(let text, let agent) = event, coalesceMs > 0 {
      if let current = bufferAgent, current != agent { await flush() }
      buffer += text
      bufferAgent = agent
      if flushTask == nil {
        let ms = coalesceMs
        flushTask = Task { [weak self] in
          try? await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000)
          if !Task.isCancelled { await self?.flushFromTimer() }
        }
      }
      return
    }
    await flush()
    await emit(event)
  }

  private func flushFromTimer() async {
    flushTask = nil
    await flush()
  }

  private func flush() async {
    flushTask?.cancel()
    flushTask = nil
    guard let agent = bufferAgent, !buffer.isEmpty else { return }
    let text = buffer
    buffer = ""
    bufferAgent = nil
    await emit(.token(text: text, agent: agent))
  }

  /// Flushes what is buffered; call before replying.
  func finish() async { await flush() }

  private func emit(_ event: TurnEvent) async {
    seq += 1
    var p: [String: JSONValue] = ["sessionId": .string(sessionID), "turnId": .string(turnID), "seq": .int(seq)]
    switch event {
    case .began:
      return
    case .token(let text, let agent):
      p["kind"] = "token"
      p["text"] = .string(text)
      p["agent"] = .string(agent)
    case .toolCall(let callID, let tool, let arguments, let agent):
      p["kind"] = "toolCall"
      p["callId"] = .string(callID)
      p["tool"] = .string(tool)
      p["arguments"] = arguments
      p["agent"] = .string(agent)
    case .toolResult(let callID, let isError, let output, let agent):
      p["kind"] = "toolResult"
      p["callId"] = .string(callID)
      p["isError"] = .bool(isError)
      p["output"] = .string(output)
      p["agent"] = .string(agent)
    case .handoff(let from, let to, let task):
      p["kind"] = "handoff"
      p["from"] = .string(from)
      p["to"] = .string(to)
      p["task"] = .string(task)
    }
    await session.notify("agent/update", .object(p))
  }
}
