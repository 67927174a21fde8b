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
}
