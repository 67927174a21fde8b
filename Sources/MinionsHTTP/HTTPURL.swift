import CCurl
import MinionsCore

/// A URL as libcurl reads it (`curl_url`): checking a host against an allowlist with the very parser
/// that curl connects with leaves no room for two parsers disagreeing about which host a tricky URL
/// (`http://a.example\@b.example/`, `http://0x7f.1/`) names. Relative references (a redirect's
/// `Location`) are resolved the same way.
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
  /// The URL as curl writes it back (numeric IPv4 hosts normalized: `127.1` → `127.0.0.1`), without
  /// its fragment, which is never sent.
  public let text: String
  /// Lower-cased (`http`).
  public let scheme: String
  /// Lower-cased, without a trailing dot; IPv6 in brackets (`[::1]`); nil when the URL has none (`file:`).
  public let host: String?
  /// The port given, else the scheme's default; nil when unknown.
  public let port: Int?
  /// Whether the URL carries a user name or password (`http://user:secret@host/`).
  public let hasCredentials: Bool

  /// Parses an absolute URL.
  public init(_ text: String) throws(HTTPError) {
    self = try Self.parse(text, base: nil)
  }

  /// `reference` (absolute, or relative like `/next` or `../a`) resolved against this URL.
  public func resolving(_ reference: String) throws(HTTPError) -> HTTPURL {
    try Self.parse(reference, base: text)
  }

  public var description: String { text }

  private init(text: String, scheme: String, host: String?, port: Int?, hasCredentials: Bool) {
    self.text = text
    self.scheme = scheme
    self.host = host
    self.port = port
    self.hasCredentials = hasCredentials
  }

  private static func parse(_ reference: String, base: String?) throws(HTTPError) -> HTTPURL {
    let shown = "\"\(reference.prefix(200))\""
    // Control characters and spaces never belong in a URL; refusing them here keeps curl from guessing.
    guard !reference.isEmpty, !reference.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F })
    else {
      throw HTTPError(.invalidURL, "\(shown) is not a valid URL (it is empty or has spaces or control characters)")
    }
    let api: UnsafePointer<ccurl_api>
    do {
      api = try Curl.api().pointer
    } catch let error as HTTPError {
      throw error
    } catch {
      throw HTTPError(.other, "\(error)")
    }
    guard let handle = api.pointee.url() else { throw HTTPError(.other, "libcurl could not allocate a URL") }
    defer { api.pointee.url_cleanup(handle) }
    // Any scheme parses, so that the caller can say which one it refuses.
    let flags = UInt32(CURLU_NON_SUPPORT_SCHEME)
    if let base {
      let rc = api.pointee.url_set(handle, CURLUPART_URL, base, flags)
      guard rc == CURLUE_OK else { throw HTTPError(.invalidURL, "the base URL is not valid: \(describe(rc, api))") }
    }
    let rc = api.pointee.url_set(handle, CURLUPART_URL, reference, flags)
    guard rc == CURLUE_OK else { throw HTTPError(.invalidURL, "\(shown) is not a valid URL: \(describe(rc, api))") }
    _ = api.pointee.url_set(handle, CURLUPART_FRAGMENT, nil, 0)

    func part(_ which: CURLUPart, _ flags: Int32 = 0) -> String? {
      var out: UnsafeMutablePointer<CChar>? = nil
      guard api.pointee.url_get(handle, which, &out, UInt32(flags)) == CURLUE_OK, let out else { return nil }
      defer { api.pointee.free(out) }
      return String(cString: out)
    }
    guard let text = part(CURLUPART_URL), let scheme = part(CURLUPART_SCHEME) else {
      throw HTTPError(.invalidURL, "\(shown) is not a valid URL")
    }
    var host = part(CURLUPART_HOST)?.lowercased()
    if let h = host, h.hasSuffix("."), h.count > 1 { host = String(h.dropLast()) }
    let port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT).flatMap { Int($0) }
    let credentials = part(CURLUPART_USER) != nil || part(CURLUPART_PASSWORD) != nil
    return HTTPURL(text: text, scheme: scheme.lowercased(), host: host, port: port, hasCredentials: credentials)
  }

  private static func describe(_ rc: CURLUcode, _ api: UnsafePointer<ccurl_api>) -> String {
    api.pointee.url_strerror(rc).map { String(cString: $0) } ?? "URL error \(rc.rawValue)"
  }
}
