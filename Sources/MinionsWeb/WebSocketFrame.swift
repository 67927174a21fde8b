/// One WebSocket frame (RFC 6455 §5.2), as read from or written to the wire.
public struct WebSocketFrame: Sendable, Equatable {
  public enum Opcode: UInt8, Sendable {
    case continuation = 0x0
    case text = 0x1
    case binary = 0x2
    case close = 0x8
    case ping = 0x9
    case pong = 0xA

    /// Close, ping and pong: at most 125 bytes, never fragmented (§5.5).
    public var isControl: Bool { rawValue & 0x8 != 0 }
  }

  public var fin: Bool
  public var opcode: Opcode
  /// The payload, unmasked.
  public var payload: [UInt8]

  public init(fin: Bool = true, opcode: Opcode, payload: [UInt8]) {
    self.fin = fin
    self.opcode = opcode
    self.payload = payload
  }

  /// The frame's bytes; `mask` (4 bytes) masks the payload as a client must (§5.3), nil for a server.
  public func encoded(mask: [UInt8]? = nil) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(payload.count + 14)
    out.append((fin ? 0x80 : 0) | opcode.rawValue)
    let maskBit: UInt8 = mask == nil ? 0 : 0x80
    if payload.count < 126 {
      out.append(maskBit | UInt8(payload.count))
    } else if payload.count <= 0xFFFF {
      out.append(maskBit | 126)
      out.append(UInt8(payload.count >> 8))
      out.append(UInt8(payload.count & 0xFF))
    } else {
      out.append(maskBit | 127)
      for shift in stride(from: 56, through: 0, by: -8) {
        out.append(UInt8((UInt64(payload.count) >> UInt64(shift)) & 0xFF))
      }
    }
    if let mask {
      precondition(mask.count == 4, "a mask is 4 bytes")
      out += mask
      for (i, b) in payload.enumerated() { out.append(b ^ mask[i & 3]) }
    } else {
      out += payload
    }
    return out
  }

  /// A close frame with a status code and a reason (cut to fit the 125-byte control limit).
  public static func close(_ code: WebSocketCloseCode, reason: String = "") -> WebSocketFrame {
    var payload = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
    payload += Array(reason.utf8.prefix(123))
    return WebSocketFrame(opcode: .close, payload: payload)
  }
}

/// Close status codes the engine sends (§7.4.1).
public enum WebSocketCloseCode: UInt16, Sendable {
  case normal = 1000
  case goingAway = 1001
  case protocolError = 1002
  case unsupportedData = 1003
  case invalidPayload = 1007
  case tooBig = 1009
}

/// Why a connection is failed, with the status code its close frame carries.
public struct WebSocketViolation: Error, Sendable, Equatable, CustomStringConvertible {
  public var code: WebSocketCloseCode
  public var reason: String

  public init(_ code: WebSocketCloseCode, _ reason: String) {
    self.code = code
    self.reason = reason
  }

  public var description: String { "\(code.rawValue): \(reason)" }
}

/// Reads frames from a byte stream in any split, enforcing the rules a server must (§5.1–5.5): client
/// frames masked, no reserved bits or opcodes, control frames short and whole, and a payload limit
/// checked from the header before the payload is buffered.
public struct WebSocketFrameParser: Sendable {
  public let maxPayload: Int
  public let requireMask: Bool
  private var buffer: [UInt8] = []
  private var start = 0

  public init(maxPayload: Int, requireMask: Bool = true) {
    self.maxPayload = maxPayload
    self.requireMask = requireMask
  }

  public mutating func append(_ bytes: some Sequence<UInt8>) {
    if start > 0 && start == buffer.count {
      buffer.removeAll(keepingCapacity: true)
      start = 0
    }
    buffer.append(contentsOf: bytes)
  }

  /// The next whole frame, or nil until more bytes arrive. A violation fails the connection.
  public mutating func next() throws(WebSocketViolation) -> WebSocketFrame? {
    let available = buffer.count - start
    guard available >= 2 else { return nil }
    let b0 = buffer[start]
    let b1 = buffer[start + 1]
    guard b0 & 0x70 == 0 else { throw WebSocketViolation(.protocolError, "reserved bits set without an extension") }
    guard let opcode = WebSocketFrame.Opcode(rawValue: b0 & 0x0F) else {
      throw WebSocketViolation(.protocolError, "unknown opcode \(b0 & 0x0F)")
    }
    let fin = b0 & 0x80 != 0
    let masked = b1 & 0x80 != 0
    if requireMask && !masked { throw WebSocketViolation(.protocolError, "client frames must be masked") }
    var length = Int(b1 & 0x7F)
    var offset = 2
    if length == 126 {
      guard available >= 4 else { return nil }
      length = Int(buffer[start + 2]) << 8 | Int(buffer[start + 3])
      offset = 4
    } else if length == 127 {
      guard available >= 10 else { return nil }
      var l: UInt64 = 0
      for i in 0..<8 { l = l << 8 | UInt64(buffer[start + 2 + i]) }
      guard l >> 63 == 0 else { throw WebSocketViolation(.protocolError, "the length's top bit must be 0") }
      guard l <= UInt64(maxPayload) else {
        throw WebSocketViolation(.tooBig, "a frame of \(l) bytes is over the limit of \(maxPayload)")
      }
      length = Int(l)
      offset = 10
    }
    if opcode.isControl {
      guard fin else { throw WebSocketViolation(.protocolError, "control frames must not be fragmented") }
      guard length <= 125 else { throw WebSocketViolation(.protocolError, "control frames carry at most 125 bytes") }
    }
    guard length <= maxPayload else {
      throw WebSocketViolation(.tooBig, "a frame of \(length) bytes is over the limit of \(maxPayload)")
    }
    let maskLength = masked ? 4 : 0
    guard available >= offset + maskLength + length else { return nil }
    let payloadStart = start + offset + maskLength
    var payload = Array(buffer[payloadStart..<(payloadStart + length)])
    if masked {
      let m0 = buffer[start + offset]
      let m1 = buffer[start + offset + 1]
      let m2 = buffer[start + offset + 2]
      let m3 = buffer[start + offset + 3]
      let mask = [m0, m1, m2, m3]
      for i in payload.indices { payload[i] ^= mask[i & 3] }
    }
    start = payloadStart + length
    return WebSocketFrame(fin: fin, opcode: opcode, payload: payload)
  }
}

/// Joins fragmented data frames into messages (§5.4) and checks them: text only (binary is closed
/// with 1003), valid UTF-8 (else 1007), at most `maxMessage` bytes in all (else 1009). Control frames
/// pass through between fragments.
public struct WebSocketMessageAssembler: Sendable {
  public enum Item: Sendable, Equatable {
    case text(String)
    case ping([UInt8])
    case pong
    case close(code: UInt16?, reason: String)
  }

  public let maxMessage: Int
  private var partial: [UInt8]? = nil

  public init(maxMessage: Int) { self.maxMessage = maxMessage }

  /// What `frame` completes, or nil when it is a fragment of a message still open.
  public mutating func add(_ frame: WebSocketFrame) throws(WebSocketViolation) -> Item? {
    switch frame.opcode {
    case .ping: return .ping(frame.payload)
    case .pong: return .pong
    case .close:
      if frame.payload.count == 1 { throw WebSocketViolation(.protocolError, "a close payload of one byte") }
      guard frame.payload.count >= 2 else { return .close(code: nil, reason: "") }
      let code = UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1])
      guard let reason = String(validating: frame.payload.dropFirst(2), as: UTF8.self) else {
        throw WebSocketViolation(.invalidPayload, "the close reason is not UTF-8")
      }
      return .close(code: code, reason: reason)
    case .binary:
      throw WebSocketViolation(.unsupportedData, "binary messages are not accepted: send JSON-RPC as text frames")
    case .text:
      guard partial == nil else {
        throw WebSocketViolation(.protocolError, "a new message began inside a fragmented one")
      }
      if frame.fin { return try finish(frame.payload) }
      partial = frame.payload
      return nil
    case .continuation:
      guard var p = partial else { throw WebSocketViolation(.protocolError, "a continuation frame without a message") }
      guard p.count + frame.payload.count <= maxMessage else {
        partial = nil
        throw WebSocketViolation(.tooBig, "a message over \(maxMessage) bytes")
      }
      p += frame.payload
      if frame.fin {
        partial = nil
        return try finish(p)
      }
      partial = p
      return nil
    }
  }

  private func finish(_ bytes: [UInt8]) throws(WebSocketViolation) -> Item {
    guard bytes.count <= maxMessage else { throw WebSocketViolation(.tooBig, "a message over \(maxMessage) bytes") }
    guard let text = String(validating: bytes, as: UTF8.self) else {
      throw WebSocketViolation(.invalidPayload, "a text message that is not valid UTF-8")
    }
    return .text(text)
  }
}
