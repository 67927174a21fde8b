import JSONRPCTransport
import MinionsCore
import MinionsServer
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Makes a WebSocket a JSON-RPC connection like any other: each text message becomes one message of
/// an ordinary `JSONRPCConnection` (over a socket pair, in Content-Length framing, so every limit, the
/// cancellation, the ordering and the flow control of the other transports apply unchanged), and each
/// message the engine writes goes back as one text frame.
///
/// Two threads: one reads frames from the browser (answering pings, honouring close, failing the
/// connection with the right status on a violation), one turns the engine's output into frames. The
/// socket closes when both are done.
enum WebSocketBridge {
  /// Runs the bridge for an upgraded socket; `leftover` is what the client sent after its handshake.
  static func start(
    socket fd: Int32, leftover: [UInt8], peer: String, server: MinionsServer, maxMessage: Int, logger: Logger
  ) {
    var pair: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
      logger.error("websocket \(peer): socketpair failed: \(String(cString: strerror(errno)))")
      _ = SocketIO.writeAll(fd, WebSocketFrame.close(.goingAway, reason: "server error").encoded())
      close(fd)
      return
    }
    let engineSide = pair[0]
    let bridgeSide = pair[1]
    server.serve(input: engineSide, output: engineSide, endpoint: .other("websocket \(peer)"), ownsDescriptors: true)
    let writer = FrameWriter(fd: fd)
    let done = Atomic<Int>(0)
    let finish: @Sendable () -> Void = {
      if done.add(1, ordering: .acquiringAndReleasing).newValue == 2 {
        close(bridgeSide)
        close(fd)
        logger.debug("websocket \(peer) closed")
      }
    }

    spawnThread(name: "ws-in") {
      var parser = WebSocketFrameParser(maxPayload: maxMessage)
      var assembler = WebSocketMessageAssembler(maxMessage: maxMessage)
      var buffer = [UInt8](repeating: 0, count: 64 * 1024)
      parser.append(leftover)
      reading: while true {
        do {
          while let frame = try parser.next() {
            switch try assembler.add(frame) {
            case nil: break
            case .text(let text)?:
              let body = Array(text.utf8)
              let head = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
              guard SocketIO.writeAll(bridgeSide, head + body) else { break reading }
            case .ping(let payload)?:
              writer.send(WebSocketFrame(opcode: .pong, payload: payload))
            case .pong?:
              break
            case .close(let code, _)?:
              // Echo the close (§5.5.1) and let the engine finish what is in flight.
              writer.close(code.flatMap(WebSocketCloseCode.init(rawValue:)) ?? .normal, reason: "")
              break reading
            }
          }
        } catch let violation as WebSocketViolation {
          logger.info("websocket \(peer): \(violation.reason); closing with \(violation.code.rawValue)")
          writer.close(violation.code, reason: violation.reason)
          break reading
        } catch {
          writer.close(.protocolError, reason: "")
          break reading
        }
        let n = SocketIO.read(fd, into: &buffer)
        if n == 0 { break }
        parser.append(buffer[0..<n])
      }
      shutdown(bridgeSide, Int32(SHUT_WR))  // the engine sees the end of its input
      finish()
    }

    spawnThread(name: "ws-out") {
      var pending: [UInt8] = []
      var buffer = [UInt8](repeating: 0, count: 64 * 1024)
      while true {
        let n = SocketIO.read(bridgeSide, into: &buffer)
        if n == 0 { break }
        pending += buffer[0..<n]
        while let (body, used) = Self.takeFrame(pending) {
          pending.removeFirst(used)
          writer.send(WebSocketFrame(opcode: .text, payload: body))
        }
      }
      // The engine closed the connection (exit, or after the browser's close): say goodbye and stop
      // the reader.
      writer.close(.normal, reason: "")
      shutdown(fd, Int32(SHUT_RDWR))
      finish()
    }
  }

  /// One Content-Length frame at the start of `bytes`: its body and the bytes it took.
  static func takeFrame(_ bytes: [UInt8]) -> ([UInt8], Int)? {
    guard let end = HTTPRequestHead.headEnd(bytes) else { return nil }
    let head = String(decoding: bytes[0..<end], as: UTF8.self)
    var length = 0
    for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
      length = Int(trimmedSpaces(line.dropFirst(15))) ?? 0
    }
    guard bytes.count >= end + length else { return nil }
    return (Array(bytes[end..<(end + length)]), end + length)
  }
}

/// Writes frames to the browser one at a time; after the close frame nothing more is sent (§5.5.1).
final class FrameWriter: Sendable {
  private let fd: Int32
  private let closed = Mutex(false)

  init(fd: Int32) { self.fd = fd }

  func send(_ frame: WebSocketFrame) {
    closed.withLock { closed in
      guard !closed else { return }
      if !SocketIO.writeAll(fd, frame.encoded()) { closed = true }
    }
  }

  func close(_ code: WebSocketCloseCode, reason: String) {
    closed.withLock { closed in
      guard !closed else { return }
      closed = true
      _ = SocketIO.writeAll(fd, WebSocketFrame.close(code, reason: reason).encoded())
    }
  }
}
