import Foundation
import JSONRPC
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

@Suite struct MetricsProtocolTests {
  @Test func aSnapshotHasEveryFigureOfTheContract() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    _ = await h.call("ping")
    let s = try #require(await h.call("metrics/snapshot")["result"])
    #expect(s["timestamp"]?.stringValue?.hasPrefix("20") == true)
    let system = try #require(s["system"])
    #expect((system["memoryTotalBytes"]?.intValue ?? 0) > 1 << 20)
    #expect((system["memoryUsedBytes"]?.intValue ?? 0) > 0)
    #expect((0...100).contains(system["cpuPercent"]?.doubleValue ?? -1))
    #expect((0...100).contains(system["memoryPercent"]?.doubleValue ?? -1))
    #expect(system["loadAverage"]?.arrayValue?.count == 3)
    let process = try #require(s["process"])
    #expect((process["rssBytes"]?.intValue ?? 0) > 1 << 20)
    #expect((process["threads"]?.intValue ?? 0) >= 2)
    #expect((process["uptimeSeconds"]?.doubleValue ?? -1) >= 0 && process["cpuPercent"]?.doubleValue != nil)
    let server = try #require(s["server"])
    #expect(server["connections"] == 1 && (server["requestsTotal"]?.intValue ?? 0) >= 2)
    #expect(server["errorsTotal"] == 0 && server["errorRate"] == 0.0)
    #expect((server["latencyMs"]?["p99"]?.doubleValue ?? 0) > 0)
    #expect((server["requestsPerSecond"]?.doubleValue ?? 0) > 0)
    let methods = server["methods"]?.arrayValue?.compactMap { $0["method"]?.stringValue } ?? []
    #expect(methods.contains("initialize") && methods.contains("ping"))
    #expect(s["cache"]?["hits"] == 0 && s["cache"]?["capacity"] == 10_000 && s["cache"]?["hitRate"] != nil)
    #expect(s["tasks"] == ["queued": 0, "running": 0, "completed": 0, "failed": 0])
    await h.finish()
  }

  @Test func updatesComeAtTheAskedIntervalUntilUnsubscribed() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let id = try #require(
      await h.call("metrics/subscribe", ["intervalMs": 100])["result"]?["subscriptionId"]?.stringValue)
    func updates() -> [JSONValue] {
      h.client.messages.filter { $0["method"] == "metrics/update" && $0["params"]?["subscriptionId"] == .string(id) }
    }
    for _ in 0..<500 where updates().count < 5 { await waitSeconds(0.01) }
    let five = Array(updates().prefix(5))
    #expect(five.count == 5)
    // Each update is a whole snapshot; they are due an interval apart, so five span at least four.
    let times = five.compactMap { $0["params"]?["snapshot"]?["timestamp"]?.stringValue }.compactMap(
      Timestamp.init(iso8601:))
    #expect(times.count == 5)
    if let first = times.first, let last = times.last {
      #expect(last.millisecondsSinceEpoch - first.millisecondsSinceEpoch >= 350)
    }
    #expect(five[0]["params"]?["snapshot"]?["server"]?["connections"] == 1)
    #expect(h.server.metricsSubscriptionCount(connection: h.session.connection.number) == 1)

    let reply = await h.call("metrics/unsubscribe", ["subscriptionId": .string(id)])
    #expect(reply["result"] == [:])
    let seenAtReply = updates().count
    await waitSeconds(0.35)
    #expect(updates().count == seenAtReply)  // nothing after the reply
    #expect(h.server.metricsSubscriptionCount(connection: h.session.connection.number) == 0)
    let again = await h.call("metrics/unsubscribe", ["subscriptionId": .string(id)])
    #expect(again["error"]?["code"] == -32013 && again["error"]?["data"]?["kind"] == "subscription")
    await h.finish()
  }

  @Test func badSubscriptionsAreRefusedAndClosingEndsThem() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    for bad: JSONValue in [["intervalMs": 99], ["intervalMs": 3_600_001], ["intervalMs": "fast"], [:]] {
      let r = await h.call("metrics/subscribe", bad)
      #expect(r["error"]?["code"] == -32602 && r["error"]?["data"]?["field"] == "intervalMs", "\(bad): \(r)")
    }
    for _ in 0..<16 { #expect(await h.call("metrics/subscribe", ["intervalMs": 60_000])["result"] != nil) }
    let tooMany = await h.call("metrics/subscribe", ["intervalMs": 60_000])
    #expect(tooMany["error"]?["code"] == -32602)
    let connection = h.session.connection.number
    #expect(h.server.metricsSubscriptionCount(connection: connection) == 16)
    await h.finish()
    for _ in 0..<200 where h.server.metricsSubscriptionCount(connection: connection) > 0 { await waitSeconds(0.01) }
    #expect(h.server.metricsSubscriptionCount(connection: connection) == 0)
  }

  @Test func aClientThatStopsReadingOnlyGetsTheNewestSnapshot() async throws {
    var h = try await ServerHarness.make(startReading: false)
    _ = h.send("initialize", [:])
    // Fill the pipe with a large reply first, so every update must wait in the server's queue.
    _ = h.send("rpc.discover")
    for _ in 0..<1000 where h.client.unreadBytes < 60_000 { await waitSeconds(0.01) }
    #expect(h.client.unreadBytes >= 60_000)
    _ = h.send("metrics/subscribe", ["intervalMs": 100])
    // The subscription runs while the client reads nothing: wait until it has handed over ten
    // snapshots, however slow the machine.
    for _ in 0..<3000 where h.server.metricsUpdatesSent < 10 { await waitSeconds(0.01) }
    #expect(h.server.metricsUpdatesSent >= 10)
    let readerStarted = Timestamp.now()
    h.client.startReader()
    func updates() -> [JSONValue] { h.client.messages.filter { $0["method"] == "metrics/update" } }
    func takenAt(_ m: JSONValue) -> Timestamp? {
      m["params"]?["snapshot"]?["timestamp"]?.stringValue.flatMap(Timestamp.init(iso8601:))
    }
    // Read until a snapshot taken after the reader started arrives: everything before it is what
    // waited in the server's queue during the stall.
    for _ in 0..<1000 where !updates().contains(where: { (takenAt($0) ?? readerStarted) > readerStarted }) {
      await waitSeconds(0.01)
    }
    let stale = updates().filter { (takenAt($0) ?? readerStarted) <= readerStarted }
    // Without the latest-only rule every snapshot of the stall would be queued; with it, the newest
    // one (and at most one more being written as reading resumed).
    #expect(stale.count >= 1 && stale.count <= 2, "\(stale.count) snapshots from the stall")
    #expect(updates().count > stale.count)  // and the stream goes on afterwards
    await h.finish()
  }

  @Test func cacheStatsAndClearOverTheProtocol() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let params: JSONValue = ["message": "hello", "model": "local", "temperature": 0]
    let first = await h.call("agent/chat", params)
    let second = await h.call("agent/chat", params)
    #expect(first["result"]?["cached"] == false && second["result"]?["cached"] == true)
    #expect(first["result"]?["content"] == second["result"]?["content"])
    let asked = await h.call("agent/chat", ["message": "hello", "model": "local", "cache": false])
    #expect(asked["result"]?["cached"] == false)
    let stats = try #require(await h.call("cache/stats")["result"])
    #expect(stats["entries"] == 1 && stats["hits"] == 1 && stats["misses"] == 1 && stats["hitRate"] == 0.5)
    #expect(stats["capacity"] == 10_000 && stats["ttlSeconds"] == 3600.0)
    _ = await h.call("settings/update", ["scope": "system", "values": ["cache.maxEntries": 5]])
    #expect(await h.call("cache/stats")["result"]?["capacity"] == 5)
    #expect(await h.call("cache/clear")["result"] == ["removed": 1])
    let after = try #require(await h.call("cache/stats")["result"])
    #expect(after["entries"] == 0 && after["clears"] == 1 && after["hits"] == 1)
    let audit = await h.call("audit/query", ["action": "cache.clear"])
    #expect(audit["result"]?["entries"]?.arrayValue?.count == 1)
    await h.finish()
  }

  @Test func exportsWriteEachDatasetInEachFormat() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    _ = await h.call("agent/chat", ["message": "hello", "model": "local"])
    for i in 0..<25 { _ = await h.call("analytics/record", ["name": "test.value", "value": .int(i)]) }
    let csv = try #require(await h.call("analytics/export", ["dataset": "metrics", "format": "csv"])["result"])
    let path = try #require(csv["path"]?.stringValue)
    #expect(path.hasPrefix(h.engine.configuration.dataDirectory + "/exports/metrics-") && path.hasSuffix(".csv"))
    let text = try String(contentsOfFile: path, encoding: .utf8)
    let lines = text.split(separator: "\r\n")
    #expect(lines.first == "at,name,value,tags" && lines.count == (csv["rows"]?.intValue ?? -1) + 1)
    #expect(lines.filter { $0.contains(",test.value,") }.count == 25)
    var info = stat()
    #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)

    let requests = try #require(
      await h.call("analytics/export", ["dataset": "requests", "format": "ndjson"])["result"])
    #expect(requests["rows"] == 1)
    let line = try String(contentsOfFile: requests["path"]?.stringValue ?? "", encoding: .utf8)
    let row = try JSONParser.parse(line.trimmingCharacters(in: .newlines))
    #expect(row["model"] == "local" && row["status"] == "ok" && row["estimated"]?.boolValue != nil)

    let audit = try #require(await h.call("analytics/export", ["dataset": "audit", "format": "json"])["result"])
    let array = try JSONParser.parse(try String(contentsOfFile: audit["path"]?.stringValue ?? "", encoding: .utf8))
    #expect(array.arrayValue?.count == audit["rows"]?.intValue && (audit["rows"]?.intValue ?? 0) >= 2)
    #expect(array[0]?["action"]?.stringValue != nil && array[0]?["details"]?.objectValue != nil)

    // A window that holds nothing still writes a file with its header.
    let empty = try #require(
      await h.call(
        "analytics/export",
        ["dataset": "events", "format": "csv", "since": "2020-01-01T00:00:00Z", "until": "2020-01-02T00:00:00Z"])[
          "result"])
    #expect(empty["rows"] == 0)
    #expect(
      try String(contentsOfFile: empty["path"]?.stringValue ?? "", encoding: .utf8)
        == "at,kind,username,target,details\r\n")
    await h.finish()
  }

  @Test func badExportsNameTheField() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let badDataset = await h.call("analytics/export", ["dataset": "passwords", "format": "csv"])
    #expect(badDataset["error"]?["data"]?["field"] == "dataset")
    let badFormat = await h.call("analytics/export", ["dataset": "audit", "format": "xlsx"])
    #expect(badFormat["error"]?["data"]?["field"] == "format")
    let backwards = await h.call(
      "analytics/export",
      ["dataset": "audit", "format": "csv", "since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"])
    #expect(backwards["error"]?["data"]?["field"] == "until")
    let badTime = await h.call("analytics/export", ["dataset": "audit", "format": "csv", "since": "yesterday"])
    #expect(badTime["error"]?["data"]?["field"] == "since")
    await h.finish()
  }
}
