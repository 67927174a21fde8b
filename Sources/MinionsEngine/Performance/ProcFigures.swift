/// The aggregate `cpu` line of `/proc/stat`: the time all CPUs together spent in each state since
/// boot, in clock ticks (`sysconf(_SC_CLK_TCK)`), and how many `cpuN` lines followed it.
public struct CPUTimes: Sendable, Equatable {
  public var user: UInt64
  public var nice: UInt64
  public var system: UInt64
  public var idle: UInt64
  public var iowait: UInt64
  public var irq: UInt64
  public var softirq: UInt64
  public var steal: UInt64
  /// The number of `cpuN` lines: the CPUs online when the file was read (0 if the file listed none).
  public var cpuCount: Int

  public init(
    user: UInt64, nice: UInt64, system: UInt64, idle: UInt64, iowait: UInt64 = 0, irq: UInt64 = 0,
    softirq: UInt64 = 0, steal: UInt64 = 0, cpuCount: Int = 0
  ) {
    self.user = user
    self.nice = nice
    self.system = system
    self.idle = idle
    self.iowait = iowait
    self.irq = irq
    self.softirq = softirq
    self.steal = steal
    self.cpuCount = cpuCount
  }

  /// Ticks spent doing nothing: idle, and idle waiting for I/O (a CPU waiting on a disk is free to run
  /// other work, which is why `top` counts it as not busy).
  public var idleTicks: Double { Double(idle) + Double(iowait) }

  /// Every tick counted. Guest time is already inside `user` and `nice`, so it is not added again.
  /// (Summed as `Double` so absurd counters cannot overflow.)
  public var totalTicks: Double {
    Double(user) + Double(nice) + Double(system) + Double(idle) + Double(iowait) + Double(irq) + Double(softirq)
      + Double(steal)
  }
}

/// `/proc/meminfo`'s totals, in bytes.
public struct MemoryInfo: Sendable, Equatable {
  /// `MemTotal`: usable RAM.
  public var totalBytes: Int
  /// `MemAvailable`, the kernel's estimate of what can be allocated without swapping; on kernels
  /// before 3.14, which lack it, `MemFree + Buffers + Cached`.
  public var availableBytes: Int
  /// True when `availableBytes` is the `MemFree + Buffers + Cached` fallback.
  public var availableIsEstimated: Bool

  public init(totalBytes: Int, availableBytes: Int, availableIsEstimated: Bool = false) {
    self.totalBytes = totalBytes
    self.availableBytes = availableBytes
    self.availableIsEstimated = availableIsEstimated
  }

  /// Memory in use: total less available (never negative).
  public var usedBytes: Int { max(0, totalBytes - availableBytes) }
}

/// `/proc/loadavg`'s run-queue averages over 1, 5 and 15 minutes.
public struct LoadAverage: Sendable, Equatable {
  public var one: Double
  public var five: Double
  public var fifteen: Double

  public init(one: Double, five: Double, fifteen: Double) {
    self.one = one
    self.five = five
    self.fifteen = fifteen
  }
}

/// The fields of `/proc/[pid]/stat` the monitor uses.
public struct ProcessStat: Sendable, Equatable {
  /// The command name between the parentheses (up to 15 bytes; may hold spaces and parentheses).
  public var command: String
  /// CPU time in user and kernel mode, in clock ticks.
  public var userTicks: UInt64
  public var systemTicks: UInt64
  public var threads: Int
  /// When the process started, in clock ticks after boot.
  public var startTicks: UInt64
  /// Resident set size in pages.
  public var residentPages: Int

  public init(
    command: String, userTicks: UInt64, systemTicks: UInt64, threads: Int, startTicks: UInt64, residentPages: Int
  ) {
    self.command = command
    self.userTicks = userTicks
    self.systemTicks = systemTicks
    self.threads = threads
    self.startTicks = startTicks
    self.residentPages = residentPages
  }
}

/// The fields of `/proc/[pid]/status` the monitor uses.
public struct ProcessStatus: Sendable, Equatable {
  /// `VmRSS`, in bytes.
  public var residentBytes: Int
  /// `Threads`.
  public var threads: Int

  public init(residentBytes: Int, threads: Int) {
    self.residentBytes = residentBytes
    self.threads = threads
  }
}
