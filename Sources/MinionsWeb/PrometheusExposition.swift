import MinionsServer

/// `GET /metrics`: the live figures of `metrics/snapshot` in the Prometheus text exposition format
/// (version 0.0.4), for a scraper.
public enum PrometheusExposition {
  public static func render(_ s: MetricsSnapshot) -> String {
    var out = ""
    func metric(_ name: String, _ type: String, _ help: String, _ samples: [(labels: String, value: Double)]) {
      out += "# HELP minions_\(name) \(help)\n# TYPE minions_\(name) \(type)\n"
      for (labels, value) in samples { out += "minions_\(name)\(labels) \(format(value))\n" }
    }
    func one(_ name: String, _ type: String, _ help: String, _ value: Double) {
      metric(name, type, help, [("", value)])
    }
    one("requests_total", "counter", "Requests answered since the engine started.", Double(s.server.requestsTotal))
    one("request_errors_total", "counter", "Requests answered with an error.", Double(s.server.errorsTotal))
    one("connections", "gauge", "Open client connections.", Double(s.server.connections))
    one("requests_per_second", "gauge", "Requests per second over the last ten seconds.", s.server.requestsPerSecond)
    metric(
      "request_latency_milliseconds", "summary", "Request latency over the last five minutes.",
      [
        (#"{quantile="0.5"}"#, s.server.latencyMs.p50), (#"{quantile="0.95"}"#, s.server.latencyMs.p95),
        (#"{quantile="0.99"}"#, s.server.latencyMs.p99),
      ])
    metric(
      "method_requests", "gauge", "Requests of each method over the last five minutes.",
      s.server.methods.map { (#"{method="\#(escape($0.method))"}"#, Double($0.count)) })
    metric(
      "method_latency_p95_milliseconds", "gauge", "p95 latency of each method over the last five minutes.",
      s.server.methods.map { (#"{method="\#(escape($0.method))"}"#, $0.latencyMs.p95) })
    one("system_cpu_percent", "gauge", "Busy share of all CPUs since the previous sample.", s.system.cpuPercent)
    one("system_memory_percent", "gauge", "Memory in use, percent of the total.", s.system.memoryPercent)
    one("process_cpu_percent", "gauge", "CPU used by the engine, percent of one core.", s.process.cpuPercent)
    one("process_resident_memory_bytes", "gauge", "Resident memory of the engine.", Double(s.process.rssBytes))
    one("process_threads", "gauge", "Threads of the engine.", Double(s.process.threads))
    one("cache_entries", "gauge", "Entries in the response cache.", Double(s.cache.entries))
    one("cache_hits_total", "counter", "Response cache hits.", Double(s.cache.hits))
    one("cache_misses_total", "counter", "Response cache misses.", Double(s.cache.misses))
    one("cache_evictions_total", "counter", "Response cache evictions.", Double(s.cache.evictions))
    metric(
      "tasks", "gauge", "Background tasks by status (finished ones while they are kept).",
      [
        (#"{status="queued"}"#, Double(s.tasks.queued)), (#"{status="running"}"#, Double(s.tasks.running)),
        (#"{status="completed"}"#, Double(s.tasks.completed)), (#"{status="failed"}"#, Double(s.tasks.failed)),
      ])
    return out
  }

  /// A label value with `\`, `"` and newlines escaped.
  static func escape(_ s: String) -> String {
    var out = ""
    for ch in s {
      switch ch {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      default: out.append(ch)
      }
    }
    return out
  }

  static func format(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
    return String(v)
  }
}
