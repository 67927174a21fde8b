import JSONRPC
import MinionsCore
import MinionsEngine

/// `initialize`, `shutdown`, `rpc.discover` and the lifecycle notifications.
enum LifecycleMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "initialize",
      summary: "Starts the session: negotiates the protocol version and capabilities, optionally authenticates.",
      description:
        "Must be the first request. A second initialize gets -32600. On TCP, pass auth here or call auth/login.",
      access: .open, errors: [.invalidRequest, .unauthenticated, .accountLocked],
      params: InitializeParams.self, result: InitializeResult.self
    ) { params, call in
      try await initialize(params, call)
    }

    table.register(
      "shutdown",
      summary: "Stops accepting requests; replies once every earlier request has replied. exit follows.",
      access: .open, params: NoParams.self, result: NullResult.self
    ) { _, call in
      // Requests read before shutdown finish first (at most 30 s), so its reply means "all answered".
      let deadline = MonotonicClock.nanoseconds() + 30_000_000_000
      while call.request.connection.runningRequestCount > 1 && MonotonicClock.nanoseconds() < deadline {
        try? await Task.sleep(nanoseconds: 1_000_000)
      }
      return NullResult()
    }

    table.register(
      "ping", summary: "Answers {} at once (MCP hosts use it to check the server is alive).",
      access: .open, params: NoParams.self, result: EmptyResult.self
    ) { _, _ in EmptyResult() }

    table.register(
      "rpc.discover", summary: "Returns the OpenRPC document describing every method.",
      access: .open, params: NoParams.self, result: JSONValue.self
    ) { _, call in call.server.openRPCDocument }

    table.registerClientNotification(
      "initialized", summary: "Sent by the client after the initialize reply.",
      params: NoParams.self)
    table.registerClientNotification(
      "exit", summary: "Ends the process (stdio: code 0 after shutdown, else 1) or closes the TCP connection.",
      params: NoParams.self)
    table.registerClientNotification(
      "$/cancelRequest", summary: "Cancels a running request; it still gets exactly one reply.",
      params: CancelParams.self)
    table.registerServerNotification(
      "$/progress", summary: "Progress of a request that carried workDoneToken.", params: ProgressParams.self)
  }

  static func initialize(_ params: InitializeParams, _ call: CallContext) async throws -> InitializeResult {
    let session = call.session
    do {
      if let auth = params.auth {
        let identity = try await call.server.authenticate(auth, call: call)
        session.setIdentity(identity)
      }
    } catch {
      session.state.withLock { $0.lifecycle = .uninitialized }
      throw error
    }
    let capabilities = params.capabilities ?? ClientCapabilities()
    if let ms = capabilities.tokenCoalesceMs, ms < 0 || ms > 10_000 {
      session.state.withLock { $0.lifecycle = .uninitialized }
      throw ResponseError.invalidParams(field: "capabilities.tokenCoalesceMs", "must be between 0 and 10000")
    }
    let user = session.state.withLock { s -> Identity? in
      s.lifecycle = .initialized
      s.clientInfo = params.clientInfo
      s.capabilities = capabilities
      if case .mcp(let version)? = params.protocolVersion { s.mcpProtocolVersion = version }
      return s.identity
    }
    var client = params.clientInfo?.name ?? "an unnamed client"
    if let version = params.clientInfo?.version { client += " \(version)" }
    call.logger.info(
      "connection \(call.request.connection.number) initialized by \(client) as \(user?.username ?? "(unauthenticated)")"
    )
    var version = ProtocolVersion.minions(MinionsVersion.protocolVersion)
    var tools: MCPToolsCapability?
    if case .mcp(let asked)? = params.protocolVersion {
      // MCP: echo the client's version when we speak it, else offer the newest we do.
      version = .mcp(MinionsVersion.mcpVersions.contains(asked) ? asked : MinionsVersion.mcpVersions.last!)
      tools = MCPToolsCapability(listChanged: false)
    }
    return InitializeResult(
      protocolVersion: version,
      serverInfo: ServerInfo(name: "minions", version: MinionsVersion.current),
      capabilities: ServerCapabilities(
        methods: call.server.methods.methodNames,
        notifications: call.server.methods.serverNotificationNames, tools: tools),
      user: user.map(UserInfo.init))
  }
}
