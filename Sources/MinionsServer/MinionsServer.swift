import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The protocol surface: it owns the method table, one `ClientSession` per connection, the lifecycle
/// rules and the permission check every call passes through.
public final class MinionsServer: Sendable {
  public let configuration: ServerConfiguration
  public let logger: Logger
  public let engine: Engine
  public let methods: MethodTable
  private let sessions = Mutex<[Int: ClientSession]>([:])
  private let connectionCounter = Atomic<Int>(0)
  /// Snapshots and live metrics subscriptions.
  let metricsHub = MetricsHub()
  private let taskUpdates = TaskUpdateRelay()
  /// The OpenRPC document, built from the method table on first use (`rpc.discover`): building it
  /// probes every params and result type, which start-up has no need to pay for.
  public var openRPCDocument: JSONValue { Self.openRPC }

  public init(configuration: ServerConfiguration, engine: Engine, logger: Logger) {
    self.configuration = configuration
    self.logger = logger
    self.engine = engine
    self.methods = Self.methodTable
    engine.events.subscribe { [weak self] event in self?.apply(event) }
    engine.tasks.observe { [weak self] record, connection in self?.taskChanged(record, connection) }
    engine.alerts.observe { [weak self] alert, raised in self?.alertChanged(alert, raised: raised) }
    let executor = TaskMethods.executor(engine)
    Task { await engine.tasks.start(executor: executor) }
  }

  /// Tells the connection that submitted a task about its new status (in order, after the submit reply).
  private func taskChanged(_ record: TaskQueue.Record, _ connection: Int?) {
    guard let connection, sessions.withLock({ $0[connection] }) != nil else { return }
    let params: JSONValue = ["taskId": .string(record.id), "status": .string(record.status.rawValue)]
    taskUpdates.send(params, to: connection) { [weak self] in self?.sessions.withLock { $0[connection] } }
  }

  /// Holds a connection's `tasks/updated` while a submit is being answered (see `TaskUpdateRelay`).
  func holdTaskUpdates(_ connection: Int) { taskUpdates.hold(connection) }

  func releaseTaskUpdates(_ connection: Int) {
    taskUpdates.release(connection) { [weak self] in self?.sessions.withLock { $0[connection] } }
  }

  /// Tells every connection whose user reads analytics that an alert was raised or cleared.
  private func alertChanged(_ alert: Alert, raised: Bool) {
    let params: JSONValue
    let method: String
    if raised {
      method = "alerts/raised"
      params = (try? JSONValueEncoder(nilEncoding: .null).encode(AlertRecord(alert))) ?? .null
    } else {
      method = "alerts/cleared"
      params = [
        "id": .string(alert.id), "rule": .string(alert.rule),
        "resolvedAt": .string((alert.resolvedAt ?? alert.at).iso8601(milliseconds: true)),
      ]
    }
    for session in allSessions where session.identity?.has(.analyticsRead) == true {
      Task { await session.notify(method, params) }
    }
  }

  /// Every method the server has. Static, so the protocol description needs no running engine.
  public static let methodTable: MethodTable = {
    var table = MethodTable()
    LifecycleMethods.register(in: &table)
    AuthMethods.register(in: &table)
    UserMethods.register(in: &table)
    APIKeyMethods.register(in: &table)
    AuditMethods.register(in: &table)
    SettingsMethods.register(in: &table)
    ModelMethods.register(in: &table)
    AgentMethods.register(in: &table)
    SessionMethods.register(in: &table)
    ToolMethods.register(in: &table)
    TaskMethods.register(in: &table)
    MetricsMethods.register(in: &table)
    AnalyticsMethods.register(in: &table)
    return table
  }()

  /// The OpenRPC document of `methodTable`.
  public static let openRPC: JSONValue = OpenRPCDocument.build(from: methodTable)

  /// Ends the authentication of live sessions that a security change invalidates.
  private func apply(_ event: SecurityEvent) {
    for session in allSessions {
      guard let identity = session.identity, identity.method != .localOwner else { continue }
      let affected: Bool
      switch event {
      case .userChanged(let userID): affected = identity.userID == userID
      case .tokenRevoked(let tokenID): affected = identity.tokenID == tokenID
      case .apiKeyRevoked(let keyID): affected = identity.apiKeyID == keyID
      }
      if affected {
        session.setIdentity(nil)
        logger.info("connection \(session.connection.number): authentication ended (\(event))")
      }
    }
  }

  // MARK: Connections

  /// Serves one client over `input`/`output` and returns its connection (already started).
  @discardableResult
  public func serve(
    input: Int32, output: Int32, endpoint: JSONRPCConnection.Endpoint,
    ownsDescriptors: Bool
  ) -> ClientSession {
    let number = connectionCounter.add(1, ordering: .relaxed).newValue
    let localOwner = endpoint == .stdio && !configuration.requireAuthOnStdio
    let owner = engine.localOwner
    var made: ClientSession? = nil
    let connection = JSONRPCConnection(
      number: number, endpoint: endpoint, input: input, output: output, ownsDescriptors: ownsDescriptors,
      options: configuration.connectionOptions, logger: logger.with(label: "rpc")
    ) { connection in
      let session = ClientSession(server: self, connection: connection, identity: localOwner ? owner : nil)
      made = session
      return session
    }
    let session = made!
    sessions.withLock { $0[number] = session }
    logger.debug("connection \(number) opened (\(endpoint))")
    connection.start()
    return session
  }

  public var connectionCount: Int { sessions.withLock { $0.count } }

  /// The figures of `metrics/snapshot` now (for HTTP scrapers).
  public func metricsSnapshot() async -> MetricsSnapshot { await metricsHub.snapshot(server: self) }

  /// `metrics/update`s handed to connections since the server started (for diagnostics and tests).
  public var metricsUpdatesSent: Int { metricsHub.updatesSent.load(ordering: .relaxed) }

  /// Live `metrics/subscribe` subscriptions of a connection.
  public func metricsSubscriptionCount(connection: Int) -> Int { metricsHub.count(connection: connection) }

  /// Every connected client session.
  public var allSessions: [ClientSession] { sessions.withLock { Array($0.values) } }

  func sessionDidClose(_ session: ClientSession) {
    sessions.withLock { _ = $0.removeValue(forKey: session.connection.number) }
    metricsHub.connectionClosed(session.connection.number)
    taskUpdates.forget(session.connection.number)
  }

  // MARK: Dispatch (called by each session, which is its connection's handler)

  func admit(_ request: Request, session: ClientSession) -> RequestAdmission {
    session.state.withLock { s -> RequestAdmission in
      switch s.lifecycle {
      case .shutdown:
        return .reject(.invalidRequest("the server is shutting down: no requests are accepted after shutdown"))
      case .uninitialized, .initializing:
        if request.method == "initialize" {
          s.lifecycle = .initializing
          return .runExclusively
        }
        if request.method == "rpc.discover" || request.method == "ping" { return .run }
        return .reject(.serverNotInitialized)
      case .initialized:
        switch request.method {
        case "initialize":
          return .reject(.invalidRequest("initialize may be sent only once per connection"))
        case "shutdown":
          s.lifecycle = .shutdown
          return .runExclusively
        default:
          return .run
        }
      }
    }
  }

  func handle(_ request: Request, session: ClientSession, context: RequestContext) async -> Result<
    JSONValue, ResponseError
  > {
    guard let method = methods[request.method] else { return .failure(.methodNotFound(request.method)) }
    if let denial = checkAccess(method.access, session: session) {
      if denial.code == .permissionDenied {
        engine.audit.record(
          username: session.identity?.username, action: "permission.denied", target: request.method,
          outcome: .denied, details: ["permission": denial.data?["permission"] ?? .null])
      }
      return .failure(denial)
    }
    let call = CallContext(request: context, session: session, server: self)
    let started = MonotonicClock.nanoseconds()
    let result: Result<JSONValue, ResponseError>
    do {
      result = .success(try await method.invoke(request.params, call))
    } catch {
      result = .failure(ErrorMapping.responseError(for: error, method: request.method, logger: logger))
    }
    record(request.method, milliseconds: MonotonicClock.milliseconds(since: started), result: result)
    return result
  }

  /// Counts an answered request: live figures, and `rpc.*` metrics by method. Invalid params and
  /// cancellations are the client's doing and are not counted as errors.
  private func record(_ method: String, milliseconds ms: Double, result: Result<JSONValue, ResponseError>) {
    var failed = false
    if case .failure(let e) = result, e.code != .invalidParams && e.code != .requestCancelled { failed = true }
    engine.requests.record(method: method, milliseconds: ms, error: failed)
    let tags = engine.metrics.cachedTags("method", method)
    engine.metrics.record("rpc.requests", 1, encodedTags: tags, keepsRow: false)
    engine.metrics.record("rpc.latency_ms", ms, encodedTags: tags, keepsRow: false)
    if failed { engine.metrics.record("rpc.errors", 1, encodedTags: tags, keepsRow: false) }
  }

  /// The permission check every call passes through.
  func checkAccess(_ access: MethodAccess, session: ClientSession) -> ResponseError? {
    switch access {
    case .open:
      return nil
    case .authenticated:
      return session.identity == nil ? .unauthenticated : nil
    case .permission(let permission):
      guard let identity = session.identity else { return .unauthenticated }
      return identity.has(permission) ? nil : .permissionDenied(permission.rawValue)
    }
  }

  func handle(_ notification: Notification, session: ClientSession) {
    let connection = session.connection
    let lifecycle = session.lifecycle
    switch notification.method {
    case "exit":
      let code: Int32 = lifecycle == .shutdown ? 0 : 1
      session.state.withLock { $0.exitCode = code }
      logger.debug("connection \(connection.number): exit (\(code))")
      connection.close()
    case "initialized", "notifications/initialized":
      break
    default:
      if lifecycle == .uninitialized || lifecycle == .initializing {
        logger.debug("connection \(connection.number): notification \(notification.method) before initialize dropped")
        return
      }
      if notification.method.hasPrefix("$/") { return }  // unknown $/ notifications are ignored
      logger.debug("connection \(connection.number): unknown notification \(notification.method) ignored")
    }
  }
}
