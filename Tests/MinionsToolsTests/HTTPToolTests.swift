import MinionsCore
import MinionsHTTP
import MinionsTestSupport
import Synchronization
import Testing

@testable import MinionsEngine

/// The allowlist as a test sets it (the tool reads it at every call, like the live setting).
final class AllowHosts: Sendable {
  private let hosts: Mutex<[String]>
  init(_ hosts: [String] = []) { self.hosts = Mutex(hosts) }
  func set(_ new: [String]) { hosts.withLock { $0 = new } }
  var current: [String] { hosts.withLock { $0 } }
}

@Suite struct HTTPToolTests {
  let client = CurlHTTPClient(logger: .disabled)
  let allow = AllowHosts()

  func tool(limits: HTTPTool.Limits = .init()) -> HTTPTool {
    let allow = self.allow
    return HTTPTool(transport: client, allowHosts: { allow.current }, limits: limits)
  }

  func get(_ url: String, _ tool: HTTPTool? = nil) async throws -> ToolOutput {
    try await call(tool ?? self.tool(), ["method": "GET", "url": .string(url)])
  }

  // MARK: Requests that go through

  @Test func aGetToAnAllowedHostReturnsStatusHeadersAndBody() async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "hello there", contentType: "text/plain") }
    allow.set(["127.0.0.1:\(server.port)"])
    let out = try await get(server.baseURL + "/greeting?x=1")
    #expect(!out.isError)
    #expect(out.text == "HTTP 200\ncontent-type: text/plain\n\nhello there")
    #expect(out.structured?["status"] == 200 && out.structured?["body"] == "hello there")
    #expect(out.structured?["headers"]?["content-type"] == "text/plain")
    #expect(out.structured?["truncated"] == false && out.structured?["redirects"] == [])
    #expect(server.requests.map(\.path) == ["/greeting?x=1"])
  }

  @Test func aPostSendsItsBodyAndHeaders() async throws {
    let server = try LoopbackHTTPServer { req in .body(201, "got \(req.body.count) bytes", contentType: "text/plain") }
    allow.set(["127.0.0.1"])
    let out = try await call(
      tool(),
      [
        "method": "POST", "url": .string(server.baseURL + "/items"), "body": #"{"a":1}"#,
        "headers": ["Content-Type": "application/json", "X-Trace": "t-1"],
      ])
    #expect(!out.isError && out.structured?["status"] == 201 && out.structured?["body"] == "got 7 bytes")
    let got = try #require(server.requests.first)
    #expect(got.method == "POST" && got.header("x-trace") == "t-1" && got.header("content-type") == "application/json")
    #expect(String(decoding: got.body, as: UTF8.self) == #"{"a":1}"#)
  }

  @Test func anErrorStatusIsAResultNotAFailure() async throws {
    let server = try LoopbackHTTPServer { _ in .body(404, "no such thing", contentType: "text/plain") }
    allow.set(["127.0.0.1"])
    let out = try await get(server.baseURL + "/missing")
    #expect(!out.isError && out.structured?["status"] == 404 && out.text.hasPrefix("HTTP 404"))
  }

  @Test func aBinaryBodyIsReportedNotShown() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(
        status: 200, headers: [("Content-Type", "image/png")], steps: [.bytes([0x89, 0x50, 0x00, 0xFF])])
    }
    allow.set(["127.0.0.1"])
    let out = try await get(server.baseURL)
    #expect(!out.isError && out.structured?["binary"] == true && out.structured?["body"] == .null)
    #expect(out.text.hasSuffix("[binary body: 4 bytes of image/png; not shown]"))
  }

  @Test func aHeadRequestHasNoBody() async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "ignored", contentType: "text/plain") }
    allow.set(["127.0.0.1"])
    let out = try await call(tool(), ["method": "HEAD", "url": .string(server.baseURL)])
    #expect(!out.isError && out.structured?["body"] == "" && server.requests.first?.method == "HEAD")
  }

  // MARK: The address guard

  /// Loopback spelled every way curl understands: each refused before connecting, so the server (which
  /// listens on 127.0.0.1) receives nothing.
  @Test(arguments: [
    ("http://127.0.0.1:PORT/", "127.0.0.1 is a loopback address"),
    ("http://127.1:PORT/", "127.0.0.1 is a loopback address"),
    ("http://0x7f000001:PORT/", "127.0.0.1 is a loopback address"),
    ("http://2130706433:PORT/", "127.0.0.1 is a loopback address"),
    ("http://0177.0.0.1:PORT/", "127.0.0.1 is a loopback address"),
    ("http://127.0.0.2:PORT/", "127.0.0.2 is a loopback address"),
    ("http://[::ffff:127.0.0.1]:PORT/", "::ffff:127.0.0.1 is a loopback address"),
    ("http://[::1]:PORT/", "::1 is a loopback address"),
    ("http://localhost:PORT/", "localhost ("),
    ("http://LocalHost:PORT/", "localhost ("),
    ("http://0.0.0.0:PORT/", "0.0.0.0 is an unspecified address"),
    ("http://[::]:PORT/", ":: is an unspecified address"),
  ])
  func loopbackIsRefusedHoweverItIsWritten(url: String, refusal: String) async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "should not be reached") }
    let out = try await get(url.replacing("PORT", with: String(server.port)))
    #expect(out.isError)
    #expect(out.text.hasPrefix("refused: " + refusal))
    #expect(out.text.hasSuffix("(add the host to tools.http.allowHosts to allow it)"))
    #expect(server.requests.isEmpty)
  }

  /// Private, link-local (cloud metadata), shared, multicast and embedded-IPv4 addresses: refused in
  /// curl's open-socket callback, before any connection is attempted, so nothing leaves this machine.
  @Test(arguments: [
    ("http://10.0.0.1/", "10.0.0.1 is a private address"),
    ("http://172.16.5.4:8080/", "172.16.5.4 is a private address"),
    ("http://192.168.1.1/", "192.168.1.1 is a private address"),
    ("http://100.64.0.1/", "100.64.0.1 is a carrier-grade NAT address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("http://[fe80::1]/", "fe80::1 is a link-local address"),
    ("http://[fd00::2]/", "fd00::2 is a unique-local address"),
    ("http://[fc00::1]/", "fc00::1 is a unique-local address"),
    ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1 is a private address"),
    ("http://[::ffff:169.254.169.254]/", "::ffff:169.254.169.254 is a link-local address"),
    ("http://[64:ff9b::a00:1]/", "64:ff9b::a00:1 is a private address"),
    ("http://[2002:a9fe:a9fe::1]/", "2002:a9fe:a9fe::1 is a link-local address"),
    ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
    ("http://255.255.255.255/", "255.255.255.255 is a broadcast address"),
    ("http://192.0.2.1/", "192.0.2.1 is a reserved address"),
  ])
  func privateAndMetadataAddressesAreRefusedBeforeConnecting(url: String, refusal: String) async throws {
    let out = try await get(url, tool())
    #expect(out.isError)
    #expect(out.text == "refused: \(refusal) (add the host to tools.http.allowHosts to allow it)")
  }

  @Test func allowHostsWithAPortAllowsOnlyThatPort() async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "ok", contentType: "text/plain") }
    allow.set(["127.0.0.1:\(server.port == 1 ? 2 : 1)"])
    let refused = try await get(server.baseURL)
    #expect(refused.isError && refused.text.hasPrefix("refused: 127.0.0.1 is a loopback address"))
    #expect(server.requests.isEmpty)
    allow.set(["127.0.0.1:\(server.port)"])
    #expect(try await get(server.baseURL).structured?["body"] == "ok")
  }

  @Test func allowHostsWithoutAPortAllowsAnyPortAndIgnoresCase() async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "ok", contentType: "text/plain") }
    allow.set(["127.0.0.1"])
    #expect(try await get(server.baseURL).structured?["body"] == "ok")
    allow.set([" LOCALHOST "])
    let byName = try await get("http://localhost:\(server.port)/")
    #expect(!byName.isError && byName.structured?["body"] == "ok")
    // Listed by name is not listed by address: 127.0.0.1 itself is still refused.
    let byAddress = try await get(server.baseURL)
    #expect(byAddress.isError && byAddress.text.hasPrefix("refused:"))
    #expect(server.requests.count == 2)
  }

  @Test func aRedirectFromAnAllowedHostToLoopbackIsRefused() async throws {
    let target = try LoopbackHTTPServer { _ in .body(200, "internal secret") }
    let allowed = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 302, headers: [("Location", target.baseURL + "/admin")], steps: [])
    }
    allow.set(["127.0.0.1:\(allowed.port)"])
    let out = try await get(allowed.baseURL + "/start")
    #expect(out.isError)
    #expect(out.text == "refused: 127.0.0.1 is a loopback address (add the host to tools.http.allowHosts to allow it)")
    #expect(allowed.requests.count == 1)
    #expect(target.requests.isEmpty)
  }

  @Test func aRedirectChainIsFollowedHopByHop() async throws {
    let server = try LoopbackHTTPServer { req in
      switch req.path {
      case "/one": return ScriptedResponse(status: 301, headers: [("Location", "two")], steps: [])
      case "/two": return ScriptedResponse(status: 307, headers: [("Location", "/three?x=1#frag")], steps: [])
      case "/three?x=1": return .body(200, "arrived", contentType: "text/plain")
      default: return .body(404, "lost \(req.path)")
      }
    }
    allow.set(["127.0.0.1:\(server.port)"])
    let out = try await get(server.baseURL + "/one")
    #expect(!out.isError && out.structured?["body"] == "arrived")
    #expect(server.requests.map(\.path) == ["/one", "/two", "/three?x=1"])
    #expect(out.structured?["redirects"] == [.string(server.baseURL + "/two"), .string(server.baseURL + "/three?x=1")])
    #expect(out.text.hasPrefix("HTTP 200 from \(server.baseURL)/three?x=1 (after 2 redirects)"))
  }

  @Test func aPostRedirectedWith303BecomesAGetAnd307KeepsThePost() async throws {
    let server = try LoopbackHTTPServer { req in
      switch req.path {
      case "/see-other": return ScriptedResponse(status: 303, headers: [("Location", "/result")], steps: [])
      case "/temporary": return ScriptedResponse(status: 307, headers: [("Location", "/result")], steps: [])
      default: return .body(200, "\(req.method) \(req.body.count)", contentType: "text/plain")
      }
    }
    allow.set(["127.0.0.1"])
    let post: (String) async throws -> ToolOutput = { path in
      try await call(self.tool(), ["method": "POST", "url": .string(server.baseURL + path), "body": "payload"])
    }
    #expect(try await post("/see-other").structured?["body"] == "GET 0")
    #expect(try await post("/temporary").structured?["body"] == "POST 7")
  }

  @Test func tooManyRedirectsEndTheCall() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 302, headers: [("Location", "/again")], steps: [])
    }
    allow.set(["127.0.0.1"])
    let out = try await get(server.baseURL + "/again")
    #expect(out.isError && out.text.hasPrefix("too many redirects (more than 5)"))
    #expect(server.requests.count == 6)
  }

  @Test func aRedirectToAnotherSchemeIsRefused() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 302, headers: [("Location", "file:///etc/passwd")], steps: [])
    }
    allow.set(["127.0.0.1"])
    let out = try await get(server.baseURL)
    #expect(out.isError && out.text.hasSuffix("refused: only http and https URLs are allowed (not file:)"))
  }

  @Test(arguments: ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:PORT/_GET", "dict://127.0.0.1:PORT/"])
  func otherSchemesAreRefused(url: String) async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "no") }
    allow.set(["127.0.0.1"])
    let out = try await get(url.replacing("PORT", with: String(server.port)))
    #expect(out.isError && out.text.hasPrefix("refused: only http and https URLs are allowed"))
    #expect(server.requests.isEmpty)
  }

  @Test func credentialsInTheURLAreRefused() async throws {
    let out = try await get("http://user:secret@127.0.0.1:1/")
    #expect(out.isError && out.text.hasPrefix("refused: the URL contains credentials"))
  }

  // MARK: Limits

  @Test func aBodyOverTheLimitIsCutAndSaysSo() async throws {
    let server = try LoopbackHTTPServer { _ in
      .body(200, String(repeating: "z", count: 100_000), contentType: "text/plain")
    }
    allow.set(["127.0.0.1"])
    let out = try await get(server.baseURL, tool(limits: .init(maxResponseBytes: 1000)))
    #expect(!out.isError)
    #expect(out.structured?["truncated"] == true && out.structured?["bytes"] == 1000)
    #expect(out.structured?["body"]?.stringValue?.count == 1000)
    #expect(out.text.hasSuffix("[truncated: showing the first 1000 bytes of the body]"))
  }

  @Test func aResponseSlowerThanTheTimeoutFails() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 200, steps: [.bytes(Array("start".utf8)), .pause(10), .bytes(Array("end".utf8))])
    }
    allow.set(["127.0.0.1"])
    let out = try await call(tool(), ["method": "GET", "url": .string(server.baseURL), "timeoutMs": 300])
    #expect(out.isError && out.text == "timed out after 300 ms waiting for \(server.baseURL)/")
  }

  @Test(.timeLimit(.minutes(1)))
  func cancellingACallAbortsTheTransfer() async throws {
    // Without cancellation the call would end after the server's 30 s pause, with a body.
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 200, steps: [.bytes(Array("start".utf8)), .pause(30), .bytes(Array("end".utf8))])
    }
    allow.set(["127.0.0.1"])
    let t = tool()
    let task = Task { try await t.run(["method": "GET", "url": .string(server.baseURL)], context: ToolContext()) }
    while server.requests.isEmpty { try await Task.sleep(nanoseconds: 10_000_000) }
    task.cancel()
    await #expect(throws: CancellationError.self) { try await task.value }
  }

  @Test func aTimeoutOverTheMaximumIsRefused() async throws {
    let t = tool()
    #expect(!schemaAccepts(t, ["method": "GET", "url": "http://example.com/", "timeoutMs": 120_001]))
    let out = try await t.run(
      ["method": "GET", "url": "http://example.com/", "timeoutMs": 500_000], context: ToolContext())
    #expect(out.isError && out.text == "timeoutMs must be between 1 and 120000")
  }

  // MARK: Approval and arguments

  @Test func onlyGetAndHeadGoWithoutApproval() {
    let t = tool()
    #expect(t.definition.name == "http_request" && t.definition.category == "web" && t.definition.requiresApproval)
    #expect(!t.needsApproval(["method": "GET", "url": "http://example.com/"]))
    #expect(!t.needsApproval(["method": "HEAD", "url": "http://example.com/"]))
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
      #expect(t.needsApproval(["method": .string(method), "url": "http://example.com/"]), "\(method)")
    }
    #expect(t.needsApproval(["url": "http://example.com/"]))
  }

  @Test(
    arguments: [
      ["X-Test": "a\r\nX-Injected: 1"], ["X-Test": "a\nb"], ["X-Test": "a\u{0}b"], ["X-Bad Name": "v"],
      ["X-Test:\r\nX-Evil": "v"], ["Host": "internal.example"], ["Transfer-Encoding": "chunked"],
    ] as [[String: String]])
  func headerInjectionIsRefused(headers: [String: String]) async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "no") }
    allow.set(["127.0.0.1"])
    let out = try await call(
      tool(),
      ["method": "GET", "url": .string(server.baseURL), "headers": .object(headers.mapValues { .string($0) })])
    #expect(out.isError && out.text.hasPrefix("refused:"))
    #expect(server.requests.isEmpty)
  }

  @Test func runDefendsItselfWithoutTheSchema() async throws {
    let t = tool()
    #expect(try await t.run(["method": "GET"], context: ToolContext()).text == "url is required")
    #expect(try await t.run(["method": "TRACE", "url": "http://x/"], context: ToolContext()).isError)
    let body = try await t.run(["method": "GET", "url": "http://x/", "body": "b"], context: ToolContext())
    #expect(body.text == "a GET request has no body")
    let spaces = try await t.run(["method": "GET", "url": "http://exa mple.com/"], context: ToolContext())
    #expect(spaces.isError && spaces.text.contains("is not a valid URL"))
  }
}

/// What curl's open-socket callback hands the address policy: the whole address, also for IPv6 (whose
/// `sockaddr_in6` is longer than the `struct sockaddr` inside `curl_sockaddr`).
@Suite struct AddressPolicyInputTests {
  @Test(arguments: [
    ("http://[::1]:9/", "::1"), ("http://[::ffff:127.0.0.1]:9/", "::ffff:127.0.0.1"),
    ("http://[2001:db8::1234:5678]:9/", "2001:db8::1234:5678"), ("http://127.0.0.1:9/", "127.0.0.1"),
  ])
  func thePolicySeesTheWholeAddress(url: String, address: String) async throws {
    let seen = Mutex<[String]>([])
    let request = HTTPRequest(
      url: url,
      addressPolicy: { host, port in
        seen.withLock { $0.append("\(host) \(port)") }
        return false
      })
    await #expect(throws: HTTPError.self) { try await CurlHTTPClient(logger: .disabled).start(request) }
    #expect(seen.withLock { $0 } == ["\(address) 9"])
  }
}

@Suite struct AddressClassifierTests {
  @Test(arguments: [
    ("8.8.8.8", AddressCategory.publicAddress), ("1.1.1.1", .publicAddress), ("93.184.216.34", .publicAddress),
    ("127.0.0.1", .loopback), ("127.255.255.254", .loopback), ("10.0.0.1", .privateNetwork),
    ("10.255.255.255", .privateNetwork), ("172.16.0.1", .privateNetwork), ("172.31.255.255", .privateNetwork),
    ("172.15.255.255", .publicAddress), ("172.32.0.1", .publicAddress), ("192.168.0.1", .privateNetwork),
    ("192.169.0.1", .publicAddress), ("100.64.0.1", .sharedAddressSpace), ("100.127.255.255", .sharedAddressSpace),
    ("100.63.255.255", .publicAddress), ("100.128.0.1", .publicAddress), ("169.254.169.254", .linkLocal),
    ("169.254.0.1", .linkLocal), ("0.0.0.0", .unspecified), ("0.1.2.3", .reserved), ("224.0.0.1", .multicast),
    ("239.255.255.250", .multicast), ("255.255.255.255", .broadcast), ("240.0.0.1", .reserved),
    ("192.0.2.10", .reserved), ("198.51.100.1", .reserved), ("203.0.113.9", .reserved), ("198.18.0.1", .reserved),
    ("192.0.0.170", .reserved),
  ])
  func ipv4(address: String, category: AddressCategory) {
    #expect(AddressClassifier.classify(address) == category)
  }

  @Test(arguments: [
    ("2606:4700:4700::1111", AddressCategory.publicAddress), ("2001:4860:4860::8888", .publicAddress),
    ("::1", .loopback), ("[::1]", .loopback), ("::", .unspecified), ("fe80::1", .linkLocal),
    ("fe80::1%eth0", .linkLocal), ("febf::1", .linkLocal), ("fec0::1", .privateNetwork), ("fc00::1", .uniqueLocal),
    ("fdff:ffff::1", .uniqueLocal), ("ff02::1", .multicast), ("::ffff:127.0.0.1", .loopback),
    ("::ffff:7f00:1", .loopback), ("::ffff:10.1.2.3", .privateNetwork), ("::ffff:169.254.169.254", .linkLocal),
    ("::ffff:8.8.8.8", .publicAddress), ("::127.0.0.1", .loopback), ("::8.8.8.8", .reserved),
    ("::ffff:0:127.0.0.1", .loopback), ("64:ff9b::7f00:1", .loopback), ("64:ff9b::808:808", .publicAddress),
    ("64:ff9b:1::1", .privateNetwork), ("2002:7f00:1::", .loopback), ("2002:c0a8:101::1", .privateNetwork),
    ("2002:808:808::1", .publicAddress), ("2001:0:4136:e378::1", .reserved), ("2001:db8::1", .reserved),
    ("100::1", .reserved), ("4000::1", .reserved),
  ])
  func ipv6(address: String, category: AddressCategory) {
    #expect(AddressClassifier.classify(address) == category)
  }

  @Test(arguments: ["localhost", "127.1", "0x7f000001", "2130706433", "", "1.2.3", "::g", "example.com", "[::1"])
  func namesAndShorthandsAreNotNumericAddresses(text: String) {
    #expect(AddressClassifier.classify(text) == nil)
  }
}

@Suite struct HostAllowlistTests {
  @Test func entriesWithAndWithoutPorts() {
    let list = HostAllowlist(["Example.com", "api.internal:8443", "[::1]:9000", "fd00::5", " ", "bad:port"])
    #expect(list.allows(host: "example.com", port: 80) && list.allows(host: "EXAMPLE.COM.", port: 1))
    #expect(list.allows(host: "api.internal", port: 8443) && !list.allows(host: "api.internal", port: 443))
    #expect(list.allows(host: "[::1]", port: 9000) && !list.allows(host: "[::1]", port: 80))
    #expect(list.allows(host: "[fd00::5]", port: 80))
    #expect(!list.allows(host: "sub.example.com", port: 80) && !list.allows(host: "bad", port: 80))
  }
}

@Suite struct HTTPURLTests {
  @Test func curlNormalizesNumericHostsAndDropsTheFragment() throws {
    let url = try HTTPURL("HTTP://0x7f.1:8080/a/b?q=1#frag")
    #expect(url.scheme == "http" && url.host == "127.0.0.1" && url.port == 8080)
    #expect(url.text == "http://127.0.0.1:8080/a/b?q=1")
    #expect(try HTTPURL("https://Example.COM./").host == "example.com")
    #expect(try HTTPURL("https://example.com/").port == 443)
    #expect(try HTTPURL("http://[::1]/").host == "[::1]")
  }

  @Test func theHostIsTheOneCurlConnectsTo() throws {
    #expect(try HTTPURL(#"http://allowed.example\@evil.example/"#).host == "evil.example")
    #expect(try HTTPURL("http://evil.example#@allowed.example/").host == "evil.example")
    #expect(try HTTPURL("http://user:pw@host.example/").hasCredentials)
  }

  @Test func referencesResolveAgainstTheURL() throws {
    let base = try HTTPURL("http://a.example/dir/page?x=1")
    #expect(try base.resolving("other").text == "http://a.example/dir/other")
    #expect(try base.resolving("/root").text == "http://a.example/root")
    #expect(try base.resolving("../up").text == "http://a.example/up")
    #expect(try base.resolving("//b.example/p").text == "http://b.example/p")
    #expect(try base.resolving("https://c.example/").host == "c.example")
  }

  @Test func malformedURLsAreRefused() {
    for text in ["", "http://exa mple.com/", "http://a\r\nb/", "http://[::1/", "://x"] {
      #expect(throws: HTTPError.self, "\(text)") { try HTTPURL(text) }
    }
  }
}
