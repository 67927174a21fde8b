import Foundation
import MinionsCore

/// Issue 2's figures: pipelined throughput, sequential round trips, startup and idle memory over stdio,
/// for the engine and for a minimal pygls server driven by the same client.
enum RPCBenchmarks {
  struct ServerFigures {
    var throughput: Double = 0
    var p50: Double = 0
    var p99: Double = 0
    var startupMs: Double = 0
    var idleRSS: Double = 0
  }

  static func measure(_ argv: [String], environment: [String: String], pipelined: Int, sequential: Int) throws
    -> ServerFigures
  {
    var f = ServerFigures()
    // Startup: spawn to initialize reply, median of several.
    var startups: [Double] = []
    for _ in 0..<9 {
      let start = MonotonicClock.nanoseconds()
      let peer = try StdioPeer(argv, environment: environment)
      _ = peer.initialize()
      startups.append(MonotonicClock.milliseconds(since: start))
      if startups.count == 1 {
        usleep(500_000)  // idle: after initialize, nothing to do
        f.idleRSS = Double(peer.residentBytes) / 1_048_576
      }
      peer.stop()
    }
    f.startupMs = percentile(startups.sorted(), 50)

    let tput = try StdioPeer(argv, environment: environment)
    _ = tput.initialize()
    _ = pipelinedThroughput(tput, requests: 2000, window: 64, maxSeconds: 5)  // warm-up
    f.throughput = pipelinedThroughput(tput, requests: pipelined, window: 64, maxSeconds: 15)
    tput.stop()

    let rtt = try StdioPeer(argv, environment: environment)
    _ = rtt.initialize()
    _ = roundTrips(rtt, count: 500, firstID: 1)  // warm-up
    let samples = roundTrips(rtt, count: sequential, firstID: 1000)
    f.p50 = percentile(samples, 50)
    f.p99 = percentile(samples, 99)
    rtt.stop()
    return f
  }

  static func run(enginePath: String, pyglsPython: String?) throws -> [BenchRow] {
    let dataDir = try makeTemporaryDirectory()
    let env = ["MINIONS_LOG": "warning", "MINIONS_DATA_DIR": dataDir]
    let engine = try measure([enginePath, "serve"], environment: env, pipelined: 400_000, sequential: 20_000)
    var peer: ServerFigures? = nil
    if let python = pyglsPython {
      let script = benchSourceDirectory + "/Peers/pygls_server.py"
      peer = try? measure([python, script], environment: [:], pipelined: 60_000, sequential: 3_000)
    }
    let peerName = pyglsPython == nil ? nil : "pygls"
    return [
      BenchRow(
        issue: "#2", name: "requests/s over stdio, 64 in flight", value: engine.throughput, unit: "req/s",
        target: "≥ 50,000; ≥ 5× pygls",
        meets: engine.throughput >= 50_000 && (peer.map { engine.throughput >= 5 * $0.throughput } ?? true),
        peerName: peerName, peerValue: peer?.throughput),
      BenchRow(
        issue: "#2", name: "sequential round trip p50", value: engine.p50, unit: "µs", target: "≤ 60",
        meets: engine.p50 <= 60, peerName: peerName, peerValue: peer?.p50, higherIsBetter: false),
      BenchRow(
        issue: "#2", name: "sequential round trip p99", value: engine.p99, unit: "µs",
        peerName: peerName, peerValue: peer?.p99, higherIsBetter: false),
      BenchRow(
        issue: "#2", name: "startup to initialize reply", value: engine.startupMs, unit: "ms", target: "≤ 50",
        meets: engine.startupMs <= 50, peerName: peerName, peerValue: peer?.startupMs, higherIsBetter: false),
      BenchRow(
        issue: "#2", name: "idle RSS after initialize", value: engine.idleRSS, unit: "MB", target: "≤ 20",
        meets: engine.idleRSS <= 20, peerName: peerName, peerValue: peer?.idleRSS, higherIsBetter: false),
    ]
  }
}

/// Sources/MinionsBench, for the peer scripts.
let benchSourceDirectory: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast()
  return parts.joined(separator: "/")
}()

func makeTemporaryDirectory() throws -> String {
  var template = Array("\(NSTemporaryDirectory())/minions-bench-XXXXXX".utf8CString)
  guard let p = mkdtemp(&template) else { throw POSIXError(.EIO) }
  return String(cString: p)
}
