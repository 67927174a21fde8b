import JSONRPC
import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// The client side of an in-process connection over two pipes: writes raw bytes, reads messages.
public final class PipeClient: Sendable {
  /// Give these to the connection under test.
  public let serverInput: Int32
  public let serverOutput: Int32
  private let clientWrite: Int32
  private let clientRead: Int32
  public let reader: MessageReader

  public init(startReading: Bool = true) {
    var a: [Int32] = [0, 0]
    var b: [Int32] = [0, 0]
    precondition(pipe(&a) == 0 && pipe(&b) == 0)
    serverInput = a[0]
    clientWrite = a[1]
    serverOutput = b[1]
    clientRead = b[0]
    reader = MessageReader(fd: b[0])
    if startReading { reader.start() }
  }

  public func startReader() { reader.start() }

  /// Bytes the server wrote that nobody has read yet (before the reader starts: what fills the pipe).
  public var unreadBytes: Int {
    var n: Int32 = 0
    return ioctl(clientRead, UInt(FIONREAD), &n) == 0 ? Int(n) : 0
  }

  public func send(_ text: String) { sendBytes(Array(text.utf8)) }
  public func sendLine(_ text: String) { send(text + "\n") }
  public func sendLSP(_ body: String) { sendBytes(lspFrame(body)) }
  public func sendBytes(_ bytes: [UInt8]) { writeAll(clientWrite, bytes) }

  /// Closes the client's writing end: the server sees EOF.
  public func closeInput() { close(clientWrite) }

  public var messages: [JSONValue] { reader.messages }

  @discardableResult
  public func waitFor(count: Int, timeout: Double = 10) async -> [JSONValue] {
    await reader.waitFor(count: count, timeout: timeout)
  }

  public func reply(to id: JSONValue, timeout: Double = 10) async -> JSONValue? {
    await reader.reply(to: id, timeout: timeout)
  }

  public func replies(to id: JSONValue) -> [JSONValue] { reader.replies(to: id) }

  public func waitForServerEOF(timeout: Double = 5) async -> Bool { await reader.finished.waitAsync(timeout: timeout) }
}
