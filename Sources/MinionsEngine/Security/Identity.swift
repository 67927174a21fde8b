import MinionsCore

/// Who a connection acts as, and what it may do.
public struct Identity: Sendable, Hashable {
  /// The user's id in the store (the local owner has a row too, without a usable password).
  public var userID: Int64?
  public var username: String
  public var email: String?
  public var role: Role
  /// The effective permissions: the role's, narrowed by an API key's scopes.
  public var permissions: PermissionSet
  /// How the connection authenticated.
  public var method: AuthMethod
  /// The token's id (`jti`) when authenticated with a token, so logout can revoke it.
  public var tokenID: String?
  /// The API key's id when authenticated with a key.
  public var apiKeyID: String?
  /// The user's token version when this identity was established.
  public var tokenVersion: Int64

  public enum AuthMethod: String, Sendable, Hashable {
    case localOwner = "local"
    case password
    case token
    case apiKey = "api_key"
  }

  public init(
    userID: Int64?, username: String, email: String? = nil, role: Role, permissions: PermissionSet? = nil,
    method: AuthMethod, tokenID: String? = nil, apiKeyID: String? = nil, tokenVersion: Int64 = 0
  ) {
    self.userID = userID
    self.username = username
    self.email = email
    self.role = role
    self.permissions = permissions ?? role.permissions
    self.method = method
    self.tokenID = tokenID
    self.apiKeyID = apiKeyID
    self.tokenVersion = tokenVersion
  }

  /// The name the local owner goes by; reserved, so no other user can take it.
  public static let localOwnerName = "local"

  @inlinable public func has(_ permission: Permission) -> Bool { permissions.contains(permission) }
}
