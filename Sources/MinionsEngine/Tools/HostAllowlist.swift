import MinionsCore

/// The setting `tools.http.allowHosts`: hosts the `http_request` tool may reach whatever address they
/// have (a service on this machine or the local network). Entries are `host` (any port) or `host:port`;
/// IPv6 hosts in brackets (`[::1]:8080`; a bare `::1` is read as a host without port). Names compare
/// without regard to case or a trailing dot.
struct HostAllowlist: Sendable, Equatable {
  struct Entry: Sendable, Equatable {
    /// Lower-cased, without a trailing dot; IPv6 in brackets.
    var host: String
    /// nil: any port.
    var port: Int?
  }

  var entries: [Entry]

  init(_ settings: [String]) {
    entries = settings.compactMap(Self.entry)
  }

  /// Whether `host` (as `HTTPURL` gives it) on `port` is listed.
  func allows(host: String, port: Int?) -> Bool {
    let host = Self.normalize(host)
    return entries.contains { $0.host == host && ($0.port == nil || $0.port == port) }
  }

  private static func entry(_ text: String) -> Entry? {
    let text = text.trimmed().lowercased()
    guard !text.isEmpty else { return nil }
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]") else { return nil }
      let host = String(text[...close])
      let rest = text[text.index(after: close)...]
      if rest.isEmpty { return Entry(host: host, port: nil) }
      guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()) else { return nil }
      return Entry(host: host, port: port)
    }
    let colons = text.filter { $0 == ":" }.count
    if colons > 1 { return Entry(host: "[\(text)]", port: nil) }  // a bare IPv6 address
    if colons == 1, let colon = text.firstIndex(of: ":") {
      guard let port = Int(text[text.index(after: colon)...]) else { return nil }
      return Entry(host: normalize(String(text[..<colon])), port: port)
    }
    return Entry(host: normalize(text), port: nil)
  }

  private static func normalize(_ host: String) -> String {
    var host = host.lowercased()
    if host.count > 1 && host.hasSuffix(".") { host.removeLast() }
    return host
  }
}
