import Testing

@testable import MinionsWeb

/// The framing rules of RFC 6455, with the examples of its §5.7.
@Suite struct WebSocketFrameTests {
  func frames(_ bytes: [UInt8], requireMask: Bool = false, max: Int = 1 << 20, split: Int? = nil) throws
    -> [WebSocketFrame]
  {
    var parser = WebSocketFrameParser(maxPayload: max, requireMask: requireMask)
    var out: [WebSocketFrame] = []
    let step = split ?? bytes.count
    var i = 0
    while i < bytes.count {
      parser.append(bytes[i..<min(bytes.count, i + step)])
      i += step
      while let f = try parser.next() { out.append(f) }
    }
    return out
  }

  static let hello = Array("Hello".utf8)

  @Test func theRFCExamplesParse() throws {
    // A single-frame unmasked text message.
    #expect(
      try frames([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]) == [WebSocketFrame(opcode: .text, payload: Self.hello)])
    // A single-frame masked text message.
    let masked: [UInt8] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    #expect(try frames(masked, requireMask: true) == [WebSocketFrame(opcode: .text, payload: Self.hello)])
    // A fragmented unmasked text message.
    let fragmented: [UInt8] = [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
    #expect(
      try frames(fragmented) == [
        WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8)),
        WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8)),
      ])
    // Unmasked ping, masked pong.
    #expect(
      try frames([0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]) == [WebSocketFrame(opcode: .ping, payload: Self.hello)])
    let pong: [UInt8] = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]
    #expect(try frames(pong, requireMask: true) == [WebSocketFrame(opcode: .pong, payload: Self.hello)])
    // 256 bytes and 64 KiB in one unmasked binary frame: the 16- and 64-bit length forms.
    let f256 = [0x82, 0x7E, 0x01, 0x00] + [UInt8](repeating: 7, count: 256)
    #expect(try frames(f256).first?.payload.count == 256)
    let f64k = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0] + [UInt8](repeating: 9, count: 65536)
    #expect(try frames(f64k).first?.payload.count == 65536)
  }

  @Test func encodingMatchesTheRFCAndRoundTripsInAnySplit() throws {
    #expect(WebSocketFrame(opcode: .text, payload: Self.hello).encoded() == [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f])
    #expect(
      WebSocketFrame(opcode: .text, payload: Self.hello).encoded(mask: [0x37, 0xfa, 0x21, 0x3d])
        == [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58])
    for size in [0, 1, 125, 126, 127, 65535, 65536, 70000] {
      let frame = WebSocketFrame(opcode: .text, payload: (0..<size).map { UInt8($0 % 251) })
      let bytes = frame.encoded(mask: [1, 2, 3, 4])
      #expect(try frames(bytes, requireMask: true, split: 7) == [frame], "size \(size)")
    }
  }

  @Test func violationsFailWithTheirStatus() throws {
    func violation(_ bytes: [UInt8], requireMask: Bool = true, max: Int = 1 << 20) -> WebSocketCloseCode? {
      do {
        _ = try frames(bytes, requireMask: requireMask, max: max)
        return nil
      } catch let v as WebSocketViolation {
        return v.code
      } catch {
        return nil
      }
    }
    #expect(violation([0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]) == .protocolError)  // unmasked from a client
    #expect(violation([0xC1, 0x80, 1, 2, 3, 4]) == .protocolError)  // RSV1 without an extension
    #expect(violation([0x83, 0x80, 1, 2, 3, 4]) == .protocolError)  // reserved opcode 3
    #expect(violation([0x09, 0x80, 1, 2, 3, 4]) == .protocolError)  // a fragmented ping
    #expect(violation([0x89, 0xFE, 0x00, 0x7E] + [UInt8](repeating: 0, count: 130)) == .protocolError)  // ping > 125
    // Too big is known from the header alone: nothing of the payload is needed (or buffered).
    #expect(violation([0x81, 0xFF, 0, 0, 0, 0, 0x01, 0x40, 0, 0], max: 16 << 20) == .tooBig)
    #expect(violation([0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0]) == .protocolError)  // top bit of a 64-bit length
  }

  @Test func messagesAreAssembledAndChecked() throws {
    var a = WebSocketMessageAssembler(maxMessage: 10)
    #expect(try a.add(WebSocketFrame(fin: false, opcode: .text, payload: Array("Hel".utf8))) == nil)
    #expect(try a.add(WebSocketFrame(opcode: .ping, payload: [1])) == .ping([1]))  // control frames interleave
    #expect(try a.add(WebSocketFrame(opcode: .continuation, payload: Array("lo".utf8))) == .text("Hello"))
    func code(_ frames: [WebSocketFrame], max: Int = 10) -> WebSocketCloseCode? {
      var a = WebSocketMessageAssembler(maxMessage: max)
      do {
        for f in frames { _ = try a.add(f) }
        return nil
      } catch {
        return error.code
      }
    }
    #expect(code([WebSocketFrame(opcode: .binary, payload: [1])]) == .unsupportedData)
    #expect(code([WebSocketFrame(opcode: .text, payload: [0xC3, 0x28])]) == .invalidPayload)
    #expect(code([WebSocketFrame(opcode: .continuation, payload: [1])]) == .protocolError)
    #expect(
      code([
        WebSocketFrame(fin: false, opcode: .text, payload: [0x41]), WebSocketFrame(opcode: .text, payload: [0x41]),
      ]) == .protocolError)
    #expect(
      code([
        WebSocketFrame(fin: false, opcode: .text, payload: [UInt8](repeating: 0x41, count: 8)),
        WebSocketFrame(opcode: .continuation, payload: [UInt8](repeating: 0x41, count: 8)),
      ]) == .tooBig)
    var c = WebSocketMessageAssembler(maxMessage: 10)
    #expect(try c.add(.close(.normal, reason: "bye")) == .close(code: 1000, reason: "bye"))
  }

  @Test func theHandshakeAnswersAsTheRFCSays() throws {
    #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    func head(_ lines: [String], target: String = "/rpc") throws -> HTTPRequestHead {
      let text = (["GET \(target) HTTP/1.1", "Host: 127.0.0.1:7412"] + lines).joined(separator: "\r\n") + "\r\n\r\n"
      return try HTTPRequestHead.parse(Array(text.utf8)).0
    }
    let good = [
      "Upgrade: websocket", "Connection: keep-alive, Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
    ]
    let ok = WebSocketHandshake.respond(to: try head(good + ["Origin: http://127.0.0.1:7412"]))
    #expect(ok.accepted && ok.response.status == 101)
    #expect(ok.response.headers.contains { $0 == ("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") })
    #expect(WebSocketHandshake.respond(to: try head(good + ["Origin: https://evil.example"])).response.status == 403)
    #expect(WebSocketHandshake.respond(to: try head(good, target: "/rpc?token=abc")).response.status == 400)
    #expect(
      WebSocketHandshake.respond(to: try head(Array(good.dropLast()) + ["Sec-WebSocket-Version: 8"])).response.status
        == 426)
    #expect(WebSocketHandshake.respond(to: try head(["Connection: Upgrade"])).response.status == 426)
    #expect(
      WebSocketHandshake.respond(
        to: try head(Array(good.dropLast(2)) + ["Sec-WebSocket-Key: short", "Sec-WebSocket-Version: 13"])
      )
      .response.status == 400)
  }

  @Test func requestHeadsAreParsedWithinTheirLimit() throws {
    #expect(throws: HTTPRequestHead.ParseError.incomplete) {
      try HTTPRequestHead.parse(Array("GET / HTTP/1.1\r\n".utf8))
    }
    let huge = "GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 9000) + "\r\n\r\n"
    #expect(throws: HTTPRequestHead.ParseError.tooLarge) { try HTTPRequestHead.parse(Array(huge.utf8)) }
    #expect(throws: HTTPRequestHead.ParseError.self) { try HTTPRequestHead.parse(Array("GARBAGE\r\n\r\n".utf8)) }
    let (h, used) = try HTTPRequestHead.parse(Array("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\nrest".utf8))
    #expect(h.path == "/a" && h.query == "b=1" && h[header: "HOST"] == "x" && used == 32)
  }
}
