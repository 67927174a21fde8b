import JSONRPC
import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Reads JSON-RPC frames from a file descriptor on a thread of its own and keeps every message, so
/// tests can wait for replies from async code without blocking the cooperative pool.
public final class MessageReader: Sendable {
  private let fd: Int32
  private let received = Mutex<[JSONValue]>([])
  private let rawBytes = Mutex<[UInt8]>([])
  private let keepRaw: Bool
  public let finished = OneShotEvent()

  public init(fd: Int32, keepRaw: Bool = false) {
    self.fd = fd
    self.keepRaw = keepRaw
  }

  public func start() {
    spawnThread(name: "test-reader") { [self] in
      var parser = FrameParser(limits: FrameLimits(maxFrameBytes: 256 << 20))
      var buffer = [UInt8](repeating: 0, count: 65536)
      while true {
        let n = read(fd, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        let chunk = Array(buffer[0..<n])
        if keepRaw { rawBytes.withLock { $0 += chunk } }
        for case .frame(let f) in parser.feed(chunk) {
          let value = (try? JSONParser.parse(f)) ?? .string("<unparsable frame: \(String(decoding: f, as: UTF8.self))>")
          received.withLock { $0.append(value) }
        }
      }
      finished.signal()
    }
  }

  /// Every message so far, in arrival order.
  public var messages: [JSONValue] { received.withLock { $0 } }

  /// Every byte read so far (when created with `keepRaw`).
  public var raw: [UInt8] { rawBytes.withLock { $0 } }

  /// Waits until at least `count` messages arrived or `timeout` passed; returns all of them.
  @discardableResult
  public func waitFor(count: Int, timeout: Double = 10) async -> [JSONValue] {
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
    while MonotonicClock.nanoseconds() < deadline {
      let m = messages
      if m.count >= count { return m }
      await waitSeconds(0.001)
    }
    return messages
  }

  /// Waits for the reply to request `id`.
  public func reply(to id: JSONValue, timeout: Double = 10) async -> JSONValue? {
    await first(timeout: timeout) { $0["id"] == id && $0["method"] == nil }
  }

  /// Waits for the first message matching `predicate`.
  public func first(timeout: Double = 10, where predicate: (JSONValue) -> Bool) async -> JSONValue? {
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
    while MonotonicClock.nanoseconds() < deadline {
      if let r = messages.first(where: predicate) { return r }
      await waitSeconds(0.001)
    }
    return nil
  }

  public func replies(to id: JSONValue) -> [JSONValue] { messages.filter { $0["id"] == id && $0["method"] == nil } }
}

/// Writes all of `bytes` to `fd`; false if the peer is gone.
@discardableResult
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
  bytes.withUnsafeBytes { buf in
    var off = 0
    while off < buf.count {
      let n = write(fd, buf.baseAddress! + off, buf.count - off)
      if n < 0 && errno == EINTR { continue }
      if n <= 0 { return false }
      off += n
    }
    return true
  }
}

/// Sleeps without holding a thread of the cooperative pool. Tests must never block the pool: on a
/// 2-core machine it has two threads, and the code under test needs them.
public func waitSeconds(_ seconds: Double) async {
  try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
}

extension OneShotEvent {
  /// Waits from async code by polling; for tests.
  public func waitAsync(timeout: Double) async -> Bool {
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
    while !isSignalled {
      if MonotonicClock.nanoseconds() >= deadline { return false }
      await waitSeconds(0.001)
    }
    return true
  }
}

/// Encodes a message body in LSP framing.
public func lspFrame(_ body: String) -> [UInt8] { Array("Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8) }
