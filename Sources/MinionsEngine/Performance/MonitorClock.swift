import MinionsCore

/// The time sources of a `SystemMonitor`: wall time stamps samples, monotonic time measures the
/// interval between them. Tests substitute both to compute rates from fixture files exactly.
public struct MonitorClock: Sendable {
  public var wallTime: @Sendable () -> Timestamp
  /// Nanoseconds from an arbitrary origin that never goes backwards.
  public var monotonicNanoseconds: @Sendable () -> UInt64

  public init(wallTime: @escaping @Sendable () -> Timestamp, monotonicNanoseconds: @escaping @Sendable () -> UInt64) {
    self.wallTime = wallTime
    self.monotonicNanoseconds = monotonicNanoseconds
  }

  /// The system's realtime and monotonic clocks.
  public static let system = MonitorClock(
    wallTime: { Timestamp.now() }, monotonicNanoseconds: { MonotonicClock.nanoseconds() })
}
