import Foundation
import JSONRPC
import MinionsCore
import MinionsServer
import MinionsTestSupport
import Testing

@Suite struct LifecycleTests {
  @Test func requestsBeforeInitializeGetServerNotInitialized() async throws {
    var h = try await ServerHarness.make()
    #expect(await h.call("auth/whoami")["error"]?["code"] == -32002)
    #expect(await h.call("no/such")["error"]?["code"] == -32002)
    // rpc.discover is allowed before initialize.
    #expect(await h.call("rpc.discover")["result"]?["openrpc"] == "1.3.2")
    await h.finish()
  }

  @Test func initializeReturnsTheServersMethodsAndUser() async throws {
    var h = try await ServerHarness.make()
    let r = await h.initialize([
      "protocolVersion": 1, "clientInfo": ["name": "test", "version": "1"],
      "capabilities": ["approvals": true, "tokenCoalesceMs": 10],
    ])
    let result = r["result"]
    #expect(result?["protocolVersion"] == 1)
    #expect(result?["serverInfo"]?["name"] == "minions")
    #expect(result?["serverInfo"]?["version"] == .string(MinionsVersion.current))
    let methods = result?["capabilities"]?["methods"]?.arrayValue?.compactMap(\.stringValue) ?? []
    #expect(methods == h.server.methods.methodNames)
    #expect(methods.contains("initialize") && methods.contains("auth/whoami"))
    #expect(result?["capabilities"]?["notifications"]?.arrayValue?.contains("$/progress") == true)
    #expect(result?["user"]?["role"] == "admin")
    #expect(h.session.capabilities.approvals == true)
    #expect(h.session.capabilities.tokenCoalesceMs == 10)
    await h.finish()
  }

  @Test func aSecondInitializeIsAnInvalidRequest() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let again = await h.initialize()
    #expect(again["error"]?["code"] == -32600)
    #expect(await h.call("auth/whoami")["result"]?["username"] == "local")
    await h.finish()
  }

  @Test func aPipelinedRequestRightAfterInitializeSeesTheInitializedState() async throws {
    let h = try await ServerHarness.make()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"auth/whoami"}"#)
    #expect(await h.client.reply(to: 2)?["result"]?["username"] == "local")
    await h.finish()
  }

  @Test func requestsAfterShutdownAreInvalid() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    #expect(await h.call("shutdown")["result"] == .null)
    let after = await h.call("auth/whoami")
    #expect(after["error"]?["code"] == -32600)
    #expect(after["error"]?["message"]?.stringValue?.contains("shutdown") == true)
    await h.finish()
  }

  @Test func shutdownRepliesAfterEarlierRequests() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":"w","method":"auth/whoami"}"#)
    _ = await h.call("shutdown")
    let order = h.client.messages.compactMap { $0["id"] }
    #expect(order.firstIndex(of: "w")! < order.count - 1)
    await h.finish()
  }

  @Test func exitCodeReflectsWhetherShutdownCameFirst() async throws {
    var clean = try await ServerHarness.make()
    _ = await clean.initialize()
    _ = await clean.call("shutdown")
    clean.notify("exit")
    #expect(await clean.session.connection.finished.waitAsync(timeout: 5))
    #expect(clean.session.exitCode == 0)

    var abrupt = try await ServerHarness.make()
    _ = await abrupt.initialize()
    abrupt.notify("exit")
    #expect(await abrupt.session.connection.finished.waitAsync(timeout: 5))
    #expect(abrupt.session.exitCode == 1)
  }

  @Test func notificationsBeforeInitializeAreDroppedButExitIsNot() async throws {
    let h = try await ServerHarness.make()
    h.notify("initialized")
    h.notify("exit")
    #expect(await h.session.connection.finished.waitAsync(timeout: 5))
    #expect(h.session.exitCode == 1)
  }

  @Test func unknownMethodsAndDollarRequests() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let unknown = await h.call("agents/fly")
    #expect(unknown["error"]?["code"] == -32601)
    #expect(unknown["error"]?["data"]?["method"] == "agents/fly")
    #expect(await h.call("$/unknownRequest")["error"]?["code"] == -32601)
    h.notify("$/unknownNotification", ["x": 1])
    h.notify("some/notification")
    #expect(await h.call("auth/whoami")["result"] != nil)
    #expect(h.client.messages.count == 4)
    await h.finish()
  }

  @Test func wrongParamTypesNameTheField() async throws {
    var h = try await ServerHarness.make()
    let bad = await h.initialize(["capabilities": ["tokenCoalesceMs": "fast"]])
    #expect(bad["error"]?["code"] == -32602)
    #expect(bad["error"]?["data"]?["field"] == "capabilities.tokenCoalesceMs")
    // The failed initialize left the connection uninitialized: it can try again.
    let range = await h.initialize(["capabilities": ["tokenCoalesceMs": -1]])
    #expect(range["error"]?["data"]?["field"] == "capabilities.tokenCoalesceMs")
    let version = await h.initialize(["protocolVersion": "two"])
    #expect(version["error"]?["data"]?["field"] == "protocolVersion")
    let positional = await h.call("initialize", [1, 2])
    #expect(positional["error"]?["code"] == -32602)
    #expect(positional["error"]?["data"]?["field"] == "params")
    #expect(await h.initialize()["result"] != nil)
    await h.finish()
  }

  @Test func tcpClientsMustAuthenticate() async throws {
    var h = try await ServerHarness.make(endpoint: .tcp(peer: "127.0.0.1:1"))
    let r = await h.initialize()
    #expect(r["result"]?["user"] == .null)
    let whoami = await h.call("auth/whoami")
    #expect(whoami["error"]?["code"] == -32010)
    #expect(await h.call("rpc.discover")["result"] != nil)
    await h.finish()
  }

  @Test func requireAuthAppliesToStdioToo() async throws {
    var h = try await ServerHarness.make(configuration: ServerConfiguration(requireAuthOnStdio: true))
    _ = await h.initialize()
    #expect(await h.call("auth/whoami")["error"]?["code"] == -32010)
    await h.finish()
  }

  @Test func everyNonOpenMethodRefusesAnUnauthenticatedCaller() async throws {
    var h = try await ServerHarness.make(endpoint: .tcp(peer: "127.0.0.1:1"))
    _ = await h.initialize()
    for name in h.server.methods.methodNames where h.server.methods[name]!.access != .open {
      let r = await h.call(name, [:])
      #expect(r["error"]?["code"] == -32010, "\(name) answered \(r)")
    }
    await h.finish()
  }
}

@Suite struct ProtocolDocumentTests {
  @Test func openRPCFileIsTheGeneratedDocument() throws {
    let generated = JSONWriter.prettyString(MinionsServer.openRPC)
    let path = repositoryRoot + "/protocol/openrpc.json"
    let onDisk = try String(contentsOfFile: path, encoding: .utf8)
    #expect(
      onDisk == generated, "protocol/openrpc.json is stale: run `minions protocol openrpc > protocol/openrpc.json`")
  }

  @Test func everyMethodIsDescribed() {
    let doc = MinionsServer.openRPC
    let names = doc["methods"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    #expect(names == MinionsServer.methodTable.methodNames)
    for method in doc["methods"]?.arrayValue ?? [] {
      #expect(method["summary"]?.stringValue?.isEmpty == false)
      #expect(method["result"]?["schema"] != nil)
      #expect(method["x-access"] != nil)
    }
    let initialize = doc["methods"]?.arrayValue?.first { $0["name"] == "initialize" }
    let params = initialize?["params"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
    #expect(params == ["auth", "capabilities", "clientInfo", "protocolVersion"])
  }

  @Test func everyMethodAndNotificationIsInTheProtocolGuide() throws {
    let table = MinionsServer.methodTable
    let folder = repositoryRoot + "/protocol"
    var text = ""
    for file in try FileManager.default.contentsOfDirectory(atPath: folder) where file.hasSuffix(".md") {
      text += try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
    }
    let names = table.methodNames + table.serverNotificationNames + Array(table.clientNotifications.keys)
    for name in names {
      #expect(text.contains("`\(name)`"), "\(name) is not documented in protocol/*.md")
    }
    for code in ErrorCode.all {
      #expect(text.contains("\(code.rawValue)"), "error \(code.rawValue) is not documented in protocol/*.md")
    }
  }
}
