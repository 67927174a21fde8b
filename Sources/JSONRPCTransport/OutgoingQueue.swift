#if canImport(Glibc)
import Glibc
#endif
import JSONRPC
import MinionsCore

/// The bounded, ordered queue of everything a connection sends, drained by one writer thread.
///
/// - Messages are written in the order they were enqueued, so a handler's notifications always precede
///   its reply. Each message is framed and written header-and-body in one `write`; under load several
///   messages share one write.
/// - Memory is bounded: once `maxQueuedBytes` are waiting, further senders are suspended (async) or
///   blocked (threads) until the writer catches up, so a client that stops reading slows its own
///   requests instead of growing the server.
/// - Droppable messages (`enqueueLatest`) keep only the newest per key: a slow reader of metrics gets
///   the latest snapshot, never a backlog.
final class OutgoingQueue: @unchecked Sendable {  // all mutable state is guarded by `lock`
  private enum Entry {
    case message([UInt8])
    case latest(String)
  }

  private struct Waiter {
    var body: [UInt8]
    var continuation: CheckedContinuation<Void, Never>?
    var event: OneShotEvent?
  }

  private let lock = ConditionLock()
  private let fd: Int32
  private let maxQueuedBytes: Int
  private let logger: Logger
  private var entries: [Entry] = []
  private var head = 0
  private var queuedBytes = 0
  private var latest: [String: [UInt8]] = [:]
  private var waiters: [Waiter] = []
  private var framing: Framing = .lsp
  private var closing = false
  private var failed = false
  private var writerExited = false
  /// Signalled when the writer has exited (everything flushed, or the peer is gone).
  let drained = OneShotEvent()
  /// Called once, from the writer thread, when a write fails (the peer went away).
  private let onFailure: @Sendable () -> Void

  init(fd: Int32, maxQueuedBytes: Int, logger: Logger, onFailure: @escaping @Sendable () -> Void) {
    self.fd = fd
    self.maxQueuedBytes = maxQueuedBytes
    self.logger = logger
    self.onFailure = onFailure
  }

  func start(name: String) {
    spawnThread(name: name) { [self] in writerLoop() }
  }

  func setFraming(_ f: Framing) {
    lock.withLock { framing = f }
  }

  var isFailed: Bool { lock.withLock { failed } }

  /// Enqueues `body` (an encoded JSON text) now if there is room; otherwise returns false.
  private func tryEnqueueLocked(_ body: [UInt8]) -> Bool {
    guard waiters.isEmpty, queuedBytes == 0 || queuedBytes + body.count <= maxQueuedBytes else { return false }
    entries.append(.message(body))
    queuedBytes += body.count
    lock.signal()
    return true
  }

  /// Enqueues a message in order, suspending while the queue is full.
  func enqueue(_ body: [UInt8]) async {
    lock.lock()
    if closing || failed {
      lock.unlock()
      return
    }
    if tryEnqueueLocked(body) {
      lock.unlock()
      return
    }
    lock.unlock()
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      lock.lock()
      if closing || failed {
        lock.unlock()
        continuation.resume()
        return
      }
      if tryEnqueueLocked(body) {
        lock.unlock()
        continuation.resume()
        return
      }
      waiters.append(Waiter(body: body, continuation: continuation, event: nil))
      lock.unlock()
    }
  }

  /// Enqueues a message in order, blocking the calling OS thread while the queue is full.
  /// - Important: never call from the cooperative pool; for reader threads only.
  func enqueueBlocking(_ body: [UInt8]) {
    lock.lock()
    if closing || failed {
      lock.unlock()
      return
    }
    if tryEnqueueLocked(body) {
      lock.unlock()
      return
    }
    let event = OneShotEvent()
    waiters.append(Waiter(body: body, continuation: nil, event: event))
    lock.unlock()
    event.wait()
  }

  /// Replaces any not-yet-written message with the same key, or enqueues this one. Never waits.
  func enqueueLatest(key: String, _ body: [UInt8]) {
    lock.withLock {
      guard !closing, !failed else { return }
      if latest[key] != nil {
        latest[key] = body
        return
      }
      latest[key] = body
      entries.append(.latest(key))
      lock.signal()
    }
  }

  /// Stops accepting messages; the writer exits once everything queued is written.
  func closeAfterFlush() {
    lock.withLock {
      closing = true
      // Waiters were accepted in order before the close: they are still written.
      lock.signal()
    }
  }

  private func admitWaitersLocked() {
    while let first = waiters.first, queuedBytes == 0 || queuedBytes + first.body.count <= maxQueuedBytes {
      waiters.removeFirst()
      entries.append(.message(first.body))
      queuedBytes += first.body.count
      first.continuation?.resume()
      first.event?.signal()
    }
  }

  private func releaseAllWaitersLocked() {
    for w in waiters {
      w.continuation?.resume()
      w.event?.signal()
    }
    waiters.removeAll()
  }

  private func writerLoop() {
    var batch: [UInt8] = []
    batch.reserveCapacity(64 << 10)
    lock.lock()
    while true {
      while head == entries.count && waiters.isEmpty && !closing { lock.wait() }
      if head == entries.count {
        admitWaitersLocked()
        if head == entries.count {
          if closing { break }
          continue
        }
      }
      batch.removeAll(keepingCapacity: true)
      let f = framing
      while head < entries.count && batch.count < (256 << 10) {
        let body: [UInt8]
        switch entries[head] {
        case .message(let b):
          body = b
          queuedBytes -= b.count
        case .latest(let key):
          body = latest.removeValue(forKey: key) ?? []
        }
        head += 1
        if body.isEmpty { continue }
        switch f {
        case .lsp:
          batch.append(contentsOf: "Content-Length: ".utf8)
          JSONWriter.writeInt(body.count, into: &batch)
          batch.append(contentsOf: [0x0D, 0x0A, 0x0D, 0x0A])
          batch.append(contentsOf: body)
        case .ndjson:
          batch.append(contentsOf: body)
          batch.append(0x0A)
        }
      }
      if head == entries.count {
        entries.removeAll(keepingCapacity: true)
        head = 0
      } else if head > 1024 && head * 2 > entries.count {
        entries.removeFirst(head)
        head = 0
      }
      admitWaitersLocked()
      lock.unlock()
      let ok = writeAll(batch)
      lock.lock()
      if !ok {
        failed = true
        entries.removeAll()
        head = 0
        queuedBytes = 0
        latest.removeAll()
        releaseAllWaitersLocked()
        break
      }
    }
    writerExited = true
    let didFail = failed
    lock.unlock()
    drained.signal()
    if didFail { onFailure() }
  }

  private func writeAll(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buf in
      var offset = 0
      while offset < buf.count {
        let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
        if n < 0 {
          if errno == EINTR || errno == EAGAIN { continue }
          logger.debug("write failed: \(String(cString: strerror(errno)))")
          return false
        }
        offset += n
      }
      return true
    }
  }
}
