import Foundation
import JSONRPC
import MinionsCore
import MinionsTestSupport
import Testing

@Suite(.serialized) struct SecurityEndToEndTests {
  func run(_ args: [String], stdin: String? = nil, dataDirectory: String, extra: [String: String] = [:]) async throws
    -> (Int32?, String, String)
  {
    var env = ["MINIONS_DATA_DIR": dataDirectory]
    for (k, v) in extra { env[k] = v }
    let p = try EngineProcess(args, environment: env, keepRawOutput: true)
    if let stdin { p.send(stdin) }
    p.closeStdin()
    let code = await p.waitForExit()
    return (code, String(decoding: p.reader.raw, as: UTF8.self), p.stderr)
  }

  @Test func aShortJWTSecretRefusesToStart() async throws {
    let dir = try temporaryDirectory(prefix: "minions-e2e")
    let (code, _, stderr) = try await run(
      ["serve"], dataDirectory: dir, extra: ["MINIONS_JWT_SECRET": "only-20-bytes-long!!"])
    #expect(code == 1)
    #expect(stderr.contains("MINIONS_JWT_SECRET must be at least 32 bytes (it has 20)"))
  }

  @Test func usersCommandManagesTheDataDirectory() async throws {
    let dir = try temporaryDirectory(prefix: "minions-e2e")
    let added = try await run(
      ["users", "add", "root-admin", "--role", "admin", "--email", "r@example.com", "--password-stdin"],
      stdin: "first-password\n", dataDirectory: dir)
    #expect(added.0 == 0 && added.1.contains("created root-admin (admin)"))
    let again = try await run(
      ["users", "add", "root-admin", "--role", "user", "--password-stdin"], stdin: "another-pw\n", dataDirectory: dir)
    #expect(again.0 == 1 && again.2.contains("user 'root-admin' already exists"))
    let short = try await run(
      ["users", "add", "shorty", "--role", "user", "--password-stdin"], stdin: "short\n", dataDirectory: dir)
    #expect(short.0 == 1 && short.2.contains("password must be at least 8 bytes"))
    let badRole = try await run(
      ["users", "add", "x", "--role", "root", "--password-stdin"], stdin: "password1\n", dataDirectory: dir)
    #expect(badRole.0 == 2 && badRole.2.contains("unknown role 'root'"))
    let noStdin = try await run(["users", "add", "x", "--role", "user"], dataDirectory: dir)
    #expect(noStdin.0 == 2 && noStdin.2.contains("--password-stdin"))
    let list = try await run(["users", "list"], dataDirectory: dir)
    #expect(
      list.0 == 0 && list.1.contains("root-admin") && list.1.contains("r@example.com") && list.1.contains("local"))
    #expect(
      try await run(
        ["users", "passwd", "root-admin", "--password-stdin"], stdin: "second-password\n", dataDirectory: dir
      ).0 == 0)
    #expect(try await run(["users", "unlock", "root-admin"], dataDirectory: dir).0 == 0)
    #expect(try await run(["users", "unlock", "ghost"], dataDirectory: dir).2.contains("no user 'ghost'"))
    // The new password works over TCP; the old one does not.
    let engine = try EngineProcess(["serve", "--listen", "127.0.0.1:0"], environment: ["MINIONS_DATA_DIR": dir])
    #expect(await engine.waitForStderr("listening on"))
    let port = Int(engine.stderr.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    let client = try TCPTestClient(port: port)
    #expect(
      await client.call("initialize", ["auth": ["username": "root-admin", "password": "first-password"]])["error"]?[
        "code"] == -32010)
    #expect(
      await client.call("initialize", ["auth": ["username": "root-admin", "password": "second-password"]])["result"]?[
        "user"]?["role"] == "admin")
    await client.close()
    engine.signal(SIGTERM)
    _ = await engine.waitForExit()
  }

  @Test func anAcknowledgedUserSurvivesSIGKILL() async throws {
    let dir = try temporaryDirectory(prefix: "minions-e2e")
    let first = try EngineProcess(["serve"], environment: ["MINIONS_DATA_DIR": dir])
    _ = await first.call("initialize")
    _ = await first.call("settings/update", ["scope": "system", "values": ["security.passwordHashCost": 10]])
    let created = await first.call("users/create", ["username": "durable", "password": "durable-pw", "role": "user"])
    #expect(created["result"]?["user"]?["username"] == "durable")
    first.signal(SIGKILL)  // right after the reply: no clean shutdown
    #expect(await first.waitForExit() != 0)
    let second = try EngineProcess(["serve"], environment: ["MINIONS_DATA_DIR": dir])
    _ = await second.call("initialize")
    #expect(await second.call("users/get", ["username": "durable"])["result"]?["user"]?["role"] == "user")
    second.closeStdin()
    _ = await second.waitForExit()
  }

  @Test func loginOverStdioWithRequireAuth() async throws {
    let dir = try temporaryDirectory(prefix: "minions-e2e")
    _ = try await run(
      ["users", "add", "solo", "--role", "viewer", "--password-stdin"], stdin: "solo-password\n", dataDirectory: dir)
    let engine = try EngineProcess(["serve", "--require-auth"], environment: ["MINIONS_DATA_DIR": dir])
    _ = await engine.call("initialize")
    #expect(await engine.call("auth/whoami")["error"]?["code"] == -32010)
    #expect(
      await engine.call("auth/login", ["username": "solo", "password": "solo-password"])["result"]?["user"]?["role"]
        == "viewer")
    #expect(await engine.call("users/list")["error"]?["data"]?["permission"] == "users.manage")
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
  }
}
