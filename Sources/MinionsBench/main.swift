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
let pyglsPython = environment["PYGLS_PYTHON"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
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

var rows: [BenchRow] = []
let suites: [(String, () throws -> [BenchRow])] = [
  ("rpc", { try RPCBenchmarks.run(enginePath: enginePath, pyglsPython: pyglsPython) })
]
let started = MonotonicClock.nanoseconds()
for (name, suite) in suites where only?.contains(name) ?? true {
  FileHandle.standardError.write("bench: \(name)…\n".data(using: .utf8)!)
  do {
    rows += try suite()
  } catch {
    FileHandle.standardError.write("bench: \(name) failed: \(error)\n".data(using: .utf8)!)
  }
}
print("Minions benchmarks — \(Timestamp.now().iso8601()) — \(machineDescription())")
if pyglsPython == nil { print("(pygls peer not available: set PYGLS_PYTHON; `make bench` does)") }
print("")
print(BenchTable.markdown(rows))
print("total bench time: \(BenchTable.format1(MonotonicClock.milliseconds(since: started) / 1000)) s")
