import JSONRPC
import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

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
    /// Already framed bytes (the rest of a direct write that the pipe could not take at once).
    case framed([UInt8])
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
  /// Someone (the writer thread or a direct writer) is writing to the descriptor right now.
  private var writing = false
  /// When the last direct write ended: replies close together go to the writer thread instead, which
  /// writes them in batches (one system call for many), while an isolated reply is written at once.
  private var lastDirectWrite: UInt64 = 0
  private static let directWriteSpacing: UInt64 = 20_000  // ns: replies closer than this are a burst
  /// In a burst, the writer lets small batches gather for up to this long (ns) before writing, so that
  /// a stream of tokens costs one wake-up and one `write` per batch rather than per message.
  private static let gatherWindow: UInt64 = 100_000
  /// A batch this large is written at once, without waiting out the window.
  private static let gatherBytes = 16 << 10
  /// The writer sleeps with nothing to do: the next message must wake it.
  private var writerIdle = false
  /// When the oldest message now queued was enqueued.
  private var oldestQueuedAt: UInt64 = 0
  /// A non-blocking descriptor for the same peer, used to write directly from the sending thread when
  /// the queue is idle (saving a thread wake-up per reply); -1 when the output cannot offer one.
  private var directFD: Int32
  private let directIsSocket: Bool
  /// Signalled when the writer has exited (everything flushed, or the peer is gone).
  let drained = OneShotEvent()
  /// Called once, from the writer thread, when a write fails (the peer went away).
  private let onFailure: @Sendable () -> Void

  init(fd: Int32, maxQueuedBytes: Int, logger: Logger, onFailure: @escaping @Sendable () -> Void) {
    self.fd = fd
    self.maxQueuedBytes = maxQueuedBytes
    self.logger = logger
    self.onFailure = onFailure
    let (direct, isSocket) = Self.openDirectDescriptor(for: fd)
    directFD = direct
    directIsSocket = isSocket
  }

  deinit {
    if directFD >= 0 && !directIsSocket { Glibc.close(directFD) }
  }

  /// Closes the reopened pipe descriptor, so the peer sees end-of-file once the connection closes.
  private func closeDirectLocked() {
    if directFD >= 0 && !directIsSocket { Glibc.close(directFD) }
    directFD = -1
  }

  /// Sockets take per-call non-blocking sends. A pipe is reopened through /proc to get a private,
  /// non-blocking open file description (setting O_NONBLOCK on stdout itself would affect whoever
  /// shares it). Anything else (a regular file, a terminal) is written by the writer thread only.
  private static func openDirectDescriptor(for fd: Int32) -> (Int32, Bool) {
    var st = stat()
    guard fstat(fd, &st) == 0 else { return (-1, false) }
    switch st.st_mode & S_IFMT {
    case S_IFSOCK:
      return (fd, true)
    case S_IFIFO:
      let reopened = open("/proc/self/fd/\(fd)", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
      return (reopened, false)
    default:
      return (-1, false)
    }
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
    if head == entries.count { oldestQueuedAt = MonotonicClock.nanoseconds() }
    entries.append(.message(body))
    queuedBytes += body.count
    // A writer gathering a batch is not woken for each message: only when the batch is full.
    if writerIdle || queuedBytes >= Self.gatherBytes { lock.signal() }
    return true
  }

  /// Enqueues a message in order, suspending while the queue is full.
  func enqueue(_ body: [UInt8]) async {
    lock.lock()
    if closing || failed {
      lock.unlock()
      return
    }
    if directFD >= 0 && head == entries.count && waiters.isEmpty && !writing
      && MonotonicClock.nanoseconds() &- lastDirectWrite > Self.directWriteSpacing
    {
      writeDirectly(body)  // unlocks
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

  /// Writes `body` from the calling thread without blocking; whatever the peer cannot take now is
  /// queued (in front, as nothing was queued before it) for the writer thread.
  /// - Important: called with the lock held; returns with it released.
  private func writeDirectly(_ body: [UInt8]) {
    writing = true
    let f = framing
    let direct = directFD  // stays open while `writing` is set: only the exiting writer closes it
    lock.unlock()
    var framed: [UInt8] = []
    frame(body, f, into: &framed)
    var offset = 0
    var hardError = false
    framed.withUnsafeBytes { buf in
      while offset < buf.count {
        let n =
          directIsSocket
          ? send(direct, buf.baseAddress! + offset, buf.count - offset, Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL))
          : Glibc.write(direct, buf.baseAddress! + offset, buf.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          if errno != EAGAIN && errno != EWOULDBLOCK { hardError = true }
          return
        }
        offset += n
      }
    }
    lock.lock()
    writing = false
    lastDirectWrite = MonotonicClock.nanoseconds()
    if hardError {
      failLocked()
      lock.signal()
      lock.unlock()
      return
    }
    if offset < framed.count {
      let rest = Array(framed[offset...])
      entries.insert(.framed(rest), at: head)
      queuedBytes += rest.count
    }
    if head < entries.count || !waiters.isEmpty || closing { lock.signal() }
    lock.unlock()
  }

  private func frame(_ body: [UInt8], _ f: Framing, into batch: inout [UInt8]) {
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

  private func failLocked() {
    failed = true
    entries.removeAll()
    head = 0
    queuedBytes = 0
    latest.removeAll()
    releaseAllWaitersLocked()
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

  /// Forgets the not-yet-written message with this key, if any (its place in the queue is skipped).
  func dropLatest(key: String) {
    lock.withLock { _ = latest.removeValue(forKey: key) }
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
      while !failed && (writing || (head == entries.count && waiters.isEmpty && !closing)) {
        writerIdle = true
        lock.wait()
        writerIdle = false
      }
      if failed { break }
      // Let a burst's small messages gather (bounded by the window since the oldest was queued).
      if directFD >= 0 && !closing && waiters.isEmpty && head < entries.count && queuedBytes < Self.gatherBytes {
        let age = MonotonicClock.nanoseconds() &- oldestQueuedAt
        if age < Self.gatherWindow {
          _ = lock.wait(seconds: Double(Self.gatherWindow - age) / 1e9)
          continue
        }
      }
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
        switch entries[head] {
        case .message(let b):
          queuedBytes -= b.count
          frame(b, f, into: &batch)
        case .framed(let b):
          queuedBytes -= b.count
          batch.append(contentsOf: b)
        case .latest(let key):
          if let b = latest.removeValue(forKey: key) { frame(b, f, into: &batch) }
        }
        head += 1
      }
      if head == entries.count {
        entries.removeAll(keepingCapacity: true)
        head = 0
      } else if head > 1024 && head * 2 > entries.count {
        entries.removeFirst(head)
        head = 0
      }
      admitWaitersLocked()
      writing = true
      lock.unlock()
      let ok = writeAll(batch)
      lock.lock()
      writing = false
      if !ok {
        failLocked()
        break
      }
    }
    writerExited = true
    closeDirectLocked()
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
