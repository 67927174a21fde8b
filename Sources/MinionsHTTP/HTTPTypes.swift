import MinionsCore

/// An HTTP request as the engine makes it.
public struct HTTPRequest: Sendable {
  public var method: String
  public var url: String
  public var headers: [(name: String, value: String)]
  public var body: [UInt8]?
  /// Seconds to establish the connection.
  public var connectTimeout: Double
  /// Seconds for the whole exchange; nil for none (streams can be long).
  public var totalTimeout: Double?
  /// Seconds without a byte received before the transfer is abandoned.
  public var idleTimeout: Double
  /// Response bodies beyond this many bytes abort the transfer.
  public var maxResponseBytes: Int?
  /// Redirects to follow (0: none). Each hop is checked by `addressPolicy` like the first.
  public var maxRedirects: Int
  /// Decides, for every address about to be connected (after DNS), whether to connect: the guard
  /// against requests to loopback, private or metadata addresses checks what is really connected.
  public var addressPolicy: (@Sendable (_ address: String, _ port: Int) -> Bool)?
  /// Only these URL schemes, for the request and any redirect.
  public var allowedSchemes: [String]

  public init(
    method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: [UInt8]? = nil,
    connectTimeout: Double = 10, totalTimeout: Double? = nil, idleTimeout: Double = 120,
    maxResponseBytes: Int? = nil, maxRedirects: Int = 0,
    addressPolicy: (@Sendable (String, Int) -> Bool)? = nil, allowedSchemes: [String] = ["http", "https"]
  ) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.connectTimeout = connectTimeout
    self.totalTimeout = totalTimeout
    self.idleTimeout = idleTimeout
    self.maxResponseBytes = maxResponseBytes
    self.maxRedirects = maxRedirects
    self.addressPolicy = addressPolicy
    self.allowedSchemes = allowedSchemes
  }

  /// A JSON POST.
  public static func json(_ url: String, body: JSONValue, headers: [(name: String, value: String)] = []) -> HTTPRequest
  {
    HTTPRequest(
      method: "POST", url: url, headers: [("Content-Type", "application/json")] + headers,
      body: JSONWriter.bytes(body))
  }
}

/// Response headers, looked up without regard to case.
public struct HTTPHeaders: Sendable, Equatable {
  public var fields: [(name: String, value: String)]

  public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

  public subscript(name: String) -> String? {
    let lower = name.lowercased()
    return fields.last { $0.name.lowercased() == lower }?.value
  }

  public static func == (a: HTTPHeaders, b: HTTPHeaders) -> Bool {
    a.fields.map { "\($0.name.lowercased()):\($0.value)" } == b.fields.map { "\($0.name.lowercased()):\($0.value)" }
  }
}

/// Why a transfer failed.
public struct HTTPError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case invalidURL
    case connectFailed
    case timedOut
    /// No byte for `idleTimeout` seconds.
    case idle
    case cancelled
    case tooLarge
    case tls
    /// The address policy refused the address (or a redirect target).
    case refused
    case protocolError
    case other
  }

  public var kind: Kind
  public var message: String

  public init(_ kind: Kind, _ message: String) {
    self.kind = kind
    self.message = message
  }

  public var description: String { message }

  /// Whether trying again could help (network trouble, not a bad request or a refusal).
  public var isTransient: Bool {
    switch kind {
    case .connectFailed, .timedOut, .idle, .protocolError, .other, .tls: return true
    case .invalidURL, .cancelled, .tooLarge, .refused: return false
    }
  }
}

/// Sends requests. The engine uses libcurl (`CurlHTTPClient`); unit tests may substitute their own.
public protocol HTTPTransport: Sendable {
  /// Starts `request` and returns once the response head arrived; the body then streams.
  func start(_ request: HTTPRequest) async throws -> HTTPResponse
}

extension HTTPTransport {
  /// Sends `request` and collects the whole body (at most `limit` bytes).
  public func send(_ request: HTTPRequest, limit: Int = 16 << 20) async throws -> (HTTPResponse, [UInt8]) {
    let response = try await start(request)
    return (response, try await response.body(limit: limit))
  }
}
