import MinionsCore
import Synchronization

/// One running MCP server process and the JSON-RPC 2.0 session over its stdin and stdout: one message
/// per line (NDJSON), requests matched to responses by id, several in flight at once.
///
/// The server's own requests are answered (`ping` with `{}`, anything else with "method not found"),
/// its notifications handed to `onNotification`, and lines on stdout that are not JSON-RPC ignored and
/// counted (some servers print banners there; the count is quoted when a request then times out).
/// When stdout ends, every pending request fails with how the process ended and the end of its stderr.
final class MCPConnection: Sendable {
  private struct Pending {
    var continuation: CheckedContinuation<JSONValue, any Error>
    var method: String
    var timer: Task<Void, Never>?
  }

  private struct State {
    var pending: [Int: Pending] = [:]
    /// Requests whose task was cancelled before they were registered.
    var cancelledEarly: Set<Int> = []
    var nextID = 0
    var closeReason: MCPError?
    var shutDownStarted = false
    var ignoredLines = 0
    var firstIgnoredLine: String?
  }

  let serverName: String
  let process: Subprocess
  private let state = Mutex(State())
  private let logger: Logger
  private let onNotification: @Sendable (String, JSONValue?) -> Void

  /// Starts the server program; the session begins with the caller's `initialize`.
  init(
    serverName: String, configuration: Subprocess.Configuration, logger: Logger,
    onNotification: @escaping @Sendable (String, JSONValue?) -> Void
  ) throws(MCPError) {
    self.serverName = serverName
    self.logger = logger
    self.onNotification = onNotification
    do {
      process = try Subprocess(configuration)
    } catch {
      throw MCPError(.startFailed, "cannot start MCP server `\(serverName)`: \(error)")
    }
    process.readLines { [self] event in receive(event) }
  }

  /// Whether requests can still be sent (the process runs and its stdout is open).
  var isOpen: Bool { state.withLock { $0.closeReason == nil } }

  /// Why the connection closed, once it did.
  var closeReason: MCPError? { state.withLock { $0.closeReason } }

  // MARK: Sending

  /// Sends a request and waits for its result. Throws `MCPError` (a JSON-RPC error, the timeout, the
  /// process ending) or `CancellationError`; on timeout or cancellation the server is told with
  /// `notifications/cancelled`.
  func request(_ method: String, params: JSONValue?, timeoutMs: Int) async throws -> JSONValue {
    try Task.checkCancellation()
    let id = state.withLock { s -> Int in
      s.nextID += 1
      return s.nextID
    }
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSONValue, any Error>) in
        let refusal: (any Error)? = state.withLock { s in
          if s.cancelledEarly.remove(id) != nil { return CancellationError() }
          if let reason = s.closeReason { return reason }
          s.pending[id] = Pending(continuation: continuation, method: method)
          return nil
        }
        if let refusal {
          continuation.resume(throwing: refusal)
          return
        }
        var message: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
        if let params { message["params"] = params }
        guard send(.object(message)) else {
          finish(
            id,
            .failure(
              MCPError(.serverExited, "MCP server `\(serverName)` no longer reads its input; \(method) not sent")))
          return
        }
        let timer = Task { [self] in
          do { try await Task.sleep(for: .milliseconds(max(1, timeoutMs))) } catch { return }
          abandon(
            id, error: MCPError(.timeout, "MCP server `\(serverName)` did not answer \(method) within \(timeoutMs) ms"),
            reason: "timed out after \(timeoutMs) ms")
        }
        let stored = state.withLock { s -> Bool in
          guard s.pending[id] != nil else { return false }
          s.pending[id]!.timer = timer
          return true
        }
        if !stored { timer.cancel() }
      }
    } onCancel: {
      abandon(id, error: CancellationError(), reason: "cancelled by the client")
    }
  }

  /// Sends a notification (no answer expected).
  func notify(_ method: String, params: JSONValue? = nil) {
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
    if let params { message["params"] = params }
    send(.object(message))
  }

  @discardableResult
  private func send(_ message: JSONValue) -> Bool {
    process.write(JSONWriter.bytes(message) + [10])
  }

  /// Ends request `id` with `result`, if it is still pending.
  private func finish(_ id: Int, _ result: Result<JSONValue, any Error>) {
    let pending = state.withLock { $0.pending.removeValue(forKey: id) }
    pending?.timer?.cancel()
    pending?.continuation.resume(with: result)
  }

  /// Ends request `id` with `error` on our side (timeout, cancellation) and tells the server.
  private func abandon(_ id: Int, error: any Error, reason: String) {
    let (pending, open): (Pending?, Bool) = state.withLock { s in
      guard let pending = s.pending.removeValue(forKey: id) else {
        if error is CancellationError { s.cancelledEarly.insert(id) }
        return (nil, false)
      }
      return (pending, s.closeReason == nil)
    }
    guard let pending else { return }
    pending.timer?.cancel()
    var failure = error
    if var mcpError = error as? MCPError {
      mcpError.message += ignoredLinesNote()
      failure = mcpError
    }
    pending.continuation.resume(throwing: failure)
    if open { notify("notifications/cancelled", params: ["requestId": .int(id), "reason": .string(reason)]) }
  }

  // MARK: Receiving (on the stdout reader thread)

  private func receive(_ event: Subprocess.LineEvent) {
    switch event {
    case .line(let bytes):
      handleLine(bytes)
    case .tooLong(let byteCount):
      noteIgnored("(a line of \(byteCount) bytes, longer than the limit)")
    case .end:
      // stdout ends when the process exits (its group is killed then) or closes stdout; either way it
      // cannot answer any more.
      let termination = process.waitBlocking(timeoutSeconds: 2)
      if termination == nil { process.terminate() }
      var message = "MCP server `\(serverName)` "
      message += termination.map { "\($0)" } ?? "closed its stdout"
      // The stderr reader ends soon after the process (its group is killed at exit); wait for its last bytes.
      let stderrBytes = process.outputBlocking(timeoutSeconds: 3)?.stderr ?? process.stderrSoFar
      let stderr = String(decoding: stderrBytes.suffix(2000), as: UTF8.self).trimmed()
      if !stderr.isEmpty { message += "; its stderr ends with:\n\(stderr)" }
      close(with: MCPError(.serverExited, message))
    }
  }

  private func handleLine(_ bytes: [UInt8]) {
    guard bytes.contains(where: { $0 > 32 }) else { return }
    guard let json = try? JSONParser.parse(bytes), case .object(let message) = json else {
      noteIgnored(String(decoding: bytes.prefix(200), as: UTF8.self))
      return
    }
    if let method = message["method"]?.stringValue {
      if let id = message["id"], !id.isNull {
        answerServerRequest(id: id, method: method)
      } else {
        handleNotification(method, params: message["params"])
      }
      return
    }
    guard let rawID = message["id"], let id = rawID.intValue ?? rawID.stringValue.flatMap({ Int($0) }) else {
      noteIgnored(String(decoding: bytes.prefix(200), as: UTF8.self))
      return
    }
    let method = state.withLock { $0.pending[id]?.method } ?? "a request"
    if let error = message["error"] {
      let code = error["code"]?.intValue ?? 0
      let text = error["message"]?.stringValue ?? "no message"
      var description = "MCP server `\(serverName)` answered \(method) with error \(code): \(text)"
      if let data = error["data"], !data.isNull { description += " (\(JSONWriter.string(data)))" }
      finish(id, .failure(MCPError(.remoteError, description, code: code)))
    } else if let result = message["result"] {
      finish(id, .success(result))
    } else {
      finish(
        id,
        .failure(
          MCPError(.invalidResponse, "MCP server `\(serverName)` answered \(method) with neither result nor error")))
    }
  }

  private func answerServerRequest(id: JSONValue, method: String) {
    if method == "ping" {
      send(["jsonrpc": "2.0", "id": id, "result": [:]])
    } else {
      logger.debug("MCP server `\(serverName)` asked for \(method), which Minions does not offer")
      send([
        "jsonrpc": "2.0", "id": id,
        "error": [
          "code": -32601, "message": .string("Method not found: \(method) (the Minions client does not offer it)"),
        ],
      ])
    }
  }

  private func handleNotification(_ method: String, params: JSONValue?) {
    if method == "notifications/message" {
      let text = params?["data"].map { $0.stringValue ?? JSONWriter.string($0) } ?? ""
      logger.debug("MCP server `\(serverName)`: \(text)")
    }
    onNotification(method, params)
  }

  private func noteIgnored(_ line: String) {
    let count = state.withLock { s -> Int in
      s.ignoredLines += 1
      if s.firstIgnoredLine == nil { s.firstIgnoredLine = line }
      return s.ignoredLines
    }
    if count <= 5 {
      logger.warning("MCP server `\(serverName)` wrote a line on stdout that is not JSON-RPC, ignored: \(line)")
    }
  }

  /// "; it wrote N lines on stdout that are not JSON-RPC, the first: …" when it did.
  private func ignoredLinesNote() -> String {
    let (count, first) = state.withLock { ($0.ignoredLines, $0.firstIgnoredLine) }
    guard count > 0, let first else { return "" }
    return "; it wrote \(count) line\(count == 1 ? "" : "s") on stdout that \(count == 1 ? "is" : "are") not "
      + "JSON-RPC (ignored), the first: \(first)"
  }

  // MARK: Closing

  /// Fails every pending request with `reason`; later requests fail with it at once.
  private func close(with reason: MCPError) {
    let pending: [Pending] = state.withLock { s in
      if s.closeReason == nil { s.closeReason = reason }
      let all = Array(s.pending.values)
      s.pending = [:]
      return all
    }
    let error = closeReason ?? reason
    for entry in pending {
      entry.timer?.cancel()
      entry.continuation.resume(throwing: error)
    }
  }

  /// Ends the session: pending requests fail with `reason`, stdin is closed, the server gets
  /// `gracePeriodMs` to exit, then SIGTERM and SIGKILL. Returns once the process is gone.
  func shutDown(reason: MCPError, gracePeriodMs: Int) async {
    close(with: reason)
    let first = state.withLock { s -> Bool in
      defer { s.shutDownStarted = true }
      return !s.shutDownStarted
    }
    if first { process.shutDown(gracePeriodMs: gracePeriodMs) }
    _ = await process.wait()
  }

  /// Kills the server at once (for a client deallocated without `stop()`).
  func kill() {
    process.kill()
  }
}
