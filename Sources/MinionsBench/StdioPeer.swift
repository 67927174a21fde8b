import Foundation
import JSONRPC
import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// A JSON-RPC server spawned as a subprocess and driven over its stdin/stdout in LSP framing, so the
/// engine and its peers are measured by exactly the same client.
final class StdioPeer {
  let process: Process
  let input: Int32
  let output: Int32
  /// Bytes read but not yet consumed, from `start`.
  private var buffer: [UInt8] = []
  private var start = 0
  private var chunk = [UInt8](repeating: 0, count: 1 << 16)

  init(_ argv: [String], environment: [String: String] = [:]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let stdin = Pipe()
    let stdout = Pipe()
    p.standardInput = stdin
    p.standardOutput = stdout
    p.standardError = FileHandle.nullDevice
    try p.run()
    process = p
    input = stdin.fileHandleForWriting.fileDescriptor
    output = stdout.fileHandleForReading.fileDescriptor
  }

  static let initializeBody =
    #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"processId":null,"rootUri":null,"capabilities":{}}}"#

  func send(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { buf in
      var off = 0
      while off < buf.count {
        let n = write(input, buf.baseAddress! + off, buf.count - off)
        if n <= 0 { if errno == EINTR { continue }; return }
        off += n
      }
    }
  }

  /// Blocks until one whole frame arrived and consumes it; returns its body length. The client is
  /// deliberately lean (it scans for the header end and skips the body) so it takes as little of the
  /// machine as possible from the server it measures; it is the same for every server.
  @discardableResult
  func readFrame() -> Int? {
    while true {
      if let length = takeFrame() { return length }
      if start > 0 && start == buffer.count {
        buffer.removeAll(keepingCapacity: true)
        start = 0
      } else if start > (1 << 20) {
        buffer.removeFirst(start)
        start = 0
      }
      let n = read(output, &chunk, chunk.count)
      if n <= 0 { return nil }
      buffer.append(contentsOf: chunk[0..<n])
    }
  }

  /// Blocks until one whole frame arrived and returns its body bytes.
  func readFrameBody() -> [UInt8]? {
    guard let length = readFrame() else { return nil }
    return Array(buffer[(start - length)..<start])
  }

  private func takeFrame() -> Int? {
    let count = buffer.count
    guard count - start >= 4 else { return nil }
    return buffer.withUnsafeBufferPointer { b -> Int? in
      // Header block: "Content-Length: N\r\n" (+ other headers) "\r\n".
      var i = start
      var length = -1
      while i + 3 < count {
        if b[i] == 0x0D && b[i + 1] == 0x0A && b[i + 2] == 0x0D && b[i + 3] == 0x0A { break }
        i += 1
      }
      guard i + 3 < count else { return nil }
      // The length is the number after the first ':' of the block.
      var j = start
      while j < i && b[j] != UInt8(ascii: ":") { j += 1 }
      j += 1
      while j < i && b[j] == 0x20 { j += 1 }
      length = 0
      while j < i && b[j] >= 0x30 && b[j] <= 0x39 {
        length = length * 10 + Int(b[j] - 0x30)
        j += 1
      }
      let bodyStart = i + 4
      guard count - bodyStart >= length else { return nil }
      start = bodyStart + length
      return length
    }
  }

  /// Initializes the server (and sends `initialized`); returns the milliseconds it took.
  func initialize() -> Double {
    let start = MonotonicClock.nanoseconds()
    send(lspFrame(Self.initializeBody))
    _ = readFrame()
    let elapsed = MonotonicClock.milliseconds(since: start)
    send(lspFrame(#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#))
    return elapsed
  }

  var residentBytes: Int {
    guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else {
      return 0
    }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
    }
    return 0
  }

  func stop() {
    send(lspFrame(#"{"jsonrpc":"2.0","id":999999999,"method":"shutdown"}"#))
    send(lspFrame(#"{"jsonrpc":"2.0","method":"exit"}"#))
    close(input)
    let deadline = MonotonicClock.nanoseconds() + 3_000_000_000
    while process.isRunning && MonotonicClock.nanoseconds() < deadline { usleep(1000) }
    if process.isRunning { process.terminate() }
    close(output)
  }
}

func lspFrame(_ body: String) -> [UInt8] { Array("Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8) }

func whoamiRequest(id: Int) -> [UInt8] {
  lspFrame(#"{"jsonrpc":"2.0","id":\#(id),"method":"auth/whoami","params":{}}"#)
}

/// Request throughput with `window` requests in flight: a writer thread keeps the window full while
/// this thread reads replies. Bounded in count and in time.
func pipelinedThroughput(
  _ peer: StdioPeer, requests: Int, window: Int, maxSeconds: Double,
  request: @escaping @Sendable (Int) -> [UInt8] = whoamiRequest
) -> Double {
  let slots = CountingSemaphore(window)
  let stop = AtomicFlag()
  let writerDone = OneShotEvent()
  let input = peer.input
  spawnThread(name: "bench-writer") {
    var batch: [UInt8] = []
    for id in 1...requests {
      if stop.isSet { break }
      slots.wait()
      batch = request(id)
      batch.withUnsafeBytes { buf in
        var off = 0
        while off < buf.count {
          let n = write(input, buf.baseAddress! + off, buf.count - off)
          if n <= 0 { return }
          off += n
        }
      }
    }
    writerDone.signal()
  }
  let start = MonotonicClock.nanoseconds()
  let deadline = start + UInt64(maxSeconds * 1e9)
  var received = 0
  while received < requests {
    guard peer.readFrame() != nil else { break }
    received += 1
    slots.signal()
    if MonotonicClock.nanoseconds() > deadline {
      stop.set()
      break
    }
  }
  let seconds = Double(MonotonicClock.nanoseconds() - start) / 1e9
  stop.set()
  for _ in 0..<window { slots.signal() }
  writerDone.wait(timeout: 5)
  return Double(received) / seconds
}

/// Sequential round trips: one request at a time; returns sorted latencies in microseconds.
func roundTrips(_ peer: StdioPeer, count: Int, firstID: Int) -> [Double] {
  var samples: [Double] = []
  samples.reserveCapacity(count)
  for i in 0..<count {
    let request = whoamiRequest(id: firstID + i)
    let start = MonotonicClock.nanoseconds()
    peer.send(request)
    guard peer.readFrame() != nil else { break }
    samples.append(Double(MonotonicClock.nanoseconds() - start) / 1000)
  }
  return samples.sorted()
}

/// A counting semaphore for the bench threads (DispatchSemaphore traps when released below its start).
final class CountingSemaphore: @unchecked Sendable {  // `count` is guarded by `lock`
  private let lock = ConditionLock()
  private var count: Int

  init(_ count: Int) { self.count = count }

  func wait() {
    lock.lock()
    while count <= 0 { lock.wait() }
    count -= 1
    lock.unlock()
  }

  func signal() {
    lock.lock()
    count += 1
    lock.signal()
    lock.unlock()
  }
}
