import MinionsCore
import Synchronization

/// The engine's wall clock. Tests move it forward to cross lockout windows and token expiry without
/// waiting; in production it is the system clock.
public final class EngineClock: Sendable {
  private let offsetMilliseconds = Atomic<Int64>(0)

  public init() {}

  public func now() -> Timestamp { Timestamp.now().adding(milliseconds: offsetMilliseconds.load(ordering: .relaxed)) }

  /// Moves the clock forward (tests only).
  public func advance(seconds: Int64) { offsetMilliseconds.add(seconds * 1000, ordering: .relaxed) }
}
