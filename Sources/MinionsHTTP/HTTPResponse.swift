import MinionsCore

/// Where a response's body is delivered from: the transfer pushes, the reader pulls.
public protocol HTTPBodySource: Sendable {
  /// The next piece of the body, or nil at its end.
  func next() async throws -> [UInt8]?
  /// Stops the transfer (the reader lost interest); idempotent.
  func cancel()
}

/// A response whose body arrives as it is received.
public final class HTTPResponse: Sendable {
  public let status: Int
  public let headers: HTTPHeaders
  /// The address actually connected ("127.0.0.1"), when known.
  public let remoteAddress: String?
  private let source: any HTTPBodySource

  public init(status: Int, headers: HTTPHeaders, remoteAddress: String? = nil, source: any HTTPBodySource) {
    self.status = status
    self.headers = headers
    self.remoteAddress = remoteAddress
    self.source = source
  }

  deinit { source.cancel() }

  /// The next chunk of the body, as received; nil at the end. Cancelling the calling task stops the
  /// transfer.
  public func nextChunk() async throws -> [UInt8]? {
    try await withTaskCancellationHandler {
      try await source.next()
    } onCancel: { [source] in
      source.cancel()
    }
  }

  /// Stops receiving.
  public func cancel() { source.cancel() }

  /// The rest of the body, at most `limit` bytes.
  public func body(limit: Int) async throws -> [UInt8] {
    var all: [UInt8] = []
    while let chunk = try await nextChunk() {
      all += chunk
      if all.count > limit {
        cancel()
        throw HTTPError(.tooLarge, "response body over \(limit) bytes")
      }
    }
    return all
  }

  /// The body as lines (without line ends), split wherever the chunks happen to end.
  public var lines: LineSequence { LineSequence(response: self) }

  /// The body as server-sent events.
  public var events: SSEEventSequence { SSEEventSequence(lines: lines) }
}

/// An async sequence of the body's lines.
public struct LineSequence: AsyncSequence, Sendable {
  public typealias Element = String
  let response: HTTPResponse

  public struct AsyncIterator: AsyncIteratorProtocol {
    let response: HTTPResponse
    var splitter = LineSplitter()
    var pending: [String] = []
    var next = 0
    var finished = false

    public mutating func next() async throws -> String? {
      while next == pending.count {
        if finished { return nil }
        next = 0
        if let chunk = try await response.nextChunk() {
          pending = splitter.feed(chunk)
        } else {
          finished = true
          pending = splitter.finish().map { [$0] } ?? []
        }
      }
      defer { next += 1 }
      return pending[next]
    }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(response: response) }
}

/// An async sequence of server-sent events.
public struct SSEEventSequence: AsyncSequence, Sendable {
  public typealias Element = SSEEvent
  let lines: LineSequence

  public struct AsyncIterator: AsyncIteratorProtocol {
    var lines: LineSequence.AsyncIterator
    var parser = SSEParser()

    public mutating func next() async throws -> SSEEvent? {
      while let line = try await lines.next() {
        if let event = parser.feed(line: line) { return event }
      }
      return parser.finish()
    }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(lines: lines.makeAsyncIterator()) }
}
