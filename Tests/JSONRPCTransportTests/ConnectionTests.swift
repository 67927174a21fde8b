import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

@Suite struct ConnectionTests {
  @Test func repliesInTheClientsFraming() async throws {
    let nd = Harness()
    nd.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}"#)
    #expect(await nd.client.reply(to: 1)?["result"] == ["a": 1])
    #expect(nd.connection.framing == .ndjson)
    await nd.finish()

    let lsp = Harness()
    lsp.client.sendLSP(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"b":2}}"#)
    #expect(await lsp.client.reply(to: 1)?["result"] == ["b": 2])
    #expect(lsp.connection.framing == .lsp)
    await lsp.finish()
  }

  @Test func aCancelledRequestGetsExactlyOneReplyWithItsPartialResult() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":5,"method":"waitForCancel"}"#)
    await waitSeconds(0.02)
    h.client.sendLine(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":5}}"#)
    #expect(await h.client.reply(to: 5)?["result"] == ["partial": true, "cancelled": true])
    h.client.sendLine(#"{"jsonrpc":"2.0","id":6,"method":"echo"}"#)
    _ = await h.client.reply(to: 6)
    #expect(h.client.replies(to: 5).count == 1)
    await h.finish()
  }

  @Test func aCancelledRequestThatStopsGetsRequestCancelled() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":"c","method":"waitForCancelThenThrow"}"#)
    await waitSeconds(0.01)
    h.client.sendLine(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"c"}}"#)
    #expect(await h.client.reply(to: "c")?["error"]?["code"] == .int(-32800))
    await h.finish()
  }

  @Test func cancellingAnUnknownOrFinishedRequestIsIgnored() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":1}}"#)
    _ = await h.client.reply(to: 1)
    h.client.sendLine(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":999}}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{}}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"echo","params":{"y":2}}"#)
    #expect(await h.client.reply(to: 2)?["result"] == ["y": 2])
    #expect(h.client.messages.count == 2)
    #expect(h.handler.notifications.withLock { $0 }.isEmpty)  // $/cancelRequest is the transport's
    await h.finish()
  }

  @Test func notificationsAHandlerSendsArriveBeforeItsReply() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"notifyThenReply","params":{"count":200}}"#)
    let all = await h.client.waitFor(count: 201)
    #expect(all.count == 201)
    #expect(all.last?["id"] == 1)
    #expect(all.dropLast().map { $0["params"]?["i"]?.intValue ?? -1 } == Array(0..<200))
    await h.finish()
  }

  @Test func progressIsSentOnlyWithAWorkDoneToken() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"progress","params":{"workDoneToken":"t1"}}"#)
    let all = await h.client.waitFor(count: 4)
    let kinds: [JSONValue?] = all.map { m -> JSONValue? in
      if let kind = m["params"]?["value"]?["kind"] { return kind }
      return m["result"]?["progress"]
    }
    #expect(kinds == ["begin", "report", "end", true])
    #expect(all[0]["params"]?["token"] == "t1" && all[1]["params"]?["value"]?["percentage"] == 50)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"progress","params":{}}"#)
    #expect(await h.client.reply(to: 2)?["result"] == ["progress": false])
    await h.finish()
  }

  @Test func batchesFollowJSONRPCSection6() async {
    let h = Harness()
    // Mixed: requests, a notification, an invalid entry; one array with a reply per request/invalid entry.
    h.client.sendLine(
      #"[{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]},{"jsonrpc":"2.0","method":"note"},{"foo":"boo"},{"jsonrpc":"2.0","id":"2","method":"nope"},1]"#
    )
    let batch = await h.client.waitFor(count: 1)[0]
    guard case .array(let replies) = batch else { Issue.record("not an array: \(batch)"); return }
    #expect(replies.count == 4)
    #expect(replies[0]["result"] == [1])
    #expect(replies[1]["error"]?["code"] == -32600 && replies[1]["id"] == .null)
    #expect(replies[2]["id"] == "2" && replies[2]["error"]?["code"] == -32601)
    #expect(replies[3]["error"]?["code"] == -32600)
    // Only notifications: no reply at all.
    h.client.sendLine(#"[{"jsonrpc":"2.0","method":"a"},{"jsonrpc":"2.0","method":"b"}]"#)
    // Empty batch: a single error, not an array.
    h.client.sendLine("[]")
    h.client.sendLine(#"{"jsonrpc":"2.0","id":9,"method":"echo"}"#)
    _ = await h.client.reply(to: 9)
    let all = h.client.messages
    #expect(all.count == 3)
    #expect(all[1]["error"]?["code"] == -32600 && all[1]["id"] == .null)
    #expect(h.handler.notifications.withLock { $0 } == ["note", "a", "b"])
    await h.finish()
  }

  @Test func aBatchReplyComesAfterAllItsRequestsFinish() async {
    let h = Harness()
    h.client.sendLine(
      #"[{"jsonrpc":"2.0","id":1,"method":"slow","params":{"ms":50}},{"jsonrpc":"2.0","id":2,"method":"echo","params":{"e":1}}]"#
    )
    let batch = await h.client.waitFor(count: 1)
    #expect(batch.count == 1)
    #expect(batch.first?.arrayValue?.map { $0["id"] ?? nil } == [1, 2])
    await h.finish()
  }

  @Test func serverToClientRequestsAreCorrelated() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"ask","params":{"q":"ok?"}}"#)
    let question = await h.client.waitFor(count: 1)[0]
    #expect(question["method"] == "client/question")
    #expect(question["params"]?["q"] == "ok?")
    guard let qid = question["id"] else { Issue.record("no id"); return }
    // An unrelated response is ignored; the right one resolves the request.
    h.client.sendLine(#"{"jsonrpc":"2.0","id":"minions-999","result":"stray"}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":\#(qid),"result":"yes"}"#)
    #expect(await h.client.reply(to: 1)?["result"] == ["answer": "yes"])
    // A client error reply reaches the handler as an error.
    h.client.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"ask","params":{"q":"again"}}"#)
    let second = await h.client.waitFor(count: 3)[2]
    h.client.sendLine(#"{"jsonrpc":"2.0","id":\#(second["id"]!),"error":{"code":-1,"message":"no"}}"#)
    #expect(await h.client.reply(to: 2)?["result"] == ["answer": "error -1"])
    await h.finish()
  }

  @Test func serverToClientRequestsTimeOut() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"ask","params":{"q":"?","timeout":0.05}}"#)
    #expect(await h.client.reply(to: 1, timeout: 30)?["result"] == ["answer": "timed out"])
    await h.finish()
  }

  @Test func aClientThatStopsReadingCannotGrowTheServersMemory() async {
    let h = Harness(options: .init(maxQueuedBytes: 256 << 10, inputClosedGracePeriod: 2), startReading: false)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"flood","params":{"count":2000,"size":10000}}"#)
    await waitSeconds(0.3)
    // 2000 × 10 KB = 20 MB to send; with a 256 KB queue and a 64 KB pipe, the handler must be held back.
    let sentWhileBlocked = h.handler.progress.load(ordering: .relaxed)
    #expect(sentWhileBlocked > 0)
    #expect(sentWhileBlocked < 60)
    h.client.startReader()
    #expect(await h.client.reply(to: 1, timeout: 20)?["result"] == ["flooded": 2000])
    #expect(h.client.messages.count == 2001)
    await h.finish()
  }

  @Test func droppableNotificationsKeepOnlyTheNewest() async {
    let h = Harness(startReading: false)
    // Fill the pipe first so the latest-only notifications must wait in the queue.
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"flood","params":{"count":20,"size":10000}}"#)
    // Wait until the pipe is full (the flood is 200 KB; a pipe holds 64 KB), however busy the machine.
    for _ in 0..<1000 where h.client.unreadBytes < 60_000 { await waitSeconds(0.01) }
    #expect(h.client.unreadBytes >= 60_000)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"latest","params":{"count":5000}}"#)
    // Start reading only once all 5000 are handed over, however busy the machine: while the pipe is
    // full they must collapse into one pending notification.
    for _ in 0..<2000 where h.handler.latestSent.load(ordering: .relaxed) < 5000 { await waitSeconds(0.01) }
    #expect(h.handler.latestSent.load(ordering: .relaxed) == 5000)
    h.client.startReader()
    _ = await h.client.reply(to: 2)
    let latest = h.client.messages.filter { $0["method"] == "test/latest" }
    #expect(latest.count >= 1)
    #expect(latest.count < 100)
    #expect(latest.last?["params"]?["i"] == 4999)
    await h.finish()
  }

  @Test func aDuplicateIDInFlightIsRefused() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"slow","params":{"ms":200}}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"echo"}"#)
    let first = await h.client.waitFor(count: 1)[0]
    #expect(first["error"]?["code"] == -32600)
    #expect(first["error"]?["data"]?["field"] == "id")
    #expect(await h.client.waitFor(count: 2)[1]["result"] == ["slept": 200])
    await h.finish()
  }

  @Test func tooManyRequestsInFlightIsOverloaded() async {
    let h = Harness(options: .init(maxInFlight: 2, inputClosedGracePeriod: 2))
    for id in 1...3 { h.client.sendLine(#"{"jsonrpc":"2.0","id":\#(id),"method":"slow","params":{"ms":200}}"#) }
    let third = await h.client.reply(to: 3)
    #expect(third?["error"]?["code"] == -32015)
    #expect(third?["error"]?["data"]?["retryAfterMs"]?.intValue != nil)
    await h.finish()
  }

  @Test func rejectedAndExclusiveAdmission() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"reject"}"#)
    #expect(await h.client.reply(to: 1)?["error"]?["message"] == "Invalid Request: rejected")
    // An exclusive request holds back what follows it until its reply is queued.
    h.client.sendLine(#"{"jsonrpc":"2.0","id":2,"method":"exclusive","params":{"ms":50}}"#)
    h.client.sendLine(#"{"jsonrpc":"2.0","id":3,"method":"echo"}"#)
    let two = await h.client.waitFor(count: 3)
    #expect(two.dropFirst().map { $0["id"] ?? nil } == [2, 3])
    await h.finish()
  }

  @Test func badInputIsAnsweredAndTheConnectionKeepsWorking() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"echo""#)  // invalid JSON
    h.client.sendBytes(
      Array(#"{"jsonrpc":"2.0","id":2,"method":"echo","params":{"s":""#.utf8) + [0xFF, 0xFE] + Array("\"}}\n".utf8))
    h.client.sendLine(#"{"jsonrpc":"2.0","id":3,"method":"echo","params":{"s":"\ud800"}}"#)
    h.client.sendLine(
      #"{"jsonrpc":"2.0","id":4,"method":"echo","params":"# + String(repeating: "[", count: 200)
        + String(repeating: "]", count: 200) + "}")
    h.client.sendLine(
      #"{"jsonrpc":"2.0","method":"echo","params":"# + String(repeating: "[", count: 200)
        + String(repeating: "]", count: 200) + "}")
    h.client.sendLine(
      "[" + Array(repeating: #"{"jsonrpc":"2.0","method":"n"}"#, count: 1001).joined(separator: ",") + "]")
    h.client.sendLine(#"{"jsonrpc":"2.0","id":5,"method":"echo","params":{"ok":true}}"#)
    let all = await h.client.waitFor(count: 6)
    #expect(all.count == 6)
    #expect(all[0]["error"]?["code"] == -32700 && all[0]["id"] == .null)
    #expect(all[1]["error"]?["code"] == -32700 && all[1]["error"]?["message"]?.stringValue?.contains("UTF-8") == true)
    #expect(
      all[2]["error"]?["code"] == -32700 && all[2]["error"]?["message"]?.stringValue?.contains("surrogate") == true)
    #expect(all[3]["error"]?["code"] == -32600 && all[3]["id"] == 4)
    #expect(all[4]["error"]?["code"] == -32600 && all[4]["id"] == .null)
    #expect(all[4]["error"]?["data"]?["limit"] == 1000)
    #expect(all[5]["result"] == ["ok": true])
    #expect(h.handler.notifications.withLock { $0 }.isEmpty)
    await h.finish()
  }

  @Test func endOfInputLetsRunningRequestsFinishThenCloses() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"slow","params":{"ms":100}}"#)
    h.client.closeInput()
    #expect(await h.client.reply(to: 1)?["result"] == ["slept": 100])
    #expect(await h.connection.finished.waitAsync(timeout: 5))
    #expect(h.handler.closed.isSignalled)
    #expect(await h.client.waitForServerEOF())
  }

  @Test func closingCancelsRunningWorkWhichStillReplies() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"waitForCancel"}"#)
    await waitSeconds(0.02)
    h.connection.close()
    #expect(await h.connection.finished.waitAsync(timeout: 5))
    #expect(await h.client.reply(to: 1)?["result"]?["cancelled"] == true)
  }

  @Test func pendingServerRequestsFailWhenTheClientGoesAway() async {
    let h = Harness()
    h.client.sendLine(#"{"jsonrpc":"2.0","id":1,"method":"ask","params":{"q":"?"}}"#)
    _ = await h.client.waitFor(count: 1)
    h.client.closeInput()
    #expect(await h.client.reply(to: 1)?["result"] == ["answer": "connectionClosed"])
    #expect(await h.connection.finished.waitAsync(timeout: 5))
  }
}
