import Foundation
import MinionsCore
import MinionsTestSupport
import Synchronization
import Testing

@testable import MinionsEngine

/// Text as the kernel writes it, for the parsers.
enum ProcFixtures {
  /// An 8-CPU machine, cut from a real /proc/stat (the intr line shortened).
  static let stat = """
    cpu  4705 150 1120 1644379 1023 0 137 16 7 3
    cpu0 1393 5 399 205114 165 0 125 2 0 0
    cpu1 423 11 147 206076 154 0 2 2 0 0
    cpu2 584 38 117 205804 65 0 2 2 0 0
    cpu3 443 5 103 205906 196 0 1 2 0 0
    cpu4 432 9 92 206084 104 0 2 2 7 3
    cpu5 475 36 89 205745 168 0 2 2 0 0
    cpu6 418 22 94 205936 99 0 2 2 0 0
    cpu7 537 24 79 203714 72 0 1 2 0 0
    intr 1144183 14 9 0 0 0 0 0 0 0 0 0 0 130 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
    ctxt 2089433
    btime 1764100000
    processes 12871
    procs_running 2
    procs_blocked 0
    softirq 589306 3 175213 13 5108 41069 0 1386 176404 0 190110

    """

  /// A 3.10 kernel's meminfo: no MemAvailable; SwapCached comes first to catch a loose "Cached" match.
  static let meminfoWithoutAvailable = """
    MemTotal:        2048000 kB
    SwapCached:        99999 kB
    MemFree:          512000 kB
    Buffers:           64000 kB
    Cached:           256000 kB
    Active:           900000 kB
    HugePages_Total:       0
    Hugepagesize:       2048 kB

    """

  static let meminfo = """
    MemTotal:       24576000 kB
    MemFree:         1000000 kB
    MemAvailable:   18432000 kB
    Buffers:          300000 kB
    Cached:          9000000 kB
    SwapCached:            0 kB

    """

  /// A process whose command name is `a b) c` (spaces and a parenthesis, as `prctl(PR_SET_NAME)`
  /// allows): utime 1500, stime 250, 7 threads, started at tick 98765, 2560 resident pages.
  static let selfStat =
    "4242 (a b) c) S 1 4242 4242 0 -1 4194560 1234 0 5 0 1500 250 0 0 20 0 7 0 98765 123456789 2560 "
    + "18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

  static let selfStatus = """
    Name:\tminions
    Umask:\t0022
    State:\tS (sleeping)
    Pid:\t4242
    VmPeak:\t  420000 kB
    VmSize:\t  410000 kB
    VmRSS:\t   10240 kB
    RssAnon:\t    8000 kB
    Threads:\t7
    voluntary_ctxt_switches:\t10

    """
}

@Suite struct ProcParserTests {
  @Test func statReadsTheAggregateLineAndCountsCPUs() throws {
    let times = try ProcFiles.parseStat(ProcFixtures.stat)
    #expect(
      times
        == CPUTimes(
          user: 4705, nice: 150, system: 1120, idle: 1_644_379, iowait: 1023, irq: 0, softirq: 137, steal: 16,
          cpuCount: 8))
    // Guest time (the last two) is inside user and nice and is not counted twice.
    #expect(times.totalTicks == Double(4705 + 150 + 1120 + 1_644_379 + 1023 + 0 + 137 + 16))
    #expect(times.idleTicks == Double(1_644_379 + 1023))
  }

  @Test func statFromAnOldKernelHasFourCounters() throws {
    let times = try ProcFiles.parseStat("cpu 10 20 30 40\ncpu0 10 20 30 40\n")
    #expect(times == CPUTimes(user: 10, nice: 20, system: 30, idle: 40, cpuCount: 1))
  }

  @Test func statCutShortAfterTheCPULinesStillParses() throws {
    let cut = String(ProcFixtures.stat.prefix(upTo: ProcFixtures.stat.range(of: "intr 11441")!.upperBound))
    #expect(try ProcFiles.parseStat(cut).cpuCount == 8)
  }

  @Test(arguments: [
    "",
    "\n\n",
    "cpu0 1 2 3 4\n",
    "cpu 1 2 3\n",
    "cpu 1 x 3 4\n",
    "cpu 1 -2 3 4\n",
    "cpu 1 2.5 3 4\n",
    "cpu 18446744073709551616 2 3 4\n",
    "cpufreq 1 2 3 4\n",
    "intr 1 2 3\nctxt 5\n",
  ])
  func malformedStatIsAnError(text: String) {
    #expect(throws: ProcFileError.self) { try ProcFiles.parseStat(text) }
  }

  @Test func meminfoUsesMemAvailable() throws {
    let memory = try ProcFiles.parseMeminfo(ProcFixtures.meminfo)
    #expect(memory == MemoryInfo(totalBytes: 24_576_000 * 1024, availableBytes: 18_432_000 * 1024))
    #expect(memory.usedBytes == 6_144_000 * 1024)
  }

  @Test func meminfoWithoutMemAvailableFallsBackToFreeBuffersAndCached() throws {
    let memory = try ProcFiles.parseMeminfo(ProcFixtures.meminfoWithoutAvailable)
    #expect(
      memory
        == MemoryInfo(
          totalBytes: 2_048_000 * 1024, availableBytes: (512_000 + 64_000 + 256_000) * 1024,
          availableIsEstimated: true))
  }

  @Test func meminfoErrorsSayWhatIsWrong() {
    #expect(throws: ProcFileError.malformed(file: "/proc/meminfo", reason: "no MemTotal line")) {
      try ProcFiles.parseMeminfo("MemFree: 10 kB\nMemAvailable: 5 kB\n")
    }
    #expect(throws: ProcFileError.malformed(file: "/proc/meminfo", reason: "MemTotal is 0")) {
      try ProcFiles.parseMeminfo("MemTotal: 0 kB\nMemAvailable: 0 kB\n")
    }
    #expect(throws: ProcFileError.malformed(file: "/proc/meminfo", reason: "MemTotal is not an unsigned integer")) {
      try ProcFiles.parseMeminfo("MemTotal: lots kB\n")
    }
    #expect(
      throws: ProcFileError.malformed(file: "/proc/meminfo", reason: "neither MemAvailable nor MemFree is present")
    ) {
      try ProcFiles.parseMeminfo("MemTotal: 100 kB\nCached: 5 kB\n")
    }
    #expect(throws: ProcFileError.malformed(file: "/proc/meminfo", reason: "MemTotal is out of range")) {
      try ProcFiles.parseMeminfo("MemTotal: 18446744073709551615 kB\n")
    }
  }

  @Test func loadavgReadsThreeAverages() throws {
    #expect(
      try ProcFiles.parseLoadavg("0.52 1.58 12.09 1/467 12345\n") == LoadAverage(one: 0.52, five: 1.58, fifteen: 12.09))
    #expect(try ProcFiles.parseLoadavg("0 3 7\n") == LoadAverage(one: 0, five: 3, fifteen: 7))
  }

  @Test(arguments: [
    "", "0.52 0.58\n", "a b c\n", "1.2.3 4 5\n", "-1.0 2 3\n", "0.52,0.58,0.59\n", "1234567890123456789 1 1",
  ])
  func malformedLoadavgIsAnError(text: String) {
    #expect(throws: ProcFileError.self) { try ProcFiles.parseLoadavg(text) }
  }

  @Test func processStatCountsFieldsFromTheLastParenthesis() throws {
    let stat = try ProcFiles.parseProcessStat(ProcFixtures.selfStat)
    #expect(
      stat
        == ProcessStat(
          command: "a b) c", userTicks: 1500, systemTicks: 250, threads: 7, startTicks: 98765, residentPages: 2560))
  }

  @Test func processStatOfAPlainName() throws {
    let text = "1 (systemd) S 0 1 1 0 -1 4194560 100 0 0 0 30 40 0 0 20 0 1 0 12 1000 300 0\n"
    let stat = try ProcFiles.parseProcessStat(text)
    #expect(
      stat
        == ProcessStat(
          command: "systemd", userTicks: 30, systemTicks: 40, threads: 1, startTicks: 12, residentPages: 300))
  }

  @Test(arguments: [
    "",
    "4242 a b c S 1 2 3\n",
    "4242 ) S 1 (x\n",
    "4242 (x) S 1 4242 4242 0 -1 4194560 1234 0 5 0 1500\n",
    "4242 (x) S 1 4242 4242 0 -1 4194560 1234 0 5 0 15x0 250 0 0 20 0 7 0 98765 1 2560\n",
    "4242 (x) S 1 4242 4242 0 -1 4194560 1234 0 5 0 1500 250 0 0 20 0 7 0 98765 1 -2560\n",
  ])
  func malformedProcessStatIsAnError(text: String) {
    #expect(throws: ProcFileError.self) { try ProcFiles.parseProcessStat(text) }
  }

  @Test func processStatusReadsVmRSSAndThreads() throws {
    #expect(
      try ProcFiles.parseProcessStatus(ProcFixtures.selfStatus) == ProcessStatus(residentBytes: 10_485_760, threads: 7))
    #expect(throws: ProcFileError.malformed(file: "/proc/self/status", reason: "no VmRSS line")) {
      try ProcFiles.parseProcessStatus("Name:\tkthreadd\nThreads:\t1\n")
    }
    #expect(throws: ProcFileError.malformed(file: "/proc/self/status", reason: "no Threads line")) {
      try ProcFiles.parseProcessStatus("VmRSS:\t 100 kB\n")
    }
  }

  @Test func uptimeIsTheFirstField() throws {
    #expect(try ProcFiles.parseUptime("11314.07 13417.31\n") == 11314.07)
    #expect(throws: ProcFileError.self) { try ProcFiles.parseUptime("up\n") }
  }

  /// Every prefix of every fixture either parses or is a `ProcFileError`: no trap, no other error.
  @Test func truncatedFilesNeverTrap() {
    let cases: [(String, (String) throws -> Void)] = [
      (ProcFixtures.stat, { _ = try ProcFiles.parseStat($0) }),
      (ProcFixtures.meminfo, { _ = try ProcFiles.parseMeminfo($0) }),
      (ProcFixtures.meminfoWithoutAvailable, { _ = try ProcFiles.parseMeminfo($0) }),
      (ProcFixtures.selfStat, { _ = try ProcFiles.parseProcessStat($0) }),
      (ProcFixtures.selfStatus, { _ = try ProcFiles.parseProcessStatus($0) }),
      ("0.52 0.58 0.59 1/467 12345\n", { _ = try ProcFiles.parseLoadavg($0) }),
    ]
    var failures = 0
    var otherErrors = 0
    for (text, parse) in cases {
      let bytes = Array(text.utf8)
      for length in 0...bytes.count {
        do {
          try parse(String(decoding: bytes[..<length], as: UTF8.self))
        } catch is ProcFileError {
          failures += 1
        } catch {
          otherErrors += 1
        }
      }
    }
    #expect(otherErrors == 0)
    #expect(failures > 0)  // The short prefixes at least are refused.
  }

  @Test func nonUTF8AndBinaryJunkAreErrorsOrParse() {
    let junk: [UInt8] = [0xFF, 0xFE, 0x00, 0x28, 0x29, 0x0A, 0x63, 0x70, 0x75, 0x20, 0x0A]
    junk.withUnsafeBytes { bytes in
      #expect(throws: ProcFileError.self) { try ProcFiles.parseStat(bytes) }
      #expect(throws: ProcFileError.self) { try ProcFiles.parseMeminfo(bytes) }
      #expect(throws: ProcFileError.self) { try ProcFiles.parseLoadavg(bytes) }
      #expect(throws: ProcFileError.self) { try ProcFiles.parseProcessStat(bytes) }
      #expect(throws: ProcFileError.self) { try ProcFiles.parseProcessStatus(bytes) }
    }
  }
}

/// A monotonic clock the test moves by hand.
final class ManualMonotonicClock: Sendable {
  private let now = Atomic<UInt64>(5_000_000_000_000)

  func advance(seconds: UInt64) { now.add(seconds * 1_000_000_000, ordering: .relaxed) }

  var monitorClock: MonitorClock {
    MonitorClock(
      wallTime: { Timestamp(millisecondsSinceEpoch: 1_795_000_000_000) },
      monotonicNanoseconds: { [self] in now.load(ordering: .relaxed) })
  }
}

@Suite struct SystemMonitorTests {
  let ticks = UInt64(sysconf(Int32(_SC_CLK_TCK)))
  let pageSize = sysconf(Int32(_SC_PAGESIZE))

  func write(_ text: String, to path: String) throws {
    try text.write(toFile: path, atomically: false, encoding: .utf8)
  }

  /// A /proc/self/stat fixture with the given CPU ticks, start tick and resident pages.
  func selfStat(user: UInt64, system: UInt64, start: UInt64, pages: Int = 2560, threads: Int = 7) -> String {
    "4242 (min ions) S 1 4242 4242 0 -1 4194560 1234 0 5 0 \(user) \(system) 0 0 20 0 \(threads) 0 \(start) "
      + "123456789 \(pages) 18446744073709551615 1 1 0 0 0\n"
  }

  func fixtureRoot() throws -> String {
    let root = try temporaryDirectory(prefix: "proc-fixture")
    try FileManager.default.createDirectory(atPath: root + "/self", withIntermediateDirectories: true)
    return root
  }

  @Test func cpuPercentagesAreDeltasBetweenSamples() throws {
    let root = try fixtureRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let time = ManualMonotonicClock()
    // Since boot: 10000 ticks, of which 7500 idle or iowait → 25 % busy.
    try write(
      "cpu  2000 100 400 7000 500 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\ncpu2 1 1 1 1\ncpu3 1 1 1 1\n", to: root + "/stat")
    try write(ProcFixtures.meminfo, to: root + "/meminfo")
    try write("0.50 0.25 1.75 2/300 999\n", to: root + "/loadavg")
    try write("1000.00 1800.00\n", to: root + "/uptime")
    // Started 488 s after boot, so 512 s old; 128 s of CPU so far → 25 % of a core.
    try write(selfStat(user: ticks * 100, system: ticks * 28, start: ticks * 488), to: root + "/self/stat")

    let monitor = SystemMonitor(procRoot: root, clock: time.monitorClock)
    let first = monitor.sample()
    #expect(
      first
        == SystemSample(
          timestamp: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000),
          system: .init(
            cpuPercent: 25, memoryPercent: 25, memoryUsedBytes: 6_144_000 * 1024, memoryTotalBytes: 24_576_000 * 1024,
            loadAverage: [0.5, 0.25, 1.75]),
          process: .init(cpuPercent: 25, rssBytes: 2560 * pageSize, threads: 7, uptimeSeconds: 512)))

    // 1000 more ticks, 500 of them busy → 50 %; 3 s of process CPU in 2 s → 150 % (1.5 cores).
    try write(
      "cpu  2300 100 600 7400 600 0 0 0\ncpu0 1 1 1 1\ncpu1 1 1 1 1\ncpu2 1 1 1 1\ncpu3 1 1 1 1\n", to: root + "/stat")
    try write(
      selfStat(user: ticks * 102, system: ticks * 29, start: ticks * 488, pages: 4096, threads: 9),
      to: root + "/self/stat")
    time.advance(seconds: 2)
    let second = monitor.sample()
    #expect(second.system.cpuPercent == 50)
    #expect(second.process.cpuPercent == 150)
    #expect(second.process.uptimeSeconds == 514)
    #expect(second.process.rssBytes == 4096 * pageSize && second.process.threads == 9)

    // No time and no ticks passed: the last rates stand rather than dropping to zero.
    let third = monitor.sample()
    #expect(third.system.cpuPercent == 50 && third.process.cpuPercent == 150)

    // Counters that go backwards (another machine's figures) never give negative rates.
    try write("cpu  10 0 10 10 0 0 0 0\ncpu0 1 1 1 1\n", to: root + "/stat")
    try write(selfStat(user: 1, system: 1, start: ticks * 488), to: root + "/self/stat")
    time.advance(seconds: 1)
    let fourth = monitor.sample()
    #expect((0...100).contains(fourth.system.cpuPercent))
    #expect(fourth.process.cpuPercent == 0)
  }

  @Test func processCPUIsCappedAtAllCoresBusy() throws {
    let root = try fixtureRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let time = ManualMonotonicClock()
    try write("cpu  1 1 1 1\ncpu0 1 1 1 1\ncpu1 1 1 1 1\n", to: root + "/stat")
    try write("100.00 100.00\n", to: root + "/uptime")
    try write(selfStat(user: 0, system: 0, start: ticks * 90), to: root + "/self/stat")
    let monitor = SystemMonitor(procRoot: root, clock: time.monitorClock)
    _ = monitor.sample()
    // 10 s of CPU in 1 s on a 2-CPU machine is impossible; it is reported as 200 %.
    try write(selfStat(user: ticks * 10, system: 0, start: ticks * 90), to: root + "/self/stat")
    time.advance(seconds: 1)
    #expect(monitor.sample().process.cpuPercent == 200)
  }

  @Test func withoutUptimeTheProcessAgeCountsFromTheMonitor() throws {
    let root = try fixtureRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let time = ManualMonotonicClock()
    try write(selfStat(user: ticks * 50, system: 0, start: ticks * 10), to: root + "/self/stat")
    let monitor = SystemMonitor(procRoot: root, clock: time.monitorClock)
    #expect(monitor.sample().process.uptimeSeconds == 0)
    // The ticks already used before the monitor existed are the baseline, not a burst.
    try write(selfStat(user: ticks * 51, system: 0, start: ticks * 10), to: root + "/self/stat")
    time.advance(seconds: 4)
    let sample = monitor.sample()
    #expect(sample.process.uptimeSeconds == 4 && sample.process.cpuPercent == 25)
  }

  @Test func missingAndMalformedFilesGiveZerosNotFailures() throws {
    let root = try fixtureRoot()
    defer { try? FileManager.default.removeItem(atPath: root) }
    try write("cpu oops\n", to: root + "/stat")
    try write(ProcFixtures.selfStatus, to: root + "/self/status")  // self/stat is missing: status stands in
    let monitor = SystemMonitor(procRoot: root, clock: ManualMonotonicClock().monitorClock)
    let sample = monitor.sample()
    #expect(
      sample.system
        == .init(cpuPercent: 0, memoryPercent: 0, memoryUsedBytes: 0, memoryTotalBytes: 0, loadAverage: [0, 0, 0]))
    #expect(sample.process == .init(cpuPercent: 0, rssBytes: 10_485_760, threads: 7, uptimeSeconds: 0))

    let nowhere = SystemMonitor(procRoot: root + "/missing", clock: ManualMonotonicClock().monitorClock)
    #expect(nowhere.sample().process == .init(cpuPercent: 0, rssBytes: 0, threads: 0, uptimeSeconds: 0))
  }

  @Test func encodesWithTheProtocolsNames() throws {
    let sample = SystemSample(
      timestamp: Timestamp(millisecondsSinceEpoch: 1_795_000_000_000),
      system: .init(
        cpuPercent: 12.5, memoryPercent: 40, memoryUsedBytes: 4, memoryTotalBytes: 10, loadAverage: [1, 2, 3]),
      process: .init(cpuPercent: 3.5, rssBytes: 2048, threads: 5, uptimeSeconds: 60))
    let json = try JSONValueEncoder().encode(sample)
    #expect(
      json
        == [
          "timestamp": "2026-11-18T11:06:40Z",
          "system": [
            "cpuPercent": 12.5, "memoryPercent": 40.0, "memoryUsedBytes": 4, "memoryTotalBytes": 10,
            "loadAverage": [1.0, 2.0, 3.0],
          ],
          "process": ["cpuPercent": 3.5, "rssBytes": 2048, "threads": 5, "uptimeSeconds": 60.0],
        ])
  }

  @Test func liveSystemFiguresArePlausible() {
    let monitor = SystemMonitor()
    let samples = [monitor.sample(), monitor.sample()]
    for sample in samples {
      #expect(sample.system.memoryTotalBytes > 0)
      #expect(sample.system.memoryUsedBytes > 0 && sample.system.memoryUsedBytes <= sample.system.memoryTotalBytes)
      #expect(sample.system.memoryPercent > 0 && sample.system.memoryPercent <= 100)
      #expect((0...100).contains(sample.system.cpuPercent))
      #expect(sample.system.loadAverage.count == 3 && sample.system.loadAverage.allSatisfy { $0 >= 0 })
      #expect(sample.process.threads >= 1)
      #expect(sample.process.rssBytes > 1_000_000)
      #expect(sample.process.cpuPercent >= 0)
      #expect(sample.process.uptimeSeconds > 0)
    }
    // The test process is at least as old as the monitor and did not start before boot.
    let uptime = try? ProcFiles.parseUptime(String(contentsOfFile: "/proc/uptime", encoding: .utf8))
    #expect(samples[1].process.uptimeSeconds <= (uptime ?? 0) + 1)
    #expect(samples[1].process.uptimeSeconds >= samples[0].process.uptimeSeconds)
  }
}
