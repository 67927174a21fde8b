import MinionsCore
import MinionsStore

/// Proves identities: passwords (with lockout), tokens (with revocation and per-user versions) and API
/// keys. An unknown user and a wrong password give the same error after the same work.
public final class Authenticator: Sendable {
  private let database: Database
  private let hasher: PasswordHasher
  private let tokens: TokenIssuer
  private let apiKeys: APIKeyStore
  private let audit: AuditLog
  private let settings: SettingsStore
  private let events: SecurityEvents
  private let clock: EngineClock
  private let logger: Logger

  init(
    database: Database, hasher: PasswordHasher, tokens: TokenIssuer, apiKeys: APIKeyStore, audit: AuditLog,
    settings: SettingsStore, events: SecurityEvents, clock: EngineClock, logger: Logger
  ) {
    self.database = database
    self.hasher = hasher
    self.tokens = tokens
    self.apiKeys = apiKeys
    self.audit = audit
    self.settings = settings
    self.events = events
    self.clock = clock
    self.logger = logger
  }

  static let invalidCredentials = "invalid username or password"

  /// Checks a username and password. Failures count toward the account's lockout.
  public func login(username: String, password: String, source: String) async throws -> User {
    // Refused before any hashing: bcrypt would only read 72 bytes, and a huge password costs nothing here.
    guard password.utf8.count <= CredentialPolicy.maxPasswordBytes else {
      throw EngineError.invalidField("password", "must be at most \(CredentialPolicy.maxPasswordBytes) bytes")
    }
    guard username.utf8.count <= 64 else { throw EngineError.invalidField("username", "must be at most 64 characters") }
    let now = clock.now()
    let found = try await database.read { c in
      try c.queryOne("SELECT \(User.columns) FROM users WHERE username = ?", [.text(username)]).map(User.init(row:))
    }
    guard let user = found, !user.isLocalOwner else {
      await hasher.verifyAgainstDummy(password)
      audit.record(
        username: username, action: "auth.login", target: source, outcome: .failed, details: ["reason": "unknown user"])
      throw EngineError.unauthenticated(Self.invalidCredentials)
    }
    if let until = user.lockedUntil, until > now {
      let retry = Int((until.millisecondsSinceEpoch - now.millisecondsSinceEpoch + 999) / 1000)
      audit.record(
        username: user.username, action: "auth.login", target: source, outcome: .locked,
        details: ["retryAfterSeconds": .int(retry)])
      throw EngineError.accountLocked(retryAfterSeconds: retry)
    }
    guard await hasher.verify(password, hash: user.passwordHash) else {
      let locked = try await recordFailure(user, now: now)
      if let retry = locked {
        audit.record(
          username: user.username, action: "auth.lockout", target: source, outcome: .locked,
          details: ["retryAfterSeconds": .int(retry)])
        throw EngineError.accountLocked(retryAfterSeconds: retry)
      }
      audit.record(
        username: user.username, action: "auth.login", target: source, outcome: .failed,
        details: ["reason": "wrong password"])
      throw EngineError.unauthenticated(Self.invalidCredentials)
    }
    if user.disabled {
      audit.record(
        username: user.username, action: "auth.login", target: source, outcome: .failed, details: ["reason": "disabled"]
      )
      throw EngineError.unauthenticated("account disabled")
    }
    // A hash made at a lower cost than today's is replaced now that the password is at hand.
    let newHash = hasher.needsRehash(user.passwordHash) ? try? await hasher.hash(password) : nil
    let id = user.id
    let nowMs = now.millisecondsSinceEpoch
    let updated = try await database.write { c in
      try c.execute(
        "UPDATE users SET failed_logins = 0, first_failure_at = NULL, lock_count = 0, last_login_at = ?, "
          + "password_hash = coalesce(?, password_hash) WHERE id = ?",
        [.int(nowMs), newHash.map(SQLValue.text) ?? .null, .int(id)])
      return User(row: try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(id)])!)
    }
    audit.record(
      username: user.username, action: "auth.login", target: source, outcome: .ok,
      details: newHash != nil ? ["rehashed": true] : [:])
    return updated
  }

  /// Counts a failure (within the lockout window) and locks the account when it reaches the limit.
  /// Returns the seconds to wait when this failure locked it.
  private func recordFailure(_ user: User, now: Timestamp) async throws -> Int? {
    let maxFailures = settings.int("security.lockout.maxFailures")
    let minutes = Int64(settings.int("security.lockout.minutes"))
    let windowStart = now.millisecondsSinceEpoch - minutes * 60_000
    let nowMs = now.millisecondsSinceEpoch
    let id = user.id
    return try await database.write { c -> Int? in
      guard
        let r = try c.queryOne(
          "UPDATE users SET failed_logins = CASE WHEN first_failure_at IS NULL OR first_failure_at < ?1 THEN 1 ELSE failed_logins + 1 END, "
            + "first_failure_at = CASE WHEN first_failure_at IS NULL OR first_failure_at < ?1 THEN ?2 ELSE first_failure_at END "
            + "WHERE id = ?3 RETURNING failed_logins, lock_count",
          [.int(windowStart), .int(nowMs), .int(id)])
      else { return nil }
      guard let failures = r[0].int, failures >= maxFailures else { return nil }
      // Locked for the base time, doubling on each repeat, at most 24 hours.
      let repeats = min(r[1].int64 ?? 0, 20)
      let lockMs = min(minutes * 60_000 * (Int64(1) << repeats), 24 * 3_600_000)
      try c.execute(
        "UPDATE users SET locked_until = ?, lock_count = lock_count + 1, failed_logins = 0, first_failure_at = NULL WHERE id = ?",
        [.int(nowMs + lockMs), .int(id)])
      return Int(lockMs / 1000)
    }
  }

  /// A token for a logged-in user, valid for `security.tokenTTLMinutes`.
  public func issueToken(for user: User) -> (token: String, tokenID: String, expiresAt: Timestamp) {
    tokens.issue(
      subject: user.username, userID: user.id, role: user.role.rawValue, tokenVersion: user.tokenVersion,
      ttlSeconds: Int64(settings.int("security.tokenTTLMinutes")) * 60, now: clock.now())
  }

  /// The identity a token proves: its signature, time and issuer, that it was not revoked, and that its
  /// user still exists, is enabled and has not changed role or password since (token version).
  public func authenticate(token: String) async throws -> Identity {
    let claims: TokenClaims
    do {
      claims = try tokens.verify(token, now: clock.now())
    } catch {
      audit.record(
        username: nil, action: "auth.token", outcome: .failed, details: ["reason": .string(error.description)])
      throw EngineError.unauthenticated("invalid token: \(error)")
    }
    let (revoked, user) = try await database.read { c in
      let revoked = try c.queryOne("SELECT 1 FROM revoked_tokens WHERE jti = ?", [.text(claims.tokenID)]) != nil
      let user = try c.queryOne("SELECT \(User.columns) FROM users WHERE id = ?", [.int(claims.userID)]).map(
        User.init(row:))
      return (revoked, user)
    }
    let reason: String?
    if revoked {
      reason = "token revoked"
    } else if let user, !user.disabled, user.tokenVersion == claims.tokenVersion, user.username == claims.subject {
      reason = nil
    } else {
      reason = user?.disabled == true ? "account disabled" : "token no longer valid for this user"
    }
    if let reason {
      audit.record(
        username: claims.subject, action: "auth.token", outcome: .failed, details: ["reason": .string(reason)])
      throw EngineError.unauthenticated("invalid token: \(reason)")
    }
    return user!.identity(method: .token, tokenID: claims.tokenID)
  }

  /// The identity an API key proves.
  public func authenticate(apiKey: String) async throws -> Identity {
    guard let identity = try await apiKeys.authenticate(apiKey) else {
      audit.record(
        username: nil, action: "auth.apikey", outcome: .failed,
        details: ["prefix": .string(String(apiKey.prefix(APIKeyStore.visiblePrefixLength)))])
      throw EngineError.unauthenticated("invalid, revoked or expired API key")
    }
    if let id = identity.apiKeyID { apiKeys.noteUse(keyID: id) }
    return identity
  }

  /// Revokes a token until it would have expired anyway.
  public func revoke(tokenID: String, username: String?) async throws {
    let until = clock.now().adding(milliseconds: 31 * 86_400_000).millisecondsSinceEpoch
    try await database.write { c in
      try c.execute(
        "INSERT OR IGNORE INTO revoked_tokens(jti, expires_at) VALUES (?, ?)", [.text(tokenID), .int(until)])
    }
    events.publish(.tokenRevoked(tokenID: tokenID))
  }

  /// Drops revocations of tokens that have expired anyway.
  public func pruneRevocations() {
    let now = clock.now().millisecondsSinceEpoch
    database.writeLater { c in try c.execute("DELETE FROM revoked_tokens WHERE expires_at < ?", [.int(now)]) }
  }
}
