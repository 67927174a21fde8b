import MinionsCore

/// One reading of the machine and of this process: the `system` and `process` parts of
/// `metrics/snapshot`, with the same member names when encoded.
public struct SystemSample: Sendable, Equatable, Codable {
  /// The machine as a whole.
  public struct SystemFigures: Sendable, Equatable, Codable {
    /// Busy share of all CPUs together since the previous sample, 0–100 (100 = every core busy). The
    /// first sample of a monitor covers the time since boot.
    public var cpuPercent: Double
    /// `memoryUsedBytes` as a share of `memoryTotalBytes`, 0–100.
    public var memoryPercent: Double
    /// Total less available memory (`MemAvailable`: what can be allocated without swapping).
    public var memoryUsedBytes: Int
    public var memoryTotalBytes: Int
    /// Run-queue averages over 1, 5 and 15 minutes.
    public var loadAverage: [Double]

    public init(
      cpuPercent: Double, memoryPercent: Double, memoryUsedBytes: Int, memoryTotalBytes: Int, loadAverage: [Double]
    ) {
      self.cpuPercent = cpuPercent
      self.memoryPercent = memoryPercent
      self.memoryUsedBytes = memoryUsedBytes
      self.memoryTotalBytes = memoryTotalBytes
      self.loadAverage = loadAverage
    }
  }

  /// This process (the engine).
  public struct ProcessFigures: Sendable, Equatable, Codable {
    /// CPU time used (user + kernel) per wall time since the previous sample, in percent of one core,
    /// as `top` and `ps` count it: 250 means two and a half cores busy, so the most is 100 × cores.
    /// The first sample of a monitor covers the time since the process started.
    public var cpuPercent: Double
    /// Resident memory.
    public var rssBytes: Int
    public var threads: Int
    /// Seconds since the process started (not since the monitor was made).
    public var uptimeSeconds: Double

    public init(cpuPercent: Double, rssBytes: Int, threads: Int, uptimeSeconds: Double) {
      self.cpuPercent = cpuPercent
      self.rssBytes = rssBytes
      self.threads = threads
      self.uptimeSeconds = uptimeSeconds
    }
  }

  /// When the sample was taken.
  public var timestamp: Timestamp
  public var system: SystemFigures
  public var process: ProcessFigures

  public init(timestamp: Timestamp, system: SystemFigures, process: ProcessFigures) {
    self.timestamp = timestamp
    self.system = system
    self.process = process
  }
}
