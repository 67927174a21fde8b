import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What the threads watching one subprocess share: the reaper, the pipe readers and the stdin writer
/// report here, and `Subprocess` reads from here. Threads hold this, not the `Subprocess`, so the
/// `Subprocess` can be deallocated (and kill its group) while they still run.
final class SubprocessMonitor: Sendable {
  /// What the readers kept of one output stream.
  struct Capture {
    var kept: [UInt8] = []
    var total = 0
    let limit: Int
    let keepsTail: Bool

    mutating func append(_ chunk: UnsafeRawBufferPointer) {
      total += chunk.count
      if keepsTail {
        kept.append(contentsOf: chunk)
        // Trim in batches so a chatty stream does not shift the buffer on every read.
        if kept.count > 2 * limit + 65536 { kept.removeFirst(kept.count - limit) }
      } else if kept.count < limit {
        kept.append(contentsOf: chunk.prefix(limit - kept.count))
      }
    }

    var snapshot: [UInt8] { kept.count > limit ? Array(kept.suffix(limit)) : kept }
  }

  private struct Captures {
    var stdout: Capture?
    var stderr: Capture
    var readersRunning: Int
    var abandoned = false
  }

  let pid: Int32
  let exit = AsyncOneShot<Subprocess.Termination>()
  /// Set once every capturing reader reached the end of its pipe (or gave up on it).
  let output = AsyncOneShot<Subprocess.Output>()
  let writer: StdinWriter
  let terminationStarted = AtomicFlag()
  let terminationGraceSeconds: Double
  /// How long readers keep reading after the process group died: only a process that left the group
  /// (setsid) can still hold the pipes open then.
  let readerGraceSeconds: Double
  /// Set, with the group killed, in the same critical section that reaps the process: after that the
  /// pid may belong to someone else, so nothing may signal it.
  private let reaped = Mutex(false)
  /// When readers stop waiting for the end of their pipe (monotonic nanoseconds; 0 while the process runs).
  private let readersGiveUpAt = Atomic<UInt64>(0)
  private let captures: Mutex<Captures>

  init(
    pid: Int32, stdinFD: Int32, stdout: Subprocess.OutputHandling, stderr: Subprocess.OutputHandling,
    terminationGraceSeconds: Double, readerGraceSeconds: Double
  ) {
    self.pid = pid
    self.writer = StdinWriter(fd: stdinFD, name: "subprocess-\(pid)-stdin")
    self.terminationGraceSeconds = terminationGraceSeconds
    self.readerGraceSeconds = readerGraceSeconds
    func capture(_ handling: Subprocess.OutputHandling) -> Capture? {
      switch handling {
      case .keepHead(let limit): return Capture(limit: max(0, limit), keepsTail: false)
      case .keepTail(let limit): return Capture(limit: max(0, limit), keepsTail: true)
      case .lines: return nil
      }
    }
    let stdoutCapture = capture(stdout)
    self.captures = Mutex(
      Captures(
        stdout: stdoutCapture, stderr: capture(stderr) ?? Capture(limit: 65536, keepsTail: true),
        readersRunning: stdoutCapture == nil ? 1 : 2))
  }

  // MARK: Signals

  /// Sends `signal` to the whole process group, unless the process was already reaped.
  @discardableResult
  func signalGroup(_ signal: Int32) -> Bool {
    reaped.withLock { reaped in
      guard !reaped else { return false }
      return kill(-pid, signal) == 0
    }
  }

  /// SIGTERM to the group, then SIGKILL once the grace period passed without the process exiting.
  func terminate() {
    guard exit.current == nil, terminationStarted.setIfUnset() else { return }
    signalGroup(SIGTERM)
    spawnThread(name: "subprocess-\(pid)-terminate", stackSize: 128 * 1024) { [self] in
      if exit.waitBlocking(timeoutSeconds: terminationGraceSeconds) == nil { signalGroup(SIGKILL) }
    }
  }

  // MARK: Thread bodies

  /// The reaper: waits for the process to exit, kills what is left of its group while the pid is still
  /// reserved by the unreaped process, then reaps it.
  func reap() {
    var info = siginfo_t()
    while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR {}
    let status: Int32? = reaped.withLock { reaped in
      kill(-pid, SIGKILL)
      var status: Int32 = 0
      var rc: Int32
      repeat { rc = waitpid(pid, &status, 0) } while rc < 0 && errno == EINTR
      reaped = true
      return rc == pid ? status : nil
    }
    let termination = status.map(Subprocess.Termination.init(waitStatus:)) ?? .unknown
    readersGiveUpAt.store(
      MonotonicClock.nanoseconds() + UInt64(readerGraceSeconds * 1e9), ordering: .releasing)
    writer.close()
    exit.resolve(termination)
  }

  /// Reads a captured stream (stdout or stderr) to its end.
  func readCaptured(fd: Int32, isStdout: Bool) {
    let complete = drain(fd: fd) { chunk in
      captures.withLock { c in
        if isStdout { c.stdout?.append(chunk) } else { c.stderr.append(chunk) }
      }
    }
    readerFinished(complete: complete)
  }

  /// Reads stdout as lines for `handler`, then reports `.end`.
  func readLines(fd: Int32, maxLength: Int, handler: @Sendable (Subprocess.LineEvent) -> Void) {
    var line: [UInt8] = []
    var skipped = 0  // > 0 while dropping the rest of an over-long line
    func finishLine() {
      if skipped > 0 || line.count > maxLength {
        handler(.tooLong(byteCount: skipped + line.count))
      } else {
        if line.last == 13 { line.removeLast() }  // CRLF
        handler(.line(line))
      }
      line.removeAll(keepingCapacity: true)
      skipped = 0
    }
    _ = drain(fd: fd) { chunk in
      var start = 0
      while start < chunk.count {
        let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
        if let newline = rest.firstIndex(of: 10) {
          line.append(contentsOf: rest[..<newline])
          finishLine()
          start += newline + 1
        } else {
          line.append(contentsOf: rest)
          start = chunk.count
        }
        if line.count > maxLength {
          skipped += line.count
          line.removeAll(keepingCapacity: true)
        }
      }
    }
    if !line.isEmpty || skipped > 0 { finishLine() }
    handler(.end)
  }

  /// What stderr holds so far.
  var stderrSnapshot: [UInt8] { captures.withLock { $0.stderr.snapshot } }

  private func readerFinished(complete: Bool) {
    let output: Subprocess.Output? = captures.withLock { c in
      if !complete { c.abandoned = true }
      c.readersRunning -= 1
      guard c.readersRunning == 0 else { return nil }
      return Subprocess.Output(
        stdout: c.stdout?.snapshot ?? [], stdoutByteCount: c.stdout?.total ?? 0, stderr: c.stderr.snapshot,
        stderrByteCount: c.stderr.total, isIncomplete: c.abandoned)
    }
    if let output { self.output.resolve(output) }
  }

  /// Reads `fd` until its end and closes it; returns false when it gave up (the process had exited
  /// and the reader grace period passed with the pipe still open).
  private func drain(fd: Int32, _ consume: (UnsafeRawBufferPointer) -> Void) -> Bool {
    defer { close(fd) }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 1)
    defer { buffer.deallocate() }
    var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    while true {
      // Wakes once a second while the process runs (cheap for an idle server), then by the deadline.
      let giveUpAt = readersGiveUpAt.load(ordering: .acquiring)
      var timeoutMs: Int32 = 1000
      if giveUpAt != 0 {
        let now = MonotonicClock.nanoseconds()
        if now >= giveUpAt { return false }
        timeoutMs = Int32(min(1000, (giveUpAt - now) / 1_000_000 + 1))
      }
      let ready = poll(&poller, 1, timeoutMs)
      if ready < 0 && errno != EINTR { return true }
      if ready <= 0 { continue }
      let n = read(fd, buffer.baseAddress, buffer.count)
      if n < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        return true
      }
      if n == 0 { return true }
      consume(UnsafeRawBufferPointer(rebasing: buffer[..<n]))
    }
  }
}
