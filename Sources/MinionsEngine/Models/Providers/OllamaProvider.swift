import MinionsCore
import MinionsHTTP

/// Ollama's `/api/chat`, streamed as newline-delimited JSON. Tool calls arrive whole in one chunk with
/// their arguments as an object (also while streaming); results go back as role `tool` messages.
struct OllamaProvider: ModelProvider {
  let http: ProviderHTTP
  let environment: [String: String]
  let idleTimeout: Double

  init(transport: any HTTPTransport, environment: [String: String], idleTimeout: Double = 120) {
    self.idleTimeout = idleTimeout
    self.http = ProviderHTTP(transport: transport, provider: .ollama)
    self.environment = environment
  }

  func baseURL(_ model: ModelConfig?) -> String { model?.baseURL ?? ollamaBaseURL(environment["OLLAMA_HOST"]) }

  func complete(_ request: ModelRequest, model: ModelConfig, emit: (ModelEvent) async throws -> Void) async throws {
    var body: [String: JSONValue] = [
      "model": .string(model.name), "stream": true, "messages": .array(request.messages.map(Self.wire)),
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
    var options: [String: JSONValue] = [:]
    if let t = request.temperature { options["temperature"] = .double(t) }
    if let m = request.maxTokens { options["num_predict"] = .int(m) }
    if !options.isEmpty { body["options"] = .object(options) }
    // A model may take a while to load before its first token: the idle limit is generous.
    let response = try await http.start(
      joinURL(baseURL(model), "/api/chat"), body: .object(body), headers: [],
      model: model.name, idleTimeout: idleTimeout)
    var calls = 0
    var output = false
    var finished = false
    do {
      for try await line in response.lines where !line.isEmpty {
        guard let chunk = try? JSONParser.parse(line) else {
          throw ModelError(
            kind: output ? .midStream : .protocolError, provider: .ollama, model: model.name, retryable: false,
            message: "a line of the stream is not JSON")
        }
        if let error = chunk["error"] {
          // A mid-stream error arrives as a line while the status stays 200.
          throw ModelError(
            kind: output ? .midStream : .http, provider: .ollama, model: model.name, retryable: true,
            message: error.stringValue ?? ProviderHTTP.errorMessage(chunk) ?? "error")
        }
        let message = chunk["message"]
        if let text = message?["content"]?.stringValue, !text.isEmpty {
          output = true
          try await emit(.text(text))
        }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
          let index = calls
          calls += 1
          output = true
          let name = call["function"]?["name"]?.stringValue ?? ""
          try await emit(.toolCallStart(index: index, id: call["id"]?.stringValue ?? "call_\(index)", name: name))
          let arguments = call["function"]?["arguments"] ?? [:]
          // Arguments are an object (some servers send a JSON string): pass it on as JSON text.
          let text = arguments.stringValue ?? JSONWriter.string(arguments)
          try await emit(.toolCallArguments(index: index, fragment: text))
          try await emit(.toolCallEnd(index: index))
        }
        if chunk["done"]?.boolValue == true {
          if let ns = chunk["load_duration"]?.doubleValue, ns > 0 { try await emit(.loadTime(milliseconds: ns / 1e6)) }
          if chunk["prompt_eval_count"] != nil || chunk["eval_count"] != nil {
            try await emit(
              .usage(
                promptTokens: chunk["prompt_eval_count"]?.intValue ?? 0,
                completionTokens: chunk["eval_count"]?.intValue ?? 0))
          }
          let reason: FinishReason =
            calls > 0 ? .toolCalls : (chunk["done_reason"]?.stringValue == "length" ? .length : .stop)
          try await emit(.finish(reason))
          finished = true
          break
        }
      }
    } catch let e as HTTPError {
      throw http.map(e, model: model.name, afterOutput: output)
    }
    guard finished else {
      throw ModelError(
        kind: .midStream, provider: .ollama, model: model.name, retryable: true, message: "the stream ended before done"
      )
    }
  }

  static func wire(_ m: ChatMessage) -> JSONValue {
    switch m.role {
    case .system: return ["role": "system", "content": .string(m.content)]
    case .user: return ["role": "user", "content": .string(m.content)]
    case .assistant:
      var o: [String: JSONValue] = ["role": "assistant", "content": .string(m.content)]
      if !m.toolCalls.isEmpty {
        o["tool_calls"] = .array(
          m.toolCalls.map { ["function": ["name": .string($0.name), "arguments": $0.arguments]] })
      }
      return .object(o)
    case .tool:
      return ["role": "tool", "tool_name": .string(m.toolName ?? ""), "content": .string(m.content)]
    }
  }

  /// Ollama's models with their capabilities (`/api/tags`, then `/api/show` for each).
  func discover() async throws -> [ModelConfig] {
    let base = baseURL(nil)
    let tags = try await http.json(
      HTTPRequest(url: joinURL(base, "/api/tags"), connectTimeout: 2, totalTimeout: 10), model: "*")
    var models: [ModelConfig] = []
    for entry in tags["models"]?.arrayValue ?? [] {
      guard let name = entry["name"]?.stringValue ?? entry["model"]?.stringValue else { continue }
      var capabilities: [Capability] = [.textGeneration]
      var contextLength = 8192
      let show = try? await http.json(
        HTTPRequest.json(joinURL(base, "/api/show"), body: ["model": .string(name)]), model: name)
      if let caps = show?["capabilities"]?.arrayValue?.compactMap(\.stringValue) {
        capabilities = []
        if caps.contains("completion") { capabilities.append(.textGeneration) }
        if caps.contains("tools") { capabilities.append(.toolUse) }
        if caps.contains("vision") { capabilities.append(.vision) }
        if caps.contains("embedding") { capabilities.append(.embeddings) }
        if caps.contains("thinking") { capabilities.append(.reasoning) }
      }
      if let info = show?["model_info"]?.objectValue,
        let length = info.first(where: { $0.key.hasSuffix(".context_length") })?.value.intValue
      {
        contextLength = length
      }
      let lower = name.lowercased()
      if lower.contains("code") || lower.contains("coder") { capabilities.append(.codeGeneration) }
      if contextLength >= 100_000 { capabilities.append(.longContext) }
      let size = entry["details"]?["parameter_size"]?.stringValue ?? ""
      models.append(
        ModelConfig(
          name: name, provider: .ollama, capabilities: capabilities, contextLength: contextLength,
          source: .discovered, quality: Self.quality(parameterSize: size)))
    }
    return models
  }

  /// A prior from the parameter count ("8.0B"): larger models answer better.
  static func quality(parameterSize: String) -> Double {
    guard let billions = Double(parameterSize.uppercased().replacingMatches("B", "")) else { return 0.5 }
    switch billions {
    case ..<4: return 0.35
    case ..<10: return 0.5
    case ..<40: return 0.65
    default: return 0.75
    }
  }
}

extension String {
  func replacingMatches(_ target: String, _ replacement: String) -> String { replacing(target, with: replacement) }
}
