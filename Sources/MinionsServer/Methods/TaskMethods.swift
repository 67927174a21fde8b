import JSONRPC
import MinionsCore
import MinionsEngine

/// `tasks/*`: background chats and tool calls, by priority, with `tasks/updated` to the submitter.
enum TaskMethods {
  static func userID(_ call: CallContext) throws -> Int64 {
    guard let id = try call.requireIdentity().userID else { throw ResponseError.unauthenticated }
    return id
  }

  static func register(in table: inout MethodTable) {
    table.register(
      "tasks/submit",
      summary: "Queues a chat or a tool call to run in the background; returns its id at once.",
      description:
        "Runs by priority (critical, high, normal, low; first in, first out within one), at most tasks.maxConcurrent "
        + "at a time. The submitting connection gets tasks/updated at each change. A chat task cannot ask for "
        + "approvals: tools.approvalPolicy decides; a tool task is the submitter's own act.",
      access: .permission(.tasksSubmit), errors: [.notFound], params: TaskSubmitParams.self,
      result: TaskSubmitResult.self
    ) { p, call in
      let identity = try call.requireIdentity()
      switch p.kind {
      case .chat:
        let chat = try decode(AgentChatParams.self, p.params)
        guard !chat.message.isEmpty else {
          throw ResponseError.invalidParams(field: "params.message", "must not be empty")
        }
        if !identity.has(.chat) {
          throw ResponseError.permissionDenied(Permission.chat.rawValue)
        }
      case .tool:
        let tool = try decode(ToolExecuteParams.self, p.params)
        if !identity.has(.toolsExecute) {
          throw ResponseError.permissionDenied(Permission.toolsExecute.rawValue)
        }
        do {
          _ = try call.engine.tools.resolve(tool.tool, arguments: tool.arguments ?? .object([:]))
        } catch EngineError.invalidField(let field, let reason) {
          throw ResponseError.invalidParams(field: "params." + field, reason)
        }
      }
      // The task may start (and change status) before this reply is written: its updates wait for it.
      let connection = call.request.connection.number
      let server = call.server
      server.holdTaskUpdates(connection)
      call.request.afterReply { server.releaseTaskUpdates(connection) }
      let record = try await call.engine.tasks.submit(
        kind: p.kind, params: p.params, priority: p.priority ?? .normal, identity: identity, connection: connection)
      return TaskSubmitResult(taskId: record.id)
    }

    table.register(
      "tasks/get", summary: "Returns one of the caller's tasks with its status and, once finished, its result.",
      access: .permission(.tasksSubmit), errors: [.notFound], params: TaskIDParams.self, result: TaskResultJSON.self
    ) { p, call in
      TaskResultJSON(task: TaskRecordJSON(try await call.engine.tasks.get(p.taskId, userID: try userID(call))))
    }

    table.register(
      "tasks/list", summary: "Lists the caller's tasks, newest first (optionally of one status).",
      access: .permission(.tasksSubmit), params: TasksListParams.self, result: TasksListResult.self
    ) { p, call in
      TasksListResult(
        tasks: try await call.engine.tasks.list(userID: try userID(call), status: p.status).map(TaskRecordJSON.init))
    }

    table.register(
      "tasks/cancel", summary: "Cancels a queued or running task; a finished one is returned as it is.",
      access: .permission(.tasksSubmit), errors: [.notFound], params: TaskIDParams.self, result: TaskResultJSON.self
    ) { p, call in
      TaskResultJSON(task: TaskRecordJSON(try await call.engine.tasks.cancel(p.taskId, userID: try userID(call))))
    }

    table.registerServerNotification(
      "tasks/updated", summary: "A task submitted on this connection changed status.", params: TaskUpdatedParams.self)
  }

  /// A task's params as the method it stands for takes them; errors name `params.FIELD`.
  static func decode<P: Decodable>(_ type: P.Type, _ raw: JSONValue) throws -> P {
    do {
      return try MethodTable.decodeParams(P.self, from: raw)
    } catch let e as ResponseError {
      let field = e.data?["field"]?.stringValue ?? ""
      throw ResponseError.invalidParams(
        field: field == "params" ? "params" : "params." + field, e.data?["reason"]?.stringValue ?? e.message)
    }
  }

  /// Runs tasks for the engine: chats through the turn loop (the policy decides approvals), tool calls
  /// as the submitter's own act.
  static func executor(_ engine: Engine) -> TaskQueue.Executor {
    { record, identity in
      switch record.kind {
      case .chat:
        let p = try decode(AgentChatParams.self, record.params)
        let request = AgentRunner.Request(
          message: p.message, agent: p.agent ?? "assistant", sessionID: p.sessionId, model: p.model,
          maxSteps: p.maxSteps ?? 8, temperature: p.temperature, cache: p.cache)
        let outcome = try await engine.runner.chat(request, identity: identity, approvals: engine.policyApprovals) {
          _ in
        }
        return TaskQueue.TaskResult(value: try JSONValueEncoder(nilEncoding: .null).encode(AgentChatResult(outcome)))
      case .tool:
        let p = try decode(ToolExecuteParams.self, record.params)
        let started = MonotonicClock.nanoseconds()
        let output = try await engine.tools.execute(
          p.tool, arguments: p.arguments ?? .object([:]),
          context: ToolContext(username: identity.username, timeoutMs: p.timeoutMs ?? 600_000))
        engine.audit.record(
          username: identity.username, action: "tool.execute", target: p.tool, outcome: output.isError ? .failed : .ok,
          details: ["task": .string(record.id)])
        let value = try JSONValueEncoder(nilEncoding: .null).encode(
          ToolCallResult(output, durationMs: round1(MonotonicClock.milliseconds(since: started))))
        return TaskQueue.TaskResult(value: value, failed: output.isError ? output.text : nil)
      }
    }
  }
}
