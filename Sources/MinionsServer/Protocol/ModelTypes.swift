import MinionsCore
import MinionsEngine

public struct ModelStatsRecord: Codable, Sendable {
  public var requests: Int
  public var errors: Int
  public var errorRate: Double
  public var p50LatencyMs: Double?
  public var p95LatencyMs: Double?
  public var p50TtftMs: Double?
  public var tokensPerSecond: Double?

  init(_ s: ModelStatsSnapshot) {
    requests = s.requests
    errors = s.errors
    errorRate = s.errorRate
    p50LatencyMs = s.p50LatencyMs.map(round1)
    p95LatencyMs = s.p95LatencyMs.map(round1)
    p50TtftMs = s.p50TtftMs.map(round1)
    tokensPerSecond = s.tokensPerSecond.map(round1)
  }
}

func round1(_ v: Double) -> Double { (v * 10).rounded() / 10 }

public struct ModelRecord: Codable, Sendable {
  public var name: String
  public var provider: ProviderKind
  public var capabilities: [Capability]
  public var contextLength: Int
  public var costPer1kInput: Double
  public var costPer1kOutput: Double
  public var available: Bool
  /// Why it is not available (no API key, unreadable script, Ollama not answering).
  public var unavailableReason: String?
  public var cooldownUntil: Timestamp?
  public var stats: ModelStatsRecord
  public var source: String
  public var baseURL: String?
  public var apiKeyEnv: String?
  public var script: String?
  public var fallbacks: [String]
}

public struct ModelsListResult: Codable, Sendable {
  public var models: [ModelRecord]
}

public struct ModelRegisterParams: Codable, Sendable, JSONSchemaDocumented {
  public var name: String
  public var provider: ProviderKind
  public var capabilities: [Capability]
  public var baseURL: String?
  public var apiKeyEnv: String?
  public var contextLength: Int?
  public var costPer1kInput: Double?
  public var costPer1kOutput: Double?
  public var script: String?
  public var fallbacks: [String]?

  public static var fieldDescriptions: [String: String] {
    [
      "name": "the provider's model name (e.g. llama3.2, gpt-4o-mini); registering an existing name replaces it",
      "apiKeyEnv":
        "the environment variable holding the key (default OPENAI_API_KEY / ANTHROPIC_API_KEY); the key itself is never stored",
      "script": "for provider script: the script file (relative paths are under the workspace)",
      "fallbacks": "models to fail over to, in order, when this one fails before any output",
    ]
  }
}

public struct ModelRegisterResult: Codable, Sendable {
  public var model: ModelRecord
  public var replaced: Bool
}

public struct ModelNameParams: Codable, Sendable {
  public var name: String
}

public struct RemovedResult: Codable, Sendable {
  public var removed: Bool
}

public struct ModelsRefreshResult: Codable, Sendable {
  public var added: [String]
  public var updated: [String]
  public var removed: [String]
  public var errors: [String]
}

public struct ModelSelectParams: Codable, Sendable {
  public var task: String?
  public var requiredCapabilities: [Capability]?
  public var strategy: SelectionCriteria.Strategy?
  public var exclude: [String]?
}

public struct SelectionCandidateRecord: Codable, Sendable {
  public var model: String
  public var score: Double?
  public var excluded: String?
}

public struct ModelSelectResult: Codable, Sendable {
  public var model: String
  public var provider: ProviderKind
  public var score: Double
  public var reasons: [String]
  public var candidates: [SelectionCandidateRecord]
}

public struct AgentChatParams: Codable, Sendable, JSONSchemaDocumented {
  public var message: String
  public var agent: String?
  public var sessionId: String?
  public var model: String?
  public var maxSteps: Int?
  public var temperature: Double?
  public var cache: Bool?

  public static var fieldDescriptions: [String: String] {
    [
      "agent": "default: the user's defaultAgent preference, else assistant",
      "model": "a model name; absent: the engine selects one (and fails over to the next candidate)",
      "maxSteps": "model calls the turn may make (1–64, default 8)",
      "temperature": "0 to 2",
      "cache":
        "true: answer from the response cache when the same request was answered before (and store the answer); "
        + "false: never; absent: only deterministic calls (temperature 0, not scripted models)",
    ]
  }
}

public struct ToolCallRecord: Codable, Sendable {
  public var callId: String
  public var tool: String
  public var arguments: JSONValue
  public var isError: Bool
  public var output: String
}

public struct UsageRecord: Codable, Sendable {
  public var promptTokens: Int
  public var completionTokens: Int
  public var totalTokens: Int
  /// True when a provider gave no counts (or the stream was cut) and they are estimates.
  public var estimated: Bool
}

public struct TimingRecord: Codable, Sendable {
  public var ttftMs: Double?
  public var totalMs: Double
  /// Of totalMs, the time spent in model calls (the rest is the engine and the tools).
  public var modelMs: Double
}

public struct AgentChatResult: Codable, Sendable {
  public var sessionId: String
  public var turnId: String
  public var agent: String
  public var model: String
  public var content: String
  public var stopReason: StopReason
  public var toolCalls: [ToolCallRecord]
  public var usage: UsageRecord
  public var timing: TimingRecord
  public var cached: Bool

  init(_ o: TurnOutcome) {
    sessionId = o.sessionID
    turnId = o.turnID
    agent = o.agent
    model = o.model
    content = o.content
    stopReason = o.stopReason
    toolCalls = o.toolCalls.map {
      ToolCallRecord(callId: $0.callID, tool: $0.tool, arguments: $0.arguments, isError: $0.isError, output: $0.output)
    }
    usage = UsageRecord(
      promptTokens: o.promptTokens, completionTokens: o.completionTokens,
      totalTokens: o.promptTokens + o.completionTokens, estimated: o.usageEstimated)
    timing = TimingRecord(ttftMs: o.ttftMs.map(round1), totalMs: round1(o.totalMs), modelMs: round1(o.modelMs))
    cached = o.cached
  }
}

/// `agent/update`: one event of a running turn. `seq` counts from 1 within the turn; the fields present
/// depend on `kind`.
public struct AgentUpdateParams: Codable, Sendable {
  public enum Kind: String, Codable, Sendable, CaseIterable, JSONSchemaEnum {
    case token, toolCall, toolResult, handoff
  }

  public var sessionId: String
  public var turnId: String
  public var seq: Int
  public var kind: Kind
  /// token
  public var text: String?
  /// token (the agent that produced it)
  public var agent: String?
  /// toolCall, toolResult
  public var callId: String?
  /// toolCall
  public var tool: String?
  public var arguments: JSONValue?
  /// toolResult
  public var isError: Bool?
  public var output: String?
  /// handoff
  public var from: String?
  public var to: String?
  public var task: String?
}
