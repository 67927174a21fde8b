import Foundation
import MinionsCore
import MinionsEngine
import MinionsStore
import MinionsTestSupport
import Testing

@Suite struct UserDirectoryTests {
  @Test func createsListsUpdatesAndDeletesUsers() async throws {
    let engine = try await makeTestEngine()
    let bob = try await engine.users.create(
      username: "bob", email: "bob@example.com", password: "hunter22!", role: .user, actor: "t")
    #expect(bob.role == .user && bob.email == "bob@example.com" && !bob.disabled)
    #expect(try await engine.users.list().map(\.username).sorted() == ["bob", "local"])
    let updated = try await engine.users.update(
      username: "BOB", changes: .init(email: .some(nil), role: .viewer), actor: "t")
    #expect(updated.role == .viewer && updated.email == nil && updated.tokenVersion == bob.tokenVersion + 1)
    try await engine.users.delete(username: "bob", actor: "t")
    await #expect(throws: EngineError.notFound(kind: "user", id: "bob")) { try await engine.users.get(username: "bob") }
  }

  @Test func usernamesAreUniqueWithoutRegardToCase() async throws {
    let engine = try await makeTestEngine()
    _ = try await engine.users.create(username: "Carol", email: nil, password: "password1", role: .user, actor: nil)
    await #expect(throws: EngineError.alreadyExists(kind: "user", id: "carol")) {
      try await engine.users.create(username: "carol", email: nil, password: "password1", role: .user, actor: nil)
    }
    await #expect(throws: EngineError.alreadyExists(kind: "user", id: "LOCAL")) {
      try await engine.users.create(username: "LOCAL", email: nil, password: "password1", role: .admin, actor: nil)
    }
  }

  @Test(arguments: [
    "", "a b", "-dash", "tab\tname", "nul\u{0}", "new\nline", "ünïcode", String(repeating: "x", count: 65), "a/b",
  ])
  func unsafeUsernamesAreRefused(_ name: String) async throws {
    let engine = try await makeTestEngine()
    await #expect {
      try await engine.users.create(username: name, email: nil, password: "password1", role: .user, actor: nil)
    } throws: {
      ($0 as? EngineError).map { if case .invalidField("username", _) = $0 { return true } else { return false } }
        ?? false
    }
  }

  @Test func passwordsMustBe8To72BytesWithoutNUL() async throws {
    let engine = try await makeTestEngine()
    func problem(_ p: String) async -> String? {
      do {
        _ = try await engine.users.create(
          username: "u\(p.utf8.count)x\(Int.random(in: 0..<1_000_000))", email: nil,
          password: p, role: .user, actor: nil)
        return nil
      } catch EngineError.invalidField(let field, let reason) { return "\(field): \(reason)" } catch {
        return "\(error)"
      }
    }
    #expect(await problem("1234567") == "password: must be at least 8 bytes")
    #expect(await problem("12345678") == nil)
    #expect(await problem(String(repeating: "é", count: 36)) == nil)  // 72 bytes
    #expect(await problem(String(repeating: "p", count: 73)) == "password: must be at most 72 bytes (it has 73)")
    #expect(await problem(String(repeating: "é", count: 37)) == "password: must be at most 72 bytes (it has 74)")
    #expect(await problem("abcd\u{0}efgh") == "password: must not contain NUL characters")
  }

  @Test func theLocalOwnerCannotBeDemotedDisabledOrDeleted() async throws {
    let engine = try await makeTestEngine()
    #expect(
      engine.localOwner.role == .admin && engine.localOwner.username == "local" && engine.localOwner.userID != nil)
    for changes in [UserDirectory.Changes(role: .viewer), .init(disabled: true), .init(password: "password1")] {
      await #expect(throws: EngineError.self) {
        try await engine.users.update(username: "local", changes: changes, actor: nil)
      }
    }
    await #expect(throws: EngineError.self) { try await engine.users.delete(username: "local", actor: nil) }
    await #expect(throws: EngineError.unauthenticated("invalid username or password")) {
      try await engine.authenticator.login(username: "local", password: "anything1", source: "test")
    }
  }
}

@Suite struct LoginTests {
  func engineWithAlice(clock: EngineClock = EngineClock()) async throws -> Engine {
    let engine = try await makeTestEngine(clock: clock)
    _ = try await engine.users.create(username: "alice", email: nil, password: "correct-pw", role: .user, actor: nil)
    return engine
  }

  @Test func unknownUserAndWrongPasswordAreIndistinguishable() async throws {
    let engine = try await engineWithAlice()
    func attempt(_ u: String, _ p: String) async -> (EngineError?, Int) {
      let before = engine.hasher.operations
      do {
        _ = try await engine.authenticator.login(username: u, password: p, source: "t")
        return (nil, engine.hasher.operations - before)
      } catch { return (error as? EngineError, engine.hasher.operations - before) }
    }
    let unknown = await attempt("nobody", "wrong-pw1")
    let wrong = await attempt("alice", "wrong-pw1")
    #expect(unknown.0 == .unauthenticated("invalid username or password"))
    #expect(unknown.0 == wrong.0)
    // The same work: exactly one bcrypt verification each (a dummy hash for the unknown user).
    #expect(unknown.1 == 1 && wrong.1 == 1)
  }

  @Test func overlongPasswordsAreRefusedBeforeHashing() async throws {
    let engine = try await engineWithAlice()
    let before = engine.hasher.operations
    let huge = String(repeating: "x", count: 1 << 20)
    await #expect(throws: EngineError.invalidField("password", "must be at most 72 bytes")) {
      try await engine.authenticator.login(username: "alice", password: huge, source: "t")
    }
    await #expect(throws: EngineError.invalidField("password", "must be at most 72 bytes")) {
      try await engine.authenticator.login(username: "alice", password: String(repeating: "y", count: 73), source: "t")
    }
    #expect(engine.hasher.operations == before)
  }

  @Test func lockoutAfterMaxFailuresDoublesOnRepeatAndUnlockClearsIt() async throws {
    let clock = EngineClock()
    let engine = try await engineWithAlice(clock: clock)
    _ = try await engine.settings.update(
      scope: .system, userID: 0,
      values: ["security.lockout.maxFailures": 3, "security.lockout.minutes": 2], now: clock.now())
    func login(_ p: String) async -> EngineError? { await loginError(engine, "alice", p) }
    #expect(await login("bad-pw-1") == .unauthenticated("invalid username or password"))
    #expect(await login("bad-pw-2") == .unauthenticated("invalid username or password"))
    #expect(await login("bad-pw-3") == .accountLocked(retryAfterSeconds: 120))
    // Locked: even the right password fails, with the time left.
    clock.advance(seconds: 30)
    // 90 s are left on the engine's clock, less the real time the test itself took meanwhile.
    let left = await login("correct-pw")
    guard case .accountLocked(let seconds)? = left, (80...90).contains(seconds) else {
      Issue.record("expected about 90 s left, got \(String(describing: left))")
      return
    }
    clock.advance(seconds: 91)
    #expect(await login("correct-pw") == nil)
    // Failures after a successful login start over, but the next lock of a repeat offender is longer.
    for p in ["x-pw-0001", "x-pw-0002"] { _ = await login(p) }
    #expect(await login("x-pw-0003") == .accountLocked(retryAfterSeconds: 120))  // a success reset the repeat count
    clock.advance(seconds: 121)
    for p in ["y-pw-0001", "y-pw-0002"] { _ = await login(p) }
    #expect(await login("y-pw-0003") == .accountLocked(retryAfterSeconds: 240))  // doubled
    _ = try await engine.users.unlock(username: "alice", actor: "admin")
    #expect(await login("correct-pw") == nil)
    let audit = try await engine.audit.query(.init(username: "alice"))
    let actions = audit.entries.map { "\($0.action):\($0.outcome)" }
    #expect(
      actions.contains("auth.lockout:locked") && actions.contains("auth.login:locked")
        && actions.contains("auth.login:ok"))
    let unlock = try await engine.audit.query(.init(action: "user.unlock"))
    #expect(unlock.entries.first?.target == "alice" && unlock.entries.first?.username == "admin")
  }

  @Test func failuresOutsideTheWindowDoNotAccumulate() async throws {
    let clock = EngineClock()
    let engine = try await engineWithAlice(clock: clock)
    _ = try await engine.settings.update(
      scope: .system, userID: 0,
      values: ["security.lockout.maxFailures": 2, "security.lockout.minutes": 1], now: clock.now())
    await #expect(throws: EngineError.unauthenticated("invalid username or password")) {
      try await engine.authenticator.login(username: "alice", password: "nope-nope", source: "t")
    }
    clock.advance(seconds: 61)
    await #expect(throws: EngineError.unauthenticated("invalid username or password")) {
      try await engine.authenticator.login(username: "alice", password: "nope-nope", source: "t")
    }
  }

  @Test func disabledUsersCannotLogIn() async throws {
    let engine = try await engineWithAlice()
    _ = try await engine.users.update(username: "alice", changes: .init(disabled: true), actor: nil)
    await #expect(throws: EngineError.unauthenticated("account disabled")) {
      try await engine.authenticator.login(username: "alice", password: "correct-pw", source: "t")
    }
  }

  @Test func aLowerCostHashIsUpgradedAtTheNextLogin() async throws {
    let engine = try await engineWithAlice()  // hashed at cost 10
    func storedCost() async throws -> Int? {
      let hash = try await engine.database.read {
        try $0.queryOne("SELECT password_hash FROM users WHERE username = 'alice'")?[0].text
      }
      return hash.flatMap { Int($0.split(separator: "$")[1]) }
    }
    #expect(try await storedCost() == 10)
    _ = try await engine.settings.update(
      scope: .system, userID: 0, values: ["security.passwordHashCost": 11], now: engine.clock.now())
    _ = try await engine.authenticator.login(username: "alice", password: "correct-pw", source: "t")
    #expect(try await storedCost() == 11)
    // And the new hash still verifies.
    #expect(
      try await engine.authenticator.login(username: "alice", password: "correct-pw", source: "t").username == "alice")
  }
}

@Suite struct TokenLifecycleTests {
  @Test func tokensStopWorkingAfterRevokeDisableRoleOrPasswordChange() async throws {
    let engine = try await makeTestEngine()
    _ = try await engine.users.create(username: "dave", email: nil, password: "dave-pass", role: .user, actor: nil)
    func freshToken() async throws -> String {
      engine.authenticator.issueToken(for: try await engine.users.get(username: "dave")).token
    }
    func accepted(_ token: String) async -> Bool { (try? await engine.authenticator.authenticate(token: token)) != nil }

    let t1 = try await freshToken()
    #expect(await accepted(t1))
    let claims = try engine.tokens.verify(t1, now: engine.clock.now())
    try await engine.authenticator.revoke(tokenID: claims.tokenID, username: "dave")
    #expect(!(await accepted(t1)))

    let t2 = try await freshToken()
    _ = try await engine.users.update(username: "dave", changes: .init(role: .viewer), actor: nil)
    #expect(!(await accepted(t2)))

    let t3 = try await freshToken()
    _ = try await engine.users.update(username: "dave", changes: .init(password: "new-dave-pass"), actor: nil)
    #expect(!(await accepted(t3)))

    let t4 = try await freshToken()
    _ = try await engine.users.update(username: "dave", changes: .init(disabled: true), actor: nil)
    #expect(!(await accepted(t4)))
    _ = try await engine.users.update(username: "dave", changes: .init(disabled: false), actor: nil)
    #expect(!(await accepted(t4)))  // re-enabling does not revive old tokens

    let t5 = try await freshToken()
    #expect(await accepted(t5))
    try await engine.users.delete(username: "dave", actor: nil)
    #expect(!(await accepted(t5)))
  }

  @Test func expiredTokensAreRefused() async throws {
    let clock = EngineClock()
    let engine = try await makeTestEngine(clock: clock)
    _ = try await engine.settings.update(
      scope: .system, userID: 0, values: ["security.tokenTTLMinutes": 1], now: clock.now())
    _ = try await engine.users.create(username: "erin", email: nil, password: "erin-pass", role: .user, actor: nil)
    let token = engine.authenticator.issueToken(for: try await engine.users.get(username: "erin")).token
    clock.advance(seconds: 119)
    #expect((try? await engine.authenticator.authenticate(token: token)) != nil)
    clock.advance(seconds: 2)
    await #expect(throws: EngineError.unauthenticated("invalid token: token expired")) {
      try await engine.authenticator.authenticate(token: token)
    }
  }

  @Test func aShortSecretRefusesToStartAndTheKeyFileIsPrivateAndKept() async throws {
    let dir = try temporaryDirectory(prefix: "minions-key")
    #expect {
      try Engine(
        configuration: EngineConfiguration(
          dataDirectory: dir, workspace: dir, environment: ["MINIONS_JWT_SECRET": "too short"]),
        logger: .disabled)
    } throws: { "\($0)".contains("MINIONS_JWT_SECRET must be at least 32 bytes (it has 9)") }
    let engine = try await makeTestEngine(dataDirectory: dir)
    var st = stat()
    #expect(stat(dir + "/jwt.key", &st) == 0 && st.st_mode & 0o777 == 0o600 && st.st_size == 32)
    _ = try await engine.users.create(username: "fay", email: nil, password: "fay-pass-1", role: .user, actor: nil)
    let token = engine.authenticator.issueToken(for: try await engine.users.get(username: "fay")).token
    engine.close()
    // The same key after a restart: the token still verifies.
    let again = try await makeTestEngine(dataDirectory: dir)
    #expect(try await again.authenticator.authenticate(token: token).username == "fay")
    // A token made with another key does not.
    let other = try await makeTestEngine(environment: ["MINIONS_JWT_SECRET": String(repeating: "k", count: 32)])
    await #expect(throws: EngineError.unauthenticated("invalid token: bad signature")) {
      try await other.authenticator.authenticate(token: token)
    }
  }
}

/// The error a login gets, or nil when it succeeds.
func loginError(_ engine: Engine, _ username: String, _ password: String) async -> EngineError? {
  do {
    _ = try await engine.authenticator.login(username: username, password: password, source: "t")
    return nil
  } catch {
    return error as? EngineError
  }
}
