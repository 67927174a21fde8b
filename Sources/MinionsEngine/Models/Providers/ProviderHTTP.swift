import MinionsCore
import MinionsHTTP

/// What every HTTP provider shares: sending the request, turning transport failures and error statuses
/// into `ModelError`s (with the provider's own error message and any Retry-After), and reading JSON.
struct ProviderHTTP: Sendable {
  let transport: any HTTPTransport
  let provider: ProviderKind

  /// Starts a streaming POST; throws a `ModelError` for any status other than 2xx.
  func start(
    _ url: String, body: JSONValue, headers: [(name: String, value: String)], model: String,
    idleTimeout: Double = 120
  ) async throws -> HTTPResponse {
    var request = HTTPRequest.json(url, body: body, headers: headers)
    request.idleTimeout = idleTimeout
    request.connectTimeout = 10
    let response: HTTPResponse
    do {
      response = try await transport.start(request)
    } catch let e as HTTPError {
      throw map(e, model: model, afterOutput: false)
    }
    guard (200..<300).contains(response.status) else {
      let body = (try? await response.body(limit: 64 << 10)) ?? []
      throw ModelError(
        kind: .http, provider: provider, model: model, httpStatus: response.status,
        retryable: ModelError.isRetryable(status: response.status), retryAfterMs: Self.retryAfter(response.headers),
        message: Self.errorMessage(body) ?? "HTTP \(response.status)")
    }
    return response
  }

  /// A plain GET or POST whose whole JSON body is wanted (discovery).
  func json(_ request: HTTPRequest, model: String) async throws -> JSONValue {
    do {
      let (response, body) = try await transport.send(request, limit: 16 << 20)
      guard (200..<300).contains(response.status) else {
        throw ModelError(
          kind: .http, provider: provider, model: model, httpStatus: response.status,
          retryable: ModelError.isRetryable(status: response.status),
          message: Self.errorMessage(body) ?? "HTTP \(response.status)")
      }
      return try JSONParser.parse(body)
    } catch let e as HTTPError {
      throw map(e, model: model, afterOutput: false)
    } catch is JSONParseError {
      throw ModelError(
        kind: .protocolError, provider: provider, model: model, retryable: false, message: "the response is not JSON")
    }
  }

  func map(_ e: HTTPError, model: String, afterOutput: Bool) -> any Error {
    switch e.kind {
    case .cancelled: return CancellationError()
    case .timedOut, .idle:
      return ModelError(
        kind: afterOutput ? .midStream : .timeout, provider: provider, model: model, retryable: true,
        message: e.kind == .idle ? "the stream stalled: \(e.message)" : "timed out: \(e.message)")
    case .connectFailed, .protocolError, .other:
      return ModelError(
        kind: afterOutput ? .midStream : .network, provider: provider, model: model, retryable: true, message: e.message
      )
    case .tls, .invalidURL, .refused, .tooLarge:
      return ModelError(kind: .configuration, provider: provider, model: model, retryable: false, message: e.message)
    }
  }

  /// `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date; in milliseconds.
  static func retryAfter(_ headers: HTTPHeaders, now: Timestamp = .now()) -> Int? {
    if let ms = headers["retry-after-ms"].flatMap(Double.init), ms >= 0 { return Int(ms) }
    guard let value = headers["retry-after"] else { return nil }
    if let seconds = Double(value), seconds >= 0 { return Int(seconds * 1000) }
    if let date = HTTPDate.parse(value) { return max(0, Int(date.millisecondsSinceEpoch - now.millisecondsSinceEpoch)) }
    return nil
  }

  /// The message inside the usual error bodies: `{"error":{"message"}}` (OpenAI, Anthropic) or
  /// `{"error":"…"}` (Ollama).
  static func errorMessage(_ body: [UInt8]) -> String? {
    guard let json = try? JSONParser.parse(body) else {
      let text = String(decoding: body.prefix(300), as: UTF8.self).trimmed()
      return text.isEmpty ? nil : text
    }
    return errorMessage(json)
  }

  static func errorMessage(_ json: JSONValue) -> String? {
    if let s = json["error"]?.stringValue { return s }
    if let s = json["error"]?["message"]?.stringValue { return s }
    if let s = json["message"]?.stringValue { return s }
    return nil
  }
}

/// HTTP dates (RFC 9110 IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT").
enum HTTPDate {
  static func parse(_ text: String) -> Timestamp? {
    let parts = text.split(separator: " ")
    guard parts.count == 6, parts[5] == "GMT" else { return nil }
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    guard let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int(parts[3])
    else { return nil }
    let month = monthIndex + 1
    func pad(_ v: Int, _ width: Int) -> String {
      let t = String(v)
      return String(repeating: "0", count: max(0, width - t.count)) + t
    }
    let iso = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(parts[4])Z"
    return Timestamp(iso8601: iso)
  }
}

/// Builds the URL of an endpoint under a base URL ("http://h:1/v1" + "/chat/completions").
func joinURL(_ base: String, _ path: String) -> String {
  var b = base
  while b.hasSuffix("/") { b.removeLast() }
  return b + path
}

/// The Ollama base URL from `OLLAMA_HOST`, following Ollama's own rules: no scheme means http; bare
/// `ollama.com` means https on 443; http and https without a port get 80 and 443; otherwise the port
/// defaults to 11434 and the host to 127.0.0.1.
public func ollamaBaseURL(_ value: String?) -> String {
  let s = (value ?? "").trimmed()
  var scheme = "http"
  var hostport = s
  var defaultPort = "11434"
  if let range = s.firstRange(of: "://") {
    scheme = String(s[..<range.lowerBound])
    hostport = String(s[range.upperBound...])
    if scheme == "http" { defaultPort = "80" } else if scheme == "https" { defaultPort = "443" }
  } else if s == "ollama.com" {
    scheme = "https"
    hostport = "ollama.com:443"
  }
  var path = ""
  if let slash = hostport.firstIndex(of: "/") {
    path = String(hostport[slash...])
    hostport = String(hostport[..<slash])
  }
  var host = "127.0.0.1"
  var port = defaultPort
  if hostport.hasPrefix("["), let close = hostport.firstIndex(of: "]") {
    host = String(hostport[hostport.index(after: hostport.startIndex)..<close])
    let rest = hostport[hostport.index(after: close)...]
    if rest.hasPrefix(":") { port = String(rest.dropFirst()) }
  } else if let colon = hostport.lastIndex(of: ":"), !hostport[..<colon].contains(":") {
    host = String(hostport[..<colon])
    port = String(hostport[hostport.index(after: colon)...])
  } else if !hostport.isEmpty {
    host = hostport
  }
  if host.isEmpty { host = "127.0.0.1" }
  guard let p = Int(port), (0...65535).contains(p) else { return "\(scheme)://127.0.0.1:11434" }
  let h = host.contains(":") ? "[\(host)]" : host
  while path.hasSuffix("/") { path.removeLast() }
  return "\(scheme)://\(h):\(p)\(path)"
}
