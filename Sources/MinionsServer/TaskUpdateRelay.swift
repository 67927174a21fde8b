import MinionsCore
import Synchronization

/// Delivers `tasks/updated` to the connection that submitted each task, in the order the changes
/// happened, and never before the `tasks/submit` reply that told the client the task's id: while a
/// submit on a connection is being answered, that connection's updates are held, then sent in order.
final class TaskUpdateRelay: Sendable {
  private struct Queue {
    var held = 0
    var pending: [JSONValue] = []
    var draining = false
  }

  private let queues = Mutex<[Int: Queue]>([:])

  /// Holds the connection's updates until `release` (call before submitting).
  func hold(_ connection: Int) {
    queues.withLock { $0[connection, default: Queue()].held += 1 }
  }

  /// Ends one `hold`; the held updates go out once no submit is being answered.
  func release(_ connection: Int, session: @escaping @Sendable () -> ClientSession?) {
    let start = queues.withLock { q -> Bool in
      q[connection, default: Queue()].held -= 1
      return Self.claimDrain(&q, connection)
    }
    if start { drain(connection, session: session) }
  }

  /// Queues an update for the connection.
  func send(_ params: JSONValue, to connection: Int, session: @escaping @Sendable () -> ClientSession?) {
    let start = queues.withLock { q -> Bool in
      q[connection, default: Queue()].pending.append(params)
      return Self.claimDrain(&q, connection)
    }
    if start { drain(connection, session: session) }
  }

  /// Forgets a closed connection.
  func forget(_ connection: Int) {
    queues.withLock { _ = $0.removeValue(forKey: connection) }
  }

  /// Whether the caller should start draining (nothing held, something pending, no drain running).
  private static func claimDrain(_ q: inout [Int: Queue], _ connection: Int) -> Bool {
    guard var queue = q[connection], queue.held <= 0, !queue.pending.isEmpty, !queue.draining else {
      if let queue = q[connection], queue.held <= 0, queue.pending.isEmpty, !queue.draining {
        q.removeValue(forKey: connection)
      }
      return false
    }
    queue.draining = true
    q[connection] = queue
    return true
  }

  private func drain(_ connection: Int, session: @escaping @Sendable () -> ClientSession?) {
    Task {
      while true {
        let next = queues.withLock { q -> JSONValue? in
          guard var queue = q[connection] else { return nil }
          if queue.held > 0 || queue.pending.isEmpty {
            queue.draining = false
            q[connection] = queue
            return nil
          }
          let params = queue.pending.removeFirst()
          q[connection] = queue
          return params
        }
        guard let next else { return }
        await session()?.notify("tasks/updated", next)
      }
    }
  }
}
