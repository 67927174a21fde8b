import Foundation
import MinionsCore
import MinionsEngine
import MinionsStore
import MinionsTestSupport
import Testing

@Suite struct APIKeyTests {
  func identity(_ engine: Engine, _ name: String, role: Role) async throws -> Identity {
    let user = try await engine.users.create(
      username: name, email: nil, password: "password-\(name)", role: role, actor: nil)
    return user.identity(method: .password)
  }

  @Test func aKeyIsShownOnceAndStoredOnlyHashed() async throws {
    let engine = try await makeTestEngine()
    let owner = try await identity(engine, "gus", role: .user)
    let (info, key) = try await engine.apiKeys.create(owner: owner, name: "ci", scopes: nil, expiresInDays: nil)
    #expect(key.hasPrefix("mk_") && key.count == 35 && info.prefix == String(key.prefix(11)))
    #expect(Crypto256.entropyBits(of: key) >= 128)
    let listed = try await engine.apiKeys.list(userID: owner.userID)
    #expect(listed.count == 1 && listed[0].prefix == info.prefix)
    // Neither the database nor its WAL holds the key.
    _ = try await engine.database.read { c in try c.query("PRAGMA wal_checkpoint(PASSIVE)") }
    let dir = engine.configuration.dataDirectory
    for file in try FileManager.default.contentsOfDirectory(atPath: dir) {
      let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + file))
      #expect(bytes.range(of: Data(key.utf8)) == nil, "\(file) contains the key")
      #expect(bytes.range(of: Data(key.dropFirst(11).utf8)) == nil, "\(file) contains the secret part")
    }
    let proved = try await engine.authenticator.authenticate(apiKey: key)
    #expect(proved.username == "gus" && proved.method == .apiKey && proved.permissions == Role.user.permissions)
  }

  @Test func scopesNarrowAndCannotWiden() async throws {
    let engine = try await makeTestEngine()
    let owner = try await identity(engine, "hal", role: .user)
    let (_, key) = try await engine.apiKeys.create(
      owner: owner, name: "read", scopes: ["models.read", "tools.read"], expiresInDays: 30)
    let proved = try await engine.authenticator.authenticate(apiKey: key)
    #expect(proved.permissions == PermissionSet([.modelsRead, .toolsRead]))
    await #expect(throws: EngineError.invalidField("scopes[0]", "\"users.manage\" is not a permission you hold")) {
      try await engine.apiKeys.create(owner: owner, name: "x", scopes: ["users.manage"], expiresInDays: nil)
    }
    await #expect(throws: EngineError.invalidField("scopes[1]", "unknown permission \"everything\"")) {
      try await engine.apiKeys.create(owner: owner, name: "x", scopes: ["chat", "everything"], expiresInDays: nil)
    }
    // A key-authenticated session cannot mint a key wider than itself.
    await #expect(throws: EngineError.self) {
      try await engine.apiKeys.create(owner: proved, name: "wider", scopes: ["chat"], expiresInDays: nil)
    }
    let (_, narrowKey) = try await engine.apiKeys.create(owner: proved, name: "same", scopes: nil, expiresInDays: nil)
    #expect(
      try await engine.authenticator.authenticate(apiKey: narrowKey).permissions
        == PermissionSet([.modelsRead, .toolsRead]))
  }

  @Test func revokedExpiredUnknownAndDisabledOwnersKeysAreRefused() async throws {
    let clock = EngineClock()
    let engine = try await makeTestEngine(clock: clock)
    let owner = try await identity(engine, "ivy", role: .user)
    let (info, revoked) = try await engine.apiKeys.create(owner: owner, name: "r", scopes: nil, expiresInDays: nil)
    try await engine.apiKeys.revoke(id: info.id, by: owner)
    await #expect(throws: EngineError.self) { try await engine.authenticator.authenticate(apiKey: revoked) }
    let (_, expiring) = try await engine.apiKeys.create(owner: owner, name: "e", scopes: nil, expiresInDays: 1)
    #expect((try? await engine.authenticator.authenticate(apiKey: expiring)) != nil)
    clock.advance(seconds: 86_401)
    await #expect(throws: EngineError.self) { try await engine.authenticator.authenticate(apiKey: expiring) }
    await #expect(throws: EngineError.self) {
      try await engine.authenticator.authenticate(apiKey: "mk_" + String(repeating: "A", count: 32))
    }
    await #expect(throws: EngineError.self) { try await engine.authenticator.authenticate(apiKey: "not-a-key") }
    let (_, active) = try await engine.apiKeys.create(owner: owner, name: "a", scopes: nil, expiresInDays: nil)
    _ = try await engine.users.update(username: "ivy", changes: .init(disabled: true), actor: nil)
    await #expect(throws: EngineError.self) { try await engine.authenticator.authenticate(apiKey: active) }
  }

  @Test func onlyTheOwnerOrAUserManagerMayRevoke() async throws {
    let engine = try await makeTestEngine()
    let owner = try await identity(engine, "jay", role: .user)
    let other = try await identity(engine, "kim", role: .user)
    let admin = try await identity(engine, "lee", role: .admin)
    let (info, _) = try await engine.apiKeys.create(owner: owner, name: "k", scopes: nil, expiresInDays: nil)
    await #expect(throws: EngineError.notFound(kind: "apikey", id: info.id)) {
      try await engine.apiKeys.revoke(id: info.id, by: other)
    }
    try await engine.apiKeys.revoke(id: info.id, by: admin)
    #expect(try await engine.apiKeys.list(userID: owner.userID).first?.revokedAt != nil)
  }
}

/// A rough entropy bound of a key's random part (base64url: 6 bits a character).
enum Crypto256 {
  static func entropyBits(of key: String) -> Int { (key.count - 3) * 6 }
}

@Suite struct AuditTests {
  @Test func controlCharactersAreEscapedAndSecretsNeverStored() async throws {
    let engine = try await makeTestEngine()
    let password = "S3cret-pa55word"
    _ = try? await engine.authenticator.login(username: "evil\nuser\u{1b}[31m", password: password, source: "t")
    let entries = try await engine.audit.query(.init(action: "auth.login"))
    #expect(entries.entries.first?.username == "evil\\u000auser\\u001b[31m")
    _ = try await engine.database.read { c in try c.query("PRAGMA wal_checkpoint(PASSIVE)") }
    let rows = try await engine.database.read { c in try c.query("SELECT username, target, details FROM audit") }
    #expect(!rows.contains { r in r.values.contains { $0.text?.contains(password) ?? false } })
    #expect(!rows.contains { r in r.values.contains { $0.text?.contains("\n") ?? false } })
  }

  @Test func queryFiltersAndPaginates() async throws {
    let engine = try await makeTestEngine()
    for i in 0..<25 {
      engine.audit.record(
        username: i % 2 == 0 ? "ann" : "ben", action: i % 3 == 0 ? "auth.login" : "user.update", outcome: .ok)
    }
    let firstPage = try await engine.audit.query(.init(limit: 10))
    #expect(firstPage.entries.count == 10 && firstPage.nextCursor != nil)
    #expect(firstPage.entries.map(\.id) == firstPage.entries.map(\.id).sorted(by: >))
    let secondPage = try await engine.audit.query(.init(limit: 10, cursor: firstPage.nextCursor))
    #expect(Set(firstPage.entries.map(\.id)).isDisjoint(with: secondPage.entries.map(\.id)))
    let third = try await engine.audit.query(.init(limit: 10, cursor: secondPage.nextCursor))
    #expect(third.entries.count == 5 && third.nextCursor == nil)
    #expect(try await engine.audit.query(.init(username: "ANN", limit: 100)).entries.count == 13)
    #expect(try await engine.audit.query(.init(action: "auth.login", limit: 100)).entries.count == 9)
    #expect(try await engine.audit.query(.init(action: "auth.*", limit: 100)).entries.count == 9)
    #expect(try await engine.audit.query(.init(since: engine.clock.now().adding(milliseconds: 60_000))).entries.isEmpty)
  }
}

@Suite struct SettingsTests {
  @Test func defaultsAreTheContractsAndUpdatesAreValidatedTogether() async throws {
    let engine = try await makeTestEngine()
    let s = engine.settings.systemValues
    #expect(
      s["tools.approvalPolicy"] == "deny" && s["tasks.maxConcurrent"] == 20 && s["security.lockout.maxFailures"] == 5)
    #expect(
      s["security.lockout.minutes"] == 15 && s["security.tokenTTLMinutes"] == 60 && s["metrics.retentionDays"] == 90)
    #expect(s["tools.http.allowHosts"] == [])
    func failure(_ values: [String: JSONValue]) async -> EngineError? {
      do {
        _ = try await engine.settings.update(scope: .system, userID: 0, values: values, now: engine.clock.now())
        return nil
      } catch { return error as? EngineError }
    }
    #expect(
      await failure(["tasks.maxConcurrent": "20"])
        == .invalidField("values.tasks.maxConcurrent", "expected integer, got string"))
    #expect(
      await failure(["tasks.maxConcurrent": 0])
        == .invalidField("values.tasks.maxConcurrent", "must be between 1 and 1000"))
    #expect(
      await failure(["tools.approvalPolicy": "maybe"])
        == .invalidField("values.tools.approvalPolicy", "must be one of deny, allow"))
    #expect(
      await failure(["tools.http.allowHosts": ["ok.example:443", "http://x"]])?.isInvalidField(
        "values.tools.http.allowHosts") == true)
    #expect(await failure(["no.such": 1])?.isInvalidField("values.no.such") == true)
    // One bad value: nothing is stored.
    #expect(await failure(["tasks.maxConcurrent": 5, "cache.ttlSeconds": -1]) != nil)
    #expect(engine.settings.int("tasks.maxConcurrent") == 20)
    #expect(
      await failure(["tasks.maxConcurrent": 5, "tools.http.allowHosts": ["api.example.com", "[::1]:8080", "10.0.0.1"]])
        == nil)
    #expect(engine.settings.int("tasks.maxConcurrent") == 5)
  }

  @Test func settingsPersistAcrossRestartsAndPreferencesArePerUser() async throws {
    let dir = try temporaryDirectory(prefix: "minions-settings")
    let engine = try await makeTestEngine(dataDirectory: dir)
    let a = try await engine.users.create(username: "ola", email: nil, password: "password1", role: .user, actor: nil)
    let b = try await engine.users.create(username: "pia", email: nil, password: "password1", role: .user, actor: nil)
    _ = try await engine.settings.update(
      scope: .system, userID: 0, values: ["cache.maxEntries": 42], now: engine.clock.now())
    _ = try await engine.settings.update(scope: .user, userID: a.id, values: ["theme": "dark"], now: engine.clock.now())
    await #expect(throws: EngineError.self) {
      try await engine.settings.update(
        scope: .user, userID: a.id, values: ["cache.maxEntries": 1], now: engine.clock.now())
    }
    engine.close()
    let again = try Engine(
      configuration: EngineConfiguration(dataDirectory: dir, workspace: dir, environment: [:]), logger: .disabled)
    #expect(again.settings.int("cache.maxEntries") == 42)
    #expect(again.settings.userValues(userID: a.id)["theme"] == "dark")
    #expect(again.settings.userValues(userID: b.id)["theme"] == "system")
  }
}

extension EngineError {
  func isInvalidField(_ field: String) -> Bool {
    if case .invalidField(let f, _) = self { return f == field }
    return false
  }
}
