import MinionsCore
import Synchronization

/// A recorded conversation as a regression test: `script(…)` turns a session into a script file
/// (contract §7) whose turns reproduce every model call — text and tool calls — and answer only when
/// the model's newest input (the user's message or the tool's output) is exactly what was recorded;
/// `replay(…)` runs the recorded user messages against it and reports every difference in tool calls,
/// tool outputs and final answers.
public enum SessionReplay {
  /// What was recorded for one user message.
  public struct RecordedTurn: Sendable, Equatable {
    public var message: String
    public var agent: String
    public var toolCalls: [RecordedCall]
    public var answer: String

    public init(message: String, agent: String, toolCalls: [RecordedCall], answer: String) {
      self.message = message
      self.agent = agent
      self.toolCalls = toolCalls
      self.answer = answer
    }
  }

  public struct RecordedCall: Sendable, Equatable {
    public var tool: String
    public var arguments: JSONValue
    public var output: String
    public var isError: Bool
  }

  /// The script for a session: one turn per model call, each `match`ing its exact input, plus a
  /// `recording` of the user messages, tool calls and answers to compare against.
  public static func script(_ session: SessionSummary, messages: [StoredMessage]) -> JSONValue {
    var turns: [JSONValue] = []
    var newest: String? = nil
    for m in messages {
      switch m.role {
      case .user, .tool:
        newest = m.content
      case .assistant:
        var events: [JSONValue] = []
        if !m.content.isEmpty { events.append(["text": .string(m.content)]) }
        for call in m.toolCalls {
          events.append(["toolCall": ["tool": .string(call.name), "arguments": call.arguments]])
        }
        var turn: [String: JSONValue] = ["events": .array(events)]
        if let newest { turn["match"] = .string("^" + escapeRegex(newest) + "$") }
        turns.append(.object(turn))
      case .system:
        break
      }
    }
    let recording = recordedTurns(session, messages: messages).map { t -> JSONValue in
      [
        "message": .string(t.message), "agent": .string(t.agent), "answer": .string(t.answer),
        "toolCalls": .array(
          t.toolCalls.map {
            [
              "tool": .string($0.tool), "arguments": $0.arguments, "output": .string($0.output),
              "isError": .bool($0.isError),
            ]
          }),
      ]
    }
    return [
      "turns": .array(turns),
      "recording": [
        "sessionId": .string(session.sessionID), "title": .string(session.title), "turns": .array(recording),
      ],
    ]
  }

  /// The session's user messages with the tool calls and the answer each one led to.
  public static func recordedTurns(_ session: SessionSummary, messages: [StoredMessage]) -> [RecordedTurn] {
    var out: [RecordedTurn] = []
    var outputs: [String: (String, Bool)] = [:]
    for m in messages where m.role == .tool { outputs[m.toolCallID ?? ""] = (m.content, m.isError) }
    for m in messages {
      switch m.role {
      case .user:
        out.append(RecordedTurn(message: m.content, agent: session.agent, toolCalls: [], answer: ""))
      case .assistant:
        guard !out.isEmpty else { continue }
        if let agent = m.agent { out[out.count - 1].agent = agent }
        out[out.count - 1].answer += m.content
        for call in m.toolCalls {
          let (output, isError) = outputs[call.id] ?? ("", false)
          out[out.count - 1].toolCalls.append(
            RecordedCall(tool: call.name, arguments: call.arguments, output: output, isError: isError))
        }
      default:
        break
      }
    }
    return out
  }

  /// The recording inside a script file made by `script(…)`.
  public static func recording(in script: JSONValue) throws -> [RecordedTurn] {
    guard let turns = script["recording"]?["turns"]?.arrayValue else {
      throw EngineError.invalidField("script", "has no recording: export the session with format \"script\"")
    }
    return try turns.enumerated().map { i, t in
      guard let message = t["message"]?.stringValue, let answer = t["answer"]?.stringValue else {
        throw EngineError.invalidField("script", "recording.turns[\(i)] needs message and answer")
      }
      return RecordedTurn(
        message: message, agent: t["agent"]?.stringValue ?? "assistant",
        toolCalls: (t["toolCalls"]?.arrayValue ?? []).map {
          RecordedCall(
            tool: $0["tool"]?.stringValue ?? "", arguments: $0["arguments"] ?? .null,
            output: $0["output"]?.stringValue ?? "", isError: $0["isError"]?.boolValue ?? false)
        },
        answer: answer)
    }
  }

  /// One difference between the recording and the replay.
  public struct Difference: Sendable, Equatable, CustomStringConvertible {
    public var turn: Int
    public var what: String
    public var description: String { "turn \(turn + 1): \(what)" }
  }

  /// Replays `recorded` against the script model `model` (already registered) in a new session;
  /// tools that need approval are allowed. Returns the differences (empty: the replay held).
  public static func replay(
    _ recorded: [RecordedTurn], model: String, engine: Engine, identity: Identity
  ) async throws -> [Difference] {
    var differences: [Difference] = []
    var sessionID: String? = nil
    let allow = PolicyApprovalGate { true }
    for (i, expected) in recorded.enumerated() {
      // Tool calls as they happen, so a turn that stops (the script had no answer for a changed tool
      // output) still says which call went differently.
      let seen = Mutex<[TurnToolCall]>([])
      let outcome: TurnOutcome
      do {
        outcome = try await engine.runner.chat(
          AgentRunner.Request(message: expected.message, agent: expected.agent, sessionID: sessionID, model: model),
          identity: identity, approvals: allow
        ) { event in
          switch event {
          case .toolCall(let id, let tool, let arguments, _):
            seen.withLock {
              $0.append(TurnToolCall(callID: id, tool: tool, arguments: arguments, isError: false, output: ""))
            }
          case .toolResult(let id, let isError, let output, _):
            seen.withLock { calls in
              if let k = calls.firstIndex(where: { $0.callID == id }) {
                calls[k].output = output
                calls[k].isError = isError
              }
            }
          default: break
          }
        }
      } catch {
        let before = differences.count
        compare(seen.withLock { $0 }, with: expected.toolCalls, turn: i, into: &differences, countsMatter: false)
        if differences.count == before {
          differences.append(
            Difference(turn: i, what: "the replay stopped: \(error) (the model's input differed from the recording)"))
        }
        break
      }
      sessionID = outcome.sessionID
      compare(outcome.toolCalls, with: expected.toolCalls, turn: i, into: &differences, countsMatter: true)
      if outcome.content != expected.answer {
        differences.append(
          Difference(turn: i, what: "the answer is \(quote(outcome.content)), recorded \(quote(expected.answer))"))
      }
    }
    return differences
  }

  /// Appends how `calls` differ from the recorded ones.
  static func compare(
    _ calls: [TurnToolCall], with recorded: [RecordedCall], turn i: Int, into differences: inout [Difference],
    countsMatter: Bool
  ) {
    if countsMatter && calls.count != recorded.count {
      differences.append(
        Difference(
          turn: i, what: "\(calls.count) tool calls instead of \(recorded.count) (\(calls.map(\.tool)))"))
    }
    for (j, (call, want)) in zip(calls, recorded).enumerated() {
      if call.tool != want.tool || call.arguments != want.arguments {
        differences.append(
          Difference(
            turn: i,
            what: "tool call \(j + 1) is \(call.tool) \(JSONWriter.string(call.arguments)), recorded \(want.tool) "
              + JSONWriter.string(want.arguments)))
      } else if call.output != want.output || call.isError != want.isError {
        differences.append(
          Difference(
            turn: i,
            what: "\(call.tool) answered \(quote(call.output))\(call.isError ? " (an error)" : ""), recorded "
              + "\(quote(want.output))\(want.isError ? " (an error)" : "")"))
      }
    }
  }

  static func quote(_ s: String) -> String {
    let cut = s.count > 160 ? String(s.prefix(160)) + "…" : s
    return JSONWriter.string(.string(cut))
  }

  /// `text` with every regular expression metacharacter escaped.
  static func escapeRegex(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for ch in text {
      if "\\^$.|?*+()[]{}/".contains(ch) { out.append("\\") }
      out.append(ch)
    }
    return out
  }
}
