import MinionsCore
import MinionsHTTP
import Synchronization

/// The built-in `http_request` tool: one HTTP(S) request to the public internet, or to hosts listed in
/// `tools.http.allowHosts`.
///
/// The guard is on the address actually connected: every connection curl is about to open (after DNS,
/// for every redirect hop) is passed to an `AddressClassifier`, and anything but a public address is
/// refused before connecting, however the host was spelled (`127.1`, `0x7f000001`, `[::ffff:127.0.0.1]`,
/// `localhost`, a name resolving to 10.0.0.1). A host in the allowlist may use any address. Redirects are
/// followed here, hop by hop (scheme, allowlist and addresses checked again each time), at most
/// `Limits.maxRedirects`. GET and HEAD need no approval; other methods do.
public struct HTTPTool: Tool {
  /// Bounds on one call.
  public struct Limits: Sendable, Equatable {
    /// A longer response body is cut here (and said to be).
    public var maxResponseBytes: Int
    public var maxRequestBodyBytes: Int
    public var maxRedirects: Int
    public var defaultTimeoutMs: Int
    /// The most `timeoutMs` may ask for.
    public var maxTimeoutMs: Int

    public init(
      maxResponseBytes: Int = 1 << 20, maxRequestBodyBytes: Int = 1 << 20, maxRedirects: Int = 5,
      defaultTimeoutMs: Int = 30_000, maxTimeoutMs: Int = 120_000
    ) {
      self.maxResponseBytes = maxResponseBytes
      self.maxRequestBodyBytes = maxRequestBodyBytes
      self.maxRedirects = maxRedirects
      self.defaultTimeoutMs = defaultTimeoutMs
      self.maxTimeoutMs = maxTimeoutMs
    }
  }

  /// The tool's name, as models and `tools/list` see it.
  public static let name = "http_request"
  /// The methods a call may use.
  public static let methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
  /// Headers that frame the request or route it, which the client sets itself; refused in `headers`.
  public static let reservedHeaders: Set<String> = [
    "connection", "content-length", "expect", "host", "keep-alive", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade",
  ]
  /// Response headers shown in the text output (all of them are in the structured output).
  static let shownHeaders = [
    "content-type", "content-length", "location", "last-modified", "etag", "cache-control", "retry-after",
  ]

  public let definition: ToolDefinition
  /// The bounds every call runs under.
  public let limits: Limits
  private let transport: any HTTPTransport
  private let allowHosts: @Sendable () -> [String]

  /// `allowHosts` is read at every call (the current `tools.http.allowHosts`).
  public init(
    transport: any HTTPTransport, allowHosts: @escaping @Sendable () -> [String], limits: Limits = Limits()
  ) {
    self.transport = transport
    self.allowHosts = allowHosts
    self.limits = limits
    self.definition = ToolDefinition(
      name: Self.name,
      description: """
        Makes one HTTP or HTTPS request and returns the status, the main headers and the body as text \
        (at most \(limits.maxResponseBytes) bytes). Redirects are followed (at most \(limits.maxRedirects)). \
        Addresses on this machine or a private network are refused unless the host is listed in the \
        setting tools.http.allowHosts.
        """,
      category: "web",
      inputSchema: [
        "type": "object",
        "properties": [
          "method": [
            "type": "string", "enum": .array(Self.methods.map { .string($0) }), "description": "The HTTP method.",
          ],
          "url": [
            "type": "string", "minLength": 1, "maxLength": 8192,
            "description": "An absolute http:// or https:// URL.",
          ],
          "headers": [
            "type": "object", "additionalProperties": ["type": "string", "maxLength": 8192],
            "description": "Request headers by name (not Host, Content-Length or other framing headers).",
          ],
          "body": ["type": "string", "description": "The request body (not for GET or HEAD)."],
          "timeoutMs": [
            "type": "integer", "minimum": 1, "maximum": .int(limits.maxTimeoutMs),
            "description": "How long the whole exchange may take (default \(limits.defaultTimeoutMs)).",
          ],
        ],
        "required": ["method", "url"],
        "additionalProperties": false,
      ],
      requiresApproval: true,
      timeoutMs: limits.maxTimeoutMs + 5_000)
  }

  /// GET and HEAD only read; every other method (or none) needs approval.
  public func needsApproval(_ arguments: JSONValue) -> Bool {
    guard let method = arguments["method"]?.stringValue?.uppercased() else { return true }
    return method != "GET" && method != "HEAD"
  }

  public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
    var call: Call
    do throws(ToolFailure) {
      call = try Call(arguments, limits: limits)
    } catch {
      return .failure(error.message)
    }
    let allowlist = HostAllowlist(allowHosts())
    let deadline = MonotonicClock.nanoseconds() + UInt64(call.timeoutMs) * 1_000_000
    var redirects: [String] = []
    while true {
      do throws(ToolFailure) {
        try Self.check(call.url)
      } catch {
        return .failure(redirects.isEmpty ? error.message : "redirected to \(call.url): \(error.message)")
      }
      let now = MonotonicClock.nanoseconds()
      guard now < deadline else { return .failure("timed out after \(call.timeoutMs) ms") }
      let remaining = Double(deadline - now) / 1e9
      let refusals = AddressRefusals()
      let request = HTTPRequest(
        method: call.method, url: call.url.text, headers: call.headers, body: call.body,
        connectTimeout: min(10, remaining), totalTimeout: remaining, idleTimeout: remaining, maxRedirects: 0,
        addressPolicy: Self.policy(
          allowed: allowlist.allows(host: call.url.host ?? "", port: call.url.port), refusals: refusals))
      let response: HTTPResponse
      do {
        response = try await transport.start(request)
      } catch {
        return try failure(error, call: call, refusals: refusals)
      }
      if [301, 302, 303, 307, 308].contains(response.status), let location = response.headers["location"] {
        response.cancel()
        guard redirects.count < limits.maxRedirects else {
          return .failure(
            "too many redirects (more than \(limits.maxRedirects)); the last went to \(location.prefix(200))")
        }
        do throws(HTTPError) {
          try call.follow(location, status: response.status)
        } catch {
          return .failure("the redirect from \(call.url) is not usable: \(error.message)")
        }
        redirects.append(call.url.text)
        continue
      }
      var body: [UInt8] = []
      var truncated = false
      do {
        while let chunk = try await response.nextChunk() {
          let room = limits.maxResponseBytes - body.count
          if chunk.count > room {
            body += chunk.prefix(room)
            truncated = true
            response.cancel()
            break
          }
          body += chunk
        }
      } catch {
        return try failure(error, call: call, refusals: refusals)
      }
      return Self.output(response, body: body, truncated: truncated, url: call.url, redirects: redirects)
    }
  }

  /// The address policy of one hop: any address for a host in the allowlist, else only public ones; what
  /// it refuses is recorded for the failure message.
  private static func policy(allowed: Bool, refusals: AddressRefusals) -> @Sendable (String, Int) -> Bool {
    { address, _ in
      if allowed { return true }
      let category = AddressClassifier.classify(address)
      if category == .publicAddress { return true }
      refusals.record(address: address, category: category)
      return false
    }
  }

  /// Refuses a URL the tool does not go to, whatever its address.
  private static func check(_ url: HTTPURL) throws(ToolFailure) {
    guard url.scheme == "http" || url.scheme == "https" else {
      throw ToolFailure("refused: only http and https URLs are allowed (not \(url.scheme):)")
    }
    guard let host = url.host, !host.isEmpty else { throw ToolFailure("the URL \(url) has no host") }
    guard !url.hasCredentials else {
      throw ToolFailure("refused: the URL contains credentials; send them in an Authorization header instead")
    }
  }

  private func failure(_ error: any Error, call: Call, refusals: AddressRefusals) throws -> ToolOutput {
    guard let error = error as? HTTPError else {
      try Task.checkCancellation()
      return .failure("the request failed: \(error)")
    }
    switch error.kind {
    case .cancelled:
      try Task.checkCancellation()
      return .failure("the request was cancelled")
    case .refused:
      guard let refusal = refusals.first else { return .failure("refused: \(error.message)") }
      let host = call.url.host ?? ""
      let bare = host.hasPrefix("[") ? String(host.dropFirst().dropLast()) : host
      let subject = bare == refusal.address ? refusal.address : "\(host) (\(refusal.address))"
      let what = refusal.category?.phrase ?? "not an address that can be checked"
      return .failure("refused: \(subject) is \(what) (add the host to tools.http.allowHosts to allow it)")
    case .timedOut, .idle:
      return .failure("timed out after \(call.timeoutMs) ms waiting for \(call.url)")
    case .connectFailed:
      return .failure("could not connect to \(call.url.host ?? "the host"): \(error.message)")
    case .tls:
      return .failure("the TLS connection to \(call.url.host ?? "the host") failed: \(error.message)")
    case .invalidURL:
      return .failure("the request is not valid: \(error.message)")
    case .tooLarge, .protocolError, .other:
      return .failure("the request to \(call.url) failed: \(error.message)")
    }
  }

  private static func output(
    _ response: HTTPResponse, body: [UInt8], truncated: Bool, url: HTTPURL, redirects: [String]
  ) -> ToolOutput {
    var headers: [String: String] = [:]
    for (name, value) in response.headers.fields {
      let key = name.lowercased()
      headers[key] = headers[key].map { $0 + ", " + value } ?? value
    }
    var lines = ["HTTP \(response.status)"]
    if !redirects.isEmpty {
      lines[0] += " from \(url) (after \(counted(redirects.count, "redirect")))"
    }
    for name in shownHeaders { if let value = headers[name] { lines.append("\(name): \(value)") } }
    var structured: [String: JSONValue] = [
      "status": .int(response.status),
      "url": .string(url.text),
      "headers": .object(headers.mapValues { .string($0) }),
      "truncated": .bool(truncated),
      "bytes": .int(body.count),
      "redirects": .array(redirects.map { .string($0) }),
    ]
    var text = lines.joined(separator: "\n")
    if let decoded = TextDecoding.text(body, cutShort: truncated) {
      structured["body"] = .string(decoded)
      structured["binary"] = false
      if !decoded.isEmpty { text += "\n\n" + decoded }
    } else {
      structured["body"] = .null
      structured["binary"] = true
      text += "\n\n[binary body: \(body.count) bytes of \(headers["content-type"] ?? "unknown type"); not shown]"
    }
    if truncated { text += "\n\n[truncated: showing the first \(body.count) bytes of the body]" }
    return .success(text, structured: .object(structured))
  }

  /// A call's arguments, checked, and the request as redirects change it.
  struct Call: Sendable {
    var method: String
    var url: HTTPURL
    var headers: [(name: String, value: String)]
    var body: [UInt8]?
    var timeoutMs: Int

    init(_ arguments: JSONValue, limits: Limits) throws(ToolFailure) {
      guard let method = arguments["method"]?.stringValue?.uppercased(), HTTPTool.methods.contains(method) else {
        throw ToolFailure("method must be one of \(HTTPTool.methods.joined(separator: ", "))")
      }
      guard let text = arguments["url"]?.stringValue else { throw ToolFailure("url is required") }
      do throws(HTTPError) {
        url = try HTTPURL(text)
      } catch {
        throw ToolFailure(error.message)
      }
      self.method = method
      headers = []
      if let given = arguments["headers"], !given.isNull {
        guard let fields = given.objectValue else { throw ToolFailure("headers must be an object of strings") }
        guard fields.count <= 64 else { throw ToolFailure("at most 64 headers may be sent") }
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
          guard let value = value.stringValue else { throw ToolFailure("headers.\(name) must be a string") }
          try Self.checkHeader(name, value)
          headers.append((name, value))
        }
      }
      if let given = arguments["body"], !given.isNull {
        guard let text = given.stringValue else { throw ToolFailure("body must be a string") }
        guard method != "GET" && method != "HEAD" else { throw ToolFailure("a \(method) request has no body") }
        let bytes = Array(text.utf8)
        guard bytes.count <= limits.maxRequestBodyBytes else {
          throw ToolFailure("the body is \(bytes.count) bytes; at most \(limits.maxRequestBodyBytes) may be sent")
        }
        body = bytes
      }
      timeoutMs = arguments["timeoutMs"]?.intValue ?? limits.defaultTimeoutMs
      guard (1...limits.maxTimeoutMs).contains(timeoutMs) else {
        throw ToolFailure("timeoutMs must be between 1 and \(limits.maxTimeoutMs)")
      }
    }

    /// A header name is an RFC 9110 token; a value has no line break, NUL or other control character
    /// (tabs allowed), so nothing can be smuggled into the request as another header.
    static func checkHeader(_ name: String, _ value: String) throws(ToolFailure) {
      let punctuation = Set("!#$%&'*+-.^_`|~".utf8)
      let isToken = name.utf8.allSatisfy { byte in
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
          || punctuation.contains(byte)
      }
      guard !name.isEmpty, isToken else {
        throw ToolFailure("refused: \"\(name.prefix(60))\" is not a valid header name")
      }
      guard !value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) else {
        throw ToolFailure("refused: the value of header \(name) contains a line break or control character")
      }
      guard !HTTPTool.reservedHeaders.contains(name.lowercased()) else {
        throw ToolFailure("refused: the \(name) header is set by the client and cannot be given")
      }
    }

    /// Moves to the redirect target `location`: POST becomes GET (without its body) after 301 and 302,
    /// and anything but HEAD after 303, as browsers do; credentials are not sent to another origin.
    mutating func follow(_ location: String, status: Int) throws(HTTPError) {
      let next = try url.resolving(location)
      if (status == 303 && method != "HEAD") || ((status == 301 || status == 302) && method == "POST") {
        method = "GET"
        body = nil
        headers.removeAll { $0.name.lowercased() == "content-type" }
      }
      if next.scheme != url.scheme || next.host != url.host || next.port != url.port {
        headers.removeAll { ["authorization", "cookie"].contains($0.name.lowercased()) }
      }
      url = next
    }
  }
}

/// The addresses an address policy refused during one hop (the policy runs on curl's thread).
final class AddressRefusals: Sendable {
  struct Refusal: Sendable {
    var address: String
    var category: AddressCategory?
  }

  private let refusals = Mutex<[Refusal]>([])

  func record(address: String, category: AddressCategory?) {
    refusals.withLock { $0.append(Refusal(address: address, category: category)) }
  }

  var first: Refusal? { refusals.withLock { $0.first } }
}
