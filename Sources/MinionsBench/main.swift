import Foundation
import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

// `make bench`: measures every figure the issues name and prints one table (Markdown), with peers
// measured in the same run where they exist. Usage: MinionsBench [--only NAME,...]
signal(SIGPIPE, SIG_IGN)

let environment = ProcessInfo.processInfo.environment
let enginePath = environment["MINIONS_BIN"] ?? (benchSourceDirectory + "/../../.build/release/minions")
/// The Python with the peers (pygls, PyJWT, …) from PyPI; `make bench` makes it.
let peerPython = environment["PEER_PYTHON"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
let arguments = Array(CommandLine.arguments.dropFirst())
let only: Set<String>? = arguments.firstIndex(of: "--only").flatMap { i in
  i + 1 < arguments.count ? Set(arguments[i + 1].split(separator: ",").map(String.init)) : nil
}

func machineDescription() -> String {
  let cpu =
    (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
    .first { $0.hasPrefix("model name") }?.split(separator: ":").last?.trimmingCharacters(in: .whitespaces)
    ?? "unknown CPU"
  let cores = sysconf(Int32(_SC_NPROCESSORS_ONLN))
  let memory = sysconf(Int32(_SC_PHYS_PAGES)) * sysconf(Int32(_SC_PAGESIZE)) / (1 << 30)
  return "\(cores) cores (\(cpu)), \(memory) GiB"
}

func note(_ text: String) { FileHandle.standardError.write((text + "\n").data(using: .utf8)!) }

let suites: [(String, @Sendable () async throws -> [BenchRow])] = [
  ("rpc", { try RPCBenchmarks.run(enginePath: enginePath, pyglsPython: peerPython) }),
  ("security", { try await SecurityBenchmarks.run(peerPython: peerPython) }),
  ("models", { try ModelBenchmarks.relay(enginePath: enginePath) }),
  ("select", { try await ModelBenchmarks.selection() }),
  ("agents", { try await AgentBenchmarks.run() }),
  ("cache", { try CacheBenchmarks.run(peerPython: peerPython) }),
  ("analytics", { try await AnalyticsBenchmarks.run(enginePath: enginePath) }),
]
var rows: [BenchRow] = []
let started = MonotonicClock.nanoseconds()
for (name, suite) in suites where only?.contains(name) ?? true {
  note("bench: \(name)…")
  do {
    rows += try await suite()
  } catch {
    note("bench: \(name) failed: \(error)")
  }
}
print("Minions benchmarks — \(Timestamp.now().iso8601()) — \(machineDescription())")
if peerPython == nil {
  print("(peers not measured: set PEER_PYTHON to a Python with pygls, pyjwt and cachetools; `make bench` does)")
}
print("")
print(BenchTable.markdown(rows))
print("total bench time: \(BenchTable.format1(MonotonicClock.milliseconds(since: started) / 1000)) s")
