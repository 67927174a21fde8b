import MinionsCore
import MinionsStore

/// Creating, reading, changing and deleting users. Changes that must end a user's sessions bump their
/// token version (so every token they hold stops verifying) and publish an event for live connections.
public final class UserDirectory: Sendable {
  private let database: Database
  private let hasher: PasswordHasher
  private let audit: AuditLog
  private let events: SecurityEvents
  private let settings: SettingsStore
  private let clock: EngineClock

  init(
    database: Database, hasher: PasswordHasher, audit: AuditLog, events: SecurityEvents, settings: SettingsStore,
    clock: EngineClock
  ) {
    self.database = database
    self.hasher = hasher
    self.audit = audit
    self.events = events
    self.settings = settings
    self.clock = clock
  }

  /// Makes sure the local owner's row exists (stdio connections act as it); returns it.
  func ensureLocalOwner() throws -> User {
    let now = clock.now().millisecondsSinceEpoch
    return try database.sync { c in
      try c.execute(
        "INSERT INTO users(username, password_hash, role, created_at, updated_at) VALUES (?, '!', 'admin', ?, ?) "
          + "ON CONFLICT(username) DO NOTHING", [.text(Identity.localOwnerName), .int(now), .int(now)])
      return User(
        row: try c.queryOne("SELECT \(User.columns) FROM users WHERE username = ?", [.text(Identity.localOwnerName)])!)
    }
  }

  public func create(username: String, email: String?, password: String, role: Role, actor: String?) async throws
    -> User
  {
    try CredentialPolicy.checkUsername(username)
    if let email { try CredentialPolicy.checkEmail(email) }
    try CredentialPolicy.checkPassword(password)
    if username.lowercased() == Identity.localOwnerName {
      throw EngineError.alreadyExists(kind: "user", id: username)
    }
    let hash = try await hasher.hash(password)
    return try await insert(username: username, email: email, hash: hash, role: role, actor: actor)
  }

  /// The command line's create: hashes on the calling thread.
  public func createBlocking(username: String, email: String?, password: String, role: Role) throws -> User {
    try CredentialPolicy.checkUsername(username)
    if let email { try CredentialPolicy.checkEmail(email) }
    try CredentialPolicy.checkPassword(password)
    if username.lowercased() == Identity.localOwnerName { throw EngineError.alreadyExists(kind: "user", id: username) }
    let hash = try hasher.hashBlocking(password)
    let now = clock.now().millisecondsSinceEpoch
    let audit = self.audit
    do {
      return try database.sync { c in
        try c.inTransaction {
          try c.execute(
            "INSERT INTO users(username, email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
            [
              .text(username), email.map(SQLValue.text) ?? .null, .text(hash), .text(role.rawValue), .int(now),
              .int(now),
            ])
          let id = c.lastInsertRowID
          try audit.record(
            in: c, username: "cli", action: "user.create", target: username, outcome: .ok,
            details: ["role": .string(role.rawValue)])
          return User(row: try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(id)])!)
        }
      }
    } catch let e as StoreError where e.isUniqueViolation {
      throw EngineError.alreadyExists(kind: "user", id: username)
    }
  }

  private func insert(username: String, email: String?, hash: String, role: Role, actor: String?) async throws -> User {
    let now = clock.now().millisecondsSinceEpoch
    let audit = self.audit
    do {
      return try await database.write { c in
        try c.execute(
          "INSERT INTO users(username, email, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
          [.text(username), email.map(SQLValue.text) ?? .null, .text(hash), .text(role.rawValue), .int(now), .int(now)])
        let id = c.lastInsertRowID
        try audit.record(
          in: c, username: actor, action: "user.create", target: username, outcome: .ok,
          details: ["role": .string(role.rawValue)])
        return User(row: try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(id)])!)
      }
    } catch let e as StoreError where e.isUniqueViolation {
      throw EngineError.alreadyExists(kind: "user", id: username)
    }
  }

  public func list() async throws -> [User] {
    try await database.read { c in
      try c.query("SELECT \(User.columns) FROM users ORDER BY username COLLATE NOCASE").map(User.init(row:))
    }
  }

  public func listBlocking() throws -> [User] {
    try database.sync { c in
      try c.query("SELECT \(User.columns) FROM users ORDER BY username COLLATE NOCASE").map(User.init(row:))
    }
  }

  public func find(username: String) async throws -> User? {
    try await database.read { c in
      try c.queryOne("SELECT \(User.columns) FROM users WHERE username = ?", [.text(username)]).map(User.init(row:))
    }
  }

  public func find(id: Int64) async throws -> User? {
    try await database.read { c in
      try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(id)]).map(User.init(row:))
    }
  }

  public func get(username: String) async throws -> User {
    guard let user = try await find(username: username) else { throw EngineError.notFound(kind: "user", id: username) }
    return user
  }

  public struct Changes: Sendable {
    public var email: String??
    public var role: Role?
    public var disabled: Bool?
    public var password: String?

    public init(email: String?? = nil, role: Role? = nil, disabled: Bool? = nil, password: String? = nil) {
      self.email = email
      self.role = role
      self.disabled = disabled
      self.password = password
    }
  }

  public func update(username: String, changes: Changes, actor: String?) async throws -> User {
    if let email = changes.email, let e = email { try CredentialPolicy.checkEmail(e) }
    if let p = changes.password { try CredentialPolicy.checkPassword(p) }
    let user = try await get(username: username)
    if user.isLocalOwner && (changes.role != nil || changes.disabled != nil || changes.password != nil) {
      throw EngineError.invalidField("username", "the local owner's role, state and password cannot be changed")
    }
    let hash = try await changes.password.asyncMap { try await hasher.hash($0) }
    let endsSessions =
      (changes.role.map { $0 != user.role } ?? false) || (changes.disabled.map { $0 != user.disabled } ?? false)
      || hash != nil
    var details: [String: JSONValue] = [:]
    if let r = changes.role { details["role"] = .string(r.rawValue) }
    if let d = changes.disabled { details["disabled"] = .bool(d) }
    if changes.email != nil { details["email"] = "changed" }
    if hash != nil { details["password"] = "changed" }
    let auditDetails = details
    let now = clock.now().millisecondsSinceEpoch
    let audit = self.audit
    let id = user.id
    let updated = try await database.write { c in
      if let email = changes.email {
        try c.execute("UPDATE users SET email = ? WHERE id = ?", [email.map(SQLValue.text) ?? .null, .int(id)])
      }
      if let role = changes.role {
        try c.execute("UPDATE users SET role = ? WHERE id = ?", [.text(role.rawValue), .int(id)])
      }
      if let d = changes.disabled {
        try c.execute("UPDATE users SET disabled = ? WHERE id = ?", [.int(d ? 1 : 0), .int(id)])
      }
      if let hash { try c.execute("UPDATE users SET password_hash = ? WHERE id = ?", [.text(hash), .int(id)]) }
      if endsSessions { try c.execute("UPDATE users SET token_version = token_version + 1 WHERE id = ?", [.int(id)]) }
      try c.execute("UPDATE users SET updated_at = ? WHERE id = ?", [.int(now), .int(id)])
      try audit.record(
        in: c, username: actor, action: "user.update", target: user.username, outcome: .ok, details: auditDetails)
      return User(row: try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(id)])!)
    }
    if endsSessions { events.publish(.userChanged(userID: id)) }
    return updated
  }

  /// The command line's password change.
  public func setPasswordBlocking(username: String, password: String) throws {
    try CredentialPolicy.checkPassword(password)
    let hash = try hasher.hashBlocking(password)
    let now = clock.now().millisecondsSinceEpoch
    let audit = self.audit
    try database.sync { c in
      try c.inTransaction {
        guard let row = try c.queryOne("SELECT \(User.columns) FROM users WHERE username = ?", [.text(username)]) else {
          throw EngineError.notFound(kind: "user", id: username)
        }
        let user = User(row: row)
        if user.isLocalOwner { throw EngineError.invalidField("username", "the local owner has no password") }
        try c.execute(
          "UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? WHERE id = ?",
          [.text(hash), .int(now), .int(user.id)])
        try audit.record(
          in: c, username: "cli", action: "user.update", target: user.username, outcome: .ok,
          details: ["password": "changed"])
      }
    }
  }

  public func delete(username: String, actor: String?) async throws {
    let user = try await get(username: username)
    if user.isLocalOwner { throw EngineError.invalidField("username", "the local owner cannot be deleted") }
    let audit = self.audit
    let id = user.id
    try await database.write { c in
      try c.execute("DELETE FROM settings WHERE scope = 'user' AND user_id = ?", [.int(id)])
      try c.execute("DELETE FROM users WHERE id = ?", [.int(id)])
      try audit.record(in: c, username: actor, action: "user.delete", target: user.username, outcome: .ok)
    }
    settings.forgetUser(id)
    events.publish(.userChanged(userID: id))
  }

  public func unlock(username: String, actor: String?) async throws -> User {
    let user = try await get(username: username)
    let audit = self.audit
    let id = user.id
    return try await database.write { c in
      try c.execute(
        "UPDATE users SET failed_logins = 0, first_failure_at = NULL, locked_until = NULL, lock_count = 0 WHERE id = ?",
        [.int(id)])
      try audit.record(in: c, username: actor, action: "user.unlock", target: user.username, outcome: .ok)
      return User(row: try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(id)])!)
    }
  }

  public func unlockBlocking(username: String) throws {
    let audit = self.audit
    try database.sync { c in
      try c.inTransaction {
        try c.execute(
          "UPDATE users SET failed_logins = 0, first_failure_at = NULL, locked_until = NULL, lock_count = 0 WHERE username = ?",
          [.text(username)])
        guard c.changes == 1 else { throw EngineError.notFound(kind: "user", id: username) }
        try audit.record(in: c, username: "cli", action: "user.unlock", target: username, outcome: .ok)
      }
    }
  }

  /// A user changing their own password: the old one must be right. Their other sessions end.
  public func changePassword(userID: Int64, oldPassword: String, newPassword: String) async throws -> User {
    try CredentialPolicy.checkPassword(newPassword, field: "newPassword")
    guard oldPassword.utf8.count <= CredentialPolicy.maxPasswordBytes else {
      throw EngineError.invalidField("oldPassword", "must be at most \(CredentialPolicy.maxPasswordBytes) bytes")
    }
    guard let user = try await find(id: userID) else { throw EngineError.notFound(kind: "user", id: String(userID)) }
    if user.isLocalOwner { throw EngineError.invalidField("oldPassword", "the local owner has no password") }
    guard await hasher.verify(oldPassword, hash: user.passwordHash) else {
      audit.record(
        username: user.username, action: "user.password", target: user.username, outcome: .failed,
        details: ["reason": "wrong current password"])
      throw EngineError.unauthenticated("the current password is incorrect")
    }
    let hash = try await hasher.hash(newPassword)
    let now = clock.now().millisecondsSinceEpoch
    let audit = self.audit
    let updated = try await database.write { c in
      try c.execute(
        "UPDATE users SET password_hash = ?, token_version = token_version + 1, updated_at = ? WHERE id = ?",
        [.text(hash), .int(now), .int(userID)])
      try audit.record(in: c, username: user.username, action: "user.password", target: user.username, outcome: .ok)
      return User(row: try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(userID)])!)
    }
    events.publish(.userChanged(userID: userID))
    return updated
  }
}

extension Optional {
  func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
    guard let self else { return nil }
    return try await transform(self)
  }
}
