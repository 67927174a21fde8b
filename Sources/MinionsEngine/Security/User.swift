import MinionsCore
import MinionsStore

/// A stored user.
public struct User: Sendable, Equatable {
  public var id: Int64
  public var username: String
  public var email: String?
  var passwordHash: String
  public var role: Role
  public var disabled: Bool
  /// Bumped whenever a change must invalidate the user's tokens (disable, role, password).
  public var tokenVersion: Int64
  public var failedLogins: Int
  public var lockedUntil: Timestamp?
  public var createdAt: Timestamp
  public var updatedAt: Timestamp
  public var lastLoginAt: Timestamp?

  /// The local owner: the row stdio connections act as. It has no usable password.
  public var isLocalOwner: Bool { username.lowercased() == Identity.localOwnerName }

  public func isLocked(at now: Timestamp) -> Bool { lockedUntil.map { $0 > now } ?? false }

  static let columns =
    "id, username, email, password_hash, role, disabled, token_version, failed_logins, locked_until, created_at, updated_at, last_login_at"

  init(row r: Row) {
    id = r["id"].int64 ?? 0
    username = r["username"].text ?? ""
    email = r["email"].text
    passwordHash = r["password_hash"].text ?? "!"
    role = Role(rawValue: r["role"].text ?? "") ?? .viewer
    disabled = (r["disabled"].int64 ?? 0) != 0
    tokenVersion = r["token_version"].int64 ?? 1
    failedLogins = r["failed_logins"].int ?? 0
    lockedUntil = r["locked_until"].int64.map(Timestamp.init(millisecondsSinceEpoch:))
    createdAt = Timestamp(millisecondsSinceEpoch: r["created_at"].int64 ?? 0)
    updatedAt = Timestamp(millisecondsSinceEpoch: r["updated_at"].int64 ?? 0)
    lastLoginAt = r["last_login_at"].int64.map(Timestamp.init(millisecondsSinceEpoch:))
  }

  /// The identity a connection gets after authenticating as this user.
  public func identity(
    method: Identity.AuthMethod, tokenID: String? = nil, apiKeyID: String? = nil,
    scopes: PermissionSet? = nil
  ) -> Identity {
    let permissions = scopes.map { role.permissions.intersection($0) } ?? role.permissions
    return Identity(
      userID: id, username: username, email: email, role: role, permissions: permissions, method: method,
      tokenID: tokenID, apiKeyID: apiKeyID, tokenVersion: tokenVersion)
  }
}

/// What usernames, emails and passwords may be.
public enum CredentialPolicy {
  public static let minPasswordBytes = 8
  public static let maxPasswordBytes = 72

  /// Letters, digits, `.`, `_` and `-`, starting with a letter or digit, at most 64.
  public static func checkUsername(_ name: String, field: String = "username") throws {
    let bytes = Array(name.utf8)
    guard !bytes.isEmpty, bytes.count <= 64 else { throw EngineError.invalidField(field, "must be 1 to 64 characters") }
    func ok(_ b: UInt8) -> Bool {
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
        || b == 0x2D
    }
    guard bytes.allSatisfy(ok), bytes[0] != 0x2E, bytes[0] != 0x5F, bytes[0] != 0x2D else {
      throw EngineError.invalidField(
        field, "may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit")
    }
  }

  /// A plausible address: one '@', no spaces or control characters, at most 254 bytes.
  public static func checkEmail(_ email: String, field: String = "email") throws {
    let parts = email.split(separator: "@", omittingEmptySubsequences: false)
    guard email.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
      !email.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
    else { throw EngineError.invalidField(field, "is not an email address") }
  }

  /// 8 to 72 bytes (bcrypt reads at most 72: longer is refused, never truncated), no NUL.
  public static func checkPassword(_ password: String, field: String = "password") throws {
    let n = password.utf8.count
    if n > maxPasswordBytes {
      throw EngineError.invalidField(field, "must be at most \(maxPasswordBytes) bytes (it has \(n))")
    }
    if n < minPasswordBytes { throw EngineError.invalidField(field, "must be at least \(minPasswordBytes) bytes") }
    if password.utf8.contains(0) { throw EngineError.invalidField(field, "must not contain NUL characters") }
  }
}
