import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// How a connection frames its messages, detected from its first non-whitespace byte.
public enum Framing: String, Sendable {
  /// `Content-Length: N\r\n\r\n` + N bytes of JSON, as in the Language Server Protocol.
  case lsp
  /// One JSON text per line.
  case ndjson

  /// Wraps an encoded JSON text in this framing: header and body in one buffer (one write).
  public func frame(_ body: [UInt8]) -> [UInt8] {
    switch self {
    case .lsp:
      var out = Array("Content-Length: \(body.count)\r\n\r\n".utf8)
      out.reserveCapacity(out.count + body.count)
      out.append(contentsOf: body)
      return out
    case .ndjson:
      var out = body
      out.append(0x0A)
      return out
    }
  }
}

/// The protocol's size limits (contract §1); all configurable.
public struct FrameLimits: Sendable {
  public var maxFrameBytes: Int
  public var maxHeaderLineBytes: Int
  public var maxDepth: Int
  public var maxBatch: Int

  public init(
    maxFrameBytes: Int = 16 << 20, maxHeaderLineBytes: Int = 8 << 10, maxDepth: Int = 128, maxBatch: Int = 1000
  ) {
    self.maxFrameBytes = maxFrameBytes
    self.maxHeaderLineBytes = maxHeaderLineBytes
    self.maxDepth = maxDepth
    self.maxBatch = maxBatch
  }
}

/// A frame the parser could not deliver, with the id of the request it carried when one was found.
public struct FrameError: Error, Sendable, Equatable {
  public enum Kind: Sendable, Equatable {
    /// The frame is longer than the limit (`size` when a Content-Length declared it).
    case frameTooLarge(limit: Int, size: Int?)
    /// A header line is longer than the limit.
    case headerLineTooLong(limit: Int)
    /// A header block ended without a Content-Length.
    case missingContentLength
    /// A Content-Length that is not a non-negative decimal integer.
    case invalidContentLength(String)
  }

  public var kind: Kind
  /// The request id found in the refused frame, if any.
  public var id: RequestID?

  public init(kind: Kind, id: RequestID?) {
    self.kind = kind
    self.id = id
  }

  /// Whether the frame broke a configured limit (answered only when its id is known), as opposed to
  /// being malformed (answered with a parse error).
  public var isLimit: Bool {
    switch kind {
    case .frameTooLarge, .headerLineTooLong: return true
    case .missingContentLength, .invalidContentLength: return false
    }
  }

  public var message: String {
    switch kind {
    case .frameTooLarge(let limit, let size?):
      return "message of \(size) bytes exceeds the limit of \(limit) bytes"
    case .frameTooLarge(let limit, nil):
      return "message exceeds the limit of \(limit) bytes"
    case .headerLineTooLong(let limit):
      return "header line exceeds the limit of \(limit) bytes"
    case .missingContentLength:
      return "header block has no Content-Length"
    case .invalidContentLength(let v):
      return "Content-Length '\(v)' is not a non-negative integer"
    }
  }

  public var responseError: ResponseError {
    switch kind {
    case .frameTooLarge(let limit, let size):
      var data: [String: JSONValue] = ["limit": .int(limit)]
      if let size { data["size"] = .int(size) }
      return .invalidRequest(message, data: .object(data))
    case .headerLineTooLong(let limit):
      return .invalidRequest(message, data: ["limit": .int(limit)])
    case .missingContentLength:
      return .parseError(message, data: ["header": "Content-Length"])
    case .invalidContentLength:
      return .parseError(message, data: ["header": "Content-Length"])
    }
  }
}

/// An incremental parser from bytes to frames that accepts input split anywhere.
///
/// Limits are checked before memory is committed: a body is only buffered once its length is known to
/// be within the limit, an over-long line or body is skipped rather than stored, and after a refused
/// frame the parser resynchronises on the next frame whenever the stream allows (a known length, the
/// end of a line, or the end of a bracketed JSON value).
public struct FrameParser: Sendable {
  public enum Event: Sendable, Equatable {
    /// The bytes of one JSON text (not yet parsed).
    case frame([UInt8])
    case error(FrameError)
  }

  public let limits: FrameLimits
  /// The framing, once detected.
  public private(set) var framing: Framing?
  /// Bytes currently held (for memory assertions and diagnostics).
  public var bufferedBytes: Int { buffer.count + headerLine.count }
  /// The most bytes ever held at once.
  public private(set) var peakBufferedBytes = 0

  private enum State: Sendable {
    case detecting
    case ndjsonLine
    case ndjsonDiscarding(scanner: IDScanner)
    case lspHeaders
    case lspHeaderLineDiscarding
    case lspBody(remaining: Int)
    case lspBodyDiscarding(remaining: Int, scanner: IDScanner, error: FrameError.Kind)
    /// Length unknown after a bad header block: skip the JSON value that follows, if any.
    case lspResync(scanner: IDScanner, error: FrameError.Kind, started: Bool)
  }

  private var state: State = .detecting
  private var buffer: [UInt8] = []
  private var headerLine: [UInt8] = []
  // The header block being read.
  private var contentLength: Int?
  private var contentLengthProblem: FrameError.Kind?
  private var headerLineTooLong = false
  private var headerBlockStarted = false

  public init(limits: FrameLimits = FrameLimits()) {
    self.limits = limits
  }

  /// Feeds bytes; `emit` is called for every complete frame or refused frame, in stream order.
  public mutating func feed(_ bytes: UnsafeRawBufferPointer, _ emit: (Event) -> Void) {
    guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
    var i = 0
    let n = bytes.count
    while i < n {
      switch state {
      case .detecting:
        let b = base[i]
        if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
          i += 1
          continue
        }
        if b == UInt8(ascii: "{") || b == UInt8(ascii: "[") {
          framing = .ndjson
          state = .ndjsonLine
        } else {
          framing = .lsp
          state = .lspHeaders
        }

      case .ndjsonLine:
        let remaining = n - i
        if let nl = memchr(base + i, 0x0A, remaining) {
          let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
          let chunk = end - i
          if buffer.count + chunk > limits.maxFrameBytes + 1 {
            var scanner = IDScanner(tracksCompletion: false)
            scanner.feed(buffer)
            scanner.feed(UnsafeRawBufferPointer(start: base + i, count: chunk))
            buffer = []
            emit(.error(FrameError(kind: .frameTooLarge(limit: limits.maxFrameBytes, size: nil), id: scanner.foundID)))
          } else {
            buffer.append(contentsOf: UnsafeBufferPointer(start: base + i, count: chunk))
            notePeak()
            emitLine(emit)
          }
          i = end + 1
        } else {
          if buffer.count + remaining > limits.maxFrameBytes + 1 {
            var scanner = IDScanner(tracksCompletion: false)
            scanner.feed(buffer)
            scanner.feed(UnsafeRawBufferPointer(start: base + i, count: remaining))
            buffer = []
            state = .ndjsonDiscarding(scanner: scanner)
          } else {
            buffer.append(contentsOf: UnsafeBufferPointer(start: base + i, count: remaining))
            notePeak()
          }
          i = n
        }

      case .ndjsonDiscarding(var scanner):
        let remaining = n - i
        if let nl = memchr(base + i, 0x0A, remaining) {
          let end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
          scanner.feed(UnsafeRawBufferPointer(start: base + i, count: end - i))
          state = .ndjsonLine
          emit(.error(FrameError(kind: .frameTooLarge(limit: limits.maxFrameBytes, size: nil), id: scanner.foundID)))
          i = end + 1
        } else {
          scanner.feed(UnsafeRawBufferPointer(start: base + i, count: remaining))
          state = .ndjsonDiscarding(scanner: scanner)
          i = n
        }

      case .lspHeaders:
        let remaining = n - i
        let nlPointer = memchr(base + i, 0x0A, remaining)
        let end = nlPointer.map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) } ?? n
        let chunk = end - i
        if headerLine.count + chunk > limits.maxHeaderLineBytes {
          headerLine = []
          headerLineTooLong = true
          headerBlockStarted = true
          if nlPointer == nil {
            state = .lspHeaderLineDiscarding
            i = n
          } else {
            i = end + 1
          }
          continue
        }
        headerLine.append(contentsOf: UnsafeBufferPointer(start: base + i, count: chunk))
        notePeak()
        i = end
        guard nlPointer != nil else { continue }
        i += 1
        if headerLine.last == 0x0D { headerLine.removeLast() }
        let line = headerLine
        headerLine = []
        if line.isEmpty {
          if headerBlockStarted { finishHeaderBlock(emit) }
          // A blank line before any header (stray CRLF between messages) is ignored.
        } else {
          headerBlockStarted = true
          readHeader(line)
        }

      case .lspHeaderLineDiscarding:
        let remaining = n - i
        if let nl = memchr(base + i, 0x0A, remaining) {
          i = base.distance(to: nl.assumingMemoryBound(to: UInt8.self)) + 1
          state = .lspHeaders
        } else {
          i = n
        }

      case .lspBody(let remaining):
        let take = min(remaining, n - i)
        buffer.append(contentsOf: UnsafeBufferPointer(start: base + i, count: take))
        notePeak()
        i += take
        if take == remaining {
          state = .lspHeaders
          let body = buffer
          buffer = []
          emit(.frame(body))
        } else {
          state = .lspBody(remaining: remaining - take)
        }

      case .lspBodyDiscarding(let remaining, var scanner, let error):
        let take = min(remaining, n - i)
        scanner.feed(UnsafeRawBufferPointer(start: base + i, count: take))
        i += take
        if take == remaining {
          state = .lspHeaders
          emit(.error(FrameError(kind: error, id: scanner.foundID)))
        } else {
          state = .lspBodyDiscarding(remaining: remaining - take, scanner: scanner, error: error)
        }

      case .lspResync(var scanner, let error, let started):
        if !started {
          let b = base[i]
          if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D {
            i += 1
            continue
          }
          if b != UInt8(ascii: "{") && b != UInt8(ascii: "[") {
            // No JSON body follows; what comes next is read as the next header block.
            state = .lspHeaders
            emit(.error(FrameError(kind: error, id: nil)))
            continue
          }
        }
        while i < n && !scanner.isComplete {
          scanner.feed(byte: base[i])
          i += 1
        }
        if scanner.isComplete {
          state = .lspHeaders
          emit(.error(FrameError(kind: error, id: scanner.foundID)))
        } else {
          state = .lspResync(scanner: scanner, error: error, started: true)
        }
      }
    }
  }

  public mutating func feed(_ bytes: [UInt8], _ emit: (Event) -> Void) {
    bytes.withUnsafeBytes { feed($0, emit) }
  }

  /// Feeds bytes and returns the events (convenient for tests).
  public mutating func feed(_ bytes: [UInt8]) -> [Event] {
    var events: [Event] = []
    feed(bytes) { events.append($0) }
    return events
  }

  private mutating func notePeak() {
    let held = buffer.count + headerLine.count
    if held > peakBufferedBytes { peakBufferedBytes = held }
  }

  private mutating func emitLine(_ emit: (Event) -> Void) {
    var line = buffer
    buffer = []
    if line.last == 0x0D { line.removeLast() }
    // Blank lines between messages are allowed and ignored.
    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
    if line.count > limits.maxFrameBytes {
      var scanner = IDScanner()
      scanner.feed(line)
      emit(.error(FrameError(kind: .frameTooLarge(limit: limits.maxFrameBytes, size: line.count), id: scanner.foundID)))
      return
    }
    emit(.frame(line))
  }

  private mutating func readHeader(_ line: [UInt8]) {
    guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }  // not a header: ignored
    let name = String(decoding: line[..<colon], as: UTF8.self).trimmingASCIISpaces().lowercased()
    guard name == "content-length" else { return }  // Content-Type and unknown headers are accepted
    let value = String(decoding: line[(colon + 1)...], as: UTF8.self).trimmingASCIISpaces()
    guard !value.isEmpty, value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
      contentLengthProblem = .invalidContentLength(String(value.prefix(64)))
      return
    }
    if value.utf8.count > 15 {
      contentLengthProblem = .frameTooLarge(limit: limits.maxFrameBytes, size: nil)
      return
    }
    let length = Int(value)!
    if let previous = contentLength, previous != length {
      contentLengthProblem = .invalidContentLength("\(previous), \(length)")
      return
    }
    contentLength = length
  }

  private mutating func finishHeaderBlock(_ emit: (Event) -> Void) {
    defer {
      contentLength = nil
      contentLengthProblem = nil
      headerLineTooLong = false
      headerBlockStarted = false
    }
    if let problem = contentLengthProblem {
      state = .lspResync(scanner: IDScanner(), error: problem, started: false)
      return
    }
    guard let length = contentLength else {
      state = .lspResync(scanner: IDScanner(), error: .missingContentLength, started: false)
      return
    }
    if headerLineTooLong {
      state = .lspBodyDiscarding(
        remaining: length, scanner: IDScanner(tracksCompletion: false),
        error: .headerLineTooLong(limit: limits.maxHeaderLineBytes))
      if length == 0 {
        state = .lspHeaders;
        emit(.error(FrameError(kind: .headerLineTooLong(limit: limits.maxHeaderLineBytes), id: nil)))
      }
      return
    }
    if length > limits.maxFrameBytes {
      state = .lspBodyDiscarding(
        remaining: length, scanner: IDScanner(tracksCompletion: false),
        error: .frameTooLarge(limit: limits.maxFrameBytes, size: length))
      return
    }
    if length == 0 {
      state = .lspHeaders
      emit(.frame([]))
      return
    }
    buffer.reserveCapacity(length)
    state = .lspBody(remaining: length)
  }
}

extension String {
  func trimmingASCIISpaces() -> String {
    let utf8 = Array(self.utf8)
    var start = 0
    var end = utf8.count
    while start < end, utf8[start] == 0x20 || utf8[start] == 0x09 { start += 1 }
    while end > start, utf8[end - 1] == 0x20 || utf8[end - 1] == 0x09 { end -= 1 }
    return String(decoding: utf8[start..<end], as: UTF8.self)
  }
}
