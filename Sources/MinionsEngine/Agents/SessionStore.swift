import MinionsCore
import MinionsCrypto
import MinionsStore

/// A conversation's summary, as `sessions/list` shows it.
public struct SessionSummary: Sendable, Equatable {
  public var sessionID: String
  public var title: String
  public var agent: String
  public var createdAt: Timestamp
  public var updatedAt: Timestamp
  public var messageCount: Int
}

/// One stored message of a conversation.
public struct StoredMessage: Sendable, Equatable {
  public var role: ChatMessage.Role
  public var content: String
  public var agent: String?
  public var toolCalls: [ToolCallRequest]
  public var toolCallID: String?
  public var toolName: String?
  public var isError: Bool
  public var turnID: String
  public var createdAt: Timestamp

  public init(
    role: ChatMessage.Role, content: String, agent: String? = nil, toolCalls: [ToolCallRequest] = [],
    toolCallID: String? = nil, toolName: String? = nil, isError: Bool = false, turnID: String, createdAt: Timestamp
  ) {
    self.role = role
    self.content = content
    self.agent = agent
    self.toolCalls = toolCalls
    self.toolCallID = toolCallID
    self.toolName = toolName
    self.isError = isError
    self.turnID = turnID
    self.createdAt = createdAt
  }

  /// The message as a model sees it.
  public var chatMessage: ChatMessage {
    ChatMessage(
      role: role, content: content, toolCalls: toolCalls, toolCallID: toolCallID, toolName: toolName, isError: isError)
  }
}

/// Conversations and their messages, per user, with full-text search (SQLite FTS5). A user only ever
/// sees their own: every read and change is filtered by the owner, and another user's session is
/// reported as not found.
public final class SessionStore: Sendable {
  private let database: Database
  private let clock: EngineClock

  init(database: Database, clock: EngineClock) {
    self.database = database
    self.clock = clock
  }

  static let columns = "id, title, agent, created_at, updated_at, message_count"

  static func summary(_ row: Row) -> SessionSummary {
    SessionSummary(
      sessionID: row[0].text ?? "", title: row[1].text ?? "", agent: row[2].text ?? "",
      createdAt: Timestamp(millisecondsSinceEpoch: row[3].int64 ?? 0),
      updatedAt: Timestamp(millisecondsSinceEpoch: row[4].int64 ?? 0), messageCount: row[5].int ?? 0)
  }

  /// A title from a conversation's first message: its first line, shortened at a word to 60 characters.
  public static func title(from message: String) -> String {
    let line = message.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmed() ?? ""
    guard !line.isEmpty else { return "New conversation" }
    guard line.count > 60 else { return line }
    var cut = String(line.prefix(60))
    if let space = cut.lastIndex(of: " "), cut.distance(from: cut.startIndex, to: space) > 30 {
      cut = String(cut[..<space])
    }
    return cut + "…"
  }

  /// The session if it exists and belongs to `userID`.
  public func session(_ id: String, userID: Int64) async throws -> SessionSummary? {
    try await database.read { c in
      try c.queryOne(
        "SELECT \(Self.columns) FROM sessions WHERE id = ? AND user_id = ?", [.text(id), .int(userID)]
      ).map(Self.summary)
    }
  }

  /// The session, or NotFound (also for another user's session: its existence is not revealed).
  public func require(_ id: String, userID: Int64) async throws -> SessionSummary {
    guard let s = try await session(id, userID: userID) else { throw EngineError.notFound(kind: "session", id: id) }
    return s
  }

  /// Every message of a session in order.
  public func messages(_ id: String) async throws -> [StoredMessage] {
    try await database.read { c in
      try c.query(
        "SELECT role, content, agent, tool_calls, tool_call_id, tool_name, is_error, turn_id, created_at "
          + "FROM messages WHERE session_id = ? ORDER BY id", [.text(id)]
      ).map(Self.message)
    }
  }

  static func message(_ row: Row) -> StoredMessage {
    var calls: [ToolCallRequest] = []
    if let text = row[3].text, let json = try? JSONParser.parse(text) {
      calls = (try? JSONValueDecoder().decode([ToolCallRequest].self, from: json)) ?? []
    }
    return StoredMessage(
      role: ChatMessage.Role(rawValue: row[0].text ?? "") ?? .user, content: row[1].text ?? "", agent: row[2].text,
      toolCalls: calls, toolCallID: row[4].text, toolName: row[5].text, isError: row[6].int == 1,
      turnID: row[7].text ?? "", createdAt: Timestamp(millisecondsSinceEpoch: row[8].int64 ?? 0))
  }

  /// A fresh session id (`s_` and 16 hex digits).
  public static func newID() -> String { "s_" + Crypto.hex(Crypto.randomBytes(8)) }

  /// Creates a session for a first turn (titled from its first message).
  public func create(_ id: String, userID: Int64, agent: String, firstMessage: String) async throws {
    let now = clock.now().millisecondsSinceEpoch
    let title = Self.title(from: firstMessage)
    try await database.write { c in
      try c.execute(
        "INSERT INTO sessions(id, user_id, title, agent, created_at, updated_at, message_count) "
          + "VALUES (?, ?, ?, ?, ?, ?, 0)",
        [.text(id), .int(userID), .text(title), .text(agent), .int(now), .int(now)])
    }
  }

  /// Removes a session that never got a message (its first turn failed).
  public func deleteIfEmpty(_ id: String) async {
    _ = try? await database.write { c in
      try c.execute("DELETE FROM sessions WHERE id = ? AND message_count = 0", [.text(id)])
    }
  }

  /// Stores one turn's messages in one transaction.
  public func appendTurn(sessionID: String, messages: [StoredMessage]) async throws {
    let now = clock.now().millisecondsSinceEpoch
    var rows: [[SQLValue]] = []
    for m in messages {
      let calls: SQLValue =
        m.toolCalls.isEmpty ? .null : .text(JSONWriter.string(try JSONValueEncoder().encode(m.toolCalls)))
      rows.append([
        .text(sessionID), .text(m.turnID), .text(m.role.rawValue), m.agent.map(SQLValue.text) ?? .null,
        .text(m.content), calls, m.toolCallID.map(SQLValue.text) ?? .null, m.toolName.map(SQLValue.text) ?? .null,
        .int(m.isError ? 1 : 0), .int(m.createdAt.millisecondsSinceEpoch),
      ])
    }
    let count = rows.count
    let values = rows
    try await database.write { c in
      for row in values {
        try c.execute(
          "INSERT INTO messages(session_id, turn_id, role, agent, content, tool_calls, tool_call_id, tool_name, "
            + "is_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
      }
      try c.execute(
        "UPDATE sessions SET message_count = message_count + ?, updated_at = ? WHERE id = ?",
        [.int(Int64(count)), .int(now), .text(sessionID)])
    }
  }

  /// A page of the user's sessions, most recently updated first.
  public func list(userID: Int64, cursor: String?, limit: Int) async throws -> (
    sessions: [SessionSummary], nextCursor: String?
  ) {
    var after: (Int64, String)?
    if let cursor {
      let parts = cursor.split(separator: ":", maxSplits: 1)
      guard parts.count == 2, let updated = Int64(parts[0]) else {
        throw EngineError.invalidField("cursor", "is not a cursor this server gave out")
      }
      after = (updated, String(parts[1]))
    }
    let page = max(1, min(limit, 200))
    let start = after
    let rows = try await database.read { c in
      if let (updated, id) = start {
        return try c.query(
          "SELECT \(Self.columns) FROM sessions WHERE user_id = ? AND (updated_at < ? OR (updated_at = ? AND id < ?)) "
            + "ORDER BY updated_at DESC, id DESC LIMIT ?",
          [.int(userID), .int(updated), .int(updated), .text(id), .int(Int64(page + 1))])
      }
      return try c.query(
        "SELECT \(Self.columns) FROM sessions WHERE user_id = ? ORDER BY updated_at DESC, id DESC LIMIT ?",
        [.int(userID), .int(Int64(page + 1))])
    }
    var sessions = rows.map(Self.summary)
    var next: String?
    if sessions.count > page {
      sessions.removeLast()
      let last = sessions[sessions.count - 1]
      next = "\(last.updatedAt.millisecondsSinceEpoch):\(last.sessionID)"
    }
    return (sessions, next)
  }

  public func rename(_ id: String, userID: Int64, title: String) async throws {
    let t = title.trimmed()
    guard !t.isEmpty, t.count <= 200 else { throw EngineError.invalidField("title", "must be 1 to 200 characters") }
    let changed = try await database.write { c in
      try c.execute(
        "UPDATE sessions SET title = ? WHERE id = ? AND user_id = ?", [.text(t), .text(id), .int(userID)])
      return c.changes
    }
    if changed == 0 { throw EngineError.notFound(kind: "session", id: id) }
  }

  public func delete(_ id: String, userID: Int64) async throws {
    let changed = try await database.write { c in
      try c.execute("DELETE FROM sessions WHERE id = ? AND user_id = ?", [.text(id), .int(userID)])
      return c.changes
    }
    if changed == 0 { throw EngineError.notFound(kind: "session", id: id) }
  }

  /// A search hit: the session and a snippet of the matching message with the terms marked `**…**`.
  public struct SearchResult: Sendable, Equatable {
    public var sessionID: String
    public var title: String
    public var snippet: String
  }

  /// The FTS5 query for a user's words: each word quoted (so punctuation and FTS operators are taken
  /// literally), all of them required.
  static func matchExpression(_ query: String) -> String? {
    let words = query.split(whereSeparator: { $0.isWhitespace }).map {
      "\"" + $0.replacing("\"", with: "\"\"") + "\""
    }
    return words.isEmpty ? nil : words.joined(separator: " ")
  }

  /// The user's sessions whose messages contain every word of `query`, newest match first, one result
  /// per session.
  public func search(userID: Int64, query: String, limit: Int) async throws -> [SearchResult] {
    guard query.utf8.count <= 1000, let expression = Self.matchExpression(query) else {
      throw EngineError.invalidField("query", "must have 1 to 1000 bytes of words to look for")
    }
    let wanted = max(1, min(limit, 100))
    return try await database.read { c in
      var results: [SearchResult] = []
      var seen = Set<String>()
      try c.forEachRow(
        "SELECT m.session_id, s.title, snippet(messages_fts, 0, '**', '**', '…', 12) FROM messages_fts "
          + "JOIN messages m ON m.id = messages_fts.rowid JOIN sessions s ON s.id = m.session_id "
          + "WHERE messages_fts MATCH ? AND s.user_id = ? ORDER BY messages_fts.rowid DESC LIMIT ?",
        [.text(expression), .int(userID), .int(Int64(wanted * 8))]
      ) { row in
        guard results.count < wanted, let id = row[0].text, seen.insert(id).inserted else { return }
        results.append(SearchResult(sessionID: id, title: row[1].text ?? "", snippet: row[2].text ?? ""))
      }
      return results
    }
  }

  /// The remembered approval decisions of a session: tool → allow (true) or reject (false).
  public func rememberedApprovals(_ id: String) async throws -> [String: Bool] {
    try await database.read { c in
      var out: [String: Bool] = [:]
      for row in try c.query("SELECT tool, decision FROM session_approvals WHERE session_id = ?", [.text(id)]) {
        if let tool = row[0].text { out[tool] = row[1].text == "allow" }
      }
      return out
    }
  }

  /// Remembers `allow_always` / `reject_always` for a session and tool.
  public func rememberApproval(_ id: String, tool: String, allow: Bool, by username: String?) async throws {
    let now = clock.now().millisecondsSinceEpoch
    try await database.write { c in
      try c.execute(
        "INSERT INTO session_approvals(session_id, tool, decision, decided_by, decided_at) VALUES (?, ?, ?, ?, ?) "
          + "ON CONFLICT(session_id, tool) DO UPDATE SET decision = excluded.decision, "
          + "decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        [.text(id), .text(tool), .text(allow ? "allow" : "reject"), username.map(SQLValue.text) ?? .null, .int(now)])
    }
  }
}
