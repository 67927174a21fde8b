import Foundation
import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

/// Security over the protocol: login, tokens, keys, the role matrix, audit, settings.
@Suite struct SecurityProtocolTests {
  static let tcp = JSONRPCConnection.Endpoint.tcp(peer: "127.0.0.1:9")

  /// A server with users of every role (password "<name>-password").
  func serverWithUsers() async throws -> MinionsServer {
    let engine = try await makeTestEngine()
    for role in Role.allCases {
      _ = try await engine.users.create(
        username: "the-\(role.rawValue)", email: "\(role.rawValue)@example.com",
        password: "the-\(role.rawValue)-password", role: role, actor: nil)
    }
    return MinionsServer(configuration: ServerConfiguration(), engine: engine, logger: .disabled)
  }

  func token(_ server: MinionsServer, _ username: String) async throws -> String {
    server.engine.authenticator.issueToken(for: try await server.engine.users.get(username: username)).token
  }

  @Test func loginOverTCPBindsTheConnectionAndLogoutRevokesTheToken() async throws {
    let server = try await serverWithUsers()
    var a = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await a.initialize()
    #expect(await a.call("auth/whoami")["error"]?["code"] == -32010)
    let login = await a.call("auth/login", ["username": "the-user", "password": "the-user-password"])
    let token = login["result"]?["token"]?.stringValue ?? ""
    #expect(token.split(separator: ".").count == 3)
    #expect(login["result"]?["user"]?["role"] == "user")
    #expect(login["result"]?["expiresAt"]?.stringValue.flatMap(Timestamp.init(iso8601:)) != nil)
    #expect(await a.call("auth/whoami")["result"]?["authMethod"] == "password")
    // The token authenticates another connection.
    var b = ServerHarness(server: server, endpoint: Self.tcp)
    #expect(await b.initialize(["auth": ["token": .string(token)]])["result"]?["user"]?["username"] == "the-user")
    // Logout revokes it: this connection and every other one using it lose their authentication.
    #expect(await a.call("auth/logout")["result"] == ["revoked": true])
    #expect(await a.call("auth/whoami")["error"]?["code"] == -32010)
    #expect(await b.call("auth/whoami")["error"]?["code"] == -32010)
    var c = ServerHarness(server: server, endpoint: Self.tcp)
    let refused = await c.initialize(["auth": ["token": .string(token)]])
    #expect(refused["error"]?["code"] == -32010)
    #expect(refused["error"]?["message"]?.stringValue?.contains("revoked") == true)
    for h in [a, b, c] { await h.finish() }
  }

  @Test func refreshRotatesTheToken() async throws {
    let server = try await serverWithUsers()
    var h = ServerHarness(server: server, endpoint: Self.tcp)
    let old = try await token(server, "the-viewer")
    _ = await h.initialize(["auth": ["token": .string(old)]])
    let refreshed = await h.call("auth/refresh")
    let new = refreshed["result"]?["token"]?.stringValue ?? ""
    #expect(!new.isEmpty && new != old)
    #expect(await h.call("auth/whoami")["result"]?["username"] == "the-viewer")
    var other = ServerHarness(server: server, endpoint: Self.tcp)
    #expect(await other.initialize(["auth": ["token": .string(old)]])["error"]?["code"] == -32010)
    var third = ServerHarness(server: server, endpoint: Self.tcp)
    #expect(await third.initialize(["auth": ["token": .string(new)]])["result"] != nil)
    for x in [h, other, third] { await x.finish() }
  }

  @Test func initializeAcceptsEachKindOfCredential() async throws {
    let server = try await serverWithUsers()
    var p = ServerHarness(server: server, endpoint: Self.tcp)
    let byPassword = await p.initialize(["auth": ["username": "the-admin", "password": "the-admin-password"]])
    #expect(byPassword["result"]?["user"]?["role"] == "admin")
    let key = await p.call("apikeys/create", ["name": "bot", "scopes": ["models.read"]])
    let apiKey = key["result"]?["key"]?.stringValue ?? ""
    #expect(apiKey.hasPrefix("mk_"))
    var k = ServerHarness(server: server, endpoint: Self.tcp)
    let byKey = await k.initialize(["auth": ["apiKey": .string(apiKey)]])
    #expect(byKey["result"]?["user"]?["permissions"] == ["models.read"])
    // The scope holds even though the owner is an admin.
    let denied = await k.call("users/list")
    #expect(denied["error"]?["code"] == -32011 && denied["error"]?["data"] == ["permission": "users.manage"])
    // The key is never listed again.
    let listed = await p.call("apikeys/list")
    #expect(
      listed["result"]?["keys"]?[0]?["key"] == nil
        && listed["result"]?["keys"]?[0]?["prefix"] == .string(String(apiKey.prefix(11))))
    // Revoking it ends the session that used it.
    _ = await p.call("apikeys/revoke", ["id": key["result"]?["id"] ?? nil])
    #expect(await k.call("auth/whoami")["error"]?["code"] == -32010)
    var bad = ServerHarness(server: server, endpoint: Self.tcp)
    #expect(
      await bad.initialize(["auth": ["username": "the-admin", "password": "nope-nope"]])["error"]?["code"] == -32010)
    #expect(await bad.initialize(["auth": ["apiKey": "mk_forged"]])["error"]?["code"] == -32010)
    #expect(await bad.initialize(["auth": ["token": "x.y.z"]])["error"]?["code"] == -32010)
    #expect(await bad.initialize(["auth": [:]])["error"]?["code"] == -32602)
    for x in [p, k, bad] { await x.finish() }
  }

  @Test func changesToAUserEndTheirLiveSessions() async throws {
    let server = try await serverWithUsers()
    var admin = ServerHarness(server: server, endpoint: .stdio)  // the local owner
    _ = await admin.initialize()
    var session = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await session.initialize(["auth": ["token": .string(try await token(server, "the-user"))]])
    #expect(await session.call("auth/whoami")["result"] != nil)
    _ = await admin.call("users/update", ["username": "the-user", "role": "viewer"])
    #expect(await session.call("auth/whoami")["error"]?["code"] == -32010)
    // Email changes do not end sessions.
    var other = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await other.initialize(["auth": ["token": .string(try await token(server, "the-viewer"))]])
    _ = await admin.call("users/update", ["username": "the-viewer", "email": "new@example.com"])
    #expect(await other.call("auth/whoami")["result"] != nil)
    _ = await admin.call("users/update", ["username": "the-viewer", "disabled": true])
    #expect(await other.call("auth/whoami")["error"]?["code"] == -32010)
    for x in [admin, session, other] { await x.finish() }
  }

  @Test func lockedAccountsAnswerWithRetryAfter() async throws {
    let server = try await serverWithUsers()
    _ = try await server.engine.settings.update(
      scope: .system, userID: 0, values: ["security.lockout.maxFailures": 2],
      now: server.engine.clock.now())
    var h = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await h.initialize()
    _ = await h.call("auth/login", ["username": "the-user", "password": "wrong-one"])
    let locked = await h.call("auth/login", ["username": "the-user", "password": "wrong-two"])
    #expect(locked["error"]?["code"] == -32012)
    #expect(locked["error"]?["data"]?["retryAfterSeconds"] == 900)
    let stillLocked = await h.call("auth/login", ["username": "the-user", "password": "the-user-password"])
    #expect(stillLocked["error"]?["code"] == -32012)
    var admin = ServerHarness(server: server, endpoint: .stdio)
    _ = await admin.initialize()
    #expect(await admin.call("users/get", ["username": "the-user"])["result"]?["user"]?["locked"] == true)
    #expect(await admin.call("users/unlock", ["username": "the-user"])["result"]?["user"]?["locked"] == false)
    #expect(await h.call("auth/login", ["username": "the-user", "password": "the-user-password"])["result"] != nil)
    let audit = await admin.call("audit/query", ["username": "the-user", "action": "auth.*"])
    let outcomes = audit["result"]?["entries"]?.arrayValue?.compactMap { $0["outcome"]?.stringValue } ?? []
    #expect(outcomes == ["ok", "locked", "locked", "failed"])
    for x in [h, admin] { await x.finish() }
  }

  @Test func passwordRulesOverTheProtocol() async throws {
    let server = try await serverWithUsers()
    var h = ServerHarness(server: server, endpoint: .stdio)
    _ = await h.initialize()
    let longPassword = JSONValue.string(String(repeating: "z", count: 73))
    let long = await h.call("users/create", ["username": "zed", "password": longPassword, "role": "user"])
    #expect(long["error"]?["code"] == -32602 && long["error"]?["data"]?["field"] == "password")
    let before = server.engine.hasher.operations
    var t = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await t.initialize()
    let hugePassword = JSONValue.string(String(repeating: "h", count: 1_000_000))
    let huge = await t.call("auth/login", ["username": "the-user", "password": hugePassword])
    #expect(huge["error"]?["code"] == -32602 && huge["error"]?["data"]?["field"] == "password")
    #expect(server.engine.hasher.operations == before)
    let unknown = await t.call("auth/login", ["username": "nobody", "password": "whatever1"])
    let wrong = await t.call("auth/login", ["username": "the-user", "password": "whatever1"])
    #expect(unknown["error"] == wrong["error"])
    #expect(
      await h.call("users/create", ["username": "the-user", "password": "password1", "role": "user"])["error"]?["code"]
        == -32014)
    #expect(await h.call("users/get", ["username": "ghost"])["error"]?["data"] == ["kind": "user", "id": "ghost"])
    #expect(
      await h.call("users/create", ["username": "x y", "password": "password1", "role": "user"])["error"]?["data"]?[
        "field"] == "username")
    #expect(
      await h.call("users/create", ["username": "xy", "password": "password1", "role": "root"])["error"]?["data"]?[
        "field"] == "role")
    for x in [h, t] { await x.finish() }
  }

  @Test func changingOnesOwnPasswordKeepsThisSessionAndEndsTheOthers() async throws {
    let server = try await serverWithUsers()
    var mine = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await mine.initialize(["auth": ["username": "the-user", "password": "the-user-password"]])
    var elsewhere = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await elsewhere.initialize(["auth": ["token": .string(try await token(server, "the-user"))]])
    let wrongOld = await mine.call(
      "users/changePassword", ["oldPassword": "not-it-at-all", "newPassword": "brand-new-pw"])
    #expect(wrongOld["error"]?["code"] == -32010)
    let changed = await mine.call(
      "users/changePassword", ["oldPassword": "the-user-password", "newPassword": "brand-new-pw"])
    #expect(changed["result"]?["changed"] == true)
    let fresh = try #require(changed["result"]?["token"]?.stringValue, "\(changed)")
    #expect(await mine.call("auth/whoami")["result"]?["username"] == "the-user")
    #expect(await elsewhere.call("auth/whoami")["error"]?["code"] == -32010)
    var again = ServerHarness(server: server, endpoint: Self.tcp)
    #expect(await again.initialize(["auth": ["username": "the-user", "password": "brand-new-pw"]])["result"] != nil)
    // The fresh token resumes a new connection (a reloaded browser tab).
    var resumed = ServerHarness(server: server, endpoint: Self.tcp)
    #expect(await resumed.initialize(["auth": ["token": .string(fresh)]])["result"]?["user"]?["username"] == "the-user")
    for x in [mine, elsewhere, again, resumed] { await x.finish() }
  }

  /// The role matrix, method by method, for every method in the table: a new method cannot skip it.
  @Test func roleMatrixForEveryMethod() async throws {
    let server = try await serverWithUsers()
    let table = MinionsServer.methodTable
    var checked = 0
    for role in Role.allCases {
      for name in table.methodNames {
        let method = table[name]!
        if method.access == .open { continue }
        // A fresh token each time: auth/logout revokes the one it is called with.
        let roleToken = try await token(server, "the-\(role.rawValue)")
        var h = ServerHarness(server: server, endpoint: Self.tcp)
        #expect(await h.initialize(["auth": ["token": .string(roleToken)]])["result"] != nil)
        let reply = await h.call(name, [:])
        let code = reply["error"]?["code"]?.intValue
        switch method.access {
        case .permission(let p) where !role.permissions.contains(p):
          #expect(code == -32011, "\(role.rawValue) → \(name) should be denied: \(reply)")
          #expect(reply["error"]?["data"]?["permission"] == .string(p.rawValue))
        default:
          #expect(code != -32011 && code != -32010, "\(role.rawValue) → \(name) should be allowed: \(reply)")
        }
        checked += 1
        await h.finish()
      }
    }
    #expect(checked == Role.allCases.count * table.methodNames.filter { table[$0]!.access != .open }.count)
    // Denials are audited.
    let denials = try await server.engine.audit.query(.init(action: "permission.denied", limit: 1000))
    #expect(denials.entries.contains { $0.username == "the-viewer" && $0.target == "users/list" })
  }

  @Test func theDocumentedRoleMatrix() {
    #expect(Role.admin.permissions == .all)
    #expect(
      Role.user.permissions.names == [
        "chat", "sessions.read", "models.read", "tools.read", "tools.execute", "analytics.read", "tasks.submit",
      ])
    #expect(Role.viewer.permissions.names == ["models.read", "tools.read", "analytics.read"])
    #expect(!Role.viewer.permissions.contains(.chat) && !Role.viewer.permissions.contains(.toolsExecute))
    #expect(
      Role.apiUser.permissions.names == [
        "chat", "sessions.read", "models.read", "tools.read", "tools.execute", "tasks.submit",
      ])
  }

  @Test func settingsOverTheProtocol() async throws {
    let server = try await serverWithUsers()
    var user = ServerHarness(server: server, endpoint: Self.tcp)
    _ = await user.initialize(["auth": ["token": .string(try await token(server, "the-user"))]])
    let got = await user.call("settings/get")
    #expect(got["result"]?["system"]?["tools.approvalPolicy"] == "deny" && got["result"]?["user"]?["theme"] == "system")
    let denied = await user.call("settings/update", ["scope": "system", "values": ["tasks.maxConcurrent": 3]])
    #expect(denied["error"]?["code"] == -32011 && denied["error"]?["data"]?["permission"] == "settings.manage")
    let mine = await user.call("settings/update", ["scope": "user", "values": ["theme": "high-contrast"]])
    #expect(mine["result"]?["user"]?["theme"] == "high-contrast")
    let unknown = await user.call("settings/update", ["scope": "user", "values": ["colour": "red"]])
    #expect(unknown["error"]?["data"]?["field"] == "values.colour")
    var admin = ServerHarness(server: server, endpoint: .stdio)
    _ = await admin.initialize()
    #expect(
      await admin.call("settings/update", ["scope": "system", "values": ["tasks.maxConcurrent": 3]])["result"]?[
        "system"]?["tasks.maxConcurrent"] == 3)
    #expect(await admin.call("settings/get")["result"]?["user"]?["theme"] == "system")  // preferences are per user
    let audit = await admin.call("audit/query", ["action": "settings.update"])
    let targets = audit["result"]?["entries"]?.arrayValue?.compactMap { $0["target"]?.stringValue } ?? []
    #expect(targets.contains("system:tasks.maxConcurrent") && targets.contains("user:theme"))
    #expect(await admin.call("audit/query", ["limit": 0])["error"]?["data"]?["field"] == "limit")
    #expect(await admin.call("audit/query", ["cursor": "bogus"])["error"]?["data"]?["field"] == "cursor")
    for x in [user, admin] { await x.finish() }
  }
}
