import MinionsCore

/// A conversation as Markdown: a heading with the title, then each message under its speaker, tool
/// calls as fenced JSON and tool results as fenced text.
public enum SessionExport {
  public static func markdown(_ session: SessionSummary, messages: [StoredMessage]) -> String {
    var out = "# \(session.title)\n\n"
    out += "Session `\(session.sessionID)` · agent \(session.agent) · started \(session.createdAt.iso8601())"
    out += " · \(session.messageCount) messages\n"
    for m in messages {
      let when = m.createdAt.iso8601()
      switch m.role {
      case .system:
        out += "\n## System · \(when)\n\n\(m.content)\n"
      case .user:
        out += "\n## User · \(when)\n\n\(m.content)\n"
      case .assistant:
        out += "\n## \(m.agent ?? "assistant") · \(when)\n"
        if !m.content.isEmpty { out += "\n\(m.content)\n" }
        for call in m.toolCalls {
          out += "\nCalls `\(call.name)` (\(call.id)):\n\n```json\n\(JSONWriter.string(call.arguments))\n```\n"
        }
      case .tool:
        let status = m.isError ? "failed" : "result"
        out += "\n### \(m.toolName ?? "tool") \(status) (\(m.toolCallID ?? "")) · \(when)\n\n"
        out += fence(m.content)
      }
    }
    return out
  }

  /// Text in a code fence long enough that no backtick run inside can close it.
  static func fence(_ text: String) -> String {
    var longest = 0
    var run = 0
    for ch in text {
      if ch == "`" {
        run += 1
        longest = max(longest, run)
      } else {
        run = 0
      }
    }
    let ticks = String(repeating: "`", count: max(3, longest + 1))
    return "\(ticks)\n\(text)\(text.hasSuffix("\n") ? "" : "\n")\(ticks)\n"
  }
}
