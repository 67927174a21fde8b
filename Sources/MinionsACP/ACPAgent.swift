import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine
import MinionsServer
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Minions as an Agent Client Protocol (v1) agent on one connection: `minions acp`. It shares the
/// engine (store, models, tools, agents, analytics, audit) with `serve`; every ACP session is a Minions
/// session of the local owner, so it shows up in `sessions/list` and can be exported and replayed.
public final class ACPAgent: JSONRPCConnectionHandler {
  public static let protocolVersion = 1

  struct Session {
    var cwd: String
    var agent: String
    /// nil: the engine selects a model per call.
    var model: String?
    var mcpServers: [MCPServerTools]
  }

  struct State {
    var initialized = false
    var readTextFile = false
    var writeTextFile = false
    var sessions: [String: Session] = [:]
  }

  let engine: Engine
  let logger: Logger
  let defaultWorkspace: String
  private let state = Mutex(State())
  private let connectionBox = Mutex<JSONRPCConnection?>(nil)

  init(engine: Engine, logger: Logger, defaultWorkspace: String) {
    self.engine = engine
    self.logger = logger
    self.defaultWorkspace = defaultWorkspace
  }

  /// Serves ACP over `input`/`output` (newline-delimited JSON) and returns the started connection.
  public static func serve(
    input: Int32, output: Int32, engine: Engine, logger: Logger, workspace: String
  ) -> JSONRPCConnection {
    let agent = ACPAgent(engine: engine, logger: logger, defaultWorkspace: workspace)
    let connection = JSONRPCConnection(
      number: 1, endpoint: .other("acp"), input: input, output: output, ownsDescriptors: false, logger: logger
    ) { _ in agent }
    agent.connectionBox.withLock { $0 = connection }
    connection.start()
    return connection
  }

  var owner: Identity { engine.localOwner }
  var userID: Int64 { engine.localOwner.userID ?? 0 }

  // MARK: JSONRPCConnectionHandler

  public func admit(_ request: Request, connection: JSONRPCConnection) -> RequestAdmission {
    if request.method == "initialize" { return .runExclusively }
    guard state.withLock({ $0.initialized }) else {
      return .reject(.invalidRequest("send initialize first"))
    }
    return .run
  }

  public func handle(_ request: Request, context: RequestContext) async -> Result<JSONValue, ResponseError> {
    do {
      let p = request.params ?? [:]
      switch request.method {
      case "initialize": return .success(initialize(p))
      case "session/new": return .success(try await newSession(p, connection: context.connection))
      case "session/load": return .success(try await loadSession(p, connection: context.connection))
      case "session/list": return .success(try await listSessions(p))
      case "session/prompt": return .success(try await prompt(p, connection: context.connection))
      case "session/set_config_option": return .success(try setConfigOption(p))
      case "authenticate": return .success([:])
      default: return .failure(.methodNotFound(request.method))
      }
    } catch {
      return .failure(ErrorMapping.responseError(for: error, method: request.method, logger: logger))
    }
  }

  public func handle(_ notification: Notification, connection: JSONRPCConnection) {
    guard notification.method == "session/cancel", let id = notification.params?["sessionId"]?.stringValue else {
      return
    }
    _ = engine.runner.cancel(sessionID: id, userID: userID)
  }

  public func connectionDidClose(_ connection: JSONRPCConnection) {
    let servers = state.withLock { s in s.sessions.values.flatMap(\.mcpServers) }
    connectionBox.withLock { $0 = nil }
    Task { for s in servers { await s.stop() } }
  }

  /// Stops every session's MCP servers (before the engine closes).
  public func stop() async {
    let servers = state.withLock { s -> [MCPServerTools] in
      defer { for k in s.sessions.keys { s.sessions[k]?.mcpServers = [] } }
      return s.sessions.values.flatMap(\.mcpServers)
    }
    for s in servers { await s.stop() }
  }

  // MARK: Methods

  func initialize(_ p: JSONValue) -> JSONValue {
    let fs = p["clientCapabilities"]?["fs"]
    state.withLock { s in
      s.initialized = true
      s.readTextFile = fs?["readTextFile"]?.boolValue == true
      s.writeTextFile = fs?["writeTextFile"]?.boolValue == true
    }
    return [
      "protocolVersion": .int(Self.protocolVersion),
      "agentCapabilities": [
        "loadSession": true,
        "promptCapabilities": ["image": false, "audio": false, "embeddedContext": true],
        "mcpCapabilities": ["http": false, "sse": false],
        "sessionCapabilities": ["list": [:]],
      ],
      "authMethods": [],
      "agentInfo": ["name": "minions", "title": "Minions", "version": .string(MinionsBuild.version)],
    ]
  }

  func newSession(_ p: JSONValue, connection: JSONRPCConnection) async throws -> JSONValue {
    let cwd = try Self.directory(p["cwd"], field: "cwd")
    let servers = try await startMCPServers(p["mcpServers"], cwd: cwd)
    let id = SessionStore.newID()
    do {
      try await engine.sessions.create(id, userID: userID, agent: "assistant", firstMessage: "New ACP session")
    } catch {
      for s in servers { await s.stop() }
      throw error
    }
    let session = Session(cwd: cwd, agent: "assistant", model: nil, mcpServers: servers)
    state.withLock { $0.sessions[id] = session }
    return ["sessionId": .string(id), "configOptions": configOptions(session)]
  }

  func loadSession(_ p: JSONValue, connection: JSONRPCConnection) async throws -> JSONValue {
    guard let id = p["sessionId"]?.stringValue else {
      throw ResponseError.invalidParams(field: "sessionId", "is required")
    }
    let cwd = try Self.directory(p["cwd"], field: "cwd")
    let summary = try await engine.sessions.require(id, userID: userID)
    let messages = try await engine.sessions.messages(id)
    let servers = try await startMCPServers(p["mcpServers"], cwd: cwd)
    let old = state.withLock { s -> [MCPServerTools] in
      let previous = s.sessions[id]?.mcpServers ?? []
      s.sessions[id] = Session(
        cwd: cwd, agent: s.sessions[id]?.agent ?? summary.agent, model: s.sessions[id]?.model, mcpServers: servers)
      return previous
    }
    for s in old { await s.stop() }
    for update in ACPUpdates.history(messages) {
      await connection.notify("session/update", ["sessionId": .string(id), "update": update])
    }
    let session = state.withLock { $0.sessions[id]! }
    return ["configOptions": configOptions(session)]
  }

  func listSessions(_ p: JSONValue) async throws -> JSONValue {
    let page = try await engine.sessions.list(userID: userID, cursor: p["cursor"]?.stringValue, limit: 50)
    let known = state.withLock { $0.sessions }
    var out: [String: JSONValue] = [
      "sessions": .array(
        page.sessions.map {
          [
            "sessionId": .string($0.sessionID), "cwd": .string(known[$0.sessionID]?.cwd ?? defaultWorkspace),
            "title": .string($0.title), "updatedAt": .string($0.updatedAt.iso8601()),
          ]
        })
    ]
    if let next = page.nextCursor { out["nextCursor"] = .string(next) }
    return .object(out)
  }

  func prompt(_ p: JSONValue, connection: JSONRPCConnection) async throws -> JSONValue {
    guard let id = p["sessionId"]?.stringValue else {
      throw ResponseError.invalidParams(field: "sessionId", "is required")
    }
    guard let blocks = p["prompt"]?.arrayValue else {
      throw ResponseError.invalidParams(field: "prompt", "must be an array of content blocks")
    }
    let message = ACPUpdates.message(from: blocks)
    guard !message.isEmpty else { throw ResponseError.invalidParams(field: "prompt", "has no text") }
    let (session, canRead, canWrite) = state.withLock { s in (s.sessions[id], s.readTextFile, s.writeTextFile) }
    guard let session else { throw EngineError.notFound(kind: "session", id: id) }
    let summary = try await engine.sessions.require(id, userID: userID)
    if summary.messageCount == 0 {
      try? await engine.sessions.rename(id, userID: userID, title: SessionStore.title(from: message))
    }
    let editor: (any EditorFiles)? = canRead && canWrite ? ACPEditorFiles(connection: connection, sessionID: id) : nil
    var request = AgentRunner.Request(message: message, agent: session.agent, sessionID: id, model: session.model)
    request.workspace = session.cwd
    request.editorFiles = editor
    request.sessionTools = session.mcpServers.flatMap { $0.tools.map { $0 as any Tool } }
    let outcome = try await engine.runner.chat(
      request, identity: owner, approvals: ACPApprovalGate(connection: connection, logger: logger)
    ) { event in
      guard let update = ACPUpdates.update(event) else { return }
      await connection.notify("session/update", ["sessionId": .string(id), "update": update])
    }
    let total = outcome.promptTokens + outcome.completionTokens
    let size = engine.models.get(outcome.model)?.contextLength ?? 0
    await connection.notify(
      "session/update",
      ["sessionId": .string(id), "update": ["sessionUpdate": "usage_update", "used": .int(total), "size": .int(size)]])
    return [
      "stopReason": .string(ACPUpdates.stopReason(outcome.stopReason)),
      "usage": [
        "totalTokens": .int(total), "inputTokens": .int(outcome.promptTokens),
        "outputTokens": .int(outcome.completionTokens),
      ],
    ]
  }

  func setConfigOption(_ p: JSONValue) throws -> JSONValue {
    guard let id = p["sessionId"]?.stringValue else {
      throw ResponseError.invalidParams(field: "sessionId", "is required")
    }
    guard let value = p["value"]?.stringValue else {
      throw ResponseError.invalidParams(field: "value", "must be a string")
    }
    let config = p["configId"]?.stringValue
    let session = try state.withLock { s -> Session in
      guard var session = s.sessions[id] else { throw EngineError.notFound(kind: "session", id: id) }
      switch config {
      case "agent":
        guard engine.agents.get(value) != nil else {
          throw ResponseError.invalidParams(field: "value", "no agent \(value)")
        }
        session.agent = value
      case "model":
        if value == "auto" {
          session.model = nil
        } else {
          guard engine.models.get(value) != nil else {
            throw ResponseError.invalidParams(field: "value", "no model \(value)")
          }
          session.model = value
        }
      default:
        throw ResponseError.invalidParams(field: "configId", "must be agent or model")
      }
      s.sessions[id] = session
      return session
    }
    return ["configOptions": configOptions(session)]
  }

  // MARK: Helpers

  /// The session's choices: the agent, and the model (or `auto`: the engine selects per call).
  func configOptions(_ session: Session) -> JSONValue {
    let agents = engine.agents.all.map { a -> JSONValue in
      ["value": .string(a.name), "name": .string(a.name), "description": .string(a.description)]
    }
    var models: [JSONValue] = [["value": "auto", "name": "Automatic", "description": "the engine picks per task"]]
    for m in engine.models.all where engine.models.unavailableReason(m) == nil {
      models.append(["value": .string(m.name), "name": .string(m.name), "description": .string(m.provider.rawValue)])
    }
    return [
      [
        "id": "agent", "name": "Agent", "description": "Which Minions agent answers", "type": "select",
        "currentValue": .string(session.agent), "options": .array(agents),
      ],
      [
        "id": "model", "name": "Model", "category": "model", "type": "select",
        "currentValue": .string(session.model ?? "auto"), "options": .array(models),
      ],
    ]
  }

  /// Starts the stdio MCP servers a session lists; any failure stops the ones started and is -32602.
  func startMCPServers(_ value: JSONValue?, cwd: String) async throws -> [MCPServerTools] {
    guard let list = value?.arrayValue else { return [] }
    var started: [MCPServerTools] = []
    for (i, server) in list.enumerated() {
      let field = "mcpServers[\(i)]"
      if let type = server["type"]?.stringValue, type != "stdio" {
        for s in started { await s.stop() }
        throw ResponseError.invalidParams(field: field, "only stdio MCP servers are supported, not \(type)")
      }
      guard let name = server["name"]?.stringValue, let command = server["command"]?.stringValue else {
        for s in started { await s.stop() }
        throw ResponseError.invalidParams(field: field, "needs name and command")
      }
      let args = server["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
      var env: [String: String] = [:]
      for v in server["env"]?.arrayValue ?? [] {
        if let n = v["name"]?.stringValue, let value = v["value"]?.stringValue { env[n] = value }
      }
      let config = MCPServerConfig(name: Self.toolPrefix(name), command: [command] + args, env: env)
      do {
        started.append(
          try await MCPServerTools.start(
            config: config, workspace: cwd, options: MCPClient.Options(clientVersion: MinionsBuild.version),
            logger: logger.with(label: "mcp.\(name)")))
      } catch {
        for s in started { await s.stop() }
        throw ResponseError.invalidParams(field: field, "the MCP server did not start: \(error)")
      }
    }
    return started
  }

  /// An MCP server's name as a tool prefix (`A-Z a-z 0-9 _ -`).
  static func toolPrefix(_ name: String) -> String {
    let cleaned = String(name.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }.prefix(64))
    return cleaned.isEmpty ? "mcp" : cleaned
  }

  static func directory(_ value: JSONValue?, field: String) throws -> String {
    guard let path = value?.stringValue, path.hasPrefix("/") else {
      throw ResponseError.invalidParams(field: field, "must be an absolute path")
    }
    var info = stat()
    guard stat(path, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
      throw ResponseError.invalidParams(field: field, "\(path) is not a directory")
    }
    return path
  }

}
