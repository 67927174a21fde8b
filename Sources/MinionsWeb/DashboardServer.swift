import JSONRPCTransport
import MinionsCore
import MinionsEngine
import MinionsServer
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `minions serve --http`: the dashboard's files, its WebSocket endpoint `/rpc` (a JSON-RPC connection
/// like a TCP one: login required), `/healthz`, and `/metrics` in the Prometheus text format when the
/// `http.prometheus` setting is on. One short-lived thread per HTTP request; a WebSocket keeps two.
public final class DashboardServer: Sendable {
  public let server: MinionsServer
  public let files: StaticFiles?
  let logger: Logger
  /// The largest WebSocket message, as the other transports' frame limit.
  let maxMessage: Int

  public init(server: MinionsServer, files: StaticFiles?, logger: Logger, maxMessage: Int = 16 << 20) {
    self.server = server
    self.files = files
    self.logger = logger
    self.maxMessage = maxMessage
  }

  /// Serves one accepted connection (call from the listener; returns at once).
  public func accept(_ fd: Int32, peer: String) {
    spawnThread(name: "http") { [self] in handle(fd, peer: peer) }
  }

  func handle(_ fd: Int32, peer: String) {
    SocketIO.setReceiveTimeout(fd, seconds: 10)
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    let head: HTTPRequestHead
    let used: Int
    while true {
      let n = SocketIO.read(fd, into: &buffer)
      if n == 0 {
        close(fd)
        return
      }
      bytes += buffer[0..<n]
      do {
        (head, used) = try HTTPRequestHead.parse(bytes)
        break
      } catch .incomplete {
        continue
      } catch .tooLarge {
        reply(fd, .text(431, "the request head is over \(HTTPRequestHead.maxBytes) bytes\n"))
        return
      } catch .malformed(let why) {
        reply(fd, .text(400, why + "\n"))
        return
      } catch {
        reply(fd, .text(400, "bad request\n"))
        return
      }
    }
    let isHead = head.method == "HEAD"
    let path = head.path
    if path == "/rpc" {
      let (accepted, response) = WebSocketHandshake.respond(to: head)
      guard accepted else {
        logger.info("http \(peer): WebSocket refused (\(response.status))")
        reply(fd, response)
        return
      }
      guard server.connectionCount < server.configuration.maxConnections else {
        reply(fd, .text(503, "too many connections\n"))
        return
      }
      guard SocketIO.writeAll(fd, response.encoded()) else {
        close(fd)
        return
      }
      SocketIO.setReceiveTimeout(fd, seconds: 0)
      WebSocketBridge.start(
        socket: fd, leftover: Array(bytes[used...]), peer: peer, server: server, maxMessage: maxMessage,
        logger: logger)
      return
    }
    guard head.method == "GET" || isHead else {
      var r = HTTPResponse.text(405, "only GET and HEAD\n")
      r.headers.append(("Allow", "GET, HEAD"))
      reply(fd, r)
      return
    }
    switch path {
    case "/healthz":
      reply(
        fd,
        .text(200, #"{"status":"ok","version":"\#(MinionsBuild.version)"}"# + "\n", contentType: "application/json"),
        head: isHead)
    case "/metrics":
      guard server.engine.settings.system("http.prometheus").boolValue == true else {
        reply(fd, .text(404, "the Prometheus endpoint is off: an admin turns it on with the http.prometheus setting\n"))
        return
      }
      let server = self.server
      let text = blockingAwait { PrometheusExposition.render(await server.metricsSnapshot()) }
      reply(fd, .text(200, text, contentType: "text/plain; version=0.0.4; charset=utf-8"), head: isHead)
    default:
      guard let files else {
        reply(fd, .text(404, "no dashboard files: start the engine with --web-root DIR\n"))
        return
      }
      reply(fd, files.response(for: path), head: isHead)
    }
  }

  private func reply(_ fd: Int32, _ response: HTTPResponse, head: Bool = false) {
    _ = SocketIO.writeAll(fd, response.encoded(includeBody: !head))
    shutdown(fd, Int32(SHUT_WR))
    close(fd)
  }
}

/// Runs async work from a plain thread and waits for it (this thread is not part of the cooperative pool).
func blockingAwait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
  let result = Mutex<T?>(nil)
  let done = OneShotEvent()
  Task {
    let value = await body()
    result.withLock { $0 = value }
    done.signal()
  }
  done.wait()
  return result.withLock { $0! }
}
