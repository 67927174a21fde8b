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
