import Foundation
import JSONRPC
import MinionsCore
import MinionsTestSupport
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `minions serve --http`: the executable serves the repository's dashboard files and its health.
@Suite struct HTTPModeTests {
  /// One HTTP exchange on a worker thread (never on the cooperative pool).
  func get(_ port: Int, _ path: String) async -> String {
    await WorkerThreads.blocking.run {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      defer { close(fd) }
      var addr = sockaddr_in()
      addr.sin_family = sa_family_t(AF_INET)
      addr.sin_port = in_port_t(UInt16(port).bigEndian)
      addr.sin_addr.s_addr = inet_addr("127.0.0.1")
      let ok = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      guard ok == 0 else { return "" }
      var tv = timeval(tv_sec: 10, tv_usec: 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
      writeAll(fd, Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
      var out: [UInt8] = []
      var buf = [UInt8](repeating: 0, count: 65536)
      while true {
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += buf[0..<n]
      }
      return String(decoding: out, as: UTF8.self)
    }
  }

  @Test func serveHTTPServesTheDashboardAndItsHealth() async throws {
    let engine = try EngineProcess(["serve", "--http", "127.0.0.1:0"])
    #expect(await engine.waitForStderr("http listening on 127.0.0.1:"))
    let line = engine.stderr.split(separator: "\n").first { $0.contains("http listening on 127.0.0.1:") } ?? ""
    let port = Int(line.split(separator: "127.0.0.1:")[1].prefix { $0.isNumber }) ?? 0
    #expect(port > 0)
    let index = await get(port, "/")
    #expect(index.hasPrefix("HTTP/1.1 200") && index.contains("Content-Security-Policy:"))
    #expect(index.contains("<script type=\"module\""))  // clients/web/index.html, found from the binary's checkout
    #expect(await get(port, "/healthz").contains(#""status":"ok""#))
    engine.signal(SIGTERM)
    #expect(await engine.waitForExit() == 0)
  }

  @Test func badHTTPFlagsAreUsageErrors() async throws {
    let bad = try EngineProcess(["serve", "--http", "nowhere"])
    #expect(await bad.waitForExit() == 2)
    #expect(bad.stderr.contains("invalid --http address"))
    let noRoot = try EngineProcess(["serve", "--http", "127.0.0.1:0", "--web-root", "/nonexistent"])
    #expect(await noRoot.waitForExit() == 2)
  }
}
