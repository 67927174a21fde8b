import MinionsCore
import MinionsEngine

/// `initialize.protocolVersion`: the Minions protocol version (1), or an MCP date such as
/// "2025-06-18", which switches the connection to MCP-compatible answers.
public enum ProtocolVersion: Codable, Sendable, Equatable, JSONSchemaDescribing {
  case minions(Int)
  case mcp(String)

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    if let i = try? c.decode(Int.self) {
      guard i >= 1 else {
        throw JSONDecodingError(path: "protocolVersion", message: "must be 1 (or an MCP date string)")
      }
      self = .minions(i)
      return
    }
    guard let s = try? c.decode(String.self) else {
      throw JSONDecodingError(path: "protocolVersion", message: "expected the integer 1 or an MCP date string")
    }
    let isDate = s.utf8.count == 10 && Timestamp(iso8601: s) != nil
    guard isDate else {
      throw JSONDecodingError(
        path: "protocolVersion",
        message: "expected the integer 1 or an MCP date string like \"2025-06-18\", got \"\(s)\"")
    }
    self = .mcp(s)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    switch self {
    case .minions(let i): try c.encode(i)
    case .mcp(let s): try c.encode(s)
    }
  }

  public static var jsonSchema: JSONValue {
    ["oneOf": [["type": "integer", "const": 1], ["type": "string", "description": "an MCP protocol version date"]]]
  }
  public static var schemaSample: ProtocolVersion { .minions(1) }
}

public struct ClientInfo: Codable, Sendable, Equatable {
  public var name: String
  public var version: String?
}

public struct ClientCapabilities: Codable, Sendable, Equatable {
  /// The client answers `approval/request`.
  public var approvals: Bool?
  /// Merge token updates arriving within this many milliseconds into one `agent/update`.
  public var tokenCoalesceMs: Int?
  /// Notification methods the client does not want.
  public var optOutNotifications: [String]?

  public init(approvals: Bool? = nil, tokenCoalesceMs: Int? = nil, optOutNotifications: [String]? = nil) {
    self.approvals = approvals
    self.tokenCoalesceMs = tokenCoalesceMs
    self.optOutNotifications = optOutNotifications
  }
}

/// Credentials: `{token}`, `{apiKey}` or `{username, password}`.
public enum AuthCredentials: Decodable, Sendable, JSONSchemaDescribing {
  case token(String)
  case apiKey(String)
  case password(username: String, password: String)

  enum CodingKeys: String, CodingKey { case token, apiKey, username, password }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    if c.contains(.token) {
      self = .token(try c.decode(String.self, forKey: .token))
    } else if c.contains(.apiKey) {
      self = .apiKey(try c.decode(String.self, forKey: .apiKey))
    } else if c.contains(.username) || c.contains(.password) {
      self = .password(
        username: try c.decode(String.self, forKey: .username),
        password: try c.decode(String.self, forKey: .password))
    } else {
      throw JSONDecodingError(path: "auth", message: "expected {token}, {apiKey} or {username, password}")
    }
  }

  public static var jsonSchema: JSONValue {
    [
      "oneOf": [
        ["type": "object", "properties": ["token": ["type": "string"]], "required": ["token"]],
        ["type": "object", "properties": ["apiKey": ["type": "string"]], "required": ["apiKey"]],
        [
          "type": "object", "properties": ["username": ["type": "string"], "password": ["type": "string"]],
          "required": ["username", "password"],
        ],
      ]
    ]
  }
  public static var schemaSample: AuthCredentials { .token("") }
}

public struct InitializeParams: Decodable, Sendable, JSONSchemaDocumented {
  public var protocolVersion: ProtocolVersion?
  public var clientInfo: ClientInfo?
  public var capabilities: ClientCapabilities?
  public var auth: AuthCredentials?

  public static var fieldDescriptions: [String: String] {
    [
      "protocolVersion": "1, or an MCP date string to be answered as an MCP server",
      "auth": "credentials; required on TCP before any non-open method (or use auth/login)",
    ]
  }
}

public struct ServerInfo: Codable, Sendable {
  public var name: String
  public var version: String
}

public struct ServerCapabilities: Codable, Sendable {
  /// Every request method the server accepts.
  public var methods: [String]
  /// Every notification the server may send.
  public var notifications: [String]
  /// For MCP clients only: MCP's tools capability (absent otherwise).
  public var tools: MCPToolsCapability?

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode(methods, forKey: .methods)
    try c.encode(notifications, forKey: .notifications)
    if let tools { try c.encode(tools, forKey: .tools) }
  }
}

/// MCP's `capabilities.tools`.
public struct MCPToolsCapability: Codable, Sendable {
  public var listChanged: Bool
}

/// The user a connection acts as, as `initialize`, `auth/login` and `auth/whoami` show it.
public struct UserInfo: Codable, Sendable, Equatable {
  public var username: String
  public var email: String?
  public var role: Role
  public var permissions: PermissionSet

  public init(_ identity: Identity) {
    username = identity.username
    email = identity.email
    role = identity.role
    permissions = identity.permissions
  }
}

public struct InitializeResult: Codable, Sendable {
  /// 1; for an MCP client, the MCP version both sides speak.
  public var protocolVersion: ProtocolVersion
  public var serverInfo: ServerInfo
  public var capabilities: ServerCapabilities
  /// The authenticated user, or null (TCP before login).
  public var user: UserInfo?
}

public struct WhoAmIResult: Codable, Sendable {
  public var username: String
  public var email: String?
  public var role: Role
  public var permissions: PermissionSet
  /// How the connection authenticated: "local" (stdio owner), "password", "token" or "api_key".
  public var authMethod: String
}

public struct CancelParams: Codable, Sendable {
  public var id: JSONValue
}

public struct ProgressParams: Codable, Sendable {
  public var token: JSONValue
  public var value: ProgressValue
}

public struct ProgressValue: Codable, Sendable {
  public enum Kind: String, Codable, Sendable, CaseIterable, JSONSchemaEnum { case begin, report, end }
  public var kind: Kind
  public var title: String?
  public var message: String?
  public var percentage: Int?
  public var cancellable: Bool?
}
