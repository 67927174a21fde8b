import MinionsCore
import MinionsEngine

public struct LoginParams: Codable, Sendable {
  public var username: String
  public var password: String
}

public struct LoginResult: Codable, Sendable {
  public var token: String
  public var expiresAt: Timestamp
  public var user: UserInfo
}

public struct LogoutResult: Codable, Sendable {
  /// True when a token was revoked (sessions that logged in with a password or a token).
  public var revoked: Bool
}

public struct RefreshResult: Codable, Sendable {
  public var token: String
  public var expiresAt: Timestamp
}

/// A user as administrators see them.
public struct UserRecord: Codable, Sendable {
  public var username: String
  public var email: String?
  public var role: Role
  public var permissions: PermissionSet
  public var disabled: Bool
  public var locked: Bool
  public var lockedUntil: Timestamp?
  public var failedLogins: Int
  public var createdAt: Timestamp
  public var updatedAt: Timestamp
  public var lastLoginAt: Timestamp?
  /// True for the built-in local owner (stdio), which has no password.
  public var localOwner: Bool

  init(_ u: User, now: Timestamp) {
    username = u.username
    email = u.email
    role = u.role
    permissions = u.role.permissions
    disabled = u.disabled
    locked = u.isLocked(at: now)
    lockedUntil = locked ? u.lockedUntil : nil
    failedLogins = u.failedLogins
    createdAt = u.createdAt
    updatedAt = u.updatedAt
    lastLoginAt = u.lastLoginAt
    localOwner = u.isLocalOwner
  }
}

public struct UserResult: Codable, Sendable {
  public var user: UserRecord
}

public struct UsersListResult: Codable, Sendable {
  public var users: [UserRecord]
}

public struct UserCreateParams: Codable, Sendable {
  public var username: String
  public var email: String?
  public var password: String
  public var role: Role
}

public struct UsernameParams: Codable, Sendable {
  public var username: String
}

public struct UserUpdateParams: Codable, Sendable, JSONSchemaDocumented {
  public var username: String
  /// A string sets the address; null clears it.
  public var email: JSONValue?
  public var role: Role?
  public var disabled: Bool?
  public var password: String?

  public static var fieldDescriptions: [String: String] {
    [
      "email": "a string sets the address, null clears it, absent leaves it",
      "disabled": "disabling ends the user's sessions and invalidates their tokens",
    ]
  }
}

public struct DeletedResult: Codable, Sendable {
  public var deleted: Bool
}

public struct ChangePasswordParams: Codable, Sendable {
  public var oldPassword: String
  public var newPassword: String
}

public struct ChangedResult: Codable, Sendable {
  public var changed: Bool
}

/// `users/changePassword`: a connection that logged in with a password or token gets a fresh token,
/// since the change revoked every token of the user (the one a browser keeps for reloads included).
public struct ChangePasswordResult: Codable, Sendable {
  public var changed: Bool
  public var token: String?
  public var expiresAt: Timestamp?
}

public struct APIKeyCreateParams: Codable, Sendable, JSONSchemaDocumented {
  public var name: String
  public var scopes: [String]?
  public var expiresInDays: Int?

  public static var fieldDescriptions: [String: String] {
    [
      "scopes": "permissions the key is limited to (a subset of yours); absent: all of yours",
      "expiresInDays": "1 to 3650; absent: the key does not expire",
    ]
  }
}

public struct APIKeyCreateResult: Codable, Sendable {
  public var id: String
  /// The key itself: shown only this once.
  public var key: String
  public var prefix: String
  public var scopes: [Permission]?
  public var expiresAt: Timestamp?
}

public struct APIKeyRecord: Codable, Sendable {
  public var id: String
  public var username: String
  public var name: String
  public var prefix: String
  public var scopes: [Permission]?
  public var createdAt: Timestamp
  public var expiresAt: Timestamp?
  public var lastUsedAt: Timestamp?
  public var revoked: Bool

  init(_ k: APIKeyInfo) {
    id = k.id
    username = k.username
    name = k.name
    prefix = k.prefix
    scopes = k.scopes
    createdAt = k.createdAt
    expiresAt = k.expiresAt
    lastUsedAt = k.lastUsedAt
    revoked = k.revokedAt != nil
  }
}

public struct APIKeyListParams: Codable, Sendable, JSONSchemaDocumented {
  /// Every user's keys (requires users.manage).
  public var all: Bool?

  public static var fieldDescriptions: [String: String] { ["all": "list every user's keys (requires users.manage)"] }
}

public struct APIKeyListResult: Codable, Sendable {
  public var keys: [APIKeyRecord]
}

public struct APIKeyRevokeParams: Codable, Sendable {
  public var id: String
}

public struct RevokedResult: Codable, Sendable {
  public var revoked: Bool
}

public struct AuditQueryParams: Codable, Sendable, JSONSchemaDocumented {
  public var since: Timestamp?
  public var until: Timestamp?
  public var username: String?
  /// An action ("auth.login") or a family ("auth.*").
  public var action: String?
  public var limit: Int?
  public var cursor: String?

  public static var fieldDescriptions: [String: String] {
    [
      "action": "an action such as auth.login, or a family such as auth.*",
      "limit": "1 to 1000 (default 100)", "cursor": "nextCursor of the previous page",
    ]
  }
}

public struct AuditEntryRecord: Codable, Sendable {
  public var id: Int64
  public var at: Timestamp
  public var username: String?
  public var action: String
  public var target: String?
  public var outcome: String
  public var details: JSONValue
}

public struct AuditQueryResult: Codable, Sendable {
  public var entries: [AuditEntryRecord]
  public var nextCursor: String?
}

public struct SettingsResult: Codable, Sendable {
  public var system: [String: JSONValue]
  public var user: [String: JSONValue]
}

public struct SettingsUpdateParams: Codable, Sendable {
  public var scope: SettingsStore.Scope
  public var values: [String: JSONValue]
}
