import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Samples machine and process figures from `/proc` for `metrics/snapshot`.
///
/// Rates (CPU percentages) are deltas between consecutive samples, so the monitor keeps the previous
/// counters; concurrent callers are serialised by a lock and each sample measures from the one before
/// it, whoever took it. A sample reads four small files, each with one `read` into a buffer the
/// monitor reuses, and allocates little beyond the result. A figure whose file cannot be read or
/// parsed is reported as 0 (and logged once per file), so a sample never fails.
public final class SystemMonitor: Sendable {
  /// A `/proc` file's path, kept both as text (for errors) and as a C string (for `open`).
  private struct ProcFile: Sendable {
    let path: String
    let cPath: [CChar]

    init(_ root: String, _ name: String) {
      path = root + "/" + name
      cPath = Array(path.utf8CString)
    }
  }

  private struct State {
    /// Where each file is read: one allocation for the monitor's life.
    var buffer: [UInt8]
    /// System counters at the previous sample; nil before the first, which measures from boot.
    var previousCPU: CPUTimes?
    /// Process CPU ticks and the time they were read, in seconds relative to `createdNanoseconds`.
    var previousProcessTicks: UInt64
    var previousProcessSeconds: Double
    /// The latest rates, repeated when no time has passed between two samples.
    var systemCPUPercent = 0.0
    var processCPUPercent = 0.0
    /// Files whose failure has been logged.
    var reportedFailures: Set<String> = []
  }

  /// Read size: `/proc/stat` lists its cpu lines first, and those are all it needs of the file.
  static let bufferSize = 32 * 1024

  private let stat: ProcFile
  private let meminfo: ProcFile
  private let loadavg: ProcFile
  private let selfStat: ProcFile
  private let selfStatus: ProcFile
  private let clock: MonitorClock
  private let logger: Logger
  private let ticksPerSecond: Double
  private let pageSize: Int
  private let createdNanoseconds: UInt64
  /// How old the process was when the monitor was made (0 when `/proc/uptime` or the start time in
  /// `/proc/self/stat` cannot be read; uptime then counts from the monitor's creation).
  private let processAgeAtCreation: Double
  private let state: Mutex<State>

  /// A monitor reading the files under `procRoot` (tests point it at a directory of fixtures).
  public init(procRoot: String = "/proc", clock: MonitorClock = .system, logger: Logger = .disabled) {
    stat = ProcFile(procRoot, "stat")
    meminfo = ProcFile(procRoot, "meminfo")
    loadavg = ProcFile(procRoot, "loadavg")
    selfStat = ProcFile(procRoot, "self/stat")
    selfStatus = ProcFile(procRoot, "self/status")
    self.clock = clock
    self.logger = logger
    let ticks = sysconf(Int32(_SC_CLK_TCK))
    ticksPerSecond = ticks > 0 ? Double(ticks) : 100
    let page = sysconf(Int32(_SC_PAGESIZE))
    pageSize = page > 0 ? page : 4096
    createdNanoseconds = clock.monotonicNanoseconds()

    // The process's age, from its start time in ticks after boot and the time since boot; its CPU
    // ticks so far are the baseline of the first sample's rate.
    var state = State(
      buffer: [UInt8](repeating: 0, count: Self.bufferSize), previousProcessTicks: 0, previousProcessSeconds: 0)
    let uptimeFile = ProcFile(procRoot, "uptime")
    let process = try? Self.read(selfStat, into: &state.buffer, ProcFiles.parseProcessStat).get()
    let bootUptime = try? Self.read(uptimeFile, into: &state.buffer, ProcFiles.parseUptime).get()
    if let process, let bootUptime {
      processAgeAtCreation = max(0, bootUptime - Double(process.startTicks) / ticksPerSecond)
      state.previousProcessSeconds = -processAgeAtCreation
    } else {
      processAgeAtCreation = 0
      if let process { state.previousProcessTicks = process.userTicks &+ process.systemTicks }
    }
    self.state = Mutex(state)
  }

  /// Reads the files and returns the current figures; see `SystemSample` for what each means.
  public func sample() -> SystemSample {
    state.withLock { state in
      let now = clock.monotonicNanoseconds()
      let timestamp = clock.wallTime()
      let secondsSinceCreation = Double(now &- createdNanoseconds) / 1e9

      var system = SystemSample.SystemFigures(
        cpuPercent: 0, memoryPercent: 0, memoryUsedBytes: 0, memoryTotalBytes: 0, loadAverage: [0, 0, 0])
      var cpuCount = 0
      if let times = take(stat, ProcFiles.parseStat, &state) {
        cpuCount = times.cpuCount
        system.cpuPercent = systemCPUPercent(times, &state)
      }
      if let memory = take(meminfo, ProcFiles.parseMeminfo, &state) {
        system.memoryTotalBytes = memory.totalBytes
        system.memoryUsedBytes = memory.usedBytes
        system.memoryPercent = Double(memory.usedBytes) / Double(memory.totalBytes) * 100
      }
      if let load = take(loadavg, ProcFiles.parseLoadavg, &state) {
        system.loadAverage = [load.one, load.five, load.fifteen]
      }

      var process = SystemSample.ProcessFigures(
        cpuPercent: 0, rssBytes: 0, threads: 0, uptimeSeconds: processAgeAtCreation + secondsSinceCreation)
      if let stat = take(selfStat, ProcFiles.parseProcessStat, &state) {
        let (rss, overflow) = stat.residentPages.multipliedReportingOverflow(by: pageSize)
        process.rssBytes = overflow ? Int.max : rss
        process.threads = stat.threads
        process.cpuPercent = processCPUPercent(
          ticks: stat.userTicks &+ stat.systemTicks, at: secondsSinceCreation, cpuCount: cpuCount, &state)
      } else if let status = take(selfStatus, ProcFiles.parseProcessStatus, &state) {
        process.rssBytes = status.residentBytes
        process.threads = status.threads
      }
      return SystemSample(timestamp: timestamp, system: system, process: process)
    }
  }

  /// Busy ticks over all ticks since the previous sample (since boot for the first), where busy is
  /// everything but idle and iowait.
  private func systemCPUPercent(_ times: CPUTimes, _ state: inout State) -> Double {
    let previous = state.previousCPU ?? CPUTimes(user: 0, nice: 0, system: 0, idle: 0)
    let total = times.totalTicks - previous.totalTicks
    if total == 0 { return state.systemCPUPercent }  // Within one tick: keep the last rate and baseline.
    state.previousCPU = times
    // Counters that went backwards (a different machine's fixture, a wrapped counter) restart the
    // measurement from here.
    guard total > 0 else { return state.systemCPUPercent }
    let idle = times.idleTicks - previous.idleTicks
    state.systemCPUPercent = min(100, max(0, (total - idle) / total * 100))
    return state.systemCPUPercent
  }

  /// CPU ticks per wall second since the previous sample (since the process started for the first), in
  /// percent of one core, at most 100 × the CPUs `/proc/stat` lists.
  private func processCPUPercent(ticks: UInt64, at seconds: Double, cpuCount: Int, _ state: inout State) -> Double {
    let elapsed = seconds - state.previousProcessSeconds
    guard elapsed > 0 else { return state.processCPUPercent }
    let used = ticks >= state.previousProcessTicks ? Double(ticks - state.previousProcessTicks) / ticksPerSecond : 0
    state.previousProcessTicks = ticks
    state.previousProcessSeconds = seconds
    var percent = used / elapsed * 100
    if cpuCount > 0 { percent = min(percent, Double(cpuCount) * 100) }
    state.processCPUPercent = percent
    return percent
  }

  /// Reads and parses `file`, or logs (once per file) why it could not and returns nil.
  private func take<Figures>(
    _ file: ProcFile, _ parse: (UnsafeRawBufferPointer) throws(ProcFileError) -> Figures, _ state: inout State
  ) -> Figures? {
    switch Self.read(file, into: &state.buffer, parse) {
    case .success(let figures):
      return figures
    case .failure(let error):
      if state.reportedFailures.insert(file.path).inserted {
        logger.warning("system monitor: \(error); its figures are reported as 0")
      }
      return nil
    }
  }

  /// One `open`, one `read` of up to the buffer's size, one `close`, then `parse` over what was read.
  private static func read<Figures>(
    _ file: ProcFile, into buffer: inout [UInt8], _ parse: (UnsafeRawBufferPointer) throws(ProcFileError) -> Figures
  ) -> Result<Figures, ProcFileError> {
    let fd = file.cPath.withUnsafeBufferPointer { open($0.baseAddress!, O_RDONLY | O_CLOEXEC) }
    guard fd >= 0 else { return .failure(.unreadable(path: file.path, errno: errno)) }
    defer { close(fd) }
    return buffer.withUnsafeMutableBytes { bytes in
      var count: Int
      repeat { count = Glibc.read(fd, bytes.baseAddress, bytes.count) } while count < 0 && errno == EINTR
      guard count >= 0 else { return .failure(.unreadable(path: file.path, errno: errno)) }
      return Result { () throws(ProcFileError) -> Figures in
        try parse(UnsafeRawBufferPointer(rebasing: bytes[..<count]))
      }
    }
  }
}
