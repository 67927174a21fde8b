import JSONRPC
import MinionsCore
import MinionsEngine
import Synchronization

/// Sends one turn's `agent/update` notifications in order, numbering them, and merges token updates
/// that arrive within the client's `tokenCoalesceMs` into one. `finish()` flushes; the turn's reply is
/// sent only after it, so every update is written before the reply.
///
/// Calls come one at a time from the turn's task; only the coalescing timer runs beside it, so the state
/// sits behind a lock rather than in an actor (no hop per token).
final class TurnUpdateWriter: Sendable {
  private struct State {
    var sessionID = ""
    var turnID = ""
    var seq = 0
    var buffer = ""
    var bufferAgent: String?
    var flushTask: Task<Void, Never>?
  }

  private let session: ClientSession
  private let coalesceMs: Int
  private let state = Mutex(State())
  /// Serializes sending between the turn's task and the coalescing timer.
  private let sendLock = AsyncLock()

  init(session: ClientSession, coalesceMs: Int) {
    self.session = session
    self.coalesceMs = coalesceMs
  }

  func send(_ event: TurnEvent) async {
    switch event {
    case .began(let session, let turn):
      state.withLock {
        $0.sessionID = session
        $0.turnID = turn
      }
    case .token(let text, let agent) where coalesceMs <= 0:
      await sendLock.run { await emitToken(text, agent: agent) }
    case .token(let text, let agent):
      var startTimer = false
      let flushFirst = state.withLock { s -> Bool in s.bufferAgent != nil && s.bufferAgent != agent }
      if flushFirst { await flush() }
      state.withLock { s in
        s.buffer += text
        s.bufferAgent = agent
        if s.flushTask == nil { startTimer = true }
      }
      if startTimer {
        let ms = coalesceMs
        let task = Task { [weak self] in
          try? await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000)
          if !Task.isCancelled { await self?.flush() }
        }
        state.withLock { $0.flushTask = task }
      }
    default:
      await flush()
      await sendLock.run { await emitOther(event) }
    }
  }

  /// Flushes what is buffered; call before replying.
  func finish() async { await flush() }

  private func flush() async {
    await sendLock.run {
      let taken = state.withLock { s -> (String, String)? in
        s.flushTask?.cancel()
        s.flushTask = nil
        guard let agent = s.bufferAgent, !s.buffer.isEmpty else { return nil }
        defer {
          s.buffer = ""
          s.bufferAgent = nil
        }
        return (s.buffer, agent)
      }
      if let (text, agent) = taken { await emitToken(text, agent: agent) }
    }
  }

  private func nextSeq() -> (seq: Int, session: String, turn: String) {
    state.withLock { s in
      s.seq += 1
      return (s.seq, s.sessionID, s.turnID)
    }
  }

  private static let tokenHead = Array(#"{"jsonrpc":"2.0","method":"agent/update","params":{"agent":"#.utf8)

  /// A token update, written directly in the order the general writer would use (sorted keys).
  private func emitToken(_ text: String, agent: String) async {
    let (seq, sessionID, turnID) = nextSeq()
    var body = Self.tokenHead
    body.reserveCapacity(160 + text.utf8.count)
    JSONWriter.writeString(agent, into: &body)
    body.append(contentsOf: #","kind":"token","seq":"#.utf8)
    JSONWriter.writeInt(seq, into: &body)
    body.append(contentsOf: #","sessionId":"#.utf8)
    JSONWriter.writeString(sessionID, into: &body)
    body.append(contentsOf: #","text":"#.utf8)
    JSONWriter.writeString(text, into: &body)
    body.append(contentsOf: #","turnId":"#.utf8)
    JSONWriter.writeString(turnID, into: &body)
    body.append(contentsOf: "}}".utf8)
    await session.notify(method: "agent/update", encoded: body)
  }

  private func emitOther(_ event: TurnEvent) async {
    let (seq, sessionID, turnID) = nextSeq()
    var p: [String: JSONValue] = ["sessionId": .string(sessionID), "turnId": .string(turnID), "seq": .int(seq)]
    switch event {
    case .began, .token:
      return
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

/// A lock for async code: one holder at a time, others suspended (not blocked) in FIFO order.
final class AsyncLock: Sendable {
  private let state = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

  func run<T: Sendable>(_ body: () async -> T) async -> T {
    await acquire()
    let result = await body()
    release()
    return result
  }

  private func acquire() async {
    let acquired = state.withLock { s -> Bool in
      if s.held { return false }
      s.held = true
      return true
    }
    if acquired { return }
    await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
      let now = state.withLock { s -> Bool in
        if !s.held {
          s.held = true
          return true
        }
        s.waiters.append(c)
        return false
      }
      if now { c.resume() }
    }
  }

  private func release() {
    let next = state.withLock { s -> CheckedContinuation<Void, Never>? in
      if s.waiters.isEmpty {
        s.held = false
        return nil
      }
      return s.waiters.removeFirst()  // ownership passes straight to the next waiter
    }
    next?.resume()
  }
}
