/// Why a request to an MCP server did not produce a result. The message is a sentence naming the server.
public struct MCPError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    /// The server program could not be started.
    case startFailed
    /// The server answered `initialize` with something Minions cannot work with.
    case handshakeFailed
    /// The server answered with a JSON-RPC error (`code`).
    case remoteError
    /// The server answered with a result that is not what MCP says it should be.
    case invalidResponse
    /// No answer within the request's time limit.
    case timeout
    /// The server process ended (or closed stdout) before answering.
    case serverExited
    /// The server died too often within the restart window; it is not restarted for now.
    case restartLimit
    /// The client was stopped.
    case stopped
  }

  public var kind: Kind
  public var message: String
  /// The JSON-RPC error code, for `.remoteError`.
  public var code: Int?

  public init(_ kind: Kind, _ message: String, code: Int? = nil) {
    self.kind = kind
    self.message = message
    self.code = code
  }

  public var description: String { message }
}
