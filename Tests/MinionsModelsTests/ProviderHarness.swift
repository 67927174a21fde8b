import MinionsCore
import MinionsEngine
import MinionsHTTP
import MinionsTestSupport
import Synchronization

/// Collects what a router run emitted.
final class EventLog: Sendable {
  private let events = Mutex<[ModelEvent]>([])
  func add(_ e: ModelEvent) { events.withLock { $0.append(e) } }
  var all: [ModelEvent] { events.withLock { $0 } }
  var text: String {
    all.compactMap { if case .text(let s) = $0 { return s } else { return nil } }.joined()
  }
}

/// An engine whose model `name` is served by `provider` at a loopback server.
func engine(
  with server: LoopbackHTTPServer, provider: ProviderKind, model name: String = "test-model",
  capabilities: [Capability] = [.textGeneration, .toolUse], fallbacks: [String] = [],
  extraEnvironment: [String: String] = [:], clock: EngineClock = EngineClock()
) async throws -> Engine {
  var env = extraEnvironment
  var baseURL: String? = nil
  switch provider {
  case .openai: env["OPENAI_API_KEY"] = "sk-test"; baseURL = server.baseURL + "/v1"
  case .anthropic: env["ANTHROPIC_API_KEY"] = "ak-test"; baseURL = server.baseURL
  case .ollama: env["OLLAMA_HOST"] = server.baseURL
  default: break
  }
  let e = try await makeTestEngine(clock: clock, environment: env)
  try await e.models.register(
    ModelConfig(
      name: name, provider: provider, capabilities: capabilities, baseURL: baseURL,
      fallbacks: fallbacks))
  return e
}

/// Runs `request` on model `name` through the router, collecting events.
func run(
  _ e: Engine, model name: String?, _ request: ModelRequest, log: EventLog = EventLog(),
  criteria: SelectionCriteria = SelectionCriteria()
) async throws -> ModelRunResult {
  try await e.router.run(request, model: name, criteria: criteria, context: ModelCallContext(username: "t")) {
    log.add($0)
  }
}

let weatherTool = ToolSpec(
  name: "get_weather", description: "Weather for a city",
  parameters: ["type": "object", "properties": ["city": ["type": "string"]], "required": ["city"]])

/// A conversation with a finished tool round, to check how each provider sends tool calls and results back.
let conversationWithToolResult: [ChatMessage] = [
  .system("Be brief."), .user("Weather in Tokyo?"),
  ChatMessage(
    role: .assistant, content: "",
    toolCalls: [ToolCallRequest(id: "call_1", name: "get_weather", arguments: ["city": "Tokyo"])]),
  ChatMessage(role: .tool, content: "22°C", toolCallID: "call_1", toolName: "get_weather"),
]

func sse(_ events: [String]) -> String { events.map { "data: \($0)\n\n" }.joined() }
