import MinionsCore
import MinionsCrypto
import MinionsStore

/// An API key as listed (the key itself is shown only once, at creation).
public struct APIKeyInfo: Sendable {
  public var id: String
  public var username: String
  public var name: String
  public var prefix: String
  /// nil: all of the owner's permissions.
  public var scopes: [Permission]?
  public var createdAt: Timestamp
  public var expiresAt: Timestamp?
  public var lastUsedAt: Timestamp?
  public var revokedAt: Timestamp?
}

/// API keys: `mk_` + 192 random bits (base64url), shown once, stored only as a SHA-256 hash with a short
/// visible prefix, optionally scoped (a subset of the owner's permissions) and expiring.
public final class APIKeyStore: Sendable {
  public static let keyPrefix = "mk_"
  static let visiblePrefixLength = 11  // "mk_" + 8 characters

  private let database: Database
  private let audit: AuditLog
  private let events: SecurityEvents
  private let clock: EngineClock

  init(database: Database, audit: AuditLog, events: SecurityEvents, clock: EngineClock) {
    self.database = database
    self.audit = audit
    self.events = events
    self.clock = clock
  }

  /// Creates a key for `owner`. Scopes may only narrow what `owner` may do now (a key-authenticated
  /// session cannot mint a wider key).
  public func create(owner: Identity, name: String, scopes: [String]?, expiresInDays: Int?) async throws
    -> (info: APIKeyInfo, key: String)
  {
    guard let userID = owner.userID else { throw EngineError.invalidField("name", "this identity cannot own keys") }
    let trimmed = name.trimmed()
    guard !trimmed.isEmpty, trimmed.utf8.count <= 64,
      !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
    else { throw EngineError.invalidField("name", "must be 1 to 64 characters without control characters") }
    var permissions: [Permission]? = nil
    if let scopes {
      var parsed: [Permission] = []
      for (i, s) in scopes.enumerated() {
        guard let p = Permission(rawValue: s) else {
          throw EngineError.invalidField("scopes[\(i)]", "unknown permission \"\(s)\"")
        }
        guard owner.has(p) else {
          throw EngineError.invalidField("scopes[\(i)]", "\"\(s)\" is not a permission you hold")
        }
        if !parsed.contains(p) { parsed.append(p) }
      }
      permissions = parsed
    }
    if let days = expiresInDays, !(1...3650).contains(days) {
      throw EngineError.invalidField("expiresInDays", "must be between 1 and 3650")
    }
    // A key-authenticated session already has narrowed permissions: a new key may not exceed them.
    if permissions == nil && owner.method == .apiKey { permissions = Permission.allCases.filter(owner.has) }
    let key = Self.keyPrefix + Crypto.base64URLEncode(Crypto.randomBytes(24))
    let id = "key_" + Crypto.hex(Crypto.randomBytes(8))
    let prefix = String(key.prefix(Self.visiblePrefixLength))
    let hash = Crypto.sha256Hex(key)
    let now = clock.now()
    let expires = expiresInDays.map { now.adding(milliseconds: Int64($0) * 86_400_000) }
    let scopesText = permissions.map { JSONWriter.string(.array($0.map { .string($0.rawValue) })) }
    let scopesJSON: JSONValue = permissions.map { .array($0.map { .string($0.rawValue) }) } ?? .null
    let audit = self.audit
    try await database.write { c in
      try c.execute(
        "INSERT INTO api_keys(id, user_id, name, prefix, key_hash, scopes, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
          .text(id), .int(userID), .text(trimmed), .text(prefix), .text(hash), scopesText.map(SQLValue.text) ?? .null,
          .int(now.millisecondsSinceEpoch), expires.map { .int($0.millisecondsSinceEpoch) } ?? .null,
        ])
      try audit.record(
        in: c, username: owner.username, action: "apikey.create", target: id, outcome: .ok,
        details: [
          "name": .string(trimmed), "prefix": .string(prefix),
          "scopes": scopesJSON,
        ])
    }
    let info = APIKeyInfo(
      id: id, username: owner.username, name: trimmed, prefix: prefix, scopes: permissions,
      createdAt: now, expiresAt: expires, lastUsedAt: nil, revokedAt: nil)
    return (info, key)
  }

  private static let selectSQL = """
    SELECT k.id, u.username, k.name, k.prefix, k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at
    FROM api_keys k JOIN users u ON u.id = k.user_id
    """

  private static func info(_ r: Row) -> APIKeyInfo {
    let scopes = r["scopes"].text.flatMap { try? JSONParser.parse($0) }?.arrayValue?.compactMap {
      $0.stringValue.flatMap(Permission.init(rawValue:))
    }
    func time(_ name: String) -> Timestamp? { r[name].int64.map(Timestamp.init(millisecondsSinceEpoch:)) }
    return APIKeyInfo(
      id: r["id"].text ?? "", username: r["username"].text ?? "", name: r["name"].text ?? "",
      prefix: r["prefix"].text ?? "", scopes: scopes,
      createdAt: time("created_at") ?? Timestamp(millisecondsSinceEpoch: 0),
      expiresAt: time("expires_at"), lastUsedAt: time("last_used_at"), revokedAt: time("revoked_at"))
  }

  /// The keys of one user, or of everyone (nil).
  public func list(userID: Int64?) async throws -> [APIKeyInfo] {
    try await database.read { c in
      if let userID {
        return try c.query(Self.selectSQL + " WHERE k.user_id = ? ORDER BY k.created_at DESC", [.int(userID)]).map(
          Self.info)
      }
      return try c.query(Self.selectSQL + " ORDER BY k.created_at DESC").map(Self.info)
    }
  }

  /// Revokes a key: the owner's own, or anyone's for an identity that manages users.
  public func revoke(id: String, by actor: Identity) async throws {
    let audit = self.audit
    let now = clock.now().millisecondsSinceEpoch
    let manageAll = actor.has(.usersManage)
    let actorID = actor.userID ?? -1
    try await database.write { c in
      guard let row = try c.queryOne("SELECT user_id FROM api_keys WHERE id = ?", [.text(id)]),
        manageAll || row[0].int64 == actorID
      else { throw EngineError.notFound(kind: "apikey", id: id) }
      try c.execute("UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", [.int(now), .text(id)])
      try audit.record(in: c, username: actor.username, action: "apikey.revoke", target: id, outcome: .ok)
    }
    events.publish(.apiKeyRevoked(keyID: id))
  }

  /// The identity a key proves, or nil (unknown, revoked, expired, or its owner disabled).
  func authenticate(_ key: String) async throws -> Identity? {
    guard key.hasPrefix(Self.keyPrefix), key.utf8.count <= 128 else { return nil }
    let hash = Crypto.sha256Hex(key)
    let now = clock.now().millisecondsSinceEpoch
    return try await database.read { c -> Identity? in
      guard
        let r = try c.queryOne(
          "SELECT k.id AS key_id, k.scopes, k.expires_at, k.revoked_at, \(User.columns.split(separator: ",").map { "u." + String($0).trimmed() }.joined(separator: ", ")) FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?",
          [.text(hash)])
      else { return nil }
      if !r["revoked_at"].isNull { return nil }
      if let expires = r["expires_at"].int64, expires <= now { return nil }
      let user = User(row: r)
      if user.disabled { return nil }
      let scopes = r["scopes"].text.flatMap { try? JSONParser.parse($0) }?.arrayValue.map {
        PermissionSet($0.compactMap { $0.stringValue.flatMap(Permission.init(rawValue:)) })
      }
      return user.identity(method: .apiKey, apiKeyID: r["key_id"].text, scopes: scopes)
    }
  }

  func noteUse(keyID: String) {
    let now = clock.now().millisecondsSinceEpoch
    database.writeLater { c in
      try c.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", [.int(now), .text(keyID)])
    }
  }
}
