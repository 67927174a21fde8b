/// Which proxy a request goes through, from the usual environment variables, read the way curl reads
/// them: `http_proxy` (lower case only, as curl does, against "httpoxy"), `https_proxy`/`HTTPS_PROXY`,
/// `all_proxy`/`ALL_PROXY` for either, and `no_proxy`/`NO_PROXY` for hosts to reach directly.
/// Resolved from the engine's environment map rather than left to curl's `getenv`, so an engine's
/// configuration (and a test's) is the whole truth.
public struct ProxyConfiguration: Sendable, Equatable {
  public var http: String?
  public var https: String?
  /// curl's `NOPROXY` list: comma-separated host names, domains and addresses, or `*`.
  public var noProxy: String?

  public static let none = ProxyConfiguration(http: nil, https: nil, noProxy: nil)

  public init(http: String?, https: String?, noProxy: String?) {
    self.http = http
    self.https = https
    self.noProxy = noProxy
  }

  public init(environment: [String: String]) {
    func value(_ names: String...) -> String? {
      for name in names {
        if let v = environment[name]?.trimmed(), !v.isEmpty { return v }
      }
      return nil
    }
    let all = value("all_proxy", "ALL_PROXY")
    self.init(
      http: value("http_proxy") ?? all, https: value("https_proxy", "HTTPS_PROXY") ?? all,
      noProxy: value("no_proxy", "NO_PROXY"))
  }

  /// The proxy for a URL, or nil to connect directly (curl still applies `noProxy` by host).
  public func proxy(for url: String) -> String? {
    let lower = url.prefix(8).lowercased()
    if lower.hasPrefix("https://") { return https }
    if lower.hasPrefix("http://") { return http }
    return nil
  }
}
