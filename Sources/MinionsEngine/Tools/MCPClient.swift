import MinionsCore
import Synchronization

/// Minions as an MCP client of one server program over stdio: it starts the server, performs the
/// `initialize` handshake, sends requests (several at once) and restarts the server when it died.
///
/// A server that died is restarted lazily, by the next request, after a backoff that doubles with each
/// restart in the window; after `maxRestarts` restarts within `restartWindowMs` requests fail with a
/// clear message instead, until the window has passed. A request in flight when the server dies fails
/// (tool calls are not repeated behind the caller's back).
public final class MCPClient: Sendable {
  /// Limits and timings; the defaults suit real servers.
  public struct Options: Sendable {
    /// How long the server may take to start and answer `initialize` (interpreters and `npx` are slow).
    public var initializeTimeoutMs: Int
    /// The time limit of requests made without their own (`tools/list`).
    public var requestTimeoutMs: Int
    /// Restarts allowed within `restartWindowMs`; beyond that requests fail.
    public var maxRestarts: Int
    public var restartWindowMs: Int
    /// The wait before the first restart in the window; it doubles for each further one.
    public var restartBackoffMs: Int
    public var maxRestartBackoffMs: Int
    /// On `stop()`: how long the server may take to exit after its stdin is closed before SIGTERM.
    public var shutdownGraceMs: Int
    /// After SIGTERM, before SIGKILL.
    public var terminationGraceMs: Int
    /// The longest line (one message) read from the server; longer ones are ignored.
    public var maxMessageBytes: Int
    /// `clientInfo` of `initialize`.
    public var clientName: String
    public var clientVersion: String

    public init(
      initializeTimeoutMs: Int = 30_000, requestTimeoutMs: Int = 30_000, maxRestarts: Int = 5,
      restartWindowMs: Int = 60_000, restartBackoffMs: Int = 250, maxRestartBackoffMs: Int = 5_000,
      shutdownGraceMs: Int = 1_000, terminationGraceMs: Int = 2_000, maxMessageBytes: Int = 16 << 20,
      clientName: String = "minions", clientVersion: String = "0.1.0"
    ) {
      self.initializeTimeoutMs = initializeTimeoutMs
      self.requestTimeoutMs = requestTimeoutMs
      self.maxRestarts = maxRestarts
      self.restartWindowMs = restartWindowMs
      self.restartBackoffMs = restartBackoffMs
      self.maxRestartBackoffMs = maxRestartBackoffMs
      self.shutdownGraceMs = shutdownGraceMs
      self.terminationGraceMs = terminationGraceMs
      self.maxMessageBytes = maxMessageBytes
      self.clientName = clientName
      self.clientVersion = clientVersion
    }
  }

  /// What the server said of itself in `initialize`.
  public struct ServerInfo: Sendable, Equatable {
    public var name: String
    public var version: String
    /// The protocol version the server chose.
    public var protocolVersion: String
    public var capabilities: JSONValue
    public var instructions: String?
  }

  /// The protocol version Minions asks for.
  public static let protocolVersion = "2025-06-18"
  /// The versions Minions accepts when a server answers with another one: the revisions of the
  /// `initialize` handshake, whose tools are the same for a client.
  public static let supportedProtocolVersions: Set<String> = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

  private typealias Launch = AsyncOneShot<Result<MCPConnection, MCPError>>

  private enum Phase {
    case idle
    /// A launch is under way; `connection` once its process was spawned.
    case starting(Launch, connection: MCPConnection?)
    case ready(MCPConnection)
    case stopped
  }

  private struct State {
    var phase: Phase = .idle
    var launches = 0
    /// When each restart within the window happened (monotonic nanoseconds).
    var recentRestarts: [UInt64] = []
    var restarts = 0
    var serverInfo: ServerInfo?
    /// How the last server process ended, or why the last launch failed.
    var lastExit: MCPError?
  }

  /// The name the server's tools are exposed under.
  public let serverName: String
  public let options: Options
  private let processConfiguration: Subprocess.Configuration
  private let logger: Logger
  private let onNotification: @Sendable (String, JSONValue?) -> Void
  private let state = Mutex(State())

  /// A client of the server that `command` starts, with exactly `environment`, in `workingDirectory`.
  /// Nothing starts until `start()` or the first request. `onNotification` gets the server's
  /// notifications (such as `notifications/tools/list_changed`) on a reader thread.
  public init(
    serverName: String, command: [String], environment: [String: String], workingDirectory: String?,
    options: Options = Options(), logger: Logger = .disabled,
    onNotification: @escaping @Sendable (String, JSONValue?) -> Void = { _, _ in }
  ) {
    self.serverName = serverName
    self.options = options
    self.logger = logger
    self.onNotification = onNotification
    self.processConfiguration = Subprocess.Configuration(
      arguments: command, environment: environment, workingDirectory: workingDirectory,
      stdout: .lines(maxLength: options.maxMessageBytes), stderr: .keepTail(limit: 64 << 10),
      terminationGraceMs: options.terminationGraceMs)
  }

  deinit {
    switch state.withLock({ $0.phase }) {
    case .ready(let connection), .starting(_, connection: .some(let connection)): connection.kill()
    default: break
    }
  }

  /// What the server said of itself, once a handshake succeeded.
  public var serverInfo: ServerInfo? { state.withLock { $0.serverInfo } }

  /// The server's process id while it runs.
  public var pid: Int32? {
    switch state.withLock({ $0.phase }) {
    case .ready(let connection) where connection.isOpen: return connection.process.pid
    default: return nil
    }
  }

  /// How many times the server was restarted.
  public var restartCount: Int { state.withLock { $0.restarts } }

  // MARK: Requests

  /// Starts the server and performs the handshake, unless it runs already. Throws `MCPError`.
  public func start() async throws {
    _ = try await connection()
  }

  /// Sends `method` and returns its result; starts or restarts the server as needed. Throws `MCPError`
  /// or `CancellationError`.
  public func request(_ method: String, params: JSONValue? = nil, timeoutMs: Int? = nil) async throws -> JSONValue {
    let connection = try await connection()
    return try await connection.request(method, params: params, timeoutMs: timeoutMs ?? options.requestTimeoutMs)
  }

  /// Every tool the server offers (`tools/list`, following `nextCursor` through all pages).
  public func listTools() async throws -> [JSONValue] {
    var tools: [JSONValue] = []
    var cursor: String? = nil
    var cursorsSeen: Set<String> = []
    for _ in 0..<1000 {
      let result = try await request("tools/list", params: cursor.map { ["cursor": .string($0)] })
      guard let page = result["tools"]?.arrayValue else {
        throw MCPError(.invalidResponse, "MCP server `\(serverName)` answered tools/list without a tools array")
      }
      tools += page
      guard let next = result["nextCursor"]?.stringValue, !next.isEmpty else { return tools }
      guard cursorsSeen.insert(next).inserted else {
        throw MCPError(.invalidResponse, "MCP server `\(serverName)` repeated the tools/list cursor \(next)")
      }
      cursor = next
    }
    throw MCPError(.invalidResponse, "MCP server `\(serverName)` listed more than 1000 pages of tools")
  }

  /// Calls tool `name` (its name on the server) and returns the raw `tools/call` result.
  public func callTool(_ name: String, arguments: JSONValue, timeoutMs: Int? = nil) async throws -> JSONValue {
    let arguments: JSONValue = arguments.isNull ? [:] : arguments
    return try await request(
      "tools/call", params: ["name": .string(name), "arguments": arguments], timeoutMs: timeoutMs)
  }

  /// Stops the server (stdin closed, then SIGTERM, then SIGKILL) and returns once it is gone; every
  /// later request fails.
  public func stop() async {
    let (connection, launch): (MCPConnection?, Launch?) = state.withLock { s in
      defer { s.phase = .stopped }
      switch s.phase {
      case .ready(let connection): return (connection, nil)
      case .starting(let launch, let connection): return (connection, launch)
      case .idle, .stopped: return (nil, nil)
      }
    }
    await connection?.shutDown(reason: stoppedError, gracePeriodMs: options.shutdownGraceMs)
    // A launch that had not spawned yet sees `.stopped` and stops its own process before it resolves.
    _ = await launch?.wait()
  }

  private var stoppedError: MCPError { MCPError(.stopped, "MCP server `\(serverName)` was stopped") }

  // MARK: Starting and restarting

  /// The live connection, starting or restarting the server when there is none.
  private func connection() async throws -> MCPConnection {
    enum Step {
      case ready(MCPConnection)
      case wait(Launch)
      case launch(Launch, delayMs: Int)
      case fail(MCPError)
    }
    var note: String? = nil
    let step: Step = state.withLock { s in
      switch s.phase {
      case .stopped: return .fail(stoppedError)
      case .starting(let launch, _): return .wait(launch)
      case .ready(let connection):
        if connection.isOpen { return .ready(connection) }
        s.lastExit = connection.closeReason
        s.phase = .idle
      case .idle: break
      }
      let previousExit = s.lastExit
      var delayMs = 0
      if s.launches > 0 {
        let now = MonotonicClock.nanoseconds()
        let window = UInt64(max(0, options.restartWindowMs)) * 1_000_000
        s.recentRestarts.removeAll { now &- $0 >= window }
        if s.recentRestarts.count >= options.maxRestarts {
          var message: String
          if let oldest = s.recentRestarts.first {
            let waitMs = Int((window &- (now &- oldest)) / 1_000_000)
            message =
              "MCP server `\(serverName)` stopped again after \(s.recentRestarts.count) restart"
              + "\(s.recentRestarts.count == 1 ? "" : "s") within \(options.restartWindowMs / 1000) s, the most "
              + "allowed; it is not restarted for another \((waitMs + 999) / 1000) s"
          } else {
            message = "MCP server `\(serverName)` stopped, and restarting it is disabled"
          }
          if let previousExit { message += ". Last: \(previousExit.message)" }
          return .fail(MCPError(.restartLimit, message))
        }
        s.recentRestarts.append(now)
        s.restarts += 1
        let doublings = min(s.recentRestarts.count - 1, 20)
        delayMs = min(options.maxRestartBackoffMs, options.restartBackoffMs << doublings)
        note =
          "restarting MCP server `\(serverName)` (restart \(s.recentRestarts.count) within the window)"
          + (previousExit.map { ": \($0.message)" } ?? "")
      }
      s.launches += 1
      let launch = Launch()
      s.phase = .starting(launch, connection: nil)
      return .launch(launch, delayMs: delayMs)
    }
    if let note { logger.notice(note) }
    switch step {
    case .ready(let connection):
      return connection
    case .fail(let error):
      throw error
    case .wait(let launch):
      return try await launch.waitCancellable().get()
    case .launch(let launch, let delayMs):
      // The launch runs on its own so that a cancelled caller does not cancel it for everyone else.
      Task { await self.launch(launch, delayMs: delayMs) }
      return try await launch.waitCancellable().get()
    }
  }

  /// Spawns the server and performs the handshake, then resolves `launch` with the outcome.
  private func launch(_ launch: Launch, delayMs: Int) async {
    if delayMs > 0 { try? await Task.sleep(for: .milliseconds(delayMs)) }
    var outcome: Result<MCPConnection, MCPError>
    var connection: MCPConnection? = nil
    do {
      let spawned = try MCPConnection(
        serverName: serverName, configuration: processConfiguration, logger: logger,
        onNotification: onNotification)
      connection = spawned
      let stillWanted = state.withLock { s -> Bool in
        guard case .starting(let current, _) = s.phase, current === launch else { return false }
        s.phase = .starting(launch, connection: spawned)
        return true
      }
      guard stillWanted else { throw stoppedError }
      let info = try await handshake(spawned)
      outcome = .success(spawned)
      state.withLock { $0.serverInfo = info }
    } catch let error as MCPError {
      outcome = .failure(error)
    } catch {
      outcome = .failure(MCPError(.startFailed, "MCP server `\(serverName)` could not start: \(error)"))
    }
    let settled: Result<MCPConnection, MCPError> = state.withLock { s in
      guard case .starting(let current, _) = s.phase, current === launch else { return .failure(stoppedError) }
      switch outcome {
      case .success(let connection): s.phase = .ready(connection)
      case .failure(let error):
        s.phase = .idle
        s.lastExit = error
      }
      return outcome
    }
    if case .failure(let error) = settled, let connection {
      await connection.shutDown(reason: error, gracePeriodMs: 0)
    }
    launch.resolve(settled)
  }

  private func handshake(_ connection: MCPConnection) async throws -> ServerInfo {
    let result = try await connection.request(
      "initialize",
      params: [
        "protocolVersion": .string(Self.protocolVersion), "capabilities": [:],
        "clientInfo": ["name": .string(options.clientName), "version": .string(options.clientVersion)],
      ], timeoutMs: options.initializeTimeoutMs)
    guard let version = result["protocolVersion"]?.stringValue else {
      throw MCPError(.handshakeFailed, "MCP server `\(serverName)` answered initialize without a protocolVersion")
    }
    guard Self.supportedProtocolVersions.contains(version) else {
      throw MCPError(
        .handshakeFailed,
        "MCP server `\(serverName)` chose protocol version \(version); Minions speaks "
          + Self.supportedProtocolVersions.sorted().joined(separator: ", "))
    }
    connection.notify("notifications/initialized")
    let server = result["serverInfo"] ?? [:]
    return ServerInfo(
      name: server["name"]?.stringValue ?? "", version: server["version"]?.stringValue ?? "", protocolVersion: version,
      capabilities: result["capabilities"] ?? [:], instructions: result["instructions"]?.stringValue)
  }
}
