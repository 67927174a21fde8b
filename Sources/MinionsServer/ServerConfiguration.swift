import JSONRPCTransport
import MinionsCore

/// How the server runs: what the command line and environment decided.
public struct ServerConfiguration: Sendable {
  /// Require authentication on stdio too (`--require-auth`); otherwise stdio is the local owner.
  public var requireAuthOnStdio: Bool
  public var connectionOptions: JSONRPCConnection.Options
  /// The directory file tools work in (`--workspace`).
  public var workspace: String
  /// Where the database and keys live (`MINIONS_DATA_DIR`, else XDG).
  public var dataDirectory: String
  /// Most TCP connections served at once; more are closed right after accept.
  public var maxConnections: Int

  public init(
    requireAuthOnStdio: Bool = false, connectionOptions: JSONRPCConnection.Options = .init(),
    workspace: String = ".", dataDirectory: String = ".", maxConnections: Int = 512
  ) {
    self.requireAuthOnStdio = requireAuthOnStdio
    self.connectionOptions = connectionOptions
    self.workspace = workspace
    self.dataDirectory = dataDirectory
    self.maxConnections = maxConnections
  }
}

public enum MinionsVersion {
  /// The engine's version, as `minions version` and `initialize` report it.
  public static let current = MinionsBuild.version
  /// The Minions protocol version.
  public static let protocolVersion = 1
  /// The MCP protocol versions answered when an MCP host initializes, oldest first.
  public static let mcpVersions = ["2024-11-05", "2025-03-26", "2025-06-18"]
}
