import MinionsCore

/// A user's role, which fixes their permissions (the role matrix, documented in protocol/security.md).
public enum Role: String, Sendable, CaseIterable, Codable, JSONSchemaEnum {
  case admin
  case user
  case viewer
  /// A programmatic user; its API keys may narrow its permissions further with scopes.
  case apiUser = "api_user"

  /// The role matrix.
  public var permissions: PermissionSet {
    switch self {
    case .admin:
      return .all
    case .user:
      return PermissionSet([
        .chat, .sessionsRead, .modelsRead, .toolsRead, .toolsExecute, .analyticsRead,
        .tasksSubmit,
      ])
    case .viewer:
      return PermissionSet([.modelsRead, .toolsRead, .analyticsRead])
    case .apiUser:
      return PermissionSet([.chat, .sessionsRead, .modelsRead, .toolsRead, .toolsExecute, .tasksSubmit])
    }
  }
}
