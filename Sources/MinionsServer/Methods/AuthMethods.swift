import JSONRPC
import MinionsCore
import MinionsEngine

/// `auth/*`: logging in and out, tokens, and who the connection is.
enum AuthMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "auth/login", summary: "Checks a username and password, binds the connection to that user, returns a token.",
      description:
        "An unknown user and a wrong password get the same -32010. After security.lockout.maxFailures failures the account locks (-32012 with retryAfterSeconds).",
      access: .open, errors: [.unauthenticated, .accountLocked], params: LoginParams.self, result: LoginResult.self
    ) { params, call in
      let user = try await call.engine.authenticator.login(
        username: params.username, password: params.password, source: call.source)
      let issued = call.engine.authenticator.issueToken(for: user)
      let identity = user.identity(method: .password, tokenID: issued.tokenID)
      call.session.setIdentity(identity)
      return LoginResult(token: issued.token, expiresAt: issued.expiresAt, user: UserInfo(identity))
    }

    table.register(
      "auth/logout", summary: "Revokes the connection's token and ends its authentication.",
      description: "The local owner on stdio stays authenticated (it has no token).",
      access: .authenticated, params: NoParams.self, result: LogoutResult.self
    ) { _, call in
      let identity = try call.requireIdentity()
      if identity.method == .localOwner { return LogoutResult(revoked: false) }
      var revoked = false
      if let tokenID = identity.tokenID {
        try await call.engine.authenticator.revoke(tokenID: tokenID, username: identity.username)
        revoked = true
      }
      call.session.setIdentity(nil)
      call.engine.audit.record(username: identity.username, action: "auth.logout", target: call.source, outcome: .ok)
      return LogoutResult(revoked: revoked)
    }

    table.register(
      "auth/whoami", summary: "Returns the user this connection acts as.",
      access: .authenticated, params: NoParams.self, result: WhoAmIResult.self
    ) { _, call in
      let identity = try call.requireIdentity()
      return WhoAmIResult(
        username: identity.username, email: identity.email, role: identity.role,
        permissions: identity.permissions, authMethod: identity.method.rawValue)
    }

    table.register(
      "auth/refresh", summary: "Issues a fresh token for the connection's user and revokes the one it replaces.",
      description:
        "For connections that logged in with a password or a token; API-key and local-owner sessions have no token to refresh.",
      access: .authenticated, errors: [.invalidRequest], params: NoParams.self, result: RefreshResult.self
    ) { _, call in
      let identity = try call.requireIdentity()
      guard identity.method == .password || identity.method == .token, let userID = identity.userID else {
        throw ResponseError.invalidRequest("only sessions that logged in with a password or token can refresh")
      }
      guard let user = try await call.engine.users.find(id: userID), !user.disabled,
        user.tokenVersion == identity.tokenVersion
      else { throw EngineError.unauthenticated("the account changed; log in again") }
      let issued = call.engine.authenticator.issueToken(for: user)
      if let old = identity.tokenID {
        try await call.engine.authenticator.revoke(tokenID: old, username: user.username)
      }
      call.session.setIdentity(user.identity(method: identity.method, tokenID: issued.tokenID))
      call.engine.audit.record(username: user.username, action: "auth.refresh", target: call.source, outcome: .ok)
      return RefreshResult(token: issued.token, expiresAt: issued.expiresAt)
    }
  }
}

extension MinionsServer {
  /// Checks `initialize.auth` credentials and returns the identity they prove.
  func authenticate(_ credentials: AuthCredentials, call: CallContext) async throws -> Identity {
    switch credentials {
    case .token(let token):
      return try await engine.authenticator.authenticate(token: token)
    case .apiKey(let key):
      return try await engine.authenticator.authenticate(apiKey: key)
    case .password(let username, let password):
      let user = try await engine.authenticator.login(username: username, password: password, source: call.source)
      return user.identity(method: .password)
    }
  }
}
