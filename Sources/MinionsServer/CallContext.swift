import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine

/// What a method handler gets besides its params: the request, the client session and the server.
public struct CallContext: Sendable {
  public let request: RequestContext
  public let session: ClientSession
  public let server: MinionsServer

  /// The caller's identity; handlers of non-open methods can rely on it being present.
  public var identity: Identity? { session.identity }

  /// The caller's identity, or -32010.
  public func requireIdentity() throws -> Identity {
    guard let identity = session.identity else { throw ResponseError.unauthenticated }
    return identity
  }

  public var logger: Logger { server.logger }
  public var engine: Engine { server.engine }

  /// Checks a permission a method needs only for some params (e.g. system settings); a denial is
  /// audited like any other.
  public func require(_ permission: Permission) throws -> Identity {
    let identity = try requireIdentity()
    guard identity.has(permission) else {
      engine.audit.record(
        username: identity.username, action: "permission.denied", target: request.method,
        outcome: .denied, details: ["permission": .string(permission.rawValue)])
      throw ResponseError.permissionDenied(permission.rawValue)
    }
    return identity
  }

  /// Where a login came from, for the audit log.
  var source: String { "\(request.connection.endpoint)" }
}
