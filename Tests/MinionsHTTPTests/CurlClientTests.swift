import MinionsCore
import MinionsHTTP
import MinionsTestSupport
import Synchronization
import Testing

@Suite struct CurlClientTests {
  let client = CurlHTTPClient(logger: .disabled)

  @Test func sendsHeadersAndBodyAndReadsTheResponse() async throws {
    let server = try LoopbackHTTPServer { req in
      .body(201, #"{"echo":"\#(String(decoding: req.body, as: UTF8.self).count)"}"#, headers: [("X-Reply", "yes")])
    }
    let request = HTTPRequest.json(
      server.baseURL + "/v1/things?x=1", body: ["hello": "wörld"], headers: [("Authorization", "Bearer k")])
    let (response, body) = try await client.send(request)
    #expect(response.status == 201)
    #expect(response.headers["x-reply"] == "yes")
    #expect(response.remoteAddress == "127.0.0.1")
    #expect(try JSONParserValue(body)["echo"] == "17")  // {"hello":"wörld"} is 17 bytes
    let got = server.requests[0]
    #expect(got.method == "POST" && got.path == "/v1/things?x=1")
    #expect(got.header("authorization") == "Bearer k" && got.header("content-type") == "application/json")
    #expect(got.header("expect") == nil)
    #expect(got.json == ["hello": "wörld"])
  }

  @Test func streamsLinesSplitAnywhere() async throws {
    let text = "data: one\r\n\r\n: comment\ndata: tw\ndata: o\n\ndata: ünï 😀\n\n"
    let server = try LoopbackHTTPServer { _ in
      .pieces(200, text, sizes: [1, 2, 5, 3], contentType: "text/event-stream", pause: 0.001)
    }
    let response = try await client.start(HTTPRequest(url: server.baseURL))
    var events: [String] = []
    for try await event in response.events { events.append(event.data) }
    #expect(events == ["one", "tw\no", "ünï 😀"])
  }

  @Test func aRefusedConnectionIsAConnectFailure() async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, "") }
    let port = server.port
    server.stop()
    await #expect {
      try await client.start(HTTPRequest(url: "http://127.0.0.1:\(port)/", connectTimeout: 2))
    } throws: { ($0 as? HTTPError)?.kind == .connectFailed }
  }

  @Test func aStallPastTheIdleTimeoutFails() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(
        status: 200, steps: [.bytes(Array("data: a\n\n".utf8)), .pause(5), .bytes(Array("data: b\n\n".utf8))])
    }
    let response = try await client.start(HTTPRequest(url: server.baseURL, idleTimeout: 1))
    var got: [String] = []
    await #expect {
      for try await event in response.events { got.append(event.data) }
    } throws: { ($0 as? HTTPError)?.kind == .idle }
    #expect(got == ["a"])
  }

  @Test func cancellingStopsTheTransferPromptly() async throws {
    let server = try LoopbackHTTPServer { _ in
      var steps: [ScriptedResponse.Step] = []
      for i in 0..<1000 { steps += [.bytes(Array("data: \(i)\n\n".utf8)), .pause(0.02)] }
      return ScriptedResponse(status: 200, steps: steps)
    }
    let task = Task { () -> Int in
      let response = try await client.start(HTTPRequest(url: server.baseURL))
      var n = 0
      for try await _ in response.events { n += 1 }
      return n
    }
    try await Task.sleep(nanoseconds: 150_000_000)
    let cancelledAt = MonotonicClock.nanoseconds()
    task.cancel()
    let outcome = await task.result
    // Ends with a cancellation, not after the whole 20 s stream, and the server sees the connection go.
    if case .success(let n) = outcome { Issue.record("stream ran to the end: \(n) events") }
    // Not a speed test: the stream would run 20 s more; ending long before that shows the cancel took.
    #expect(MonotonicClock.milliseconds(since: cancelledAt) < 15_000)
    var closed = false
    for _ in 0..<200 {
      if server.activeConnections == 0 { closed = true; break }
      try await Task.sleep(nanoseconds: 10_000_000)
    }
    #expect(closed)
  }

  @Test func aStreamCutMidwayIsAnError() async throws {
    let server = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 200, steps: [.bytes(Array("data: a\n\n".utf8)), .pause(0.05), .hangUp])
    }
    let response = try await client.start(HTTPRequest(url: server.baseURL))
    await #expect(throws: HTTPError.self) {
      for try await _ in response.events {}
    }
  }

  @Test func responsesOverTheLimitAreAborted() async throws {
    let server = try LoopbackHTTPServer { _ in .body(200, String(repeating: "z", count: 100_000)) }
    let response = try await client.start(HTTPRequest(url: server.baseURL, maxResponseBytes: 1000))
    await #expect { _ = try await response.body(limit: 1 << 20) } throws: { ($0 as? HTTPError)?.kind == .tooLarge }
  }

  @Test func theAddressPolicySeesEveryHopAndCanRefuse() async throws {
    let target = try LoopbackHTTPServer { _ in .body(200, "target") }
    let redirector = try LoopbackHTTPServer { _ in
      ScriptedResponse(status: 302, headers: [("Location", target.baseURL + "/next")], steps: [])
    }
    let seen = AddressLog()
    let allowAll = HTTPRequest(
      url: redirector.baseURL, maxRedirects: 3,
      addressPolicy: { host, port in
        seen.add("\(host):\(port)")
        return true
      })
    let (response, body) = try await client.send(allowAll)
    #expect(response.status == 200 && String(decoding: body, as: UTF8.self) == "target")
    #expect(seen.entries == ["127.0.0.1:\(redirector.port)", "127.0.0.1:\(target.port)"])
    // Refusing the redirect's target: no request reaches it.
    let before = target.requests.count
    let refuseTarget = HTTPRequest(
      url: redirector.baseURL, maxRedirects: 3, addressPolicy: { _, port in port != target.port })
    await #expect { try await client.send(refuseTarget) } throws: { ($0 as? HTTPError)?.kind == .refused }
    #expect(target.requests.count == before)
    // Without redirects allowed, the 302 itself is the answer.
    let (noFollow, _) = try await client.send(HTTPRequest(url: redirector.baseURL))
    #expect(noFollow.status == 302 && noFollow.headers["location"] == target.baseURL + "/next")
  }

  @Test func proxiesAreReadTheWayCurlReadsThem() {
    let env = [
      "HTTP_PROXY": "http://ignored:1", "HTTPS_PROXY": "http://secure:2", "all_proxy": "http://all:3",
      "NO_PROXY": "localhost,.internal",
    ]
    let p = ProxyConfiguration(environment: env)
    #expect(p.http == "http://all:3")  // upper-case HTTP_PROXY is ignored, as curl does ("httpoxy")
    #expect(p.https == "http://secure:2" && p.noProxy == "localhost,.internal")
    #expect(p.proxy(for: "HTTPS://api.example/v1") == "http://secure:2")
    #expect(p.proxy(for: "http://api.example/v1") == "http://all:3")
    let lower = ProxyConfiguration(environment: ["http_proxy": " http://lower:4 ", "https_proxy": ""])
    #expect(lower.http == "http://lower:4" && lower.https == nil)
    #expect(ProxyConfiguration(environment: [:]) == .none)
  }

  @Test func requestsGoThroughTheConfiguredProxyUnlessExempt() async throws {
    let proxy = try LoopbackHTTPServer { req in .body(200, "via proxy \(req.path)") }
    let target = try LoopbackHTTPServer { _ in .body(200, "direct") }
    let proxied = CurlHTTPClient(
      logger: .disabled, proxies: ProxyConfiguration(http: proxy.baseURL, https: nil, noProxy: "localhost"))
    // A host that only the proxy could resolve: curl hands the whole URL to the proxy.
    let (response, body) = try await proxied.send(HTTPRequest(url: "http://provider.invalid/v1/models"))
    #expect(response.status == 200)
    #expect(String(decoding: body, as: UTF8.self) == "via proxy http://provider.invalid/v1/models")
    #expect(proxy.requests.first?.header("host") == "provider.invalid")
    // no_proxy exempts hosts.
    let exempt = CurlHTTPClient(
      logger: .disabled, proxies: ProxyConfiguration(http: proxy.baseURL, https: nil, noProxy: "127.0.0.1"))
    let (_, direct) = try await exempt.send(HTTPRequest(url: target.baseURL + "/x"))
    #expect(String(decoding: direct, as: UTF8.self) == "direct")
    // A request under an address policy connects itself, so the policy sees the real address.
    let seen = AddressLog()
    let guarded = HTTPRequest(
      url: target.baseURL + "/y",
      addressPolicy: { host, port in
        seen.add("\(host):\(port)")
        return true
      })
    let (_, guardedBody) = try await proxied.send(guarded)
    #expect(String(decoding: guardedBody, as: UTF8.self) == "direct")
    #expect(seen.entries == ["127.0.0.1:\(target.port)"])
    #expect(proxy.requests.count == 1)
    // No configuration: curl does not fall back to reading the process environment.
    let (_, plain) = try await client.send(HTTPRequest(url: target.baseURL + "/z"))
    #expect(String(decoding: plain, as: UTF8.self) == "direct")
  }

  @Test func otherSchemesAreRefused() async throws {
    for url in ["file:///etc/passwd", "ftp://127.0.0.1/", "gopher://x", "no-scheme"] {
      await #expect { try await client.start(HTTPRequest(url: url)) } throws: {
        ($0 as? HTTPError)?.kind == .invalidURL
      }
    }
  }

  @Test func headerInjectionIsRefused() async throws {
    await #expect {
      try await client.start(HTTPRequest(url: "http://127.0.0.1:1/", headers: [("X-A", "b\r\nX-Evil: 1")]))
    } throws: { $0 is HTTPError }
  }
}

func JSONParserValue(_ bytes: [UInt8]) throws -> JSONValue { try JSONParser.parse(bytes) }

/// Addresses an address policy was asked about.
final class AddressLog: Sendable {
  private let log = Mutex<[String]>([])
  func add(_ s: String) { log.withLock { $0.append(s) } }
  var entries: [String] { log.withLock { $0 } }
}
