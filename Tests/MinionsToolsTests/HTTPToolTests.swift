import MinionsCore
import MinionsHTTP
import Synchronization
import Testing

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
