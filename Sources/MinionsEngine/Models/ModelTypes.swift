import MinionsCore

/// What a model can do (contract §5).
public enum Capability: String, Sendable, Codable, CaseIterable, Hashable, JSONSchemaEnum {
  case textGeneration = "text_generation"
  case codeGeneration = "code_generation"
  case reasoning
  case toolUse = "tool_use"
  case vision
  case embeddings
  case longContext = "long_context"
}

/// Who serves a model.
public enum ProviderKind: String, Sendable, Codable, CaseIterable, Hashable, JSONSchemaEnum {
  case ollama, openai, anthropic, local, script
}

/// A tool call a model asked for.
public struct ToolCallRequest: Sendable, Codable, Equatable {
  public var id: String
  public var name: String
  public var arguments: JSONValue

  public init(id: String, name: String, arguments: JSONValue) {
    self.id = id
    self.name = name
    self.arguments = arguments
  }
}

/// One message of a conversation, in the engine's own terms; each provider maps it to its wire form.
public struct ChatMessage: Sendable, Codable, Equatable {
  public enum Role: String, Sendable, Codable, CaseIterable, JSONSchemaEnum { case system, user, assistant, tool }

  public var role: Role
  public var content: String
  /// The calls an assistant message made.
  public var toolCalls: [ToolCallRequest]
  /// For a tool result: the call it answers, the tool's name, and whether it failed.
  public var toolCallID: String?
  public var toolName: String?
  public var isError: Bool

  public init(
    role: Role, content: String, toolCalls: [ToolCallRequest] = [], toolCallID: String? = nil,
    toolName: String? = nil, isError: Bool = false
  ) {
    self.role = role
    self.content = content
    self.toolCalls = toolCalls
    self.toolCallID = toolCallID
    self.toolName = toolName
    self.isError = isError
  }

  public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }
  public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }
}

/// A tool offered to the model: its name, what it does, and a JSON Schema of its arguments.
public struct ToolSpec: Sendable, Equatable {
  public var name: String
  public var description: String
  public var parameters: JSONValue

  public init(name: String, description: String, parameters: JSONValue) {
    self.name = name
    self.description = description
    self.parameters = parameters
  }
}

/// One model call.
public struct ModelRequest: Sendable {
  public var messages: [ChatMessage]
  public var tools: [ToolSpec]
  public var temperature: Double?
  public var maxTokens: Int?
  /// Whether the answer may come from and go to the response cache: true always, false never, nil
  /// only when the request is deterministic (see `ResponseCache.isCacheable`).
  public var cache: Bool?

  public init(
    messages: [ChatMessage], tools: [ToolSpec] = [], temperature: Double? = nil, maxTokens: Int? = nil,
    cache: Bool? = nil
  ) {
    self.messages = messages
    self.tools = tools
    self.temperature = temperature
    self.maxTokens = maxTokens
    self.cache = cache
  }

  /// A rough token count (four characters a token), for context checks and estimated usage.
  public var estimatedPromptTokens: Int {
    var chars = 0
    for m in messages {
      chars += m.content.utf8.count + 8
      for c in m.toolCalls { chars += JSONWriter.bytes(c.arguments).count + c.name.utf8.count }
    }
    for t in tools { chars += t.name.utf8.count + t.description.utf8.count + JSONWriter.bytes(t.parameters).count }
    return max(1, chars / 4)
  }
}

/// Why a model stopped.
public enum FinishReason: String, Sendable, Codable, Equatable {
  case stop
  case length
  case toolCalls = "tool_calls"
  case contentFilter = "content_filter"
}

/// The normalized stream every provider produces.
public enum ModelEvent: Sendable, Equatable {
  case text(String)
  /// A tool call begins; its arguments follow as JSON text fragments.
  case toolCallStart(index: Int, id: String, name: String)
  case toolCallArguments(index: Int, fragment: String)
  case toolCallEnd(index: Int)
  case usage(promptTokens: Int, completionTokens: Int)
  case finish(FinishReason)
  /// Time the provider spent loading the model before answering (Ollama's load_duration), kept apart
  /// from latency.
  case loadTime(milliseconds: Double)
}

/// A provider failure, with what the router needs to decide about retrying.
public struct ModelError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: String, Sendable, Equatable {
    case http
    case network
    case timeout
    /// The provider's response did not follow its format.
    case protocolError = "protocol"
    /// The provider reported an error after output had started.
    case midStream = "mid_stream"
    case configuration
    case cancelled
  }

  public var kind: Kind
  public var provider: ProviderKind
  public var model: String
  public var httpStatus: Int?
  public var retryable: Bool
  /// How long the provider asked us to wait (Retry-After, retry-after-ms), in milliseconds.
  public var retryAfterMs: Int?
  public var message: String

  public init(
    kind: Kind, provider: ProviderKind, model: String, httpStatus: Int? = nil, retryable: Bool,
    retryAfterMs: Int? = nil, message: String
  ) {
    self.kind = kind
    self.provider = provider
    self.model = model
    self.httpStatus = httpStatus
    self.retryable = retryable
    self.retryAfterMs = retryAfterMs
    self.message = message
  }

  public var description: String {
    "\(provider.rawValue) model \(model): \(message)" + (httpStatus.map { " (HTTP \($0))" } ?? "")
  }

  /// Whether an HTTP status is worth retrying (408, 409, 429, 5xx, 529).
  public static func isRetryable(status: Int) -> Bool {
    status == 408 || status == 409 || status == 429 || status >= 500
  }
}

/// Serves model calls of one provider kind.
public protocol ModelProvider: Sendable {
  /// Runs one call, handing each event to `emit` in order (awaiting it: a slow consumer slows the
  /// stream instead of piling it up). Throws `ModelError`; honours task cancellation promptly.
  func complete(_ request: ModelRequest, model: ModelConfig, emit: (ModelEvent) async throws -> Void) async throws
}
