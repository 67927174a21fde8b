import Foundation
import JSONRPC
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

@Suite struct ModelProtocolTests {
  func harness(script: String? = nil) async throws -> ServerHarness {
    var h = try await ServerHarness.make()
    _ = await h.initialize(["capabilities": ["tokenCoalesceMs": 0]])
    if let script {
      let path = try writeTemporaryFile(script, name: "script.json")
      let r = await h.call(
        "models/register",
        [
          "name": "scripted", "provider": "script", "capabilities": ["text_generation", "tool_use"],
          "script": .string(path),
        ])
      #expect(r["result"]?["model"]?["available"] == true, "\(r)")
    }
    return h
  }

  @Test func listShowsTheLocalModelWithItsFigures() async throws {
    var h = try await harness()
    _ = await h.call("agent/chat", ["message": "hello", "model": "local"])
    let list = await h.call("models/list")
    let local = list["result"]?["models"]?.arrayValue?.first { $0["name"] == "local" }
    #expect(local?["provider"] == "local" && local?["available"] == true && local?["cooldownUntil"] == .null)
    #expect(local?["capabilities"] == ["text_generation", "code_generation", "tool_use"])
    #expect(
      local?["stats"]?["requests"] == 1 && local?["stats"]?["errors"] == 0
        && local?["stats"]?["p50LatencyMs"]?.doubleValue != nil)
    await h.finish()
  }

  @Test func registerValidatesAndPersists() async throws {
    let dir = try temporaryDirectory(prefix: "minions-models")
    let engine = try await makeTestEngine(dataDirectory: dir)
    var h = try await ServerHarness.make(engine: engine)
    _ = await h.initialize()
    let bad = await h.call(
      "models/register",
      ["name": "x", "provider": "script", "capabilities": ["text_generation"], "script": "/nope.json"])
    #expect(bad["error"]?["code"] == -32602 && bad["error"]?["data"]?["field"] == "script")
    let badProvider = await h.call(
      "models/register", ["name": "x", "provider": "skynet", "capabilities": ["text_generation"]])
    #expect(badProvider["error"]?["data"]?["field"] == "provider")
    let badName = await h.call(
      "models/register", ["name": "has space", "provider": "openai", "capabilities": ["text_generation"]])
    #expect(badName["error"]?["data"]?["field"] == "name")
    let noKey = await h.call(
      "models/register",
      [
        "name": "gpt-x", "provider": "openai", "capabilities": ["text_generation"],
        "apiKeyEnv": "MY_KEY", "costPer1kInput": 0.5, "fallbacks": ["local"],
      ])
    #expect(noKey["result"]?["replaced"] == false)
    #expect(noKey["result"]?["model"]?["available"] == false)
    #expect(noKey["result"]?["model"]?["unavailableReason"] == "no API key: set MY_KEY")
    let again = await h.call(
      "models/register",
      ["name": "gpt-x", "provider": "openai", "capabilities": ["text_generation"], "costPer1kInput": 0.7])
    #expect(again["result"]?["replaced"] == true)
    #expect(await h.call("models/remove", ["name": "local"])["error"]?["data"]?["field"] == "name")
    #expect(await h.call("models/remove", ["name": "ghost"])["error"]?["code"] == -32013)
    await h.finish()
    engine.close()
    // Registered models are kept in the data directory.
    let reopened = try await makeTestEngine(dataDirectory: dir)
    #expect(reopened.models.get("gpt-x")?.costPer1kInput == 0.7)
  }

  @Test func selectExplainsAndNothingFitsIsMinus32021() async throws {
    var h = try await harness()
    let r = await h.call("models/select", ["task": "write code", "strategy": "fastest"])
    #expect(r["result"]?["model"] == "local" && r["result"]?["provider"] == "local")
    #expect((r["result"]?["reasons"]?.arrayValue?.count ?? 0) >= 2)
    let none = await h.call("models/select", ["requiredCapabilities": ["embeddings"]])
    #expect(none["error"]?["code"] == -32021)
    #expect(none["error"]?["data"]?["candidates"] == [["model": "local", "excluded": "lacks embeddings"]])
    let badStrategy = await h.call("models/select", ["strategy": "random"])
    #expect(badStrategy["error"]?["data"]?["field"] == "strategy")
    await h.finish()
  }

  @Test func chatStreamsUpdatesBeforeTheReplyAndTheyAddUpToTheContent() async throws {
    var h = try await harness(
      script:
        #"{"turns":[{"events":[{"text":"Hel"},{"text":"lo "},{"text":"there"}],"usage":{"promptTokens":9,"completionTokens":3}}]}"#
    )
    let reply = await h.call("agent/chat", ["message": "hi", "model": "scripted"])
    let result = reply["result"]
    #expect(
      result?["content"] == "Hello there" && result?["stopReason"] == "end_turn" && result?["model"] == "scripted")
    #expect(result?["usage"] == ["promptTokens": 9, "completionTokens": 3, "totalTokens": 12, "estimated": false])
    #expect(
      result?["timing"]?["totalMs"]?.doubleValue != nil && result?["cached"] == false && result?["toolCalls"] == [])
    let all = h.client.messages
    let replyIndex = all.firstIndex { $0["id"] == reply["id"] }!
    let updates = all[..<replyIndex].filter { $0["method"] == "agent/update" }
    #expect(updates.map { $0["params"]?["seq"]?.intValue ?? 0 } == [1, 2, 3])
    #expect(updates.compactMap { $0["params"]?["text"]?.stringValue }.joined() == "Hello there")
    #expect(
      updates.allSatisfy {
        $0["params"]?["sessionId"] == result?["sessionId"] && $0["params"]?["turnId"] == result?["turnId"]
          && $0["params"]?["kind"] == "token" && $0["params"]?["agent"] == "assistant"
      })
    await h.finish()
  }

  @Test func coalescingMergesTokensThatArriveTogether() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize(["capabilities": ["tokenCoalesceMs": 200]])
    let text = (0..<50).map { "{\"text\":\"w\($0) \"}" }.joined(separator: ",")
    let path = try writeTemporaryFile(#"{"turns":[{"events":[\#(text)]}]}"#)
    _ = await h.call(
      "models/register",
      ["name": "chatty", "provider": "script", "capabilities": ["text_generation"], "script": .string(path)])
    let reply = await h.call("agent/chat", ["message": "hi", "model": "chatty"])
    let updates = h.client.messages.filter { $0["method"] == "agent/update" }
    #expect(updates.count < 50 && updates.count >= 1)
    #expect(
      updates.compactMap { $0["params"]?["text"]?.stringValue }.joined() == reply["result"]?["content"]?.stringValue)
    await h.finish()
  }

  @Test func cancellingAChatReturnsThePartialContent() async throws {
    var h = try await harness(
      script: #"{"turns":[{"events":[{"text":"Once upon "},{"text":"a time"},{"delayMs":30000},{"text":" the end"}]}]}"#
    )
    h.client.sendLine(
      #"{"jsonrpc":"2.0","id":"long","method":"agent/chat","params":{"message":"tell me a story","model":"scripted"}}"#)
    _ = await h.client.reader.first { $0["params"]?["text"] == "a time" }
    h.client.sendLine(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"long"}}"#)
    let reply = await h.client.reply(to: "long", timeout: 5)
    #expect(reply?["result"]?["stopReason"] == "cancelled" && reply?["result"]?["content"] == "Once upon a time")
    #expect(reply?["result"]?["usage"]?["estimated"] == true)
    // The next turn is not affected by the late cancel.
    #expect(await h.call("agent/chat", ["message": "again", "model": "local"])["result"]?["stopReason"] == "end_turn")
    await h.finish()
  }

  @Test func aFailingProviderIsMinus32020WithItsData() async throws {
    var h = try await harness(script: #"{"turns":[{"events":[{"error":{"httpStatus":401,"message":"bad key"}}]}]}"#)
    let r = await h.call("agent/chat", ["message": "hi", "model": "scripted"])
    #expect(r["error"]?["code"] == -32020)
    #expect(r["error"]?["data"]?["provider"] == "script" && r["error"]?["data"]?["model"] == "scripted")
    #expect(r["error"]?["data"]?["httpStatus"] == 401 && r["error"]?["data"]?["retryable"] == false)
    #expect(
      await h.call("agent/chat", ["message": "hi", "model": "nope"])["error"]?["data"] == [
        "kind": "model", "id": "nope",
      ])
    #expect(await h.call("agent/chat", ["message": ""])["error"]?["data"]?["field"] == "message")
    #expect(await h.call("agent/chat", ["message": "x", "maxSteps": 0])["error"]?["data"]?["field"] == "maxSteps")
    #expect(
      await h.call("agent/chat", ["message": "x", "temperature": 3])["error"]?["data"]?["field"] == "temperature")
    await h.finish()
  }
}
