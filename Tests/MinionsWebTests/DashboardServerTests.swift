import Foundation
import JSONRPCTransport
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport
import Testing

@testable import MinionsWeb

#if canImport(Glibc)
  import Glibc
#endif

/// `serve --http` over real loopback sockets: files, health, Prometheus, and WebSockets with their
/// refusals and violations.
@Suite struct DashboardServerTests {
  struct Running {
    let server: MinionsServer
    let listener: TCPListener
    let port: Int
    let root: String
  }

  func start() async throws -> Running {
    let engine = try await makeTestEngine()
    let server = MinionsServer(configuration: ServerConfiguration(), engine: engine, logger: .disabled)
    let root = try temporaryDirectory(prefix: "minions-web")
    try "<!doctype html><title>Minions</title>".write(toFile: root + "/index.html", atomically: true, encoding: .utf8)
    try FileManager.default.createDirectory(atPath: root + "/js", withIntermediateDirectories: true)
    try "export const x = 1;".write(toFile: root + "/js/app.js", atomically: true, encoding: .utf8)
    try "secret".write(toFile: root + "/.env", atomically: true, encoding: .utf8)
    let dashboard = DashboardServer(
      server: server, files: StaticFiles(root: root), logger: .disabled, maxMessage: 1 << 20)
    let listener = try TCPListener(address: "127.0.0.1:0")
    listener.start { fd, peer in dashboard.accept(fd, peer: peer) }
    return Running(server: server, listener: listener, port: listener.port, root: root)
  }

  /// A raw client socket.
  final class Socket: @unchecked Sendable {  // used by one test at a time
    let fd: Int32
    var pending: [UInt8] = []

    init(port: Int) throws {
      fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_port = in_port_t(UInt16(port).bigEndian)
      addr.sin_addr.s_addr = inet_addr("127.0.0.1")
      let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
      var tv = timeval(tv_sec: 10, tv_usec: 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
      _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    func send(_ text: String) { send(Array(text.utf8)) }

    /// Reads until the peer closes (or the timeout).
    func readAll() -> [UInt8] {
      var out = pending
      pending = []
      var buf = [UInt8](repeating: 0, count: 65536)
      while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buf[0..<n]
      }
      return out
    }

    /// Reads until `count` bytes are pending (or the timeout).
    func fill(_ count: Int) {
      var buf = [UInt8](repeating: 0, count: 65536)
      while pending.count < count {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { return }
        pending += buf[0..<n]
      }
    }

    /// The next server frame (unmasked).
    func frame() -> WebSocketFrame? {
      var parser = WebSocketFrameParser(maxPayload: 1 << 24, requireMask: false)
      while true {
        parser.append(pending)
        if let f = try? parser.next() {
          let used = f.encoded().count
          pending.removeFirst(used)
          return f
        }
        let before = pending.count
        fill(before + 1)
        if pending.count == before { return nil }
        parser = WebSocketFrameParser(maxPayload: 1 << 24, requireMask: false)
      }
    }

    /// `call` and `frame` from async code, on a worker thread.
    func calling(_ json: String) async -> JSONValue? { await WorkerThreads.blocking.run { self.call(json) } }
    func nextFrame() async -> WebSocketFrame? { await WorkerThreads.blocking.run { self.frame() } }

    /// Sends a JSON-RPC message as a masked text frame and returns the next text frame as JSON.
    func call(_ json: String) -> JSONValue? {
      send(WebSocketFrame(opcode: .text, payload: Array(json.utf8)).encoded(mask: [9, 8, 7, 6]))
      while let f = frame() {
        if f.opcode == .text { return try? JSONParser.parse(String(decoding: f.payload, as: UTF8.self)) }
        if f.opcode == .close { return nil }
      }
      return nil
    }
  }

  static func upgrade(_ port: Int, origin: String? = nil, target: String = "/rpc") -> String {
    var lines = [
      "GET \(target) HTTP/1.1", "Host: 127.0.0.1:\(port)", "Upgrade: websocket", "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
    ]
    if let origin { lines.append("Origin: \(origin)") }
    return lines.joined(separator: "\r\n") + "\r\n\r\n"
  }

  /// An upgraded WebSocket (the 101 read).
  func websocket(_ r: Running) async throws -> Socket {
    try await off { try self.upgraded(r) }
  }

  func upgraded(_ r: Running) throws -> Socket {
    let s = try Socket(port: r.port)
    s.send(Self.upgrade(r.port, origin: "http://127.0.0.1:\(r.port)"))
    s.fill(4)
    while HTTPRequestHead.headEnd(s.pending) == nil {
      let before = s.pending.count
      s.fill(before + 1)
      if s.pending.count == before { break }
    }
    let end = HTTPRequestHead.headEnd(s.pending) ?? 0
    let head = String(decoding: s.pending[0..<end], as: UTF8.self)
    #expect(head.hasPrefix("HTTP/1.1 101") && head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    s.pending.removeFirst(end)
    return s
  }

  /// Blocking socket work runs on a worker thread: tests must never block the cooperative pool (the
  /// engine under test needs its threads).
  func off<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await WorkerThreads.blocking.run(body)
  }

  func get(_ r: Running, _ request: String) async throws -> String {
    try await off {
      let s = try Socket(port: r.port)
      s.send(request)
      return String(decoding: s.readAll(), as: UTF8.self)
    }
  }

  @Test func filesHealthAndMetricsAreServedWithTheSecurityHeaders() async throws {
    let r = try await start()
    defer { r.listener.stop() }
    let index = try await get(r, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    #expect(index.hasPrefix("HTTP/1.1 200") && index.contains("<title>Minions</title>"))
    #expect(index.contains("Content-Security-Policy: default-src 'self'") && index.contains("script-src 'self'"))
    #expect(index.contains("Content-Type: text/html") && index.contains("X-Content-Type-Options: nosniff"))
    #expect(try await get(r, "GET /js/app.js HTTP/1.1\r\n\r\n").contains("Content-Type: text/javascript"))
    for bad in ["/../etc/passwd", "/.env", "/js/../../x", "/%2e%2e/x", "/missing.html", "/js"] {
      #expect(try await get(r, "GET \(bad) HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"), "\(bad)")
    }
    #expect(try await get(r, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n").hasPrefix("HTTP/1.1 405"))
    #expect(try await get(r, "HEAD / HTTP/1.1\r\n\r\n").hasSuffix("\r\n\r\n"))  // headers only
    #expect(try await get(r, "NONSENSE\r\n\r\n").hasPrefix("HTTP/1.1 400"))
    let health = try await get(r, "GET /healthz HTTP/1.1\r\n\r\n")
    #expect(health.hasPrefix("HTTP/1.1 200") && health.contains(#""status":"ok""#))
    // The Prometheus endpoint is off until an admin turns it on.
    #expect(try await get(r, "GET /metrics HTTP/1.1\r\n\r\n").hasPrefix("HTTP/1.1 404"))
    _ = try await r.server.engine.settings.update(
      scope: .system, userID: 0, values: ["http.prometheus": true], now: r.server.engine.clock.now())
    let metrics = try await get(r, "GET /metrics HTTP/1.1\r\n\r\n")
    #expect(metrics.hasPrefix("HTTP/1.1 200") && metrics.contains("text/plain; version=0.0.4"))
    #expect(metrics.contains("# TYPE minions_requests_total counter\nminions_requests_total "))
    #expect(metrics.contains(#"minions_request_latency_milliseconds{quantile="0.99"}"#))
    #expect(metrics.contains("minions_process_resident_memory_bytes "))
  }

  @Test func aWebSocketIsAConnectionThatMustLogIn() async throws {
    let r = try await start()
    defer { r.listener.stop() }
    _ = try await r.server.engine.users.create(
      username: "ada", email: nil, password: "a long passphrase", role: .admin, actor: nil)
    let ws = try await websocket(r)
    let hello = await ws.calling(
      #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"clientInfo":{"name":"browser"}}}"#)
    #expect(hello?["result"]?["user"] == .null)  // not logged in yet
    #expect(await ws.calling(#"{"jsonrpc":"2.0","id":2,"method":"auth/whoami"}"#)?["error"]?["code"] == -32010)
    let login = await ws.calling(
      #"{"jsonrpc":"2.0","id":3,"method":"auth/login","params":{"username":"ada","password":"a long passphrase"}}"#)
    #expect(login?["result"]?["token"]?.stringValue != nil)
    #expect(await ws.calling(#"{"jsonrpc":"2.0","id":4,"method":"auth/whoami"}"#)?["result"]?["username"] == "ada")
    // A message in fragments, with a ping between them: the ping is answered, the message arrives whole.
    let text = Array(#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#.utf8)
    ws.send(WebSocketFrame(fin: false, opcode: .text, payload: Array(text[0..<10])).encoded(mask: [1, 2, 3, 4]))
    ws.send(WebSocketFrame(opcode: .ping, payload: [42]).encoded(mask: [1, 2, 3, 4]))
    ws.send(WebSocketFrame(opcode: .continuation, payload: Array(text[10...])).encoded(mask: [1, 2, 3, 4]))
    #expect(await ws.nextFrame() == WebSocketFrame(opcode: .pong, payload: [42]))
    let replyFrame = await ws.nextFrame()
    let reply = replyFrame.flatMap { try? JSONParser.parse(String(decoding: $0.payload, as: UTF8.self)) }
    #expect(reply?["id"] == 5 && reply?["result"] == [:])
    // A close is echoed, and the connection ends.
    ws.send(WebSocketFrame.close(.normal, reason: "bye").encoded(mask: [1, 2, 3, 4]))
    let close = await ws.nextFrame()
    #expect(close?.opcode == .close && close?.payload.prefix(2) == [0x03, 0xE8])
  }

  @Test func refusalsAndViolations() async throws {
    let r = try await start()
    defer { r.listener.stop() }
    #expect(try await get(r, Self.upgrade(r.port, origin: "http://evil.example")).hasPrefix("HTTP/1.1 403"))
    #expect(try await get(r, Self.upgrade(r.port, target: "/rpc?token=abc")).hasPrefix("HTTP/1.1 400"))
    #expect(try await get(r, "GET /rpc HTTP/1.1\r\nHost: x\r\n\r\n").hasPrefix("HTTP/1.1 426"))

    func closeCode(_ bytes: [UInt8]) async throws -> UInt16? {
      let ws = try await websocket(r)
      ws.send(bytes)
      while let f = await ws.nextFrame() {
        if f.opcode == .close, f.payload.count >= 2 { return UInt16(f.payload[0]) << 8 | UInt16(f.payload[1]) }
      }
      return nil
    }
    // Unmasked client frame → 1002.
    #expect(try await closeCode(WebSocketFrame(opcode: .text, payload: Array("{}".utf8)).encoded()) == 1002)
    // A frame announcing 20 MiB (over the 1 MiB limit here) → 1009 at once, before any payload.
    #expect(try await closeCode([0x81, 0xFF, 0, 0, 0, 0, 0x01, 0x40, 0, 0, 1, 2, 3, 4]) == 1009)
    // Binary → 1003; invalid UTF-8 → 1007.
    #expect(try await closeCode(WebSocketFrame(opcode: .binary, payload: [1]).encoded(mask: [1, 1, 1, 1])) == 1003)
    #expect(
      try await closeCode(WebSocketFrame(opcode: .text, payload: [0xC3, 0x28]).encoded(mask: [1, 1, 1, 1])) == 1007)
    // Bad JSON inside a good frame is the protocol's business: a -32700 reply, and the connection lives.
    let ws = try await websocket(r)
    #expect(await ws.calling("{not json")?["error"]?["code"] == -32700)
    #expect(await ws.calling(#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)?["result"] == [:])
  }
}
