import Foundation
import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A request as the loopback server received it.
public struct ReceivedRequest: Sendable {
  public var method: String
  public var path: String
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]

  public func header(_ name: String) -> String? {
    headers.last { $0.name.lowercased() == name.lowercased() }?.value
  }

  public var json: JSONValue? { try? JSONParser.parse(body) }
}

/// What the server sends back: a status, headers, then body pieces written one by one (each its own
/// write, so a test can split lines and even UTF-8 characters between them), with pauses between.
public struct ScriptedResponse: Sendable {
  public enum Step: Sendable {
    case bytes([UInt8])
    case pause(Double)
    /// Closes the connection abruptly (a stream cut mid-way).
    case hangUp
    /// Bytes made at the moment they are sent, until the generator returns nil (benchmarks stamp the
    /// send time into them).
    case generate(@Sendable () -> [UInt8]?)
  }

  public var status: Int
  public var headers: [(name: String, value: String)]
  public var steps: [Step]
  /// Send `Transfer-Encoding: chunked` (each byte step one chunk); otherwise the body ends at close.
  public var chunked: Bool

  public init(
    status: Int = 200, headers: [(name: String, value: String)] = [], steps: [Step] = [], chunked: Bool = true
  ) {
    self.status = status
    self.headers = headers
    self.steps = steps
    self.chunked = chunked
  }

  /// A whole body at once.
  public static func body(
    _ status: Int, _ text: String, contentType: String = "application/json",
    headers: [(name: String, value: String)] = []
  ) -> ScriptedResponse {
    ScriptedResponse(
      status: status, headers: [("Content-Type", contentType)] + headers, steps: [.bytes(Array(text.utf8))])
  }

  /// A body sent in pieces of `sizes` bytes (cycled), e.g. [1, 7, 3] to split everywhere.
  public static func pieces(
    _ status: Int, _ text: String, sizes: [Int], contentType: String,
    headers: [(name: String, value: String)] = [], pause: Double = 0
  ) -> ScriptedResponse {
    let bytes = Array(text.utf8)
    var steps: [Step] = []
    var i = 0
    var k = 0
    while i < bytes.count {
      let n = max(1, sizes[k % sizes.count])
      steps.append(.bytes(Array(bytes[i..<min(bytes.count, i + n)])))
      if pause > 0 { steps.append(.pause(pause)) }
      i += n
      k += 1
    }
    return ScriptedResponse(status: status, headers: [("Content-Type", contentType)] + headers, steps: steps)
  }
}

/// An HTTP/1.1 server on 127.0.0.1 for tests: it records every request and answers with whatever the
/// handler scripts. One request per connection (it answers `Connection: close`).
public final class LoopbackHTTPServer: Sendable {
  public let port: Int
  private let fd: Int32
  private let handler: @Sendable (ReceivedRequest) -> ScriptedResponse
  private let received = Mutex<[ReceivedRequest]>([])
  private let stopped = AtomicFlag()
  private let openConnections = Atomic<Int>(0)

  public var baseURL: String { "http://127.0.0.1:\(port)" }
  public var requests: [ReceivedRequest] { received.withLock { $0 } }
  /// Connections still being served (a cancelled client's must drop to zero).
  public var activeConnections: Int { openConnections.load(ordering: .relaxed) }

  public init(_ handler: @escaping @Sendable (ReceivedRequest) -> ScriptedResponse) throws {
    self.handler = handler
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    rc = withUnsafeMutablePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    self.fd = fd
    self.port = Int(UInt16(bigEndian: addr.sin_port))
    spawnThread(name: "http-test") { [self] in acceptLoop() }
  }

  public func stop() {
    guard stopped.setIfUnset() else { return }
    shutdown(fd, Int32(SHUT_RDWR))
    close(fd)
  }

  deinit { stop() }

  private func acceptLoop() {
    while !stopped.isSet {
      let client = accept(fd, nil, nil)
      if client < 0 {
        if errno == EINTR { continue }
        return
      }
      var one: Int32 = 1
      setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
      openConnections.add(1, ordering: .relaxed)
      spawnThread(name: "http-test-conn") { [self] in
        serve(client)
        close(client)
        openConnections.subtract(1, ordering: .relaxed)
      }
    }
  }

  private func serve(_ client: Int32) {
    guard let request = readRequest(client) else { return }
    received.withLock { $0.append(request) }
    let response = handler(request)
    var head = "HTTP/1.1 \(response.status) \(Self.reason(response.status))\r\n"
    for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
    if response.chunked { head += "Transfer-Encoding: chunked\r\n" }
    head += "Connection: close\r\n\r\n"
    guard send(client, Array(head.utf8)) else { return }
    for step in response.steps {
      switch step {
      case .bytes(let b):
        if b.isEmpty { continue }
        let framed = response.chunked ? Array("\(String(b.count, radix: 16))\r\n".utf8) + b + [13, 10] : b
        if !send(client, framed) { return }
      case .pause(let seconds):
        // Sleep in slices, noticing a client that went away (0x2000 is POLLRDHUP).
        let deadline = MonotonicClock.nanoseconds() + UInt64(seconds * 1e9)
        while MonotonicClock.nanoseconds() < deadline {
          var pfd = pollfd(fd: client, events: Int16(POLLIN) | 0x2000, revents: 0)
          if poll(&pfd, 1, 10) > 0 && pfd.revents & (0x2000 | Int16(POLLHUP | POLLERR)) != 0 { return }
        }
      case .generate(let next):
        while let b = next() {
          let framed = response.chunked ? Array("\(String(b.count, radix: 16))\r\n".utf8) + b + [13, 10] : b
          if !send(client, framed) { return }
        }
      case .hangUp:
        var lingerOff = linger(l_onoff: 1, l_linger: 0)
        setsockopt(client, SOL_SOCKET, SO_LINGER, &lingerOff, socklen_t(MemoryLayout<linger>.size))
        return
      }
    }
    if response.chunked { _ = send(client, Array("0\r\n\r\n".utf8)) }
  }

  private func send(_ client: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buf in
      var off = 0
      while off < buf.count {
        let n = Glibc.send(client, buf.baseAddress! + off, buf.count - off, Int32(MSG_NOSIGNAL))
        if n <= 0 { return false }
        off += n
      }
      return true
    }
  }

  private func readRequest(_ client: Int32) -> ReceivedRequest? {
    var data: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    var headerEnd: Int? = nil
    while headerEnd == nil {
      let n = read(client, &buffer, buffer.count)
      if n <= 0 { return nil }
      data += buffer[0..<n]
      if let r = Self.find([13, 10, 13, 10], in: data) { headerEnd = r }
    }
    let headText = String(decoding: data[0..<headerEnd!], as: UTF8.self)
    var lines = headText.components(separatedBy: "\r\n")
    let requestLine = lines.removeFirst().split(separator: " ")
    guard requestLine.count >= 2 else { return nil }
    var headers: [(name: String, value: String)] = []
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmed()))
    }
    var body = Array(data[(headerEnd! + 4)...])
    let length = Int(headers.last { $0.name.lowercased() == "content-length" }?.value ?? "0") ?? 0
    while body.count < length {
      let n = read(client, &buffer, buffer.count)
      if n <= 0 { break }
      body += buffer[0..<n]
    }
    return ReceivedRequest(method: String(requestLine[0]), path: String(requestLine[1]), headers: headers, body: body)
  }

  private static func find(_ needle: [UInt8], in hay: [UInt8]) -> Int? {
    guard hay.count >= needle.count else { return nil }
    for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<(i + needle.count)]) == needle {
      return i
    }
    return nil
  }

  static func reason(_ status: Int) -> String {
    switch status {
    case 200: return "OK"
    case 301: return "Moved Permanently"
    case 302: return "Found"
    case 400: return "Bad Request"
    case 401: return "Unauthorized"
    case 404: return "Not Found"
    case 408: return "Request Timeout"
    case 429: return "Too Many Requests"
    case 500: return "Internal Server Error"
    case 502: return "Bad Gateway"
    case 503: return "Service Unavailable"
    case 529: return "Overloaded"
    default: return "Status"
    }
  }
}
