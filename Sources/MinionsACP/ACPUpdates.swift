import MinionsCore
import MinionsEngine

/// How Minions' turn events and stored messages read as ACP `session/update`s.
enum ACPUpdates {
  /// ACP's tool kinds, from the tool and what the call does.
  static func kind(_ tool: String, _ arguments: JSONValue) -> String {
    switch tool {
    case "file_operations":
      switch arguments["operation"]?.stringValue {
      case "read", "list", "stat": return "read"
      case "search": return "search"
      case "delete": return "delete"
      default: return "edit"
      }
    case "http_request": return "fetch"
    case "database": return arguments["operation"]?.stringValue == "execute" ? "edit" : "read"
    case "delegate": return "think"
    default: return "other"
    }
  }

  /// A short title a person reads in the editor: "file_operations read notes.txt".
  static func title(_ tool: String, _ arguments: JSONValue) -> String {
    var parts = [tool]
    for key in ["operation", "path", "url", "agent"] {
      if let v = arguments[key]?.stringValue { parts.append(v) }
    }
    return parts.joined(separator: " ")
  }

  static func text(_ s: String) -> JSONValue { ["type": "text", "text": .string(s)] }

  /// The update for one turn event (nil for events ACP has no place for).
  static func update(_ event: TurnEvent) -> JSONValue? {
    switch event {
    case .began:
      return nil
    case .token(let text, _):
      return ["sessionUpdate": "agent_message_chunk", "content": Self.text(text)]
    case .toolCall(let id, let tool, let arguments, _):
      return [
        "sessionUpdate": "tool_call", "toolCallId": .string(id), "title": .string(title(tool, arguments)),
        "kind": .string(kind(tool, arguments)), "status": "in_progress", "rawInput": arguments,
      ]
    case .toolResult(let id, let isError, let output, _):
      return [
        "sessionUpdate": "tool_call_update", "toolCallId": .string(id), "status": isError ? "failed" : "completed",
        "content": [["type": "content", "content": Self.text(output)]], "rawOutput": ["output": .string(output)],
      ]
    case .handoff(let from, let to, let task):
      return ["sessionUpdate": "agent_thought_chunk", "content": Self.text("\(from) hands over to \(to): \(task)")]
    }
  }

  /// A stored conversation replayed as updates (`session/load`).
  static func history(_ messages: [StoredMessage]) -> [JSONValue] {
    var out: [JSONValue] = []
    for m in messages {
      switch m.role {
      case .user:
        out.append(["sessionUpdate": "user_message_chunk", "content": text(m.content)])
      case .assistant:
        if !m.content.isEmpty { out.append(["sessionUpdate": "agent_message_chunk", "content": text(m.content)]) }
        for call in m.toolCalls {
          out.append(
            [
              "sessionUpdate": "tool_call", "toolCallId": .string(call.id),
              "title": .string(title(call.name, call.arguments)), "kind": .string(kind(call.name, call.arguments)),
              "status": "in_progress", "rawInput": call.arguments,
            ])
        }
      case .tool:
        out.append(
          [
            "sessionUpdate": "tool_call_update", "toolCallId": .string(m.toolCallID ?? ""),
            "status": m.isError ? "failed" : "completed", "content": [["type": "content", "content": text(m.content)]],
          ])
      case .system:
        break
      }
    }
    return out
  }

  /// ACP's stop reason for a Minions one.
  static func stopReason(_ stop: StopReason) -> String {
    switch stop {
    case .endTurn: return "end_turn"
    case .maxTokens: return "max_tokens"
    case .maxSteps: return "max_turn_requests"
    case .cancelled: return "cancelled"
    }
  }

  /// The user's prompt blocks as one message: text as is, embedded resources with their text, links
  /// by name and URI.
  static func message(from blocks: [JSONValue]) -> String {
    var parts: [String] = []
    for b in blocks {
      switch b["type"]?.stringValue {
      case "text":
        if let t = b["text"]?.stringValue { parts.append(t) }
      case "resource":
        let r = b["resource"]
        let uri = r?["uri"]?.stringValue ?? ""
        if let t = r?["text"]?.stringValue { parts.append("<context uri=\"\(uri)\">\n\(t)\n</context>") }
      case "resource_link":
        parts.append("[\(b["name"]?.stringValue ?? "link")](\(b["uri"]?.stringValue ?? ""))")
      default:
        break
      }
    }
    return parts.joined(separator: "\n\n")
  }
}
