import MinionsCore
import MinionsHTTP

/// Anthropic's Messages API, streamed as server-sent events (message_start, content_block_start /
/// delta / stop with text_delta and input_json_delta, message_delta with cumulative usage, ping, error).
struct AnthropicProvider: ModelProvider {
  let http: ProviderHTTP
  let environment: [String: String]
  let idleTimeout: Double
  static let version = "2023-06-01"

  init(transport: any HTTPTransport, environment: [String: String], idleTimeout: Double = 120) {
    self.idleTimeout = idleTimeout
    self.http = ProviderHTTP(transport: transport, provider: .anthropic)
    self.environment = environment
  }

  func complete(_ request: ModelRequest, model: ModelConfig, emit: (ModelEvent) async throws -> Void) async throws {
    let base = model.baseURL ?? environment["ANTHROPIC_BASE_URL"] ?? "https://api.anthropic.com"
    let keyName = model.apiKeyEnv ?? "ANTHROPIC_API_KEY"
    guard let key = environment[keyName], !key.isEmpty else {
      throw ModelError(
        kind: .configuration, provider: .anthropic, model: model.name, retryable: false,
        message: "no API key: set \(keyName)")
    }
    let headers: [(name: String, value: String)] = [
      ("x-api-key", key), ("anthropic-version", Self.version), ("Accept", "text/event-stream"),
    ]
    var body = Self.wire(request.messages)
    body["model"] = .string(model.name)
    body["stream"] = true
    body["max_tokens"] = .int(request.maxTokens ?? 4096)
    if let t = request.temperature { body["temperature"] = .double(t) }
    if !request.tools.isEmpty {
      body["tools"] = .array(
        request.tools.map {
          ["name": .string($0.name), "description": .string($0.description), "input_schema": $0.parameters]
        })
    }
    let response = try await http.start(
      joinURL(base, "/v1/messages"), body: .object(body), headers: headers, model: model.name,
      idleTimeout: idleTimeout)

    var toolBlocks: Set<Int> = []
    var inputTokens = 0
    var outputTokens = 0
    var finish: FinishReason? = nil
    var stopped = false
    var output = false
    do {
      for try await event in response.events {
        guard let data = try? JSONParser.parse(event.data) else { continue }
        switch data["type"]?.stringValue ?? event.event ?? "" {
        case "message_start":
          inputTokens = data["message"]?["usage"]?["input_tokens"]?.intValue ?? 0
          outputTokens = data["message"]?["usage"]?["output_tokens"]?.intValue ?? 0
        case "content_block_start":
          let index = data["index"]?.intValue ?? 0
          let block = data["content_block"]
          if block?["type"]?.stringValue == "tool_use" {
            toolBlocks.insert(index)
            output = true
            try await emit(
              .toolCallStart(
                index: index, id: block?["id"]?.stringValue ?? "toolu_\(index)",
                name: block?["name"]?.stringValue ?? ""))
          } else if let text = block?["text"]?.stringValue, !text.isEmpty {
            output = true
            try await emit(.text(text))
          }
        case "content_block_delta":
          let index = data["index"]?.intValue ?? 0
          let delta = data["delta"]
          switch delta?["type"]?.stringValue {
          case "text_delta":
            if let text = delta?["text"]?.stringValue, !text.isEmpty {
              output = true
              try await emit(.text(text))
            }
          case "input_json_delta":
            if let fragment = delta?["partial_json"]?.stringValue, !fragment.isEmpty {
              try await emit(.toolCallArguments(index: index, fragment: fragment))
            }
          default: break
          }
        case "content_block_stop":
          let index = data["index"]?.intValue ?? 0
          if toolBlocks.contains(index) { try await emit(.toolCallEnd(index: index)) }
        case "message_delta":
          if let reason = data["delta"]?["stop_reason"]?.stringValue { finish = Self.finishReason(reason) }
          // Cumulative counts: the latest is the total so far.
          if let out = data["usage"]?["output_tokens"]?.intValue { outputTokens = out }
          if let inp = data["usage"]?["input_tokens"]?.intValue, inp > 0 { inputTokens = inp }
        case "message_stop":
          stopped = true
        case "error":
          let type = data["error"]?["type"]?.stringValue ?? "error"
          let retryable = ["overloaded_error", "api_error", "rate_limit_error"].contains(type)
          throw ModelError(
            kind: output ? .midStream : .http, provider: .anthropic, model: model.name,
            httpStatus: type == "overloaded_error" ? 529 : nil, retryable: retryable,
            message: ProviderHTTP.errorMessage(data) ?? type)
        default:
          break  // ping and future event types
        }
        if stopped { break }
      }
    } catch let e as HTTPError {
      throw http.map(e, model: model.name, afterOutput: output)
    }
    if inputTokens > 0 || outputTokens > 0 {
      try await emit(.usage(promptTokens: inputTokens, completionTokens: outputTokens))
    }
    guard stopped || finish != nil else {
      throw ModelError(
        kind: .midStream, provider: .anthropic, model: model.name, retryable: true,
        message: "the stream ended before message_stop")
    }
    try await emit(.finish(finish ?? .stop))
  }

  static func finishReason(_ s: String) -> FinishReason {
    switch s {
    case "max_tokens": return .length
    case "tool_use": return .toolCalls
    case "refusal": return .contentFilter
    default: return .stop
    }
  }

  /// `system` apart; user and assistant alternating, tool results as user `tool_result` blocks
  /// (consecutive same-role messages merged, as the API requires).
  static func wire(_ messages: [ChatMessage]) -> [String: JSONValue] {
    var system: [String] = []
    var out: [(role: String, blocks: [JSONValue])] = []
    func add(_ role: String, _ blocks: [JSONValue]) {
      guard !blocks.isEmpty else { return }
      if let last = out.last, last.role == role {
        out[out.count - 1].blocks += blocks
      } else {
        out.append((role, blocks))
      }
    }
    for m in messages {
      switch m.role {
      case .system: system.append(m.content)
      case .user: add("user", [["type": "text", "text": .string(m.content)]])
      case .assistant:
        var blocks: [JSONValue] = []
        if !m.content.isEmpty { blocks.append(["type": "text", "text": .string(m.content)]) }
        for c in m.toolCalls {
          blocks.append([
            "type": "tool_use", "id": .string(c.id), "name": .string(c.name),
            "input": c.arguments.objectValue != nil ? c.arguments : [:],
          ])
        }
        add("assistant", blocks)
      case .tool:
        add(
          "user",
          [
            [
              "type": "tool_result", "tool_use_id": .string(m.toolCallID ?? ""), "content": .string(m.content),
              "is_error": .bool(m.isError),
            ]
          ])
      }
    }
    var body: [String: JSONValue] = [
      "messages": .array(out.map { ["role": .string($0.role), "content": .array($0.blocks)] })
    ]
    if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
    return body
  }
}
