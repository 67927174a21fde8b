import JSONRPC
import MinionsCore
import MinionsTestSupport
import Testing

func lsp(_ body: String) -> [UInt8] { Array("Content-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8) }

@Suite struct FrameParserTests {
  let bodies = [
    #"{"jsonrpc":"2.0","id":1,"method":"a"}"#, #"{"jsonrpc":"2.0","method":"b","params":{"t":"é😀"}}"#,
    #"[{"jsonrpc":"2.0","id":2,"method":"c"}]"#,
  ]

  func frames(_ events: [FrameParser.Event]) -> [String] {
    events.compactMap { if case .frame(let f) = $0 { return String(decoding: f, as: UTF8.self) } else { return nil } }
  }

  func feedInPieces(_ bytes: [UInt8], sizes: [Int]) -> (FrameParser, [FrameParser.Event]) {
    var p = FrameParser()
    var events: [FrameParser.Event] = []
    var i = 0
    var k = 0
    while i < bytes.count {
      let n = max(1, sizes[k % sizes.count])
      k += 1
      events += p.feed(Array(bytes[i..<min(bytes.count, i + n)]))
      i += n
    }
    return (p, events)
  }

  @Test func lspFramesOneByteAtATime() {
    let stream = bodies.flatMap(lsp)
    let (p, events) = feedInPieces(stream, sizes: [1])
    #expect(p.framing == .lsp)
    #expect(frames(events) == bodies)
  }

  @Test func ndjsonFramesOneByteAtATime() {
    let stream = Array(bodies.joined(separator: "\n").utf8) + [0x0A]
    let (p, events) = feedInPieces(stream, sizes: [1])
    #expect(p.framing == .ndjson)
    #expect(frames(events) == bodies)
  }

  @Test func randomSplitsGiveTheSameFrames() {
    var rng = SplitMix64(seed: 0xC0FFEE)
    let lspStream = bodies.flatMap(lsp) + bodies.flatMap(lsp)
    let ndStream = Array((bodies + bodies).map { $0 + "\r\n" }.joined().utf8)
    for _ in 0..<200 {
      let sizes = (0..<16).map { _ in Int.random(in: 1...40, using: &rng) }
      #expect(frames(feedInPieces(lspStream, sizes: sizes).1) == bodies + bodies)
      #expect(frames(feedInPieces(ndStream, sizes: sizes).1) == bodies + bodies)
    }
  }

  @Test func detectionSkipsLeadingWhitespace() {
    var p = FrameParser()
    let events = p.feed(Array(" \r\n\t{\"a\":1}\n".utf8))
    #expect(p.framing == .ndjson)
    #expect(frames(events) == [#"{"a":1}"#])
  }

  @Test func ndjsonIgnoresBlankLinesAndStripsCR() {
    var p = FrameParser()
    #expect(frames(p.feed(Array("{\"a\":1}\r\n\r\n   \n{\"b\":2}\n".utf8))) == [#"{"a":1}"#, #"{"b":2}"#])
  }

  @Test func headerNamesAreCaseInsensitiveAndOtherHeadersAreAccepted() {
    let body = #"{"x":1}"#
    let stream =
      "content-LENGTH:   \(body.utf8.count)  \r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\nX-Extra: yes\r\n\r\n\(body)"
      + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    var p = FrameParser()
    #expect(frames(p.feed(Array(stream.utf8))) == [body, body])
  }

  @Test func toleratesBareLineFeedsAndStrayBlankLinesBetweenMessages() {
    let body = #"{"x":1}"#
    let stream =
      "Content-Length: \(body.utf8.count)\n\n\(body)\r\n\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
    var p = FrameParser()
    #expect(frames(p.feed(Array(stream.utf8))) == [body, body])
  }

  @Test func zeroLengthBodyIsAnEmptyFrame() {
    var p = FrameParser()
    #expect(p.feed(Array("Content-Length: 0\r\n\r\n".utf8)) == [.frame([])])
  }

  // MARK: Limits and resynchronisation

  @Test func hugeContentLengthIsSkippedWithoutBufferingAndAnsweredToItsID() {
    let limits = FrameLimits(maxFrameBytes: 1024)
    var p = FrameParser(limits: limits)
    let big =
      #"{"jsonrpc":"2.0","id":9,"method":"m","params":{"pad":""# + String(repeating: "x", count: 50_000) + "\"}}"
    var events = p.feed(Array("Content-Length: \(big.utf8.count)\r\n\r\n".utf8))
    // Deliver the oversized body in chunks: nothing of it may be held.
    let bytes = Array(big.utf8)
    var i = 0
    while i < bytes.count {
      events += p.feed(Array(bytes[i..<min(bytes.count, i + 4096)]))
      i += 4096
      #expect(p.bufferedBytes < 64)
    }
    events += p.feed(lsp(#"{"jsonrpc":"2.0","id":10,"method":"next"}"#))
    #expect(events.count == 2)
    #expect(events.first == .error(FrameError(kind: .frameTooLarge(limit: 1024, size: big.utf8.count), id: .int(9))))
    #expect(frames(events) == [#"{"jsonrpc":"2.0","id":10,"method":"next"}"#])
    #expect(p.peakBufferedBytes < 200)
  }

  @Test func contentLengthTooLargeForAnyIntegerResynchronisesOnTheBody() {
    var p = FrameParser()
    var events = p.feed(Array("Content-Length: 99999999999999999999999\r\n\r\n{\"id\":3,\"x\":[1,2]}".utf8))
    events += p.feed(lsp(#"{"id":4}"#))
    #expect(events.first == .error(FrameError(kind: .frameTooLarge(limit: 16 << 20, size: nil), id: .int(3))))
    #expect(frames(events) == [#"{"id":4}"#])
  }

  @Test(arguments: ["-5", "abc", "12abc", "", "0x10", "1.5"])
  func invalidContentLengthIsAParseErrorAndTheStreamRecovers(_ value: String) {
    var p = FrameParser()
    var events = p.feed(Array("Content-Length: \(value)\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"m\"}".utf8))
    events += p.feed(lsp(#"{"id":6}"#))
    guard case .error(let e) = events.first else { Issue.record("no error for \(value)"); return }
    #expect(e.kind == .invalidContentLength(value))
    #expect(!e.isLimit)
    #expect(e.id == .int(5))
    #expect(e.responseError.code == .parseError)
    #expect(frames(events) == [#"{"id":6}"#])
  }

  @Test func missingContentLengthRecovers() {
    var p = FrameParser()
    var events = p.feed(Array("Content-Type: application/json\r\n\r\n{\"id\":1}".utf8))
    events += p.feed(lsp(#"{"id":2}"#))
    #expect(events.first == .error(FrameError(kind: .missingContentLength, id: .int(1))))
    #expect(frames(events) == [#"{"id":2}"#])
  }

  @Test func garbageWithoutBodyIsReportedAndTheNextHeaderIsRead() {
    var p = FrameParser()
    var events = p.feed(Array("hello there\r\n\r\n".utf8))
    events += p.feed(lsp(#"{"id":2}"#))
    #expect(events.first == .error(FrameError(kind: .missingContentLength, id: nil)))
    #expect(frames(events) == [#"{"id":2}"#])
  }

  @Test func overlongHeaderLineIsRefusedWithoutBeingStored() {
    var p = FrameParser()
    let junk = "X-Junk: " + String(repeating: "a", count: 100_000)
    var events: [FrameParser.Event] = []
    let bytes = Array(junk.utf8)
    var i = 0
    while i < bytes.count {
      events += p.feed(Array(bytes[i..<min(bytes.count, i + 1000)]))
      i += 1000
    }
    #expect(p.bufferedBytes <= 8192)
    let body = #"{"jsonrpc":"2.0","id":77,"method":"m"}"#
    events += p.feed(Array("\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
    events += p.feed(lsp(#"{"id":78}"#))
    #expect(events.first == .error(FrameError(kind: .headerLineTooLong(limit: 8192), id: .int(77))))
    #expect(frames(events) == [#"{"id":78}"#])
    #expect(p.peakBufferedBytes <= 8192 + 64)
  }

  @Test func headerLineAtTheLimitIsAccepted() {
    var p = FrameParser()
    let body = #"{"id":1}"#
    let header = "X-Pad: " + String(repeating: "a", count: 8192 - 7 - 1)  // + \r = 8192 bytes before \n
    let events = p.feed(Array("\(header)\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)".utf8))
    #expect(frames(events) == [body])
  }

  @Test func oversizedNDJSONLineIsSkippedAndAnsweredToItsID() {
    var p = FrameParser(limits: FrameLimits(maxFrameBytes: 100))
    let line = #"{"jsonrpc":"2.0","id":"big","method":"m","params":""# + String(repeating: "z", count: 10_000) + "\"}"
    var events: [FrameParser.Event] = []
    let bytes = Array(line.utf8)
    var i = 0
    while i < bytes.count {
      events += p.feed(Array(bytes[i..<min(bytes.count, i + 333)]))
      i += 333
      #expect(p.bufferedBytes <= 101)
    }
    events += p.feed(Array("\n{\"id\":1}\n".utf8))
    #expect(events.first == .error(FrameError(kind: .frameTooLarge(limit: 100, size: nil), id: .string("big"))))
    #expect(frames(events) == [#"{"id":1}"#])
  }

  @Test func frameAtExactlyTheLimitIsAccepted() {
    var p = FrameParser(limits: FrameLimits(maxFrameBytes: 10))
    #expect(frames(p.feed(Array("{\"a\":1234}\r\n".utf8))) == [#"{"a":1234}"#])
    var q = FrameParser(limits: FrameLimits(maxFrameBytes: 10))
    #expect(frames(q.feed(Array("Content-Length: 10\r\n\r\n{\"a\":1234}".utf8))) == [#"{"a":1234}"#])
  }
}
