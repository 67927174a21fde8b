import JSONRPC
import MinionsCore
import MinionsEngine

/// `sessions/*`: a user's conversations. Each user sees and changes only their own; another user's
/// session is reported as not found.
enum SessionMethods {
  static func userID(_ call: CallContext) throws -> Int64 {
    let identity = try call.requireIdentity()
    guard let id = identity.userID else { throw ResponseError.unauthenticated }
    return id
  }

  static func register(in table: inout MethodTable) {
    table.register(
      "sessions/list", summary: "Lists the caller's conversations, most recently active first.",
      access: .permission(.sessionsRead), params: SessionsListParams.self, result: SessionsListResult.self
    ) { p, call in
      if let limit = p.limit, !(1...200).contains(limit) {
        throw ResponseError.invalidParams(field: "limit", "must be between 1 and 200")
      }
      let page = try await call.engine.sessions.list(userID: try userID(call), cursor: p.cursor, limit: p.limit ?? 50)
      return SessionsListResult(sessions: page.sessions.map(SessionRecord.init), nextCursor: page.nextCursor)
    }

    table.register(
      "sessions/get", summary: "Returns a conversation with all its messages.",
      access: .permission(.sessionsRead), errors: [.notFound], params: SessionIDParams.self,
      result: SessionGetResult.self
    ) { p, call in
      let session = try await call.engine.sessions.require(p.sessionId, userID: try userID(call))
      let messages = try await call.engine.sessions.messages(p.sessionId)
      return SessionGetResult(session: SessionRecord(session), messages: messages.map(MessageRecord.init))
    }

    table.register(
      "sessions/rename", summary: "Gives a conversation a new title.",
      access: .permission(.chat), errors: [.notFound], params: SessionRenameParams.self, result: SessionRecord.self
    ) { p, call in
      let user = try userID(call)
      try await call.engine.sessions.rename(p.sessionId, userID: user, title: p.title)
      return SessionRecord(try await call.engine.sessions.require(p.sessionId, userID: user))
    }

    table.register(
      "sessions/delete", summary: "Deletes a conversation and its messages.",
      description: "A turn running in the session is cancelled first.",
      access: .permission(.chat), errors: [.notFound], params: SessionIDParams.self, result: RemovedResult.self
    ) { p, call in
      let user = try userID(call)
      _ = try await call.engine.sessions.require(p.sessionId, userID: user)
      if call.engine.runner.cancel(sessionID: p.sessionId, userID: user) {
        // Let the cancelled turn store what it had before the session goes.
        for _ in 0..<200 where call.engine.runner.isRunning(sessionID: p.sessionId) {
          try? await Task.sleep(nanoseconds: 5_000_000)
        }
      }
      try await call.engine.sessions.delete(p.sessionId, userID: user)
      call.engine.audit.record(
        username: call.identity?.username, action: "session.delete", target: p.sessionId, outcome: .ok)
      return RemovedResult(removed: true)
    }

    table.register(
      "sessions/export",
      summary: "Returns a conversation as Markdown (default), JSON, or a script that replays it as a regression test.",
      access: .permission(.sessionsRead), errors: [.notFound], params: SessionExportParams.self,
      result: ContentResult.self
    ) { p, call in
      let session = try await call.engine.sessions.require(p.sessionId, userID: try userID(call))
      let messages = try await call.engine.sessions.messages(p.sessionId)
      switch p.format ?? .markdown {
      case .markdown:
        return ContentResult(content: SessionExport.markdown(session, messages: messages))
      case .json:
        let value = try JSONValueEncoder(nilEncoding: .null).encode(
          SessionGetResult(session: SessionRecord(session), messages: messages.map(MessageRecord.init)))
        return ContentResult(content: JSONWriter.string(value))
      case .script:
        return ContentResult(content: JSONWriter.string(SessionReplay.script(session, messages: messages)))
      }
    }

    table.register(
      "sessions/search", summary: "Finds the caller's conversations whose messages contain every word of the query.",
      description: "Full-text search (SQLite FTS5); newest matches first, one result per conversation.",
      access: .permission(.sessionsRead), params: SessionSearchParams.self, result: SessionSearchResult.self
    ) { p, call in
      if let limit = p.limit, !(1...100).contains(limit) {
        throw ResponseError.invalidParams(field: "limit", "must be between 1 and 100")
      }
      let hits = try await call.engine.sessions.search(userID: try userID(call), query: p.query, limit: p.limit ?? 20)
      return SessionSearchResult(
        results: hits.map { SessionSearchHit(sessionId: $0.sessionID, title: $0.title, snippet: $0.snippet) })
    }
  }
}
