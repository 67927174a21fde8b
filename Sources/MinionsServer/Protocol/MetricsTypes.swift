import MinionsCore
import MinionsEngine

/// `metrics/snapshot`: the machine, this process, the server, the response cache and the task queue.
public struct MetricsSnapshot: Codable, Sendable {
  public struct Latency: Codable, Sendable {
    /// Nearest-rank percentiles in milliseconds over the last five minutes; 0 when no request was answered.
    public var p50: Double
    public var p95: Double
    public var p99: Double
  }

  public struct MethodFigures: Codable, Sendable {
    public var method: String
    public var count: Int
    public var errors: Int
    public var latencyMs: Latency
  }

  public struct Server: Codable, Sendable {
    public var connections: Int
    public var requestsTotal: Int
    /// Over the last ten seconds.
    public var requestsPerSecond: Double
    public var errorsTotal: Int
    /// Errors among the requests of the last five minutes, 0–1.
    public var errorRate: Double
    public var latencyMs: Latency
    /// The requests of the last five minutes by method, busiest first.
    public var methods: [MethodFigures]
  }

  public struct Cache: Codable, Sendable {
    public var entries: Int
    public var capacity: Int
    public var hits: Int
    public var misses: Int
    /// Hits per lookup, 0–1.
    public var hitRate: Double
    public var evictions: Int
    public var expirations: Int
  }

  public struct Tasks: Codable, Sendable {
    public var queued: Int
    public var running: Int
    /// Finished tasks still kept (see tasks.keepResultsHours).
    public var completed: Int
    public var failed: Int
  }

  public var timestamp: Timestamp
  public var system: SystemSample.SystemFigures
  public var process: SystemSample.ProcessFigures
  public var server: Server
  public var cache: Cache
  public var tasks: Tasks
}

extension MetricsSnapshot.Latency {
  init(p50: Double?, p95: Double?, p99: Double?) {
    self.init(p50: p50 ?? 0, p95: p95 ?? 0, p99: p99 ?? 0)
  }
}

extension MetricsSnapshot.Cache {
  init(_ s: CacheStats) {
    self.init(
      entries: s.entries, capacity: s.capacity, hits: s.hits, misses: s.misses,
      hitRate: (s.hitRate * 10_000).rounded() / 10_000, evictions: s.evictions, expirations: s.expirations)
  }
}

public struct MetricsSubscribeParams: Codable, Sendable, JSONSchemaDocumented {
  public var intervalMs: Int

  public static var fieldDescriptions: [String: String] {
    ["intervalMs": "milliseconds between updates, 100 to 3600000"]
  }
}

public struct MetricsSubscribeResult: Codable, Sendable {
  public var subscriptionId: String
}

public struct MetricsUnsubscribeParams: Codable, Sendable {
  public var subscriptionId: String
}

/// `metrics/update`: one subscription's newest snapshot.
public struct MetricsUpdateParams: Codable, Sendable {
  public var subscriptionId: String
  public var snapshot: MetricsSnapshot
}

/// `cache/stats`: the response cache's size, limits and counters.
public struct CacheStatsResult: Codable, Sendable {
  public var entries: Int
  public var capacity: Int
  /// The default time to live of an entry (the cache.ttlSeconds setting).
  public var ttlSeconds: Double?
  public var hits: Int
  public var misses: Int
  public var hitRate: Double
  public var evictions: Int
  public var expirations: Int
  /// Calls to cache/clear since the engine started.
  public var clears: Int
}

public struct CacheClearResult: Codable, Sendable {
  /// Entries removed.
  public var removed: Int
}
