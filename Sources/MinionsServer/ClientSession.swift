import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine
import Synchronization

/// The server's state for one connected client: where it is in the lifecycle, who it is, and what
/// it declared it can do. It is its connection's handler, so a request reaches its session without a
/// lookup.
public final class ClientSession: JSONRPCConnectionHandler {
  public enum Lifecycle: Sendable, Equatable {
    case uninitialized
    case initializing
    case initialized
    case shutdown
  }

  struct State {
    var lifecycle: Lifecycle = .uninitialized
    var identity: Identity?
    var clientInfo: ClientInfo?
    var capabilities = ClientCapabilities()
    /// Set when the client initialized with an MCP protocol version (contract §7).
    var mcpProtocolVersion: String?
    var exitCode: Int32?
  }

  public let connection: JSONRPCConnection
  let server: MinionsServer
  let state: Mutex<State>

  init(server: MinionsServer, connection: JSONRPCConnection, identity: Identity?) {
    self.server = server
    self.connection = connection
    self.state = Mutex(State(identity: identity))
  }

  // MARK: JSONRPCConnectionHandler

  public func admit(_ request: Request, connection: JSONRPCConnection) -> RequestAdmission {
    server.admit(request, session: self)
  }

  public func handle(_ request: Request, context: RequestContext) async -> Result<JSONValue, ResponseError> {
    await server.handle(request, session: self, context: context)
  }

  public func handle(_ notification: Notification, connection: JSONRPCConnection) {
    server.handle(notification, session: self)
  }

  public func connectionDidClose(_ connection: JSONRPCConnection) {
    server.sessionDidClose(self)
  }

  public var lifecycle: Lifecycle { state.withLock { $0.lifecycle } }
  public var identity: Identity? { state.withLock { $0.identity } }
  public var capabilities: ClientCapabilities { state.withLock { $0.capabilities } }
  public var clientInfo: ClientInfo? { state.withLock { $0.clientInfo } }
  public var isMCP: Bool { state.withLock { $0.mcpProtocolVersion != nil } }
  /// The exit code the client asked for with `exit` (0 after `shutdown`, else 1); nil if it did not.
  public var exitCode: Int32? { state.withLock { $0.exitCode } }

  public func setIdentity(_ identity: Identity?) {
    state.withLock { $0.identity = identity }
  }

  /// Sends a notification unless the client opted out of it.
  public func notify(_ method: String, _ params: JSONValue?) async {
    let optedOut = state.withLock { $0.capabilities.optOutNotifications?.contains(method) ?? false }
    if optedOut { return }
    await connection.notify(method, params)
  }

  /// Sends an encoded notification of `method` unless the client opted out of it.
  public func notify(method: String, encoded body: [UInt8]) async {
    let optedOut = state.withLock { $0.capabilities.optOutNotifications?.contains(method) ?? false }
    if optedOut { return }
    await connection.notify(encoded: body)
  }

  /// Sends a notification that a newer one with the same key may replace (metrics).
  public func notifyLatest(key: String, _ method: String, _ params: JSONValue?) {
    let optedOut = state.withLock { $0.capabilities.optOutNotifications?.contains(method) ?? false }
    if optedOut { return }
    connection.notifyLatest(key: key, method, params)
  }
}
