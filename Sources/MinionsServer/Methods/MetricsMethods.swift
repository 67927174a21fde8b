import JSONRPC
import MinionsCore
import MinionsEngine

/// `metrics/*` and `cache/*`: live figures of the machine, the engine and its response cache.
enum MetricsMethods {
  static func register(in table: inout MethodTable) {
    table.register(
      "metrics/snapshot",
      summary: "The machine's and the engine's figures now: CPU, memory, requests, latency, cache and tasks.",
      description:
        "CPU percentages cover the time since the previous sample. Server rates and percentiles cover the last "
        + "five minutes (requestsPerSecond the last ten seconds); latency is 0 when nothing was answered.",
      access: .permission(.analyticsRead), params: NoParams.self, result: MetricsSnapshot.self
    ) { _, call in
      await call.server.metricsHub.snapshot(server: call.server)
    }

    table.register(
      "metrics/subscribe",
      summary: "Sends metrics/update with a fresh snapshot every intervalMs (at least 100) until unsubscribed.",
      description:
        "The first update follows the reply at once. A client that reads slowly only ever gets the newest snapshot: updates "
        + "it has not read yet are replaced, never queued. Subscriptions end with metrics/unsubscribe or when the "
        + "connection closes; a connection may hold 16.",
      access: .permission(.analyticsRead), params: MetricsSubscribeParams.self, result: MetricsSubscribeResult.self
    ) { p, call in
      guard (MetricsHub.minimumIntervalMs...MetricsHub.maximumIntervalMs).contains(p.intervalMs) else {
        throw ResponseError.invalidParams(
          field: "intervalMs", "must be between \(MetricsHub.minimumIntervalMs) and \(MetricsHub.maximumIntervalMs)")
      }
      let (id, start) = try call.server.metricsHub.subscribe(
        session: call.session, server: call.server, intervalMs: p.intervalMs)
      call.request.afterReply(start)
      return MetricsSubscribeResult(subscriptionId: id)
    }

    table.register(
      "metrics/unsubscribe", summary: "Ends a metrics subscription of this connection.",
      description: "No metrics/update of it is sent after this reply.",
      access: .permission(.analyticsRead), errors: [.notFound], params: MetricsUnsubscribeParams.self,
      result: EmptyResult.self
    ) { p, call in
      guard call.server.metricsHub.unsubscribe(p.subscriptionId, connection: call.session.connection.number) else {
        throw EngineError.notFound(kind: "subscription", id: p.subscriptionId)
      }
      call.session.connection.dropLatest(key: "metrics/update " + p.subscriptionId)
      return EmptyResult()
    }

    table.registerServerNotification(
      "metrics/update", summary: "The newest snapshot of a metrics subscription (older unsent ones are dropped).",
      params: MetricsUpdateParams.self)

    table.register(
      "cache/stats", summary: "The response cache: entries, capacity, time to live, hits, misses, evictions.",
      description:
        "Model answers are cached when the request is deterministic (temperature 0) or asks for it (cache: true). "
        + "Size and lifetime follow the cache.maxEntries and cache.ttlSeconds settings, applied live.",
      access: .permission(.analyticsRead), params: NoParams.self, result: CacheStatsResult.self
    ) { _, call in
      let cache = call.engine.responseCache.entries
      let s = cache.stats
      return CacheStatsResult(
        entries: s.entries, capacity: s.capacity, ttlSeconds: cache.ttlSeconds, hits: s.hits, misses: s.misses,
        hitRate: (s.hitRate * 10_000).rounded() / 10_000, evictions: s.evictions, expirations: s.expirations,
        clears: s.clears)
    }

    table.register(
      "cache/clear", summary: "Empties the response cache (its counters are kept); audited.",
      access: .permission(.cacheManage), params: NoParams.self, result: CacheClearResult.self
    ) { _, call in
      let identity = try call.requireIdentity()
      let cache = call.engine.responseCache.entries
      let removed = cache.count
      cache.removeAll()
      call.engine.audit.record(
        username: identity.username, action: "cache.clear", outcome: .ok, details: ["removed": .int(removed)])
      return CacheClearResult(removed: removed)
    }
  }
}
