import MinionsCore
import MinionsHTTP

/// OpenAI Chat Completions, streamed as server-sent events with `stream_options.include_usage`; works
/// with any OpenAI-compatible server (vLLM, llama.cpp server, LM Studio) through the base URL.
struct OpenAIProvider: ModelProvider {
  let http: ProviderHTTP
  let environment: [String: String]
  let idleTimeout: Double

  init(transport: any HTTPTransport, environment: [String: String], idleTimeout: Double = 120) {
    self.idleTimeout = idleTimeout
    self.http = ProviderHTTP(transport: transport, provider: .openai)
    self.environment = environment
  }

  func complete(_ request: ModelRequest, model: ModelConfig, emit: (ModelEvent) async throws -> Void) async throws {
    let base =
      model.baseURL ?? environment["OPENAI_BASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://api.openai.com/v1"
    let keyName = model.apiKeyEnv ?? "OPENAI_API_KEY"
    var headers: [(name: String, value: String)] = [("Accept", "text/event-stream")]
    if let key = environment[keyName], !key.isEmpty { headers.append(("Authorization", "Bearer \(key)")) }
    var body: [String: JSONValue] = [
      "model": .string(model.name), "stream": true, "stream_options": ["include_usage": true],
      "messages": .array(request.messages.map(Self.wire)),
    ]
    if !request.tools.isEmpty {
      body["tools"] = .array(
        request.tools.map {
          [
            "type": "function",
            "function": [
              "name": .string($0.name), "description": .string($0.description), "parameters": $0.parameters,
            ],
          ]
        })
    }
    if let t = request.temperature { body["temperature"] = .double(t) }
    if let m = request.maxTokens { body["max_tokens"] = .int(m) }
    let response = try await http.start(
      joinURL(base, "/chat/completions"), body: .object(body), headers: headers, model: model.name,
      idleTimeout: idleTimeout)

    var started: [Int: Bool] = [:]  // tool call index → started
    var order: [Int] = []
    var finish: FinishReason? = nil
    var done = false
    var output = false
    do {
      for try await event in response.events {
        if event.data == "[DONE]" {
          done = true
          break
        }
        guard let chunk = try? JSONParser.parse(event.data) else { continue }  // keep-alive noise
        if chunk["error"] != nil {
          let message = ProviderHTTP.errorMessage(chunk) ?? "error in the stream"
          throw ModelError(
            kind: output ? .midStream : .http, provider: .openai, model: model.name, retryable: true, message: message)
        }
        if let choice = chunk["choices"]?[0] {
          let delta = choice["delta"]
          if let text = delta?["content"]?.stringValue, !text.isEmpty {
            output = true
            try await emit(.text(text))
          }
          for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let index = call["index"]?.intValue ?? 0
            if started[index] == nil {
              let id = call["id"]?.stringValue ?? "call_\(index)"
              let name = call["function"]?["name"]?.stringValue ?? ""
              started[index] = true
              order.append(index)
              output = true
              try await emit(.toolCallStart(index: index, id: id, name: name))
            }
            if let fragment = call["function"]?["arguments"]?.stringValue, !fragment.isEmpty {
              try await emit(.toolCallArguments(index: index, fragment: fragment))
            }
          }
          if let reason = choice["finish_reason"]?.stringValue {
            finish = Self.finishReason(reason)
          }
        }
        if let usage = chunk["usage"], !usage.isNull {
          try await emit(
            .usage(
              promptTokens: usage["prompt_tokens"]?.intValue ?? 0,
              completionTokens: usage["completion_tokens"]?.intValue ?? 0))
        }
      }
    } catch let e as HTTPError {
      throw http.map(e, model: model.name, afterOutput: output)
    }
    for index in order { try await emit(.toolCallEnd(index: index)) }
    guard done || finish != nil else {
      throw ModelError(
        kind: .midStream, provider: .openai, model: model.name, retryable: true,
        message: "the stream ended before it finished")
    }
    try await emit(.finish(finish ?? (order.isEmpty ? .stop : .toolCalls)))
  }

  static func finishReason(_ s: String) -> FinishReason {
    switch s {
    case "length": return .length
    case "tool_calls", "function_call": return .toolCalls
    case "content_filter": return .contentFilter
    default: return .stop
    }
  }

  /// A message in Chat Completions form.
  static func wire(_ m: ChatMessage) -> JSONValue {
    switch m.role {
    case .system: return ["role": "system", "content": .string(m.content)]
    case .user: return ["role": "user", "content": .string(m.content)]
    case .assistant:
      var o: [String: JSONValue] = [
        "role": "assistant", "content": m.content.isEmpty && !m.toolCalls.isEmpty ? .null : .string(m.content),
      ]
      if !m.toolCalls.isEmpty {
        o["tool_calls"] = .array(
          m.toolCalls.map {
            [
              "id": .string($0.id), "type": "function",
              "function": ["name": .string($0.name), "arguments": .string(JSONWriter.string($0.arguments))],
            ]
          })
      }
      return .object(o)
    case .tool:
      return ["role": "tool", "tool_call_id": .string(m.toolCallID ?? ""), "content": .string(m.content)]
    }
  }
}
