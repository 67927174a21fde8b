import JSONRPC
import MinionsCore
import MinionsEngine

/// `analytics/*` and `alerts/*`: custom metrics, reports, exports, alert rules and alerts.
enum AnalyticsMethods {
  /// 1 to 128 ASCII letters, digits, `.`, `_` or `-`.
  static func isMetricName(_ name: String) -> Bool {
    let bytes = name.utf8
    return (1...128).contains(bytes.count)
      && bytes.allSatisfy { b in
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2E || b == 0x5F
          || b == 0x2D
      }
  }

  static func register(in table: inout MethodTable) {
    table.register(
      "analytics/record", summary: "Records a custom metric (name, value, tags) now.",
      description: "Buffered and written in batches with the engine's own metrics; reports and exports include it.",
      access: .permission(.chat), params: AnalyticsRecordParams.self, result: EmptyResult.self
    ) { p, call in
      guard isMetricName(p.name) else {
        throw ResponseError.invalidParams(field: "name", "must be 1 to 128 letters, digits, . _ or -")
      }
      guard p.value.isFinite else { throw ResponseError.invalidParams(field: "value", "must be a finite number") }
      let tags = p.tags ?? [:]
      guard tags.count <= 16 else { throw ResponseError.invalidParams(field: "tags", "at most 16 tags") }
      for (k, v) in tags.sorted(by: { $0.key < $1.key }) {
        guard (1...64).contains(k.count), v.count <= 256 else {
          throw ResponseError.invalidParams(field: "tags.\(k)", "keys are 1–64 characters, values at most 256")
        }
      }
      call.engine.metrics.record(p.name, p.value, tags: tags)
      return EmptyResult()
    }

    table.register(
      "analytics/report",
      summary: "A usage, performance, models, tools or security report over the last days or hours.",
      description:
        "format json (default) returns the report ({type, from, until, summary, tables}); markdown and csv return {content}.",
      access: .permission(.analyticsRead), params: AnalyticsReportParams.self, result: JSONValue.self
    ) { p, call in
      if p.days != nil && p.hours != nil {
        throw ResponseError.invalidParams(field: "hours", "give days or hours, not both")
      }
      if let d = p.days, !(1...366).contains(d) { throw ResponseError.invalidParams(field: "days", "must be 1 to 366") }
      if let h = p.hours, !(1...8784).contains(h) {
        throw ResponseError.invalidParams(field: "hours", "must be 1 to 8784")
      }
      let hours = p.hours ?? (p.days ?? 7) * 24
      let report = try await ReportBuilder(
        database: call.engine.database, metrics: call.engine.metrics, clock: call.engine.clock
      )
      .build(p.type, hours: hours)
      switch p.format ?? .json {
      case .json: return report.json
      case .markdown: return ["content": .string(ReportRendering.markdown(report))]
      case .csv: return ["content": .string(ReportRendering.csv(report))]
      }
    }

    table.register(
      "analytics/export",
      summary: "Writes metrics, events, requests (model calls) or the audit log to a file in the data directory.",
      description:
        "Rows with since <= at < until (both optional), oldest first, streamed to a new file (mode 0600) in the "
        + "data directory's exports/ folder as csv (RFC 4180, header first), json (an array of objects) or ndjson. "
        + "Buffered metrics are written first so the export is complete; the export is audited. With workDoneToken "
        + "it reports $/progress begin and end.",
      access: .permission(.analyticsExport), params: AnalyticsExportParams.self, result: AnalyticsExportResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      if let since = p.since, let until = p.until, since >= until {
        throw ResponseError.invalidParams(field: "until", "must be later than since")
      }
      let format: TabularFormat
      switch p.format {
      case .csv: format = .csv
      case .json: format = .json
      case .ndjson: format = .ndjson
      }
      let engine = call.engine
      let progress = call.request.progress
      await progress?.begin(title: "Exporting \(p.dataset.rawValue)", cancellable: false)
      let exporter = Exporter(
        database: engine.database, metrics: engine.metrics, dataDirectory: engine.configuration.dataDirectory)
      let (path, rows) = try await exporter.export(
        Exporter.Dataset(rawValue: p.dataset.rawValue)!, since: p.since, until: p.until, format: format,
        now: engine.clock.now())
      await progress?.end(message: "\(rows) rows")
      engine.audit.record(
        username: identity.username, action: "analytics.export", target: p.dataset.rawValue, outcome: .ok,
        details: ["rows": .int(rows), "format": .string(p.format.rawValue)])
      return AnalyticsExportResult(path: path, rows: rows)
    }

    table.register(
      "alerts/list", summary: "Alerts raised since a time (default: the last 7 days), newest first.",
      access: .permission(.analyticsRead), params: AlertsListParams.self, result: AlertsListResult.self
    ) { p, call in
      AlertsListResult(alerts: try await call.engine.alerts.list(since: p.since).map(AlertRecord.init))
    }

    table.register(
      "alerts/rules", summary: "The alert rules in force.",
      access: .permission(.analyticsRead), params: NoParams.self, result: AlertRulesResult.self
    ) { _, call in
      AlertRulesResult(rules: call.engine.alerts.currentRules)
    }

    table.register(
      "alerts/setRules", summary: "Replaces the alert rules (persisted); alerts of removed rules are resolved.",
      access: .permission(.settingsManage), params: AlertSetRulesParams.self, result: AlertRulesResult.self
    ) { p, call in
      try await call.engine.alerts.setRules(p.rules)
      call.engine.audit.record(
        username: call.identity?.username, action: "alerts.rules", outcome: .ok,
        details: ["rules": .array(p.rules.map { .string($0.name) })])
      return AlertRulesResult(rules: call.engine.alerts.currentRules)
    }

    table.registerServerNotification(
      "alerts/raised", summary: "An alert rule's condition started to hold (sent to users with analytics.read).",
      params: AlertRecord.self)
    table.registerServerNotification(
      "alerts/cleared", summary: "An alert's condition stopped holding.", params: AlertClearedParams.self)
  }
}
