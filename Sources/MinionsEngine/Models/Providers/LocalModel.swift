import MinionsCore

/// The built-in offline model: always there, so the engine works with nothing installed. It is honest
/// about what it is, streams its answer word by word, and recognises a few plain requests ("list the
/// files", "read README.md", "query data.db: SELECT …", "fetch https://…", "ask the coder to …") by
/// calling the matching tool when the agent offers it; after the tools answer it summarises them.
/// Everything it does is deterministic.
struct LocalModel: ModelProvider {
  /// Pause between streamed words (a little, so a person sees it stream; none in tests).
  let tokenDelay: Double

  static let introduction =
    "I am Minions' built-in offline model. I follow a few simple rules and do not understand "
    + "language the way a real model does, but I can show how the engine works: I can list the files in your workspace, "
    + "read a file, query a SQLite database, fetch a URL and ask another agent for help. Try \"list the files\" or "
    + "\"read README.md\". For real answers, run Ollama (set OLLAMA_HOST if it is not on 127.0.0.1:11434) or set "
    + "OPENAI_API_KEY or ANTHROPIC_API_KEY, then call models/refresh."

  func complete(_ request: ModelRequest, model: ModelConfig, emit: (ModelEvent) async throws -> Void) async throws {
    let offered = Set(request.tools.map(\.name))
    var reply = ""
    var calls: [(String, JSONValue)] = []
    if let last = request.messages.last, last.role == .tool {
      reply = Self.summary(of: request.messages)
    } else {
      let text = request.messages.last { $0.role == .user }?.content ?? ""
      if let call = Self.toolCall(for: text, offered: offered) {
        calls.append(call)
        reply = Self.preface(for: call.0)
      } else {
        reply = Self.answer(to: text)
      }
    }
    var words = 0
    for token in Self.tokens(reply) {
      if tokenDelay > 0 {
        try await Task.sleep(nanoseconds: UInt64(tokenDelay * 1e9))
      } else {
        try Task.checkCancellation()
      }
      words += 1
      try await emit(.text(token))
    }
    for (index, call) in calls.enumerated() {
      try await emit(.toolCallStart(index: index, id: "local_\(index)_\(abs(reply.hashValue % 100_000))", name: call.0))
      try await emit(.toolCallArguments(index: index, fragment: JSONWriter.string(call.1)))
      try await emit(.toolCallEnd(index: index))
    }
    let promptWords = request.messages.reduce(0) { $0 + $1.content.split(separator: " ").count }
    try await emit(.usage(promptTokens: max(1, promptWords), completionTokens: words + calls.count * 8))
    try await emit(.finish(calls.isEmpty ? .stop : .toolCalls))
  }

  /// Words with the spaces that follow them, so joining the tokens gives back the text exactly.
  static func tokens(_ text: String) -> [String] {
    var out: [String] = []
    var current = ""
    for ch in text {
      current.append(ch)
      if ch == " " || ch == "\n" {
        out.append(current)
        current = ""
      }
    }
    if !current.isEmpty { out.append(current) }
    return out
  }

  static func toolCall(for text: String, offered: Set<String>) -> (String, JSONValue)? {
    let lower = text.lowercased()
    if offered.contains("delegate"), let m = text.firstMatch(of: /(?i)\bask (?:the )?([a-z][a-z0-9_-]*) to (.+)/) {
      return (
        "delegate", ["agent": .string(String(m.output.1).lowercased()), "task": .string(String(m.output.2).trimmed())]
      )
    }
    if offered.contains("database"), let m = text.firstMatch(of: /(?i)query\s+(\S+)\s*:\s*(.+)/) {
      return (
        "database",
        ["operation": "query", "database": .string(String(m.output.1)), "sql": .string(String(m.output.2).trimmed())]
      )
    }
    if offered.contains("http_request"), let m = text.firstMatch(of: /(?i)fetch\s+(https?:\/\/\S+)/) {
      return ("http_request", ["method": "GET", "url": .string(String(m.output.1))])
    }
    if offered.contains("file_operations") {
      if let m = text.firstMatch(of: /(?i)\bread\s+(?:the\s+file\s+)?([^\s]+)/) {
        var path = String(m.output.1)
        while let last = path.last, ".,;:!?".contains(last) && path.count > 1 && !path.hasSuffix("..") {
          path.removeLast()
        }
        return ("file_operations", ["operation": "read", "path": .string(path)])
      }
      if lower.contains("list") && lower.contains("file") {
        var path = "."
        if let m = text.firstMatch(of: /(?i)files?\s+in\s+([^\s?!]+)/) { path = String(m.output.1) }
        return ("file_operations", ["operation": "list", "path": .string(path)])
      }
    }
    return nil
  }

  static func preface(for tool: String) -> String {
    switch tool {
    case "delegate": return "I will hand this to another agent. "
    case "database": return "I will run that query. "
    case "http_request": return "I will fetch that address. "
    default: return "Let me look at the workspace. "
    }
  }

  static func answer(to text: String) -> String {
    let lower = text.lowercased().trimmed()
    if lower.isEmpty { return introduction }
    if ["hello", "hi", "hey", "hello!", "hi!"].contains(lower) || lower.hasPrefix("hello ") || lower.hasPrefix("hi ") {
      return "Hello! " + introduction
    }
    return introduction
  }

  /// A short account of the tool results that answer the last assistant message.
  static func summary(of messages: [ChatMessage]) -> String {
    let results = messages.reversed().prefix { $0.role == .tool }.reversed()
    var lines: [String] = []
    for r in results {
      let name = r.toolName ?? "the tool"
      if r.isError {
        lines.append("\(name) failed: \(r.content.prefix(300))")
        continue
      }
      let content = r.content.trimmed()
      let entries = content.split(separator: "\n")
      if entries.count > 1 {
        let shown = entries.prefix(8).joined(separator: ", ")
        lines.append("\(name) returned \(entries.count) lines: \(shown)\(entries.count > 8 ? ", …" : "")")
      } else {
        lines.append("\(name) returned: \(content.prefix(400))\(content.count > 400 ? "…" : "")")
      }
    }
    if lines.isEmpty { return "The tools returned nothing." }
    return "Here is what I found. " + lines.joined(separator: "\n")
  }
}
