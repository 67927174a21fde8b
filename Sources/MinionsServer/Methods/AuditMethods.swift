import JSONRPC
import MinionsCore
import MinionsEngine

/// `audit/query`: the security log, newest first.
enum AuditMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "audit/query", summary: "Returns audit entries, newest first, filtered and paginated.",
      access: .permission(.auditRead), params: AuditQueryParams.self, result: AuditQueryResult.self
    ) { p, call in
      if let limit = p.limit, !(1...1000).contains(limit) {
        throw ResponseError.invalidParams(field: "limit", "must be between 1 and 1000")
      }
      var cursor: Int64? = nil
      if let c = p.cursor {
        guard let v = Int64(c), v > 0 else {
          throw ResponseError.invalidParams(field: "cursor", "not a cursor this method returned")
        }
        cursor = v
      }
      let page = try await call.engine.audit.query(
        .init(
          since: p.since, until: p.until, username: p.username, action: p.action, limit: p.limit ?? 100, cursor: cursor)
      )
      return AuditQueryResult(
        entries: page.entries.map {
          AuditEntryRecord(
            id: $0.id, at: $0.at, username: $0.username, action: $0.action, target: $0.target,
            outcome: $0.outcome, details: $0.details)
        },
        nextCursor: page.nextCursor.map(String.init))
    }
  }
}
