import MinionsCore
import MinionsHTTP
import MinionsStore

/// What the engine is built from: where its data lives, where tools may work, and the environment it
/// reads secrets from (by name; they are never stored).
public struct EngineConfiguration: Sendable {
  public var dataDirectory: String
  public var workspace: String
  public var environment: [String: String]
  /// Retries and backoff of model calls (tests shorten the delays).
  public var routerOptions: ModelRouter.Options
  /// The offline model's pause between streamed words, so a person sees it stream (0 in tests).
  public var localModelTokenDelay: Double
  /// Seconds a provider's stream may stay silent before it is abandoned (Ollama gets longer to load).
  public var providerIdleTimeout: Double
  /// Tools an embedding program adds beside the built-ins (Swift tools of its own; tests use it too).
  public var additionalTools: [any Tool]

  public init(
    dataDirectory: String, workspace: String, environment: [String: String],
    routerOptions: ModelRouter.Options = .init(), localModelTokenDelay: Double = 0.012,
    providerIdleTimeout: Double = 120, additionalTools: [any Tool] = []
  ) {
    self.additionalTools = additionalTools
    self.providerIdleTimeout = providerIdleTimeout
    self.dataDirectory = dataDirectory
    self.workspace = workspace
    self.environment = environment
    self.routerOptions = routerOptions
    self.localModelTokenDelay = localModelTokenDelay
  }
}

/// The composition root: builds every engine service from a configuration and owns their lifetimes.
public final class Engine: Sendable {
  public let configuration: EngineConfiguration
  public let logger: Logger
  public let clock: EngineClock
  public let database: Database
  public let settings: SettingsStore
  public let metrics: MetricsStore
  public let requests: RequestStats
  public let audit: AuditLog
  public let events: SecurityEvents
  public let hasher: PasswordHasher
  public let tokens: TokenIssuer
  public let users: UserDirectory
  public let apiKeys: APIKeyStore
  public let authenticator: Authenticator
  /// Who stdio connections act as.
  public let localOwner: Identity
  public let http: any HTTPTransport
  public let models: ModelRegistry
  public let modelStats: ModelStats
  public let modelHealth: ModelHealth
  public let router: ModelRouter
  public let agents: AgentCatalog
  public let sessions: SessionStore
  public let tools: ToolRegistry
  public let customTools: CustomTools
  public let runner: AgentRunner
  public let tasks: TaskQueue
  public let alerts: AlertCenter
  /// Answers of deterministic model calls (`cache/stats`, `cache/clear`).
  public let responseCache: ResponseCache
  /// Machine and process figures from /proc.
  public let monitor: SystemMonitor
  let housekeeping = Housekeeping()
  let ollama: OllamaProvider

  public enum StartupError: Error, CustomStringConvertible {
    case dataDirectory(String)
    case database(String)
    case key(String)

    public var description: String {
      switch self {
      case .dataDirectory(let m), .database(let m), .key(let m): return m
      }
    }
  }

  /// Opens the data directory and database (applying migrations) and builds the services.
  public init(configuration: EngineConfiguration, logger: Logger, clock: EngineClock = EngineClock()) throws {
    self.configuration = configuration
    self.logger = logger
    self.clock = clock
    do {
      try DataDirectory.prepare(configuration.dataDirectory)
    } catch {
      throw StartupError.dataDirectory("\(error)")
    }
    let key: [UInt8]
    do {
      key = try TokenIssuer.loadKey(environment: configuration.environment, dataDirectory: configuration.dataDirectory)
    } catch {
      throw StartupError.key("\(error)")
    }
    do {
      database = try Database(
        path: configuration.dataDirectory + "/minions.sqlite3", migrations: Schema.migrations,
        logger: logger.with(label: "store"))
      settings = try SettingsStore(database: database)
    } catch {
      throw StartupError.database("cannot open the database in \(configuration.dataDirectory): \(error)")
    }
    metrics = MetricsStore(database: database, clock: clock, logger: logger.with(label: "metrics"))
    requests = RequestStats(clock: clock)
    audit = AuditLog(database: database, clock: clock, metrics: metrics)
    events = SecurityEvents()
    let settings = self.settings
    hasher = PasswordHasher(cost: { settings.int("security.passwordHashCost") })
    tokens = TokenIssuer(key: key)
    users = UserDirectory(
      database: database, hasher: hasher, audit: audit, events: events, settings: settings, clock: clock)
    apiKeys = APIKeyStore(database: database, audit: audit, events: events, clock: clock)
    authenticator = Authenticator(
      database: database, hasher: hasher, tokens: tokens, apiKeys: apiKeys, audit: audit,
      settings: settings, events: events, clock: clock, logger: logger.with(label: "auth"))
    do {
      let owner = try users.ensureLocalOwner()
      localOwner = owner.identity(method: .localOwner)
    } catch {
      throw StartupError.database("cannot prepare the database: \(error)")
    }
    authenticator.pruneRevocations()

    http = CurlHTTPClient(
      logger: logger.with(label: "http"), proxies: ProxyConfiguration(environment: configuration.environment))
    do {
      models = try ModelRegistry(database: database, environment: configuration.environment, clock: clock)
      modelStats = try ModelStats(database: database, clock: clock, metrics: metrics)
    } catch {
      throw StartupError.database("cannot load the models: \(error)")
    }
    modelHealth = ModelHealth(clock: clock)
    let idle = configuration.providerIdleTimeout
    ollama = OllamaProvider(
      transport: http, environment: configuration.environment, idleTimeout: max(idle, min(300, idle * 2.5)))
    let providers: [ProviderKind: any ModelProvider] = [
      .ollama: ollama,
      .openai: OpenAIProvider(transport: http, environment: configuration.environment, idleTimeout: idle),
      .anthropic: AnthropicProvider(transport: http, environment: configuration.environment, idleTimeout: idle),
      .local: LocalModel(tokenDelay: configuration.localModelTokenDelay),
      .script: ScriptedModel(),
    ]
    responseCache = ResponseCache(settings: settings)
    monitor = SystemMonitor(logger: logger.with(label: "monitor"))
    router = ModelRouter(
      registry: models, stats: modelStats, health: modelHealth, providers: providers,
      options: configuration.routerOptions, clock: clock, logger: logger.with(label: "models"), cache: responseCache)
    do {
      agents = try AgentCatalog(database: database, clock: clock)
      let builtins: [any Tool] = [
        FileTool(workspace: configuration.workspace),
        DatabaseTool(
          workspace: configuration.workspace,
          protectedPaths: [configuration.dataDirectory + "/minions.sqlite3"]),
        HTTPTool(transport: http, allowHosts: { settings.strings("tools.http.allowHosts") }),
      ]
      tools = ToolRegistry(
        builtins: builtins + configuration.additionalTools, stats: try ToolStats(database: database, metrics: metrics),
        clock: clock, cache: responseCache)
    } catch {
      throw StartupError.database("cannot load the agents and tools: \(error)")
    }
    customTools = CustomTools(
      database: database, registry: tools, workspace: configuration.workspace,
      environment: configuration.environment, clock: clock, logger: logger.with(label: "tools"),
      mcpOptions: MCPClient.Options(clientVersion: MinionsBuild.version))
    sessions = SessionStore(database: database, clock: clock)
    do {
      alerts = try AlertCenter(
        database: database, clock: clock, requests: requests, logger: logger.with(label: "alerts"))
    } catch {
      throw StartupError.database("cannot load the alert rules: \(error)")
    }
    let alerts = self.alerts
    audit.observe { action, outcome in
      // A wrong password that locks the account is a failed login too.
      if (action == "auth.login" && outcome != .ok) || action == "auth.lockout" { alerts.noteFailedLogin() }
    }
    tasks = TaskQueue(
      database: database, clock: clock, settings: settings, users: users, logger: logger.with(label: "tasks"))
    runner = AgentRunner(
      agents: agents, sessions: sessions, tools: tools, router: router, models: models, audit: audit,
      metrics: metrics, clock: clock, logger: logger.with(label: "agents"))
  }

  /// The approval gate for turns without a client to ask: `tools.approvalPolicy`.
  public var policyApprovals: PolicyApprovalGate {
    let settings = self.settings
    return PolicyApprovalGate { settings.string("tools.approvalPolicy") == "allow" }
  }

  /// The model selector (for `models/select`).
  public var selector: ModelSelector { router.selector }

  /// Asks Ollama for its models and adds the cloud models whose keys are present.
  public func refreshModels() async -> ModelRegistry.RefreshReport {
    let ollama = self.ollama
    return await models.refresh { try await ollama.discover() }
  }

  /// Starts background work that does not need to finish before the first request.
  public func warmUp() { hasher.warmUp() }

  /// Loads the custom tools in the background (MCP servers take a moment to start).
  public func startTools() {
    let custom = customTools
    Task { await custom.startPersisted() }
  }

  /// Starts the engine's timer: monitor samples into the metrics store and alert evaluation, and the
  /// hourly prune of old metrics, finished tasks and expired cache entries (see `Housekeeping`).
  public func startHousekeeping(_ intervals: Housekeeping.Intervals = .init()) {
    housekeeping.start(intervals) { [self] prune in await housekeepingTick(prune: prune) }
  }

  /// One tick of the timer: sample, record, evaluate; and with `prune`, enforce retention.
  public func housekeepingTick(prune: Bool) async {
    let sample = monitor.sample()
    let at = sample.timestamp
    metrics.record("system.cpu_percent", sample.system.cpuPercent, at: at)
    metrics.record("system.memory_percent", sample.system.memoryPercent, at: at)
    metrics.record("system.load1", sample.system.loadAverage.first ?? 0, at: at)
    metrics.record("process.cpu_percent", sample.process.cpuPercent, at: at)
    metrics.record("process.rss_bytes", Double(sample.process.rssBytes), at: at)
    metrics.record("process.threads", Double(sample.process.threads), at: at)
    let cache = responseCache.entries.stats
    metrics.record("cache.entries", Double(cache.entries), at: at)
    metrics.record("cache.hit_rate", cache.hitRate, at: at)
    let tasks = self.tasks.counts
    metrics.record("tasks.queued", Double(tasks.queued), at: at)
    metrics.record("tasks.running", Double(tasks.running), at: at)
    await alerts.evaluate(AlertInputs(cpuPercent: sample.system.cpuPercent, memoryPercent: sample.system.memoryPercent))
    guard prune else { return }
    do {
      let removed = try await metrics.prune(olderThanDays: settings.int("metrics.retentionDays"))
      let tasksRemoved = try await self.tasks.pruneFinished()
      let expired = responseCache.entries.removeExpired()
      if removed + tasksRemoved + expired > 0 {
        logger.info("pruned \(removed) metric rows, \(tasksRemoved) finished tasks, \(expired) expired cache entries")
      }
    } catch {
      logger.warning("pruning failed: \(error)")
    }
  }

  /// Stops the MCP servers (call before `close()`).
  public func stopTools() async { await customTools.stopAll() }

  /// Waits for queued writes and closes the database.
  public func close() {
    housekeeping.stop()
    tools.stats.flush()
    metrics.flushLater()
    database.close()
  }
}
