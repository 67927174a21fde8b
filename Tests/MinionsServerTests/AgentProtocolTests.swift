import Foundation
import JSONRPC
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

@Suite struct AgentProtocolTests {
  /// A server whose engine has the notebook tool, a script model and a `writer` agent using both.
  func harness(
    _ script: String, tool: NotebookTool = NotebookTool(), capabilities: JSONValue = ["tokenCoalesceMs": 0]
  ) async throws -> ServerHarness {
    let engine = try await makeTestEngine(tools: [tool])
    var h = try await ServerHarness.make(engine: engine)
    _ = await h.initialize(["capabilities": capabilities])
    let path = try writeTemporaryFile(script, name: "script.json")
    let r = await h.call(
      "models/register",
      [
        "name": "scripted", "provider": "script", "capabilities": ["text_generation", "tool_use"],
        "script": .string(path),
      ])
    #expect(r["result"] != nil, "\(r)")
    let a = await h.call(
      "agents/create",
      ["name": "writer", "systemPrompt": "You write.", "tools": ["notebook"], "model": "scripted"])
    #expect(a["result"]?["agent"]?["name"] == "writer", "\(a)")
    return h
  }

  static let writeScript =
    #"{"turns": [{"match": "^(written|not approved)", "events": [{"text": "Finished."}]},"#
    + #"{"events": [{"text": "Writing. "}, {"toolCall": {"tool": "notebook", "arguments": {"operation": "write", "text": "x"}}}]}]}"#

  func send(_ h: ServerHarness, id: Int, _ method: String, _ params: JSONValue) {
    h.client.sendLine(
      JSONWriter.string(["jsonrpc": "2.0", "id": .int(id), "method": .string(method), "params": params]))
  }

  @Test func anApprovalRoundTripRunsTheCallAndEveryUpdatePrecedesTheReply() async throws {
    let tool = NotebookTool()
    let h = try await harness(Self.writeScript, tool: tool, capabilities: ["tokenCoalesceMs": 0, "approvals": true])
    send(h, id: 1, "agent/chat", ["message": "write x", "agent": "writer"])
    let ask = try #require(await h.client.reader.first { $0["method"] == "approval/request" })
    let p = try #require(ask["params"])
    #expect(p["tool"] == "notebook" && p["arguments"] == ["operation": "write", "text": "x"] && p["agent"] == "writer")
    #expect(
      p["options"]?.arrayValue?.compactMap { $0["optionId"]?.stringValue } == [
        "allow_once", "allow_always", "reject_once", "reject_always",
      ])
    #expect(tool.written.withLock { $0 }.isEmpty)  // nothing runs before the answer
    h.client.sendLine(
      JSONWriter.string([
        "jsonrpc": "2.0", "id": ask["id"]!, "result": ["outcome": "selected", "optionId": "allow_once"],
      ]))
    let reply = try #require(await h.client.reply(to: 1))
    let result = try #require(reply["result"])
    #expect(result["content"] == "Writing. Finished." && result["stopReason"] == "end_turn")
    #expect(result["toolCalls"]?[0]?["output"] == "written" && result["toolCalls"]?[0]?["isError"] == false)
    #expect(tool.written.withLock { $0 } == ["x"])
    let all = h.client.messages
    let replyIndex = try #require(all.firstIndex { $0["id"] == 1 && $0["method"] == nil })
    let updates = all.enumerated().filter { $0.element["method"] == "agent/update" }
    #expect(updates.allSatisfy { $0.offset < replyIndex })
    #expect(updates.map { $0.element["params"]?["seq"]?.intValue } == (1...updates.count).map { $0 })
    #expect(
      updates.map { $0.element["params"]?["kind"]?.stringValue } == [
        "token", "toolCall", "toolResult", "token",
      ])
    #expect(updates.allSatisfy { $0.element["params"]?["sessionId"] == p["sessionId"] })
    #expect(p["callId"] == updates[1].element["params"]?["callId"])
    await h.finish()
  }

  @Test(arguments: [
    (["outcome": "selected", "optionId": "reject_once"] as JSONValue, "the user rejected this call"),
    (["outcome": "cancelled"] as JSONValue, "the approval request was cancelled"),
    (["outcome": "selected", "optionId": "maybe"] as JSONValue, "the approval request was cancelled"),
  ])
  func aRejectedOrCancelledApprovalRunsNothing(_ answer: JSONValue, _ reason: String) async throws {
    let tool = NotebookTool()
    let h = try await harness(Self.writeScript, tool: tool, capabilities: ["approvals": true])
    send(h, id: 1, "agent/chat", ["message": "write x", "agent": "writer"])
    let ask = try #require(await h.client.reader.first { $0["method"] == "approval/request" })
    h.client.sendLine(JSONWriter.string(["jsonrpc": "2.0", "id": ask["id"]!, "result": answer]))
    let result = try #require(await h.client.reply(to: 1)?["result"])
    #expect(result["toolCalls"]?[0]?["isError"] == true)
    #expect(result["toolCalls"]?[0]?["output"]?.stringValue?.contains(reason) == true)
    #expect(tool.written.withLock { $0 }.isEmpty)
    await h.finish()
  }

  @Test func anErrorAnswerToTheApprovalRequestRunsNothing() async throws {
    let tool = NotebookTool()
    let h = try await harness(Self.writeScript, tool: tool, capabilities: ["approvals": true])
    send(h, id: 1, "agent/chat", ["message": "write x", "agent": "writer"])
    let ask = try #require(await h.client.reader.first { $0["method"] == "approval/request" })
    h.client.sendLine(
      JSONWriter.string(["jsonrpc": "2.0", "id": ask["id"]!, "error": ["code": -32601, "message": "no"]]))
    let result = try #require(await h.client.reply(to: 1)?["result"])
    #expect(result["toolCalls"]?[0]?["isError"] == true && tool.written.withLock { $0 }.isEmpty)
    await h.finish()
  }

  @Test func cancellingTheChatWithAnApprovalPendingCancelsTheApprovalRequest() async throws {
    let tool = NotebookTool()
    let script =
      #"{"turns": [{"match": "^write x$", "events": [{"text": "Writing. "}, {"toolCall": {"tool": "notebook", "arguments": {"operation": "write", "text": "x"}}}]},"#
      + String(Self.writeScript.dropFirst(#"{"turns": ["#.count))
    let h = try await harness(script, tool: tool, capabilities: ["approvals": true])
    send(h, id: 1, "agent/chat", ["message": "write x", "agent": "writer"])
    let ask = try #require(await h.client.reader.first { $0["method"] == "approval/request" })
    h.notify("$/cancelRequest", ["id": 1])
    let reply = try #require(await h.client.reply(to: 1))
    #expect(reply["result"]?["stopReason"] == "cancelled" && reply["result"]?["content"] == "Writing. ")
    let cancel = await h.client.reader.first {
      $0["method"] == "$/cancelRequest" && $0["params"]?["id"] == ask["id"]
    }
    #expect(cancel != nil)
    #expect(tool.written.withLock { $0 }.isEmpty)
    // The session keeps working: its next turn runs (the late answer to the old request is ignored).
    h.client.sendLine(
      JSONWriter.string([
        "jsonrpc": "2.0", "id": ask["id"]!, "result": ["outcome": "selected", "optionId": "allow_once"],
      ]))
    let session = try #require(reply["result"]?["sessionId"])
    send(h, id: 2, "agent/chat", ["message": "write x", "agent": "writer", "sessionId": session])
    let ask2 = try #require(
      await h.client.reader.first { $0["method"] == "approval/request" && $0["id"] != ask["id"] })
    h.client.sendLine(
      JSONWriter.string([
        "jsonrpc": "2.0", "id": ask2["id"]!, "result": ["outcome": "selected", "optionId": "allow_once"],
      ]))
    #expect(await h.client.reply(to: 2)?["result"]?["content"] == "Writing. Finished.")
    #expect(tool.written.withLock { $0 } == ["x"])
    await h.finish()
  }

  @Test func agentCancelStopsTheRunningTurnAndALateCancelDoesNothing() async throws {
    var h = try await harness(
      #"{"turns": [{"events": [{"text": "Waiting. "}, {"toolCall": {"tool": "notebook", "arguments": {"operation": "wait"}}}]}]}"#
    )
    send(h, id: 1, "agent/chat", ["message": "wait", "agent": "writer"])
    let call = try #require(
      await h.client.reader.first { $0["method"] == "agent/update" && $0["params"]?["kind"] == "toolCall" })
    let session = try #require(call["params"]?["sessionId"])
    let cancelled = await h.call("agent/cancel", ["sessionId": session])
    #expect(cancelled["result"]?["cancelled"] == true)
    let reply = try #require(await h.client.reply(to: 1))
    #expect(reply["result"]?["stopReason"] == "cancelled" && reply["result"]?["content"] == "Waiting. ")
    #expect(await h.call("agent/cancel", ["sessionId": session])["result"]?["cancelled"] == false)
    let unknown = await h.call("agent/cancel", ["sessionId": "s_nope"])
    #expect(unknown["error"]?["code"] == -32013 && unknown["error"]?["data"]?["kind"] == "session")
    await h.finish()
  }

  @Test func sessionsListGetRenameExportSearchAndDelete() async throws {
    var h = try await harness(
      #"{"turns": [{"match": "^note: ", "events": [{"text": "Your note says hello."}]},"#
        + #"{"match": "notebook", "events": [{"toolCall": {"tool": "notebook", "arguments": {"operation": "read", "text": "hello"}}}]},"#
        + #"{"events": [{"text": "Plain answer about zebras."}]}]}"#)
    let first = await h.call("agent/chat", ["message": "read my notebook please", "agent": "writer"])
    let a = try #require(first["result"]?["sessionId"])
    let second = await h.call("agent/chat", ["message": "tell me about zebras", "agent": "writer"])
    let b = try #require(second["result"]?["sessionId"])

    let page1 = await h.call("sessions/list", ["limit": 1])
    #expect(page1["result"]?["sessions"]?.arrayValue?.map { $0["sessionId"] } == [b])
    let cursor = try #require(page1["result"]?["nextCursor"]?.stringValue)
    let page2 = await h.call("sessions/list", ["limit": 1, "cursor": .string(cursor)])
    #expect(page2["result"]?["sessions"]?.arrayValue?.map { $0["sessionId"] } == [a])
    #expect(page2["result"]?["nextCursor"] == .null)
    #expect(page2["result"]?["sessions"]?[0]?["title"] == "read my notebook please")
    #expect(page2["result"]?["sessions"]?[0]?["messageCount"] == 4)
    #expect(await h.call("sessions/list", ["cursor": "garbage"])["error"]?["data"]?["field"] == "cursor")
    #expect(await h.call("sessions/list", ["limit": 0])["error"]?["data"]?["field"] == "limit")

    let got = await h.call("sessions/get", ["sessionId": a])
    let messages = try #require(got["result"]?["messages"]?.arrayValue)
    #expect(messages.map { $0["role"] } == ["user", "assistant", "tool", "assistant"])
    #expect(
      messages[1]["toolCalls"]?[0]?["tool"] == "notebook"
        && messages[2]["callId"] == messages[1]["toolCalls"]?[0]?["callId"])
    #expect(messages[2]["content"] == "note: hello" && messages[2]["isError"] == false)

    let renamed = await h.call("sessions/rename", ["sessionId": a, "title": "  Notebook  "])
    #expect(renamed["result"]?["title"] == "Notebook")
    #expect(await h.call("sessions/rename", ["sessionId": a, "title": " "])["error"]?["data"]?["field"] == "title")

    let markdown = try #require(await h.call("sessions/export", ["sessionId": a])["result"]?["content"]?.stringValue)
    #expect(markdown.hasPrefix("# Notebook\n") && markdown.contains("## User") && markdown.contains("Calls `notebook`"))
    #expect(markdown.contains("### notebook result") && markdown.contains("Your note says hello."))
    let json = try #require(
      await h.call("sessions/export", ["sessionId": a, "format": "json"])["result"]?["content"]?.stringValue)
    let parsed = try JSONParser.parse(json)
    #expect(parsed["session"]?["sessionId"] == a && parsed["messages"]?.arrayValue?.count == 4)
    #expect(await h.call("sessions/export", ["sessionId": a, "format": "pdf"])["error"]?["data"]?["field"] == "format")

    let search = await h.call("sessions/search", ["query": "ZEBRAS"])
    #expect(search["result"]?["results"]?.arrayValue?.map { $0["sessionId"] } == [b])
    #expect(search["result"]?["results"]?[0]?["snippet"]?.stringValue?.contains("**zebras**") == true)
    let quoted = await h.call("sessions/search", ["query": #"note" OR "#])  // FTS syntax is taken literally
    #expect(quoted["result"] != nil)
    #expect(await h.call("sessions/search", ["query": "  "])["error"]?["data"]?["field"] == "query")

    #expect(await h.call("sessions/delete", ["sessionId": a])["result"]?["removed"] == true)
    let gone = await h.call("sessions/get", ["sessionId": a])
    #expect(gone["error"]?["code"] == -32013 && gone["error"]?["data"] == ["kind": "session", "id": a])
    #expect(await h.call("sessions/search", ["query": "hello"])["result"]?["results"] == [])
    #expect(await h.call("sessions/delete", ["sessionId": a])["error"]?["code"] == -32013)
    await h.finish()
  }

  @Test func anotherUsersSessionsAreInvisible() async throws {
    let engine = try await makeTestEngine()
    let mine = try await engine.runner.chat(
      AgentRunner.Request(message: "secret plans", model: "local"), identity: engine.localOwner,
      approvals: engine.policyApprovals
    ) { _ in }
    let other = try await engine.users.create(
      username: "mallory", email: nil, password: "password-1", role: .user, actor: nil)
    let id = other.identity(method: .password).userID!
    #expect(try await engine.sessions.list(userID: id, cursor: nil, limit: 50).sessions.isEmpty)
    #expect(try await engine.sessions.search(userID: id, query: "secret", limit: 10).isEmpty)
    #expect(try await engine.sessions.session(mine.sessionID, userID: id) == nil)
    await #expect(throws: EngineError.notFound(kind: "session", id: mine.sessionID)) {
      try await engine.sessions.delete(mine.sessionID, userID: id)
    }
    #expect(!engine.runner.cancel(sessionID: mine.sessionID, userID: id))
    #expect(try await engine.sessions.search(userID: engine.localOwner.userID!, query: "secret", limit: 10).count == 1)
  }

  @Test func toolsListExecuteAndCall() async throws {
    let tool = NotebookTool()
    var h = try await harness(Self.writeScript, tool: tool)
    let list = await h.call("tools/list")
    let notebook = try #require(list["result"]?["tools"]?.arrayValue?.first { $0["name"] == "notebook" })
    #expect(notebook["requiresApproval"] == true && notebook["category"] == "custom")
    #expect(notebook["inputSchema"]?["required"] == ["operation"] && notebook["stats"]?["calls"] == 0)
    #expect(await h.call("tools/list", ["category": "nothing"])["result"]?["tools"] == [])

    // A user's own execute needs no approval (and is audited).
    let wrote = await h.call(
      "tools/execute", ["tool": "notebook", "arguments": ["operation": "write", "text": "direct"]])
    #expect(
      wrote["result"]?["isError"] == false && wrote["result"]?["content"] == [["type": "text", "text": "written"]])
    #expect(tool.written.withLock { $0 } == ["direct"])
    let audit = await h.call("audit/query", ["action": "tool.execute"])
    #expect(audit["result"]?["entries"]?[0]?["target"] == "notebook")

    let called = await h.call("tools/call", ["name": "notebook", "arguments": ["operation": "read", "text": "mcp"]])
    #expect(called["result"]?["content"]?[0]?["text"] == "note: mcp")
    let unknown = await h.call("tools/call", ["name": "nope", "arguments": [:]])
    #expect(unknown["error"]?["code"] == -32602 && unknown["error"]?["data"]?["field"] == "tool")
    let bad = await h.call("tools/execute", ["tool": "notebook", "arguments": ["operation": "fly"]])
    #expect(bad["error"]?["code"] == -32602 && bad["error"]?["data"]?["field"] == "arguments.operation")
    let missing = await h.call("tools/execute", ["tool": "notebook"])
    #expect(missing["error"]?["data"]?["field"] == "arguments.operation")
    let timeout = await h.call(
      "tools/execute", ["tool": "notebook", "arguments": ["operation": "read"], "timeoutMs": 0])
    #expect(timeout["error"]?["data"]?["field"] == "timeoutMs")
    let slow = await h.call("tools/execute", ["tool": "notebook", "arguments": ["operation": "wait"], "timeoutMs": 50])
    #expect(slow["result"]?["isError"] == true)
    #expect(slow["result"]?["content"]?[0]?["text"]?.stringValue?.contains("timed out after 50 ms") == true)
    #expect(tool.sawCancellation.isSet)
    let after = await h.call("tools/list")
    let stats = after["result"]?["tools"]?.arrayValue?.first { $0["name"] == "notebook" }?["stats"]
    #expect(stats?["calls"] == 3 && stats?["errors"] == 1)
    await h.finish()
  }

  @Test func agentsAreListedCreatedUpdatedAndDeleted() async throws {
    var h = try await harness(Self.writeScript)
    let list = await h.call("agents/list")
    let names = list["result"]?["agents"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    #expect(names == ["assistant", "coder", "researcher", "analyst", "coordinator", "writer"])
    let coordinator = list["result"]?["agents"]?.arrayValue?.first { $0["name"] == "coordinator" }
    #expect(coordinator?["canDelegateTo"] == ["assistant", "coder", "researcher", "analyst"])
    #expect(coordinator?["builtin"] == true)

    let duplicate = await h.call("agents/create", ["name": "writer", "systemPrompt": "x"])
    #expect(duplicate["error"]?["code"] == -32014)
    let builtin = await h.call("agents/create", ["name": "coder", "systemPrompt": "x"])
    #expect(builtin["error"]?["code"] == -32014)
    let badTool = await h.call("agents/create", ["name": "w2", "systemPrompt": "x", "tools": ["nope"]])
    #expect(badTool["error"]?["data"]?["field"] == "tools[0]")
    let badDelegate = await h.call("agents/create", ["name": "w2", "systemPrompt": "x", "canDelegateTo": ["ghost"]])
    #expect(badDelegate["error"]?["data"]?["field"] == "canDelegateTo[0]")
    let badName = await h.call("agents/create", ["name": "9lives", "systemPrompt": "x"])
    #expect(badName["error"]?["data"]?["field"] == "name")
    let emptyPrompt = await h.call("agents/create", ["name": "w2", "systemPrompt": " "])
    #expect(emptyPrompt["error"]?["data"]?["field"] == "systemPrompt")

    let updated = await h.call(
      "agents/update", ["name": "writer", "description": "Writes notes", "canDelegateTo": ["coder"]])
    #expect(updated["result"]?["agent"]?["description"] == "Writes notes")
    #expect(updated["result"]?["agent"]?["systemPrompt"] == "You write.")  // untouched fields stay
    #expect(await h.call("agents/update", ["name": "coder", "description": "x"])["error"]?["data"]?["field"] == "name")
    #expect(await h.call("agents/update", ["name": "ghost"])["error"]?["code"] == -32013)

    #expect(await h.call("agents/delete", ["name": "writer"])["result"]?["removed"] == true)
    #expect(await h.call("agents/delete", ["name": "writer"])["error"]?["code"] == -32013)
    #expect(await h.call("agents/delete", ["name": "assistant"])["error"]?["data"]?["field"] == "name")
    let chat = await h.call("agent/chat", ["message": "hi", "agent": "writer"])
    #expect(chat["error"]?["code"] == -32013 && chat["error"]?["data"] == ["kind": "agent", "id": "writer"])
    await h.finish()
  }

  @Test func customAgentsPersist() async throws {
    let dir = try temporaryDirectory(prefix: "minions-agents")
    do {
      let engine = try await makeTestEngine(dataDirectory: dir)
      try await engine.agents.save(
        AgentDefinition(name: "poet", description: "rhymes", systemPrompt: "Rhyme."), by: nil, replace: false)
      engine.close()
    }
    let again = try await makeTestEngine(dataDirectory: dir)
    #expect(again.agents.get("POET")?.systemPrompt == "Rhyme.")
  }

  @Test func anMCPHostIsAnsweredAsAnMCPServer() async throws {
    var h = try await ServerHarness.make()
    let r = await h.initialize(
      ["protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "mcp-host", "version": "1"]])
    #expect(r["result"]?["protocolVersion"] == "2025-06-18")
    #expect(r["result"]?["capabilities"]?["tools"] == ["listChanged": false])
    #expect(r["result"]?["serverInfo"]?["name"] == "minions")
    h.notify("notifications/initialized")
    #expect(await h.call("ping")["result"] == [:])
    await h.finish()

    var future = try await ServerHarness.make()
    let f = await future.initialize(["protocolVersion": "2099-01-01"])
    #expect(f["result"]?["protocolVersion"] == .string(MinionsVersion.mcpVersions.last!))
    await future.finish()

    var plain = try await ServerHarness.make()
    let p = await plain.initialize()
    #expect(p["result"]?["protocolVersion"] == 1 && p["result"]?["capabilities"]?["tools"] == nil)
    await plain.finish()
  }
}
