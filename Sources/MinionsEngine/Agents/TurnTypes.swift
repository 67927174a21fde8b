import MinionsCore

/// What a turn streams while it runs (the server sends each as an `agent/update`).
public enum TurnEvent: Sendable, Equatable {
  /// The first event of every turn: its ids (no update is sent for it).
  case began(sessionID: String, turnID: String)
  case token(text: String, agent: String)
  case toolCall(callID: String, tool: String, arguments: JSONValue, agent: String)
  case toolResult(callID: String, isError: Bool, output: String, agent: String)
  case handoff(from: String, to: String, task: String)
}

/// Why a turn ended.
public enum StopReason: String, Sendable, Codable, Equatable, JSONSchemaEnum, CaseIterable {
  case endTurn = "end_turn"
  case maxTokens = "max_tokens"
  case maxSteps = "max_steps"
  case cancelled
}

/// A tool call made during a turn, with its outcome.
public struct TurnToolCall: Sendable, Equatable {
  public var callID: String
  public var tool: String
  public var arguments: JSONValue
  public var isError: Bool
  public var output: String

  public init(callID: String, tool: String, arguments: JSONValue, isError: Bool, output: String) {
    self.callID = callID
    self.tool = tool
    self.arguments = arguments
    self.isError = isError
    self.output = output
  }
}

/// The result of one turn.
public struct TurnOutcome: Sendable {
  public var sessionID: String
  public var turnID: String
  public var agent: String
  public var model: String
  public var content: String
  public var stopReason: StopReason
  public var toolCalls: [TurnToolCall]
  public var promptTokens: Int
  public var completionTokens: Int
  public var usageEstimated: Bool
  public var ttftMs: Double?
  public var totalMs: Double
  /// Of `totalMs`, the time spent waiting on model calls (the rest is the engine and the tools).
  public var modelMs: Double
  public var cached: Bool
}
