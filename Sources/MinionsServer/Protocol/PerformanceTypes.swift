import MinionsCore
import MinionsEngine

// MARK: Tasks

public struct TaskSubmitParams: Codable, Sendable, JSONSchemaDocumented {
  public var kind: TaskQueue.Kind
  public var params: JSONValue
  public var priority: TaskQueue.Priority?

  public static var fieldDescriptions: [String: String] {
    [
      "params": "for chat: agent/chat's params; for tool: tools/execute's params ({tool, arguments, timeoutMs?})",
      "priority": "low, normal (default), high or critical; first in, first out within a priority",
    ]
  }
}

public struct TaskSubmitResult: Codable, Sendable {
  public var taskId: String
}

public struct TaskRecordJSON: Codable, Sendable {
  public var taskId: String
  public var kind: TaskQueue.Kind
  public var priority: TaskQueue.Priority
  public var status: TaskQueue.Status
  public var result: JSONValue?
  public var error: String?
  public var createdAt: Timestamp
  public var startedAt: Timestamp?
  public var finishedAt: Timestamp?

  init(_ r: TaskQueue.Record) {
    taskId = r.id
    kind = r.kind
    priority = r.priority
    status = r.status
    result = r.result
    error = r.error
    createdAt = r.createdAt
    startedAt = r.startedAt
    finishedAt = r.finishedAt
  }
}

public struct TaskIDParams: Codable, Sendable {
  public var taskId: String
}

public struct TaskResultJSON: Codable, Sendable {
  public var task: TaskRecordJSON
}

public struct TasksListParams: Codable, Sendable {
  public var status: TaskQueue.Status?
}

public struct TasksListResult: Codable, Sendable {
  public var tasks: [TaskRecordJSON]
}

/// `tasks/updated`: a task of this connection's changed status.
public struct TaskUpdatedParams: Codable, Sendable {
  public var taskId: String
  public var status: TaskQueue.Status
}

// MARK: Analytics

public struct AnalyticsRecordParams: Codable, Sendable, JSONSchemaDocumented {
  public var name: String
  public var value: Double
  public var tags: [String: String]?

  public static var fieldDescriptions: [String: String] {
    [
      "name": "1–128 letters, digits, . _ - (names ending in _ms also keep a latency histogram)",
      "tags": "up to 16 short string tags (keys 1–64 characters, values up to 256)",
    ]
  }
}

public struct AnalyticsReportParams: Codable, Sendable, JSONSchemaDocumented {
  public enum Format: String, Codable, Sendable, CaseIterable, JSONSchemaEnum { case json, markdown, csv }
  public var type: ReportType
  public var days: Int?
  public var hours: Int?
  public var format: Format?

  public static var fieldDescriptions: [String: String] {
    [
      "days": "the period: the last N days (1–366; default 7)",
      "hours": "or the last N hours (1–8784)",
      "format": "json (default: the report itself), markdown or csv (then the result is {content})",
    ]
  }
}

public struct AnalyticsExportParams: Codable, Sendable, JSONSchemaDocumented {
  public enum Dataset: String, Codable, Sendable, CaseIterable, JSONSchemaEnum { case metrics, events, requests, audit }
  public enum Format: String, Codable, Sendable, CaseIterable, JSONSchemaEnum { case csv, json, ndjson }
  public var dataset: Dataset
  public var since: Timestamp?
  public var until: Timestamp?
  public var format: Format

  public static var fieldDescriptions: [String: String] {
    ["dataset": "requests are the model calls (one row per provider attempt)"]
  }
}

public struct AnalyticsExportResult: Codable, Sendable {
  /// The file written, in the data directory's exports folder.
  public var path: String
  public var rows: Int
}

// MARK: Alerts

public struct AlertRecord: Codable, Sendable {
  public var id: String
  public var rule: String
  public var severity: AlertRule.Severity
  public var message: String
  public var value: Double
  public var threshold: Double
  public var at: Timestamp
  public var resolvedAt: Timestamp?

  init(_ a: Alert) {
    id = a.id
    rule = a.rule
    severity = a.severity
    message = a.message
    value = a.value
    threshold = a.threshold
    at = a.at
    resolvedAt = a.resolvedAt
  }
}

public struct AlertsListParams: Codable, Sendable {
  public var since: Timestamp?
}

public struct AlertsListResult: Codable, Sendable {
  public var alerts: [AlertRecord]
}

public struct AlertRulesResult: Codable, Sendable {
  public var rules: [AlertRule]
}

public struct AlertSetRulesParams: Codable, Sendable {
  public var rules: [AlertRule]
}

/// `alerts/cleared`: an alert's condition stopped holding.
public struct AlertClearedParams: Codable, Sendable {
  public var id: String
  public var rule: String
  public var resolvedAt: Timestamp
}
