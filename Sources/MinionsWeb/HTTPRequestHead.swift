/// The request line and headers of an HTTP/1.1 request (RFC 9112), parsed from at most `maxBytes`.
public struct HTTPRequestHead: Sendable, Equatable {
  public var method: String
  /// The request target as sent (origin form: a path and maybe a query).
  public var target: String
  public var version: String
  /// Header names in lower case; repeated headers joined with ", ".
  public var headers: [String: String]

  public static let maxBytes = 8192

  public enum ParseError: Error, Equatable {
    /// More bytes are needed.
    case incomplete
    /// The head is over `maxBytes` (431).
    case tooLarge
    /// Not an HTTP/1.1 request head (400).
    case malformed(String)
  }

  public subscript(header name: String) -> String? { headers[name.lowercased()] }

  /// The path part of the target (before any `?`).
  public var path: Substring { target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)[0] }

  /// The query part of the target, if any.
  public var query: Substring? {
    let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
    return parts.count > 1 ? parts[1] : nil
  }

  /// Parses the head at the start of `bytes`; returns it and how many bytes it took (the CRLF CRLF
  /// included), so whatever follows (a WebSocket's first frames) can be kept.
  public static func parse(_ bytes: [UInt8]) throws(ParseError) -> (HTTPRequestHead, Int) {
    guard let end = headEnd(bytes) else {
      throw bytes.count >= maxBytes ? .tooLarge : .incomplete
    }
    guard end <= maxBytes else { throw .tooLarge }
    guard let text = String(validating: bytes[0..<(end - 4)], as: UTF8.self) else {
      throw .malformed("the request head is not UTF-8")
    }
    var lines = text.split(separator: "\r\n", omittingEmptySubsequences: false)
    let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
    guard requestLine.count == 3, !requestLine[0].isEmpty, requestLine[1].hasPrefix("/") else {
      throw .malformed("expected METHOD /path HTTP/1.1")
    }
    guard requestLine[2] == "HTTP/1.1" || requestLine[2] == "HTTP/1.0" else {
      throw .malformed("unsupported version \(requestLine[2])")
    }
    var headers: [String: String] = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
        throw .malformed("a header line without a name")
      }
      let name = line[..<colon]
      guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
        throw .malformed("an invalid header name")
      }
      let value = trimmedSpaces(line[line.index(after: colon)...])
      let key = name.lowercased()
      headers[key] = headers[key].map { $0 + ", " + value } ?? value
    }
    return (
      HTTPRequestHead(
        method: String(requestLine[0]), target: String(requestLine[1]), version: String(requestLine[2]),
        headers: headers),
      end
    )
  }

  /// The index just past the first CRLF CRLF, if there is one.
  static func headEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for i in 3..<bytes.count
    where bytes[i] == 0x0A && bytes[i - 1] == 0x0D && bytes[i - 2] == 0x0A && bytes[i - 3] == 0x0D {
      return i + 1
    }
    return nil
  }

  /// Whether a comma-separated header holds `token` (case-insensitive), as `Connection: keep-alive, Upgrade`.
  public func header(_ name: String, contains token: String) -> Bool {
    guard let value = self[header: name] else { return false }
    return value.split(separator: ",").contains { trimmedSpaces($0).lowercased() == token }
  }
}

/// An HTTP/1.1 response with the engine's security headers.
public struct HTTPResponse: Sendable {
  public var status: Int
  public var headers: [(String, String)]
  public var body: [UInt8]

  /// The Content-Security-Policy of every response: only this origin's scripts, styles, images and
  /// WebSocket; no inline code, no framing.
  public static let contentSecurityPolicy =
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

  public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
    self.status = status
    self.headers = headers
    self.body = body
  }

  public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8")
    -> HTTPResponse
  {
    HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
  }

  public static func reason(_ status: Int) -> String {
    switch status {
    case 101: return "Switching Protocols"
    case 200: return "OK"
    case 204: return "No Content"
    case 400: return "Bad Request"
    case 403: return "Forbidden"
    case 404: return "Not Found"
    case 405: return "Method Not Allowed"
    case 426: return "Upgrade Required"
    case 431: return "Request Header Fields Too Large"
    case 500: return "Internal Server Error"
    default: return "Status"
    }
  }

  /// The bytes on the wire; `includeBody` false for HEAD.
  public func encoded(includeBody: Bool = true) -> [UInt8] {
    var head = "HTTP/1.1 \(status) \(Self.reason(status))\r\n"
    var names = Set<String>()
    for (name, value) in headers {
      head += "\(name): \(value)\r\n"
      names.insert(name.lowercased())
    }
    if status != 101 {
      if !names.contains("content-length") { head += "Content-Length: \(body.count)\r\n" }
      if !names.contains("cache-control") { head += "Cache-Control: no-store\r\n" }
      head += "Connection: close\r\n"
    }
    head += "Content-Security-Policy: \(Self.contentSecurityPolicy)\r\n"
    head += "X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n\r\n"
    return Array(head.utf8) + (includeBody ? body : [])
  }
}

/// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace).
func trimmedSpaces(_ text: Substring) -> String {
  String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
}
