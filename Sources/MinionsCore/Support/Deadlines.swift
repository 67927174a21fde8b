/// Runs actions at deadlines on one shared thread: the cheap way to put a time limit on work (a tool
/// call, a request) without a sleeping task per limit. Actions run on the deadline thread and must be
/// quick (cancel a task, set a flag).
public final class Deadlines: @unchecked Sendable {  // all mutable state is guarded by `lock`
  public static let shared = Deadlines()

  private struct Entry {
    var id: Int
    var at: UInt64
    var action: @Sendable () -> Void
  }

  private let lock = ConditionLock()
  private var entries: [Entry] = []
  private var nextID = 0
  private var started = false

  public init() {}

  /// Runs `action` once `seconds` have passed, unless `cancel` is called first with the returned id.
  @discardableResult
  public func schedule(after seconds: Double, _ action: @escaping @Sendable () -> Void) -> Int {
    let at = MonotonicClock.nanoseconds() &+ UInt64(max(0, seconds) * 1e9)
    lock.lock()
    nextID += 1
    let id = nextID
    // Kept sorted by deadline (few entries at a time: one per running call).
    let index = entries.firstIndex { $0.at > at } ?? entries.count
    entries.insert(Entry(id: id, at: at, action: action), at: index)
    let startThread = !started
    started = true
    if index == 0 { lock.signal() }
    lock.unlock()
    if startThread { spawnThread(name: "deadlines", stackSize: 256 * 1024) { [self] in run() } }
    return id
  }

  /// Forgets a deadline that has not fired.
  public func cancel(_ id: Int) {
    lock.withLock { entries.removeAll { $0.id == id } }
  }

  private func run() {
    lock.lock()
    while true {
      guard let first = entries.first else {
        lock.wait()
        continue
      }
      let now = MonotonicClock.nanoseconds()
      if first.at <= now {
        entries.removeFirst()
        lock.unlock()
        first.action()
        lock.lock()
      } else {
        _ = lock.wait(seconds: Double(first.at - now) / 1e9)
      }
    }
  }
}
