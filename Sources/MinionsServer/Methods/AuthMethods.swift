import JSONRPC
import MinionsCore
import MinionsEngine

/// `auth/*`: who the connection is.
enum AuthMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "auth/whoami", summary: "Returns the user this connection acts as.",
      access: .authenticated, params: NoParams.self, result: WhoAmIResult.self
    ) { _, call in
      let identity = try call.requireIdentity()
      return WhoAmIResult(
        username: identity.username, email: identity.email, role: identity.role,
        permissions: identity.permissions, authMethod: identity.method.rawValue)
    }
  }
}

extension MinionsServer {
  /// Checks credentials and returns the identity they prove.
  func authenticate(_ credentials: AuthCredentials, call: CallContext) async throws -> Identity {
    // Users, tokens and API keys arrive with the store; until then no credential can be verified.
    throw ResponseError(code: .unauthenticated, message: "Unauthenticated: this server has no user store configured")
  }
}
