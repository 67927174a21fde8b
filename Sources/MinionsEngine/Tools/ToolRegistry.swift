import MinionsCore
import MinionsStore
import Synchronization

/// Every tool the engine can run — built-ins, custom commands and MCP servers' tools — with argument
/// validation, timeouts and per-tool figures. Custom tools persist in the data directory.
public final class ToolRegistry: Sendable {
  /// A listed tool with its figures.
  public struct Entry: Sendable {
    public var definition: ToolDefinition
    public var stats: ToolStatsSnapshot
  }

  private let clock: EngineClock
  let stats: ToolStats
  private let tools = Mutex<[String: any Tool]>([:])
  /// Tool names in order: built-ins first as given, then custom tools by name.
  private let order = Mutex<[String]>([])
  private let builtinNames: Set<String>
  /// Where outputs of cacheable tools are kept (nil: not cached).
  private let cache: ResponseCache?

  init(builtins: [any Tool], stats: ToolStats, clock: EngineClock, cache: ResponseCache? = nil) {
    self.cache = cache
    self.clock = clock
    self.stats = stats
    builtinNames = Set(builtins.map(\.definition.name))
    tools.withLock { t in for tool in builtins { t[tool.definition.name] = tool } }
    order.withLock { $0 = builtins.map(\.definition.name) }
  }

  /// Every tool (optionally of one category), built-ins first, each with its figures.
  public func list(category: String? = nil) -> [Entry] {
    let names = order.withLock { $0 }
    let all = tools.withLock { $0 }
    return names.compactMap { name in
      guard let tool = all[name], category == nil || tool.definition.category == category else { return nil }
      return Entry(definition: tool.definition, stats: stats.snapshot(name))
    }
  }

  public func tool(named name: String) -> (any Tool)? { tools.withLock { $0[name] } }

  public func isBuiltin(_ name: String) -> Bool { builtinNames.contains(name) }

  /// The tool named `name`, once `arguments` pass its schema; -32602-style errors naming the field.
  public func resolve(_ name: String, arguments: JSONValue) throws -> any Tool {
    guard let tool = tool(named: name) else {
      throw EngineError.invalidField("tool", "unknown tool '\(name)' (tools/list shows the tools)")
    }
    do throws(JSONSchemaValidator.Violation) {
      try JSONSchemaValidator.validate(arguments, against: tool.definition.inputSchema)
    } catch {
      let field = error.path.isEmpty ? "arguments" : "arguments." + error.path
      throw EngineError.invalidField(field, error.message)
    }
    return tool
  }

  /// Validates and runs a call within its timeout (the smaller of the context's and the tool's),
  /// recording it. Throws only for an unknown tool or bad arguments (`EngineError.invalidField`) and
  /// for cancellation of the calling task.
  public func execute(
    _ name: String, arguments: JSONValue, context: ToolContext, approval: String? = nil
  ) async throws -> ToolOutput {
    let tool = try resolve(name, arguments: arguments)
    return try await run(tool, arguments: arguments, context: context, approval: approval)
  }

  /// Runs an already resolved tool within its timeout and records the call.
  public func run(
    _ tool: any Tool, arguments: JSONValue, context: ToolContext, approval: String? = nil
  ) async throws -> ToolOutput {
    let name = tool.definition.name
    let timeoutMs = max(1, min(context.timeoutMs, tool.definition.timeoutMs))
    let callContext = {
      var c = context
      c.timeoutMs = timeoutMs
      return c
    }()
    let started = MonotonicClock.nanoseconds()
    let cacheKey = tool.definition.cacheable && cache != nil ? ResponseCache.key(tool: name, arguments: arguments) : nil
    if let cacheKey, case .toolOutput(let hit)? = cache?.entries.get(cacheKey) {
      stats.record(
        ToolRunRecord(
          at: clock.now(), tool: name, username: context.username, sessionID: context.sessionID, agent: context.agent,
          durationMs: MonotonicClock.milliseconds(since: started), isError: false, approval: approval))
      return hit
    }
    // The call runs in a task of its own that a shared deadline thread cancels at the limit (cheaper
    // than a sleeping timer task per call); cancelling the caller cancels it too.
    let work = Task { try await tool.run(arguments, context: callContext) }
    let timedOut = AtomicFlag()
    let deadline = Deadlines.shared.schedule(after: Double(timeoutMs) / 1000) {
      timedOut.set()
      work.cancel()
    }
    let result = await withTaskCancellationHandler {
      await work.result
    } onCancel: {
      work.cancel()
    }
    Deadlines.shared.cancel(deadline)
    let output: ToolOutput
    if timedOut.isSet {
      output = .failure("\(name) timed out after \(timeoutMs) ms and was stopped")
    } else {
      switch result {
      case .success(let o): output = o
      case .failure(let error as CancellationError): throw error
      case .failure(let error): output = .failure("\(name) failed: \(error)")
      }
    }
    stats.record(
      ToolRunRecord(
        at: clock.now(), tool: name, username: context.username, sessionID: context.sessionID, agent: context.agent,
        durationMs: MonotonicClock.milliseconds(since: started), isError: output.isError, approval: approval))
    if let cacheKey, !output.isError { cache?.entries.set(cacheKey, .toolOutput(output)) }
    return output
  }

  // MARK: Custom tools

  /// Adds tools under names not yet taken (custom tools never replace built-ins).
  func add(_ added: [any Tool]) throws {
    try tools.withLock { t in
      for tool in added {
        let name = tool.definition.name
        if builtinNames.contains(name) { throw EngineError.alreadyExists(kind: "tool", id: name) }
        t[name] = tool
      }
    }
    order.withLock { names in
      let custom = Set(names).subtracting(builtinNames).union(added.map(\.definition.name))
      names = names.filter { builtinNames.contains($0) } + custom.sorted()
    }
  }

  /// Removes custom tools by name.
  func remove(_ names: [String]) {
    tools.withLock { t in for n in names where !builtinNames.contains(n) { t.removeValue(forKey: n) } }
    order.withLock { $0.removeAll { names.contains($0) && !builtinNames.contains($0) } }
  }
}
