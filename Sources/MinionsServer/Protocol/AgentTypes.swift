import MinionsCore
import MinionsEngine

public struct AgentRecord: Codable, Sendable {
  public var name: String
  public var description: String
  public var requiredCapabilities: [Capability]
  public var tools: [String]
  public var canDelegateTo: [String]
  public var systemPrompt: String
  public var model: String?
  public var temperature: Double?
  public var builtin: Bool

  init(_ a: AgentDefinition) {
    name = a.name
    description = a.description
    requiredCapabilities = a.requiredCapabilities
    tools = a.tools
    canDelegateTo = a.canDelegateTo
    systemPrompt = a.systemPrompt
    model = a.model
    temperature = a.temperature
    builtin = a.builtin
  }
}

public struct AgentsListResult: Codable, Sendable {
  public var agents: [AgentRecord]
}

public struct AgentCreateParams: Codable, Sendable, JSONSchemaDocumented {
  public var name: String
  public var description: String?
  public var systemPrompt: String
  public var requiredCapabilities: [Capability]?
  public var tools: [String]?
  public var canDelegateTo: [String]?
  public var model: String?
  public var temperature: Double?

  public static var fieldDescriptions: [String: String] {
    [
      "name": "1–64 letters, digits, _ or -, starting with a letter; not a built-in agent's name",
      "systemPrompt": "who the agent is and how it works (up to 64 KiB)",
      "requiredCapabilities": "what a model must be able to do to serve this agent (default [text_generation])",
      "tools": "tool names from tools/list the agent may use (delegate is added when canDelegateTo names agents)",
      "canDelegateTo": "agents this one may hand sub-tasks to",
      "model": "a model this agent prefers; absent: selection decides",
    ]
  }

  func definition() -> AgentDefinition {
    AgentDefinition(
      name: name, description: description ?? "", systemPrompt: systemPrompt,
      requiredCapabilities: requiredCapabilities ?? [.textGeneration], tools: tools ?? [],
      canDelegateTo: canDelegateTo ?? [], model: model, temperature: temperature)
  }
}

/// `agents/update`: the fields given replace the agent's; the others stay.
public struct AgentUpdateParamsRecord: Codable, Sendable, JSONSchemaDocumented {
  public var name: String
  public var description: String?
  public var systemPrompt: String?
  public var requiredCapabilities: [Capability]?
  public var tools: [String]?
  public var canDelegateTo: [String]?
  public var model: String?
  public var temperature: Double?

  public static var fieldDescriptions: [String: String] {
    ["name": "the custom agent to change (built-in agents cannot be changed)"]
  }

  func apply(to a: AgentDefinition) -> AgentDefinition {
    var out = a
    if let description { out.description = description }
    if let systemPrompt { out.systemPrompt = systemPrompt }
    if let requiredCapabilities { out.requiredCapabilities = requiredCapabilities }
    if let tools { out.tools = tools }
    if let canDelegateTo { out.canDelegateTo = canDelegateTo }
    if let model { out.model = model.isEmpty ? nil : model }
    if let temperature { out.temperature = temperature }
    return out
  }
}

public struct AgentNameParams: Codable, Sendable {
  public var name: String
}

public struct AgentResult: Codable, Sendable {
  public var agent: AgentRecord
}

public struct AgentCancelParams: Codable, Sendable {
  public var sessionId: String
}

public struct AgentCancelResult: Codable, Sendable {
  /// Whether a running turn was found and cancelled (its own reply carries stopReason cancelled).
  public var cancelled: Bool
}

// MARK: Approvals

public struct ApprovalOptionRecord: Codable, Sendable {
  public var optionId: String
  public var name: String
  public var kind: String
}

/// `approval/request` (server → client): a tool call waiting for the user's decision.
public struct ApprovalRequestParams: Codable, Sendable {
  public var sessionId: String
  public var turnId: String
  public var callId: String
  public var tool: String
  public var arguments: JSONValue
  public var agent: String
  public var options: [ApprovalOptionRecord]
}

/// The client's answer to `approval/request`.
public struct ApprovalRequestResult: Codable, Sendable, JSONSchemaDocumented {
  public enum Outcome: String, Codable, Sendable, CaseIterable, JSONSchemaEnum { case selected, cancelled }
  public var outcome: Outcome
  public var optionId: String?

  public static var fieldDescriptions: [String: String] {
    ["optionId": "with outcome selected: allow_once, allow_always, reject_once or reject_always"]
  }
}

// MARK: Sessions

public struct SessionRecord: Codable, Sendable {
  public var sessionId: String
  public var title: String
  public var agent: String
  public var createdAt: Timestamp
  public var updatedAt: Timestamp
  public var messageCount: Int

  init(_ s: SessionSummary) {
    sessionId = s.sessionID
    title = s.title
    agent = s.agent
    createdAt = s.createdAt
    updatedAt = s.updatedAt
    messageCount = s.messageCount
  }
}

public struct SessionsListParams: Codable, Sendable, JSONSchemaDocumented {
  public var cursor: String?
  public var limit: Int?

  public static var fieldDescriptions: [String: String] {
    ["cursor": "nextCursor of the previous page", "limit": "1–200, default 50"]
  }
}

public struct SessionsListResult: Codable, Sendable {
  public var sessions: [SessionRecord]
  public var nextCursor: String?
}

public struct SessionIDParams: Codable, Sendable {
  public var sessionId: String
}

public struct MessageToolCallRecord: Codable, Sendable {
  public var callId: String
  public var tool: String
  public var arguments: JSONValue
}

public struct MessageRecord: Codable, Sendable {
  public var role: ChatMessage.Role
  public var content: String
  public var agent: String?
  public var toolCalls: [MessageToolCallRecord]?
  /// For tool messages: the call answered, the tool, and whether it failed.
  public var callId: String?
  public var tool: String?
  public var isError: Bool?
  public var turnId: String
  public var createdAt: Timestamp

  init(_ m: StoredMessage) {
    role = m.role
    content = m.content
    agent = m.agent
    toolCalls =
      m.toolCalls.isEmpty
      ? nil : m.toolCalls.map { MessageToolCallRecord(callId: $0.id, tool: $0.name, arguments: $0.arguments) }
    callId = m.toolCallID
    tool = m.toolName
    isError = m.role == .tool ? m.isError : nil
    turnId = m.turnID
    createdAt = m.createdAt
  }
}

public struct SessionGetResult: Codable, Sendable {
  public var session: SessionRecord
  public var messages: [MessageRecord]
}

public struct SessionRenameParams: Codable, Sendable {
  public var sessionId: String
  public var title: String
}

public struct SessionExportParams: Codable, Sendable {
  public enum Format: String, Codable, Sendable, CaseIterable, JSONSchemaEnum { case markdown, json, script }
  public var sessionId: String
  public var format: Format?
}

extension SessionExportParams: JSONSchemaDocumented {
  public static var fieldDescriptions: [String: String] {
    [
      "format":
        "markdown (default), json, or script: a script file that replays every model call of the session, each "
        + "answering only the exact input it had, with a recording to compare against (minions replay)"
    ]
  }
}

public struct ContentResult: Codable, Sendable {
  public var content: String
}

public struct SessionSearchParams: Codable, Sendable, JSONSchemaDocumented {
  public var query: String
  public var limit: Int?

  public static var fieldDescriptions: [String: String] {
    [
      "query": "words that must all appear in a message (punctuation and FTS operators are taken literally)",
      "limit": "1–100, default 20",
    ]
  }
}

public struct SessionSearchHit: Codable, Sendable {
  public var sessionId: String
  public var title: String
  /// The matching message around the words found, which are marked **like this**.
  public var snippet: String
}

public struct SessionSearchResult: Codable, Sendable {
  public var results: [SessionSearchHit]
}
