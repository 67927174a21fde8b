import MinionsHTTP
import Testing

@Suite struct LineParserTests {
  @Test func linesAssembleFromAnySplitIncludingInsideCharacters() {
    let text = "first line\r\nsecond — ü 😀\n\nlast without end"
    let bytes = Array(text.utf8)
    for size in 1...7 {
      var splitter = LineSplitter()
      var lines: [String] = []
      var i = 0
      while i < bytes.count {
        lines += splitter.feed(Array(bytes[i..<min(bytes.count, i + size)]))
        i += size
      }
      if let last = splitter.finish() { lines.append(last) }
      #expect(lines == ["first line", "second — ü 😀", "", "last without end"], "size \(size)")
    }
  }

  @Test func overlongLinesAreCutNotHoarded() {
    var splitter = LineSplitter(maxLineBytes: 10)
    _ = splitter.feed(Array(repeating: UInt8(ascii: "x"), count: 1000))
    #expect(splitter.feed([0x0A]) == [String(repeating: "x", count: 10)])
  }

  @Test func sseEventsCommentsAndMultilineData() {
    var parser = SSEParser()
    var events: [SSEEvent] = []
    let lines = [
      ": a comment", "event: message_start", "data: {\"a\":", "data:1}", "id: 7", "",
      "data: plain", "retry: 100", "unknown: x", "", "", ":ping", "data:[DONE]",
    ]
    for line in lines { if let e = parser.feed(line: line) { events.append(e) } }
    if let e = parser.finish() { events.append(e) }
    // The last event id persists across events (as EventSource keeps it).
    #expect(
      events == [
        SSEEvent(event: "message_start", data: "{\"a\":\n1}", id: "7"), SSEEvent(data: "plain", id: "7"),
        SSEEvent(data: "[DONE]", id: "7"),
      ])
  }
}
