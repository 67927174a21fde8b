import Foundation
import JSONRPC
import MinionsCore
import MinionsTestSupport
import Testing

@Suite(.serialized) struct TCPTests {
  func startServer() async throws -> (EngineProcess, Int) {
    let engine = try EngineProcess(["serve", "--listen", "127.0.0.1:0"])
    #expect(await engine.waitForStderr("listening on 127.0.0.1:"))
    let line = engine.stderr.split(separator: "\n").first { $0.contains("listening on 127.0.0.1:") } ?? ""
    let port = Int(line.split(separator: ":").last ?? "") ?? 0
    #expect(port > 0)
    return (engine, port)
  }

  @Test func manyClientsAtOnceEachWithItsOwnSession() async throws {
    let (engine, port) = try await startServer()
    try await withThrowingTaskGroup(of: Void.self) { group in
      for i in 0..<8 {
        group.addTask {
          let client = try TCPTestClient(port: port)
          let lsp = i % 2 == 0
          // Before initialize: -32002; then each session initializes on its own.
          #expect(await client.call("auth/whoami", lsp: lsp)["error"]?["code"] == -32002)
          let initialize = await client.call("initialize", ["clientInfo": ["name": .string("tcp-\(i)")]], lsp: lsp)
          #expect(initialize["result"]?["user"] == .null)
          // TCP requires authentication for everything but the open methods.
          #expect(await client.call("auth/whoami", lsp: lsp)["error"]?["code"] == -32010)
          #expect(await client.call("rpc.discover", lsp: lsp)["result"]?["openrpc"] == "1.3.2")
          #expect(await client.call("initialize", lsp: lsp)["error"]?["code"] == -32600)
          await client.close()
        }
      }
      try await group.waitForAll()
    }
    #expect(engine.process.isRunning)
    engine.signal(SIGTERM)
    #expect(await engine.waitForExit() == 0)
  }

  @Test func exitOnTCPClosesOnlyThatConnection() async throws {
    let (engine, port) = try await startServer()
    let a = try TCPTestClient(port: port)
    let b = try TCPTestClient(port: port)
    _ = await a.call("initialize")
    _ = await b.call("initialize")
    a.sendLine(#"{"jsonrpc":"2.0","method":"exit"}"#)
    #expect(await a.reader.finished.waitAsync(timeout: 5))
    #expect(await b.call("rpc.discover")["result"] != nil)
    #expect(engine.process.isRunning)
    await b.close()
    engine.signal(SIGINT)
    #expect(await engine.waitForExit() == 0)
  }

  @Test func aClientVanishingMidRequestDoesNotHarmOthers() async throws {
    let (engine, port) = try await startServer()
    let rude = try TCPTestClient(port: port)
    rude.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#)
    rude.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"rpc.discover"}"#)
    await rude.close()
    let polite = try TCPTestClient(port: port)
    #expect(await polite.call("initialize")["result"] != nil)
    #expect(await polite.call("rpc.discover")["result"] != nil)
    await polite.close()
    engine.signal(SIGTERM)
    #expect(await engine.waitForExit() == 0)
  }
}

@Suite(.serialized) struct CommandLineTests {
  func run(_ args: [String]) async throws -> (Int32?, String, String) {
    let engine = try EngineProcess(args, keepRawOutput: true)
    let code = await engine.waitForExit()
    return (code, String(decoding: engine.reader.raw, as: UTF8.self), engine.stderr)
  }

  @Test func badFlagsExitTwoWithAUsageLine() async throws {
    for args in [
      ["serve", "--bogus"], ["serve", "--listen"], ["serve", "--listen", "nowhere"],
      ["serve", "--log-level", "loud"], ["serve", "extra"], ["frobnicate"], ["protocol", "yaml"],
    ] {
      let (code, _, stderr) = try await run(args)
      #expect(code == 2, "\(args)")
      #expect(stderr.contains("usage: minions"), "\(args): \(stderr)")
    }
  }

  @Test func helpAndVersion() async throws {
    let (code, out, _) = try await run(["serve", "--help"])
    #expect(code == 0 && out.contains("--listen HOST:PORT"))
    let (vcode, vout, _) = try await run(["version"])
    #expect(vcode == 0 && vout.hasPrefix("minions "))
    let (hcode, hout, _) = try await run(["--help"])
    #expect(hcode == 0 && hout.contains("serve"))
  }

  @Test func protocolOpenRPCPrintsTheCheckedInDocument() async throws {
    let (code, out, _) = try await run(["protocol", "openrpc"])
    #expect(code == 0)
    let file = try String(contentsOfFile: repositoryRootPath + "/protocol/openrpc.json", encoding: .utf8)
    #expect(out == file)
  }

  @Test func anAddressInUseIsAClearError() async throws {
    let first = try EngineProcess(["serve", "--listen", "127.0.0.1:0"])
    #expect(await first.waitForStderr("listening on"))
    let port =
      first.stderr.split(separator: ":").last.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
    let (code, _, stderr) = try await run(["serve", "--listen", "127.0.0.1:\(port)"])
    #expect(code == 1)
    #expect(stderr.contains("cannot listen on 127.0.0.1:\(port)"))
    first.signal(SIGTERM)
    _ = await first.waitForExit()
  }
}
