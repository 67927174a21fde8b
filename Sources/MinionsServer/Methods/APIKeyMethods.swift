import JSONRPC
import MinionsCore
import MinionsEngine

/// `apikeys/*`: keys for programs; each user manages their own.
enum APIKeyMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "apikeys/create", summary: "Creates an API key for the caller; the key is shown only in this reply.",
      description: "Authenticate with it as initialize {auth: {apiKey}}. Scopes narrow the caller's permissions.",
      access: .authenticated, params: APIKeyCreateParams.self, result: APIKeyCreateResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      let (info, key) = try await call.engine.apiKeys.create(
        owner: identity, name: p.name, scopes: p.scopes,
        expiresInDays: p.expiresInDays)
      return APIKeyCreateResult(
        id: info.id, key: key, prefix: info.prefix, scopes: info.scopes, expiresAt: info.expiresAt)
    }

    table.register(
      "apikeys/list", summary: "Lists the caller's keys (never the keys themselves), or everyone's with all: true.",
      access: .authenticated, params: APIKeyListParams.self, result: APIKeyListResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      let userID: Int64?
      if p.all == true {
        _ = try call.require(.usersManage)
        userID = nil
      } else {
        userID = identity.userID
      }
      return APIKeyListResult(keys: try await call.engine.apiKeys.list(userID: userID).map(APIKeyRecord.init))
    }

    table.register(
      "apikeys/revoke", summary: "Revokes a key (one's own, or anyone's with users.manage); sessions using it end.",
      access: .authenticated, errors: [.notFound], params: APIKeyRevokeParams.self, result: RevokedResult.self
    ) { p, call in
      try await call.engine.apiKeys.revoke(id: p.id, by: try call.requireIdentity())
      return RevokedResult(revoked: true)
    }
  }
}
