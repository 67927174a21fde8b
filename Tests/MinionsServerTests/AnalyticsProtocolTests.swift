import Foundation
import JSONRPC
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

@Suite struct AnalyticsProtocolTests {
  @Test func aToolTaskRunsAndTheSubmitterHearsEveryChange() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let workspace = h.engine.configuration.workspace
    try "task data\n".write(toFile: workspace + "/t.txt", atomically: true, encoding: .utf8)
    let r = await h.call(
      "tasks/submit",
      ["kind": "tool", "params": ["tool": "file_operations", "arguments": ["operation": "read", "path": "t.txt"]]])
    let id = try #require(r["result"]?["taskId"]?.stringValue, "\(r)")
    let done = await h.client.reader.first {
      $0["method"] == "tasks/updated" && $0["params"]?["taskId"] == .string(id)
        && $0["params"]?["status"] == "completed"
    }
    #expect(done != nil)
    let statuses = h.client.messages.filter { $0["method"] == "tasks/updated" }.compactMap {
      $0["params"]?["status"]?.stringValue
    }
    #expect(statuses == ["running", "completed"])
    let got = await h.call("tasks/get", ["taskId": .string(id)])
    let task = try #require(got["result"]?["task"])
    #expect(task["status"] == "completed" && task["kind"] == "tool" && task["priority"] == "normal")
    #expect(task["result"]?["content"]?[0]?["text"]?.stringValue?.contains("task data") == true)
    #expect(await h.call("tasks/list", ["status": "completed"])["result"]?["tasks"]?.arrayValue?.count == 1)
    #expect(await h.call("tasks/get", ["taskId": "task_nope"])["error"]?["code"] == -32013)
    await h.finish()
  }

  @Test func aChatTaskAnswersWithTheTurnsResult() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let r = await h.call(
      "tasks/submit", ["kind": "chat", "params": ["message": "hello", "model": "local"], "priority": "high"])
    let id = try #require(r["result"]?["taskId"]?.stringValue)
    _ = await h.client.reader.first { $0["method"] == "tasks/updated" && $0["params"]?["status"] == "completed" }
    let task = await h.call("tasks/get", ["taskId": .string(id)])["result"]?["task"]
    #expect(task?["priority"] == "high")
    #expect(task?["result"]?["content"]?.stringValue?.contains("offline model") == true)
    #expect(task?["result"]?["stopReason"] == "end_turn")
    await h.finish()
  }

  @Test func badTaskParamsNameTheField() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let noMessage = await h.call("tasks/submit", ["kind": "chat", "params": ["agent": "coder"]])
    #expect(noMessage["error"]?["code"] == -32602 && noMessage["error"]?["data"]?["field"] == "params.message")
    let badTool = await h.call("tasks/submit", ["kind": "tool", "params": ["tool": "nope"]])
    #expect(badTool["error"]?["data"]?["field"] == "params.tool")
    let badArgs = await h.call(
      "tasks/submit",
      ["kind": "tool", "params": ["tool": "file_operations", "arguments": ["operation": "fly", "path": "."]]])
    #expect(badArgs["error"]?["data"]?["field"] == "params.arguments.operation")
    let badKind = await h.call("tasks/submit", ["kind": "dance", "params": [:]])
    #expect(badKind["error"]?["data"]?["field"] == "kind")
    let badPriority = await h.call("tasks/submit", ["kind": "chat", "params": ["message": "x"], "priority": "urgent"])
    #expect(badPriority["error"]?["data"]?["field"] == "priority")
    await h.finish()
  }

  @Test func customMetricsAreValidatedRecordedAndReported() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    #expect(
      await h.call("analytics/record", ["name": "editor.keystrokes", "value": 42, "tags": ["lang": "swift"]])["result"]
        == [:])
    #expect(await h.call("analytics/record", ["name": "bad name", "value": 1])["error"]?["data"]?["field"] == "name")
    #expect(await h.call("analytics/record", ["name": "x", "value": "many"])["error"]?["data"]?["field"] == "value")
    var many: [String: JSONValue] = [:]
    for i in 0..<17 { many["k\(i)"] = "v" }
    #expect(
      await h.call("analytics/record", ["name": "x", "value": 1, "tags": .object(many)])["error"]?["data"]?["field"]
        == "tags")
    try await h.engine.metrics.flush()
    let stored = try await h.engine.database.read { c in
      try c.queryOne("SELECT value, tags FROM metrics WHERE name = 'editor.keystrokes'")
    }
    #expect(stored?[0].double == 42 && stored?[1].text == #"{"lang":"swift"}"#)
    // The requests themselves were counted.
    let perf = await h.call("analytics/report", ["type": "performance", "hours": 1])
    let methods = perf["result"]?["tables"]?["byMethod"]?.arrayValue?.compactMap { $0["method"]?.stringValue } ?? []
    #expect(methods.contains("analytics/record") && methods.contains("initialize"))
    await h.finish()
  }

  @Test func reportsComeAsJSONMarkdownOrCSV() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    _ = await h.call("agent/chat", ["message": "hello", "model": "local"])
    let json = await h.call("analytics/report", ["type": "usage"])
    #expect(json["result"]?["type"] == "usage" && json["result"]?["summary"]?["chats"] == 1)
    let md = try #require(
      await h.call("analytics/report", ["type": "usage", "format": "markdown"])["result"]?["content"]?.stringValue)
    #expect(md.hasPrefix("# Usage report"))
    let tableLines = md.split(separator: "\n").filter { $0.hasPrefix("|") }
    #expect(tableLines.contains { $0.hasPrefix("| user ") } && tableLines.contains { $0.hasPrefix("| local ") })
    #expect(tableLines.contains { $0.hasPrefix("| ---") || $0.hasPrefix("|---") || $0.hasPrefix("| :--") })
    let csv = try #require(
      await h.call("analytics/report", ["type": "models", "format": "csv"])["result"]?["content"]?.stringValue)
    #expect(csv.contains("# byModel\r\nmodel,calls,errors,errorRatePercent") && csv.contains("\r\nlocal,1,0,"))
    #expect(await h.call("analytics/report", ["type": "weather"])["error"]?["data"]?["field"] == "type")
    #expect(await h.call("analytics/report", ["type": "usage", "days": 0])["error"]?["data"]?["field"] == "days")
    #expect(
      await h.call("analytics/report", ["type": "usage", "days": 1, "hours": 2])["error"]?["data"]?["field"] == "hours")
    await h.finish()
  }

  @Test func alertRulesAlertsAndTheirNotifications() async throws {
    var h = try await ServerHarness.make()
    _ = await h.initialize()
    let rules = await h.call("alerts/rules")
    #expect(
      rules["result"]?["rules"]?.arrayValue?.map { $0["name"] } == [
        "cpu_high", "memory_high", "error_rate_high", "failed_logins", "latency_p95_high",
      ])
    let bad = await h.call(
      "alerts/setRules",
      [
        "rules": [
          ["name": "x", "kind": "cpu", "threshold": 101, "windowMinutes": 1, "severity": "info", "enabled": true]
        ]
      ])
    #expect(bad["error"]?["data"]?["field"] == "rules[0].threshold")
    let set = await h.call(
      "alerts/setRules",
      [
        "rules": [
          [
            "name": "mem", "kind": "memory", "threshold": 50, "windowMinutes": 1, "severity": "critical",
            "enabled": true,
          ]
        ]
      ])
    #expect(set["result"]?["rules"]?[0]?["name"] == "mem")
    await h.engine.alerts.evaluate(AlertInputs(cpuPercent: 99, memoryPercent: 75))
    h.engine.clock.advance(seconds: 60)  // the rule judges a whole minute
    await h.engine.alerts.evaluate(AlertInputs(cpuPercent: 99, memoryPercent: 75))
    let raised = try #require(await h.client.reader.first { $0["method"] == "alerts/raised" })
    #expect(raised["params"]?["rule"] == "mem" && raised["params"]?["severity"] == "critical")
    #expect(raised["params"]?["value"]?.doubleValue == 75)
    h.engine.clock.advance(seconds: 61)
    await h.engine.alerts.evaluate(AlertInputs(cpuPercent: 99, memoryPercent: 10))
    let cleared = try #require(await h.client.reader.first { $0["method"] == "alerts/cleared" })
    #expect(cleared["params"]?["id"] == raised["params"]?["id"])
    let list = await h.call("alerts/list")
    #expect(list["result"]?["alerts"]?[0]?["rule"] == "mem" && list["result"]?["alerts"]?[0]?["resolvedAt"] != .null)
    await h.finish()
  }
}
