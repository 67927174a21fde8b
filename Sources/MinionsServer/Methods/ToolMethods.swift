import JSONRPC
import MinionsCore
import MinionsEngine

/// `tools/*`: the tool registry, direct execution (and MCP's `tools/call`), custom tools.
enum ToolMethods {
  static let pageSize = 100

  static func register(in table: inout MethodTable) {
    table.register(
      "tools/list",
      summary: "Lists the tools with their input schemas, approval flag and figures (a valid MCP tools/list reply).",
      access: .permission(.toolsRead), params: ToolsListParams.self, result: ToolsListResult.self
    ) { p, call in
      let all = call.engine.tools.list(category: p.category)
      var start = 0
      if let cursor = p.cursor {
        guard let n = Int(cursor), n >= 0, n <= all.count else {
          throw ResponseError.invalidParams(field: "cursor", "is not a cursor this server gave out")
        }
        start = n
      }
      let end = min(all.count, start + pageSize)
      return ToolsListResult(
        tools: all[start..<end].map(ToolRecord.init), nextCursor: end < all.count ? String(end) : nil)
    }

    table.register(
      "tools/execute",
      summary: "Runs a tool directly, as the caller's own act (no approval; audited).",
      description: "A tool that fails answers isError: true; an unknown tool or bad arguments is -32602.",
      access: .permission(.toolsExecute), params: ToolExecuteParams.self, result: ToolCallResult.self
    ) { p, call in
      try await execute(p.tool, arguments: p.arguments, timeoutMs: p.timeoutMs, call: call)
    }

    table.register(
      "tools/call", summary: "MCP's name for tools/execute: runs the tool `name` with `arguments`.",
      access: .permission(.toolsExecute), params: ToolCallParams.self, result: ToolCallResult.self
    ) { p, call in
      try await execute(p.name, arguments: p.arguments, timeoutMs: nil, call: call)
    }

    registerCustom(in: &table)
  }

  static func registerCustom(in table: inout MethodTable) {
    table.register(
      "tools/register",
      summary: "Adds a command tool, or every tool of an MCP server (named SERVER.TOOL); persisted.",
      description:
        "A command tool runs its argv in the workspace per call: JSON arguments on stdin, the result from stdout. "
        + "An MCP server is started now and must list its tools (else -32602 naming mcpServer.command).",
      access: .permission(.toolsManage), errors: [.alreadyExists], params: ToolRegisterParams.self,
      result: ToolRegisterResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      let definitions: [ToolDefinition]
      if let server = p.mcpServer {
        if p.name != nil || p.command != nil {
          throw ResponseError.invalidParams(field: "mcpServer", "give either mcpServer or a command tool, not both")
        }
        definitions = try await call.engine.customTools.register(
          MCPServerConfig(name: server.name, command: server.command, env: server.env), by: identity.username)
      } else {
        guard let name = p.name else {
          throw ResponseError.invalidParams(field: "name", "a command tool needs a name (or give mcpServer)")
        }
        guard let command = p.command else {
          throw ResponseError.invalidParams(field: "command", "a command tool needs its argv (or give mcpServer)")
        }
        guard let schema = p.inputSchema else {
          throw ResponseError.invalidParams(
            field: "inputSchema", "a command tool needs the JSON Schema of its arguments")
        }
        if let t = p.timeoutMs, !(1...600_000).contains(t) {
          throw ResponseError.invalidParams(field: "timeoutMs", "must be between 1 and 600000")
        }
        definitions = try await call.engine.customTools.register(
          CommandToolConfig(
            name: name, description: p.description ?? "", category: p.category, inputSchema: schema,
            command: command, requiresApproval: p.requiresApproval, timeoutMs: p.timeoutMs, cacheable: p.cacheable),
          by: identity.username)
      }
      call.engine.audit.record(
        username: identity.username, action: "tool.register", target: p.mcpServer?.name ?? p.name, outcome: .ok,
        details: ["tools": .array(definitions.map { .string($0.name) })])
      let names = Set(definitions.map(\.name))
      return ToolRegisterResult(
        tools: call.engine.tools.list().filter { names.contains($0.definition.name) }.map(ToolRecord.init))
    }

    table.register(
      "tools/unregister",
      summary: "Removes a command tool, or an MCP server (by its name) with all its tools.",
      access: .permission(.toolsManage), errors: [.notFound], params: ToolNameParams.self,
      result: ToolUnregisterResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      let removed = try await call.engine.customTools.unregister(p.name)
      call.engine.audit.record(
        username: identity.username, action: "tool.unregister", target: p.name, outcome: .ok,
        details: ["tools": .array(removed.map(JSONValue.string))])
      return ToolUnregisterResult(removed: removed)
    }
  }

  static func execute(_ name: String, arguments: JSONValue?, timeoutMs: Int?, call: CallContext) async throws
    -> ToolCallResult
  {
    let identity = try call.requireIdentity()
    if let t = timeoutMs, !(1...600_000).contains(t) {
      throw ResponseError.invalidParams(field: "timeoutMs", "must be between 1 and 600000")
    }
    let started = MonotonicClock.nanoseconds()
    let output = try await call.engine.tools.execute(
      name, arguments: arguments ?? .object([:]),
      context: ToolContext(username: identity.username, timeoutMs: timeoutMs ?? 600_000))
    let ms = round1(MonotonicClock.milliseconds(since: started))
    call.engine.audit.record(
      username: identity.username, action: "tool.execute", target: name, outcome: output.isError ? .failed : .ok,
      details: ["durationMs": .double(ms)])
    return ToolCallResult(output, durationMs: ms)
  }
}
