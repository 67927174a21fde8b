import MinionsCore

/// One thing a user may do (contract §3). Each maps to one bit of a `PermissionSet`.
public enum Permission: String, Sendable, CaseIterable, Codable, JSONSchemaEnum {
  case chat
  case sessionsRead = "sessions.read"
  case modelsRead = "models.read"
  case modelsManage = "models.manage"
  case toolsRead = "tools.read"
  case toolsExecute = "tools.execute"
  case toolsManage = "tools.manage"
  case analyticsRead = "analytics.read"
  case analyticsExport = "analytics.export"
  case usersManage = "users.manage"
  case auditRead = "audit.read"
  case settingsManage = "settings.manage"
  case tasksSubmit = "tasks.submit"
  case cacheManage = "cache.manage"

  @inlinable public var bit: UInt32 {
    switch self {
    case .chat: return 1 << 0
    case .sessionsRead: return 1 << 1
    case .modelsRead: return 1 << 2
    case .modelsManage: return 1 << 3
    case .toolsRead: return 1 << 4
    case .toolsExecute: return 1 << 5
    case .toolsManage: return 1 << 6
    case .analyticsRead: return 1 << 7
    case .analyticsExport: return 1 << 8
    case .usersManage: return 1 << 9
    case .auditRead: return 1 << 10
    case .settingsManage: return 1 << 11
    case .tasksSubmit: return 1 << 12
    case .cacheManage: return 1 << 13
    }
  }
}

/// A set of permissions as a bitset: a check is one AND.
public struct PermissionSet: Sendable, Hashable, Codable {
  public var rawValue: UInt32

  @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

  public init(_ permissions: some Sequence<Permission>) {
    rawValue = permissions.reduce(0) { $0 | $1.bit }
  }

  public static let none = PermissionSet(rawValue: 0)
  public static let all = PermissionSet(Permission.allCases)

  @inlinable public func contains(_ p: Permission) -> Bool { rawValue & p.bit != 0 }
  @inlinable public func isSuperset(of other: PermissionSet) -> Bool { rawValue & other.rawValue == other.rawValue }
  @inlinable public func intersection(_ other: PermissionSet) -> PermissionSet {
    PermissionSet(rawValue: rawValue & other.rawValue)
  }

  /// The permission names, in the contract's order.
  public var names: [String] { Permission.allCases.filter(contains).map(\.rawValue) }

  public init(from decoder: any Decoder) throws {
    let names = try [Permission](from: decoder)
    self.init(names)
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.unkeyedContainer()
    for p in Permission.allCases where contains(p) { try c.encode(p.rawValue) }
  }
}

extension PermissionSet: JSONSchemaDescribing {
  public static var jsonSchema: JSONValue { ["type": "array", "items": Permission.jsonSchema] }
  public static var schemaSample: PermissionSet { .none }
}
