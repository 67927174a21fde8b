/// Splits bytes arriving in any chunking into lines: `\n` ends a line, a `\r` before it is dropped,
/// and a line is decoded as UTF-8 only once it is complete (so a character split between chunks is
/// never damaged).
public struct LineSplitter: Sendable {
  private var partial: [UInt8] = []
  /// Longest line kept; longer ones are cut there (a misbehaving server cannot exhaust memory).
  public let maxLineBytes: Int

  public init(maxLineBytes: Int = 16 << 20) { self.maxLineBytes = maxLineBytes }

  public mutating func feed(_ chunk: [UInt8]) -> [String] {
    var lines: [String] = []
    var start = 0
    for i in 0..<chunk.count where chunk[i] == 0x0A {
      partial.append(contentsOf: chunk[start..<i])
      lines.append(take())
      start = i + 1
    }
    if start < chunk.count {
      let room = maxLineBytes - partial.count
      if room > 0 { partial.append(contentsOf: chunk[start..<min(chunk.count, start + room)]) }
    }
    return lines
  }

  /// The last line when the body does not end with a line end.
  public mutating func finish() -> String? {
    partial.isEmpty ? nil : take()
  }

  private mutating func take() -> String {
    if partial.last == 0x0D { partial.removeLast() }
    let line = String(decoding: partial, as: UTF8.self)
    partial.removeAll(keepingCapacity: true)
    return line
  }
}

/// One server-sent event (the WHATWG EventSource format).
public struct SSEEvent: Sendable, Equatable {
  public var event: String?
  public var data: String
  public var id: String?

  public init(event: String? = nil, data: String, id: String? = nil) {
    self.event = event
    self.data = data
    self.id = id
  }
}

/// Builds events from lines: `field: value` (one space after the colon dropped), several `data:`
/// lines joined with `\n`, comment lines starting with `:` ignored, a blank line dispatches.
public struct SSEParser: Sendable {
  private var event: String?
  private var data: [String] = []
  private var hasData = false
  private var id: String?

  public init() {}

  public mutating func feed(line: String) -> SSEEvent? {
    if line.isEmpty { return dispatch() }
    if line.hasPrefix(":") { return nil }
    var field = Substring(line)
    var value = Substring("")
    if let colon = line.firstIndex(of: ":") {
      field = line[..<colon]
      value = line[line.index(after: colon)...]
      if value.hasPrefix(" ") { value = value.dropFirst() }
    }
    switch field {
    case "event": event = String(value)
    case "data":
      data.append(String(value))
      hasData = true
    case "id": id = String(value)
    default: break  // "retry" and unknown fields are ignored
    }
    return nil
  }

  /// An event left without its closing blank line at the end of the stream.
  public mutating func finish() -> SSEEvent? { dispatch() }

  private mutating func dispatch() -> SSEEvent? {
    defer {
      event = nil
      data = []
      hasData = false
    }
    guard hasData else { return nil }
    return SSEEvent(event: event, data: data.joined(separator: "\n"), id: id)
  }
}
