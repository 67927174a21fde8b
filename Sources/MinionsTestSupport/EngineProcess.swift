import Foundation
import JSONRPC
import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// The built `minions` binary running as a real subprocess, driven over its stdin/stdout.
public final class EngineProcess: Sendable {
  public let process: Process
  private let stdinHandle: FileHandle
  public let reader: MessageReader
  private let stderrText = TextBuffer()
  private let stderrDone = OneShotEvent()
  private let nextID = Mutex<Int>(0)

  /// The binary under test: `$MINIONS_BIN` (set by `make test`), else `.build/debug/minions`.
  public static var binaryPath: String {
    if let p = ProcessInfo.processInfo.environment["MINIONS_BIN"], !p.isEmpty { return p }
    return repositoryRootPath + "/.build/debug/minions"
  }

  /// Starts `minions ARGS` with `environment` added to a clean environment (a private data dir).
  public init(_ arguments: [String] = ["serve"], environment: [String: String] = [:], keepRawOutput: Bool = false)
    throws
  {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Self.binaryPath)
    p.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["MINIONS_LOG"] = env["MINIONS_TEST_LOG"] ?? "info"
    env["MINIONS_DATA_DIR"] = try temporaryDirectory(prefix: "minions-e2e")
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let stdin = Pipe()
    let stdout = Pipe()
    let stderr = Pipe()
    p.standardInput = stdin
    p.standardOutput = stdout
    p.standardError = stderr
    try p.run()
    process = p
    stdinHandle = stdin.fileHandleForWriting
    reader = MessageReader(fd: stdout.fileHandleForReading.fileDescriptor, keepRaw: keepRawOutput)
    reader.start()
    let errFD = stderr.fileHandleForReading.fileDescriptor
    spawnThread(name: "e2e-stderr") { [stderrText, stderrDone] in
      var buffer = [UInt8](repeating: 0, count: 16384)
      while true {
        let n = read(errFD, &buffer, buffer.count)
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { break }
        let text = String(decoding: buffer[0..<n], as: UTF8.self)
        stderrText.append(text)
      }
      stderrDone.signal()
    }
  }

  public var pid: Int32 { process.processIdentifier }
  public var stderr: String { stderrText.text }

  public func sendBytes(_ bytes: [UInt8]) { writeAll(stdinHandle.fileDescriptor, bytes) }
  public func send(_ text: String) { sendBytes(Array(text.utf8)) }
  public func sendLine(_ text: String) { send(text + "\n") }
  public func sendLSP(_ body: String) { sendBytes(lspFrame(body)) }

  /// Sends a request in newline framing and returns its id.
  @discardableResult
  public func request(_ method: String, _ params: JSONValue? = nil, lsp: Bool = false) -> JSONValue {
    let id = nextID.withLock { n -> Int in
      n += 1
      return n
    }
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
    if let params { message["params"] = params }
    let text = JSONWriter.string(.object(message))
    if lsp { sendLSP(text) } else { sendLine(text) }
    return .int(id)
  }

  /// Sends a request and waits for its reply.
  public func call(_ method: String, _ params: JSONValue? = nil, lsp: Bool = false, timeout: Double = 10) async
    -> JSONValue
  {
    let id = request(method, params, lsp: lsp)
    return await reader.reply(to: id, timeout: timeout) ?? ["error": "no reply from the engine"]
  }

  public func notify(_ method: String, _ params: JSONValue? = nil, lsp: Bool = false) {
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
    if let params { message["params"] = params }
    let text = JSONWriter.string(.object(message))
    if lsp { sendLSP(text) } else { sendLine(text) }
  }

  public func closeStdin() { try? stdinHandle.close() }

  /// Waits for the process to exit; returns its exit status, or nil on timeout (then kills it).
  public func waitForExit(timeout: Double = 15) async -> Int32? {
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
    while process.isRunning {
      if MonotonicClock.nanoseconds() >= deadline {
        process.terminate()
        return nil
      }
      await waitSeconds(0.005)
    }
    _ = await stderrDone.waitAsync(timeout: 2)
    _ = await reader.finished.waitAsync(timeout: 2)
    return process.terminationStatus
  }

  public func signal(_ sig: Int32) { kill(process.processIdentifier, sig) }

  /// Resident memory of the process in bytes (from /proc).
  public var residentBytes: Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
      let digits = line.split(separator: " ").compactMap { Int($0) }
      return (digits.first ?? 0) * 1024
    }
    return 0
  }

  /// Waits until stderr contains `text`.
  public func waitForStderr(_ text: String, timeout: Double = 10) async -> Bool {
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
    while !stderr.contains(text) {
      if MonotonicClock.nanoseconds() >= deadline { return false }
      await waitSeconds(0.005)
    }
    return true
  }

  deinit {
    if process.isRunning { process.terminate() }
  }
}

/// The repository root, found from this file's path (Sources/MinionsTestSupport/EngineProcess.swift).
public let repositoryRootPath: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)
  return parts.joined(separator: "/")
}()

/// Makes a fresh private directory under the system's temporary directory.
public func temporaryDirectory(prefix: String) throws -> String {
  var template = Array("\(NSTemporaryDirectory())/\(prefix)-XXXXXX".utf8CString)
  guard let p = mkdtemp(&template) else { throw POSIXError(.EIO) }
  return String(cString: p)
}

/// A TCP client socket to the engine, reading messages on a thread of its own.
public final class TCPTestClient: Sendable {
  public let fd: Int32
  public let reader: MessageReader
  private let nextID = Mutex<Int>(0)

  public init(host: String = "127.0.0.1", port: Int) throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, host, &addr.sin_addr)
    let rc = withUnsafePointer(to: &addr) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard rc == 0 else {
      Glibc.close(fd)
      throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .ECONNREFUSED)
    }
    self.fd = fd
    reader = MessageReader(fd: fd)
    reader.start()
  }

  public func sendLine(_ text: String) { writeAll(fd, Array((text + "\n").utf8)) }
  public func sendLSP(_ body: String) { writeAll(fd, lspFrame(body)) }

  public func call(_ method: String, _ params: JSONValue? = nil, lsp: Bool = false) async -> JSONValue {
    let id = nextID.withLock { n -> Int in
      n += 1
      return n
    }
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(id), "method": .string(method)]
    if let params { message["params"] = params }
    let text = JSONWriter.string(.object(message))
    if lsp { sendLSP(text) } else { sendLine(text) }
    return await reader.reply(to: .int(id)) ?? ["error": "no reply"]
  }

  /// Closes the connection. The descriptor is released only after the reader thread has stopped, so
  /// a new socket reusing its number can never be read by the old reader.
  public func close() async {
    shutdown(fd, Int32(SHUT_RDWR))
    _ = await reader.finished.waitAsync(timeout: 5)
    Glibc.close(fd)
  }
}

/// Text appended from one thread and read from others.
final class TextBuffer: Sendable {
  private let storage = Mutex<String>("")
  func append(_ s: String) { storage.withLock { $0 += s } }
  var text: String { storage.withLock { $0 } }
}
