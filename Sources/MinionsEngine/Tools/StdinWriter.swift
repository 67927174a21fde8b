import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// Writes a child's stdin on a thread of its own, so a child that does not read never blocks a caller.
///
/// Writes are queued (up to `limit` bytes waiting) and written in order; the thread closes the pipe
/// after `close()` once the queue is drained, or as soon as a write fails (the child is gone).
final class StdinWriter: @unchecked Sendable {  // `queue`, `queuedBytes`, `closeRequested`, `finished`
  // are guarded by `lock`; `fd` is used only by the writer thread after `init`.
  private let lock = ConditionLock()
  private var queue: [[UInt8]] = []
  private var queuedBytes = 0
  private var closeRequested = false
  private var finished = false
  private let fd: Int32
  private let limit: Int

  init(fd: Int32, name: String, limit: Int = 16 << 20) {
    self.fd = fd
    self.limit = limit
    spawnThread(name: name, stackSize: 256 * 1024) { [self] in run() }
  }

  /// Queues `bytes`; false when stdin is closed, the child stopped reading for good, or too much waits.
  func enqueue(_ bytes: [UInt8]) -> Bool {
    lock.withLock {
      guard !finished, !closeRequested, queuedBytes + bytes.count <= limit else { return false }
      queue.append(bytes)
      queuedBytes += bytes.count
      lock.signal()
      return true
    }
  }

  /// Closes stdin once everything queued is written.
  func close() {
    lock.withLock {
      closeRequested = true
      lock.signal()
    }
  }

  private func run() {
    // A write to a pipe whose reader is gone raises SIGPIPE; blocked on this thread, it fails with EPIPE.
    var pipeSignal = sigset_t()
    sigemptyset(&pipeSignal)
    sigaddset(&pipeSignal, SIGPIPE)
    pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)

    var failed = false
    while !failed {
      lock.lock()
      while queue.isEmpty && !closeRequested { lock.wait() }
      if queue.isEmpty {
        lock.unlock()
        break
      }
      let batch = queue
      queue = []
      queuedBytes = 0
      lock.unlock()
      for chunk in batch where !failed {
        failed = !writeAll(chunk)
      }
    }
    lock.withLock {
      finished = true
      queue = []
      queuedBytes = 0
    }
    Glibc.close(fd)
  }

  private func writeAll(_ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
        if n < 0 {
          if errno == EINTR { continue }
          return false
        }
        offset += n
      }
      return true
    }
  }
}
