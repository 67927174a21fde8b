import Foundation
import JSONRPC
import MinionsCore
import MinionsTestSupport
import Testing

@Suite(.serialized) struct StdioTests {
  @Test func fullLifecycleInNewlineFramingExitsZero() async throws {
    let engine = try EngineProcess(keepRawOutput: true)
    let initialize = await engine.call("initialize", ["clientInfo": ["name": "e2e"]])
    #expect(initialize["result"]?["serverInfo"]?["name"] == "minions")
    engine.notify("initialized")
    #expect(await engine.call("auth/whoami")["result"]?["role"] == "admin")
    #expect(await engine.call("shutdown")["result"] == .null)
    engine.notify("exit")
    #expect(await engine.waitForExit() == 0)
    // stdout carried protocol frames and nothing else: every line is a JSON-RPC message.
    let lines = String(decoding: engine.reader.raw, as: UTF8.self).split(separator: "\n")
    #expect(lines.count == 3)
    for line in lines { #expect((try? JSONParser.parse(String(line)))?["jsonrpc"] == "2.0") }
    #expect(engine.stderr.contains("initialized by e2e"))
  }

  @Test func fullLifecycleInLSPFramingExitsZero() async throws {
    let engine = try EngineProcess(keepRawOutput: true)
    #expect(await engine.call("initialize", lsp: true)["result"] != nil)
    #expect(await engine.call("auth/whoami", lsp: true)["result"]?["username"] == "local")
    #expect(await engine.call("shutdown", lsp: true)["result"] == .null)
    engine.notify("exit", lsp: true)
    #expect(await engine.waitForExit() == 0)
    let raw = String(decoding: engine.reader.raw, as: UTF8.self)
    #expect(raw.hasPrefix("Content-Length: "))
    #expect(engine.reader.messages.count == 3)
  }

  @Test func exitWithoutShutdownExitsOne() async throws {
    let engine = try EngineProcess()
    _ = await engine.call("initialize")
    engine.notify("exit")
    #expect(await engine.waitForExit() == 1)
  }

  @Test func endOfInputExitsZeroAfterAnsweringWhatWasAsked() async throws {
    let engine = try EngineProcess()
    engine.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#)
    engine.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"auth/whoami"}"#)
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
    #expect(engine.reader.replies(to: 2).count == 1)
  }

  @Test func signalsStopTheEngineCleanly() async throws {
    let engine = try EngineProcess()
    _ = await engine.call("initialize")
    engine.signal(SIGTERM)
    #expect(await engine.waitForExit() == 0)
    #expect(engine.stderr.contains("received signal"))
  }

  /// JSON-RPC 2.0 §7's examples, with Minions methods in place of the spec's `subtract` and `update`.
  @Test func jsonRPCSpecificationExamples() async throws {
    let engine = try EngineProcess()
    _ = await engine.call("initialize")
    // rpc call with positional parameters: our methods take named params.
    engine.sendLine(#"{"jsonrpc":"2.0","method":"auth/whoami","params":[42,23],"id":101}"#)
    #expect(await engine.reader.reply(to: 101)?["error"]?["code"] == -32602)
    // rpc call with named parameters.
    engine.sendLine(#"{"jsonrpc":"2.0","method":"auth/whoami","params":{"subtrahend":23},"id":103}"#)
    #expect(await engine.reader.reply(to: 103)?["result"]?["username"] == "local")
    // a notification: no reply.
    engine.sendLine(#"{"jsonrpc":"2.0","method":"update","params":[1,2,3,4,5]}"#)
    engine.sendLine(#"{"jsonrpc":"2.0","method":"foobar"}"#)
    // rpc call of non-existent method.
    engine.sendLine(#"{"jsonrpc":"2.0","method":"foobar","id":"1"}"#)
    let missing = await engine.reader.reply(to: "1")
    #expect(missing?["error"]?["code"] == -32601)
    // rpc call with invalid JSON.
    engine.sendLine(#"{"jsonrpc":"2.0","method":"foobar,"params":"bar","baz]"#)
    // rpc call with invalid Request object.
    engine.sendLine(#"{"jsonrpc":"2.0","method":1,"params":"bar"}"#)
    // batch, invalid JSON.
    engine.sendLine(#"[{"jsonrpc":"2.0","method":"sum","params":[1,2,4],"id":"1"},{"jsonrpc":"2.0","method""#)
    // empty array.
    engine.sendLine("[]")
    // invalid batch (but not empty), and invalid batch.
    engine.sendLine("[1]")
    engine.sendLine("[1,2,3]")
    // mixed batch.
    engine.sendLine(
      #"[{"jsonrpc":"2.0","method":"auth/whoami","id":"b1"},{"jsonrpc":"2.0","method":"notify_hello","params":[7]},{"jsonrpc":"2.0","method":"auth/whoami","params":{},"id":"b2"},{"foo":"boo"},{"jsonrpc":"2.0","method":"foo.get","params":{"name":"myself"},"id":"5"},{"jsonrpc":"2.0","method":"rpc.discover","id":"9"}]"#
    )
    // all notifications: nothing.
    engine.sendLine(
      #"[{"jsonrpc":"2.0","method":"notify_sum","params":[1,2,4]},{"jsonrpc":"2.0","method":"notify_hello","params":[7]}]"#
    )
    #expect(await engine.call("auth/whoami")["result"] != nil)
    // Replies to different requests may come in any order: wait for all of them.
    let all = await engine.reader.waitFor(count: 12)
    // initialize, 1, 3, "1", parse error, invalid request, parse error, [], [1], [1,2,3], mixed, final call.
    #expect(all.count == 12)
    let nullErrors = all.filter { $0["id"] == .null }.compactMap { $0["error"]?["code"]?.intValue }.sorted()
    #expect(nullErrors == [-32700, -32700, -32600, -32600].sorted())
    let batches = all.compactMap(\.arrayValue)
    #expect(batches.map(\.count).sorted() == [1, 3, 5])
    let mixed = batches.first { $0.count == 5 } ?? []
    #expect(mixed.compactMap { $0["id"] } == ["b1", "b2", .null, "5", "9"])
    #expect(mixed[3]["error"]?["code"] == -32601)
    #expect(mixed[4]["result"]?["openrpc"] == "1.3.2")
    for batch in batches where batch.count != 5 {
      #expect(batch.allSatisfy { $0["error"]?["code"] == -32600 && $0["id"] == .null })
    }
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
  }

  @Test func badInputIsAnsweredAndFollowedByAWorkingRequest() async throws {
    let engine = try EngineProcess()
    #expect(await engine.call("initialize", lsp: true)["result"] != nil)
    var expected: [(String, Int, JSONValue)] = []  // what, code, id
    func check(_ what: String, code: Int, id: JSONValue) { expected.append((what, code, id)) }

    engine.sendLSP(#"{"jsonrpc":"2.0","id":10,"method":"auth/whoami""#)
    check("invalid JSON", code: -32700, id: .null)
    engine.sendBytes(
      Array("Content-Length: 48\r\n\r\n".utf8) + Array(#"{"jsonrpc":"2.0","id":11,"method":"x","p":""#.utf8) + [
        0xC3, 0x28,
      ] + Array("\"}".utf8))
    check("invalid UTF-8", code: -32700, id: .null)
    engine.sendLSP(#"{"jsonrpc":"2.0","id":12,"method":"auth/whoami","params":{"s":"\udead"}}"#)
    check("lone surrogate", code: -32700, id: .null)
    engine.sendLSP(
      #"{"jsonrpc":"2.0","id":13,"method":"auth/whoami","params":"# + String(repeating: "[", count: 129)
        + String(repeating: "]", count: 129) + "}")
    check("nesting 129", code: -32600, id: 13)
    engine.sendLSP(
      #"{"jsonrpc":"2.0","id":14,"method":"x","params":"# + String(repeating: "[", count: 100_000)
        + String(repeating: "]", count: 100_000) + "}")
    check("nesting 100000", code: -32600, id: 14)
    engine.send("Content-Length: -5\r\n\r\n" + #"{"jsonrpc":"2.0","id":15,"method":"x"}"#)
    check("negative Content-Length", code: -32700, id: 15)
    engine.send("Content-Length: eleven\r\n\r\n" + #"{"jsonrpc":"2.0","id":16,"method":"x"}"#)
    check("non-numeric Content-Length", code: -32700, id: 16)
    engine.send("Content-Type: application/json\r\n\r\n" + #"{"jsonrpc":"2.0","id":17,"method":"x"}"#)
    check("missing Content-Length", code: -32700, id: 17)
    engine.send("Content-Length: 99999999999999999999\r\n\r\n" + #"{"jsonrpc":"2.0","id":18,"method":"x"}"#)
    check("huge Content-Length", code: -32600, id: 18)
    let body19 = #"{"jsonrpc":"2.0","id":19,"method":"x"}"#
    engine.send(
      "X-Big: " + String(repeating: "h", count: 9000) + "\r\nContent-Length: \(body19.utf8.count)\r\n\r\n" + body19)
    check("8 KiB+ header line", code: -32600, id: 19)
    engine.sendLSP(
      "[" + Array(repeating: #"{"jsonrpc":"2.0","id":1,"method":"auth/whoami"}"#, count: 1001).joined(separator: ",")
        + "]")
    check("1001-entry batch", code: -32600, id: .null)
    engine.sendLSP(#"{"jsonrpc":"2.0","id":20,"method":"initialize","params":{"capabilities":{"approvals":"yes"}}}"#)
    check("second initialize", code: -32600, id: 20)

    let ok = await engine.call("auth/whoami", lsp: true)
    #expect(ok["result"]?["username"] == "local")
    let replies = engine.reader.messages.dropFirst().dropLast()
    #expect(replies.count == expected.count)
    for (what, code, id) in expected {
      let match = replies.contains { $0["error"]?["code"] == .int(code) && $0["id"] == id }
      #expect(match, "\(what): no \(code) reply with id \(id) in \(Array(replies))")
    }
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
  }

  @Test func wrongParamTypesGetInvalidParamsNamingTheField() async throws {
    let engine = try EngineProcess()
    let r = await engine.call("initialize", ["capabilities": ["optOutNotifications": "agent/update"]])
    #expect(r["error"]?["code"] == -32602)
    #expect(r["error"]?["data"]?["field"] == "capabilities.optOutNotifications")
    #expect(await engine.call("initialize")["result"] != nil)
    engine.closeStdin()
    _ = await engine.waitForExit()
  }

  @Test func oversizedFramesAreRefusedWithoutGrowingMemory() async throws {
    let engine = try EngineProcess()
    _ = await engine.call("initialize", lsp: true)
    let before = engine.residentBytes
    // A 96 MiB body, over the 16 MiB limit: it must be skipped, not stored.
    let size = 96 << 20
    let head = #"{"jsonrpc":"2.0","id":"huge","method":"auth/whoami","params":{"pad":""#
    engine.send("Content-Length: \(size)\r\n\r\n")
    engine.send(head)
    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20)
    var sent = head.utf8.count
    while sent + chunk.count <= size - 3 {
      engine.sendBytes(chunk)
      sent += chunk.count
    }
    engine.sendBytes([UInt8](repeating: UInt8(ascii: "x"), count: size - 3 - sent) + Array("\"}}".utf8))
    let refused = await engine.reader.reply(to: "huge", timeout: 30)
    #expect(refused?["error"]?["code"] == -32600)
    #expect(refused?["error"]?["data"]?["size"] == .int(size))
    let after = engine.residentBytes
    #expect(after - before < 12 << 20, "RSS grew from \(before) to \(after)")
    #expect(await engine.call("auth/whoami", lsp: true)["result"] != nil)
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
  }

  @Test func oversizedLinesAreRefusedWithoutGrowingMemory() async throws {
    let engine = try EngineProcess()
    _ = await engine.call("initialize")
    let before = engine.residentBytes
    engine.send(#"{"jsonrpc":"2.0","id":"long","method":"auth/whoami","params":{"pad":""#)
    let chunk = [UInt8](repeating: UInt8(ascii: "y"), count: 1 << 20)
    for _ in 0..<40 { engine.sendBytes(chunk) }
    engine.send("\"}}\n")
    let refused = await engine.reader.reply(to: "long", timeout: 30)
    #expect(refused?["error"]?["code"] == -32600)
    #expect(refused?["error"]?["data"]?["limit"] == .int(16 << 20))
    let after = engine.residentBytes
    #expect(after - before < 24 << 20, "RSS grew from \(before) to \(after)")
    #expect(await engine.call("auth/whoami")["result"] != nil)
    engine.closeStdin()
    #expect(await engine.waitForExit() == 0)
  }
}
