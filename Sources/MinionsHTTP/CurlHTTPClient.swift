import CCurl
import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// HTTP over libcurl. Each transfer runs on a thread of its own (curl blocks) in a one-handle multi
/// loop, so cancelling wakes it at once (`curl_multi_wakeup`) instead of waiting for curl's next
/// progress tick. Proxies come from the configuration given (see `ProxyConfiguration`), never from
/// curl's own reading of the process environment; TLS is curl's.
public final class CurlHTTPClient: HTTPTransport {
  private let logger: Logger
  private let proxies: ProxyConfiguration

  public init(logger: Logger, proxies: ProxyConfiguration = .none) {
    self.logger = logger
    self.proxies = proxies
  }

  public func start(_ request: HTTPRequest) async throws -> HTTPResponse {
    let api = try Curl.api()
    let transfer = try CurlTransfer(request: request, api: api, proxies: proxies, logger: logger)
    spawnThread(name: "curl") { transfer.run() }
    let head = try await withTaskCancellationHandler {
      try await transfer.awaitHead()
    } onCancel: {
      transfer.cancel()
    }
    return HTTPResponse(status: head.status, headers: head.headers, remoteAddress: head.remoteAddress, source: transfer)
  }
}

/// libcurl, loaded on first use. Loading runs `curl_global_init`, which must happen once, before any
/// other curl call, and is not thread-safe: hence the lock.
enum Curl {
  /// The function table; allocated once and never freed (it lives as long as the process).
  private static let loaded = Mutex<(table: CurlAPI?, error: String?)>((nil, nil))

  static func api() throws -> CurlAPI {
    try loaded.withLock { state in
      if let table = state.table { return table }
      if let error = state.error { throw HTTPError(.other, error) }
      let table = UnsafeMutablePointer<ccurl_api>.allocate(capacity: 1)
      var message = [CChar](repeating: 0, count: 512)
      guard ccurl_load(table, &message, message.count) == 1 else {
        let error = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        state.error = error
        table.deallocate()
        throw HTTPError(.other, error)
      }
      state.table = CurlAPI(table: table)
      return state.table!
    }
  }
}

/// The loaded libcurl function table (immutable once filled).
struct CurlAPI: @unchecked Sendable {  // points at a table written once, under Curl's lock, then only read
  let table: UnsafeMutablePointer<ccurl_api>
  var pointer: UnsafePointer<ccurl_api> { UnsafePointer(table) }
}

struct ResponseHead: Sendable {
  var status: Int
  var headers: HTTPHeaders
  var remoteAddress: String?
}

/// One transfer: owns the curl handles (only its own thread touches them after setup) and hands the
/// response to the async reader through a small lock-guarded queue with backpressure.
final class CurlTransfer: HTTPBodySource, @unchecked Sendable {  // mutable state is guarded by `lock`
  private let easy: UnsafeMutableRawPointer
  private let multi: UnsafeMutableRawPointer
  private var headerList: UnsafeMutablePointer<curl_slist>?
  private let request: HTTPRequest
  private let proxies: ProxyConfiguration
  private let logger: Logger
  private let api: UnsafePointer<ccurl_api>
  private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

  private let lock = ConditionLock()
  private let cancelled = AtomicFlag()
  // Guarded by `lock`:
  private var head: ResponseHead?
  private var headError: (any Error)?
  private var headWaiter: CheckedContinuation<ResponseHead, any Error>?
  private var chunks: [[UInt8]] = []
  private var bufferedBytes = 0
  private var finished = false
  private var finalError: (any Error)?
  private var bodyWaiter: CheckedContinuation<[UInt8]?, any Error>?
  // Only touched on the transfer thread:
  private var pendingStatus = 0
  private var pendingHeaders: [(name: String, value: String)] = []
  private var receivedBytes = 0
  private var tooLarge = false
  private var refusedAddress: String?
  private var lastActivity = MonotonicClock.nanoseconds()
  private var idleExpired = false

  private static let maxBufferedBytes = 1 << 20

  init(request: HTTPRequest, api: CurlAPI, proxies: ProxyConfiguration, logger: Logger) throws {
    self.api = api.pointer
    guard let scheme = request.url.split(separator: ":", maxSplits: 1).first?.lowercased(),
      request.allowedSchemes.contains(scheme), request.url.contains("://")
    else {
      throw HTTPError(
        .invalidURL,
        "unsupported URL \"\(request.url.prefix(200))\" (allowed: \(request.allowedSchemes.joined(separator: ", ")))")
    }
    guard let easy = api.pointer.pointee.easy_init(), let multi = api.pointer.pointee.multi_init() else {
      throw HTTPError(.other, "libcurl could not start a transfer")
    }
    self.easy = easy
    self.multi = multi
    self.request = request
    self.proxies = proxies
    self.logger = logger
    errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    try configure()
  }

  deinit {
    _ = api.pointee.multi_cleanup(multi)
    api.pointee.easy_cleanup(easy)
    api.pointee.slist_free_all(headerList)
    errorBuffer.deallocate()
  }

  private func describe(_ code: CURLcode) -> String {
    api.pointee.easy_strerror(code).map { String(cString: $0) } ?? "curl error \(code.rawValue)"
  }

  private func configure() throws {
    func check(_ rc: CURLcode, _ what: String) throws {
      guard rc == CURLE_OK else {
        throw HTTPError(.other, "curl option \(what): \(describe(rc))")
      }
    }
    let me = Unmanaged.passUnretained(self).toOpaque()
    try check(ccurl_setopt_string(api, easy, CURLOPT_URL, request.url), "URL")
    try check(ccurl_setopt_long(api, easy, CURLOPT_NOSIGNAL, 1), "NOSIGNAL")
    try check(ccurl_setopt_pointer(api, easy, CURLOPT_ERRORBUFFER, errorBuffer), "ERRORBUFFER")
    try check(
      ccurl_setopt_string(api, easy, CURLOPT_PROTOCOLS_STR, request.allowedSchemes.joined(separator: ",")), "PROTOCOLS")
    try check(
      ccurl_setopt_string(api, easy, CURLOPT_REDIR_PROTOCOLS_STR, request.allowedSchemes.joined(separator: ",")),
      "REDIR_PROTOCOLS")
    try check(ccurl_setopt_string(api, easy, CURLOPT_USERAGENT, "minions/0.1"), "USERAGENT")
    // An empty proxy turns off curl's own reading of the environment. Requests under an address
    // policy never use a proxy: the policy must see the addresses actually reached.
    let proxy = request.addressPolicy == nil ? proxies.proxy(for: request.url) : nil
    try check(ccurl_setopt_string(api, easy, CURLOPT_PROXY, proxy ?? ""), "PROXY")
    if proxy != nil, let noProxy = proxies.noProxy {
      try check(ccurl_setopt_string(api, easy, CURLOPT_NOPROXY, noProxy), "NOPROXY")
    }
    let method = request.method.uppercased()
    switch method {
    case "GET": break
    case "HEAD": try check(ccurl_setopt_long(api, easy, CURLOPT_NOBODY, 1), "NOBODY")
    default: try check(ccurl_setopt_string(api, easy, CURLOPT_CUSTOMREQUEST, method), "CUSTOMREQUEST")
    }
    if let body = request.body {
      try check(ccurl_setopt_off_t(api, easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "POSTFIELDSIZE")
      try body.withUnsafeBytes { buf in
        // COPYPOSTFIELDS copies: the body need not outlive this call.
        try check(
          ccurl_setopt_pointer(
            api, easy, CURLOPT_COPYPOSTFIELDS,
            UnsafeMutableRawPointer(mutating: buf.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!)), "COPYPOSTFIELDS")
      }
      if method == "GET" { try check(ccurl_setopt_string(api, easy, CURLOPT_CUSTOMREQUEST, "GET"), "CUSTOMREQUEST") }
    }
    var list: UnsafeMutablePointer<curl_slist>? = nil
    for (name, value) in request.headers {
      guard !name.contains(where: { $0 == "\r" || $0 == "\n" || $0 == ":" }),
        !value.contains(where: { $0 == "\r" || $0 == "\n" })
      else {
        throw HTTPError(.invalidURL, "header \(name.prefix(40)) contains a line break")
      }
      list = api.pointee.slist_append(list, "\(name): \(value)")
    }
    list = api.pointee.slist_append(list, "Expect:")  // never wait for "100 Continue"
    headerList = list
    try check(ccurl_setopt_slist(api, easy, CURLOPT_HTTPHEADER, list), "HTTPHEADER")
    try check(
      ccurl_setopt_long(api, easy, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeout * 1000)), "CONNECTTIMEOUT")
    if let total = request.totalTimeout {
      try check(ccurl_setopt_long(api, easy, CURLOPT_TIMEOUT_MS, Int(total * 1000)), "TIMEOUT")
    }
    if request.maxRedirects > 0 {
      try check(ccurl_setopt_long(api, easy, CURLOPT_FOLLOWLOCATION, 1), "FOLLOWLOCATION")
      try check(ccurl_setopt_long(api, easy, CURLOPT_MAXREDIRS, request.maxRedirects), "MAXREDIRS")
    }
    try check(
      ccurl_setopt_write_callback(api, easy) { data, size, count, user in
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
        return transfer.received(UnsafeRawBufferPointer(start: data, count: size * count))
      }, "WRITEFUNCTION")
    try check(ccurl_setopt_pointer(api, easy, CURLOPT_WRITEDATA, me), "WRITEDATA")
    try check(
      ccurl_setopt_header_callback(api, easy) { data, size, count, user in
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
        transfer.headerLine(UnsafeRawBufferPointer(start: data, count: size * count))
        return size * count
      }, "HEADERFUNCTION")
    try check(ccurl_setopt_pointer(api, easy, CURLOPT_HEADERDATA, me), "HEADERDATA")
    try check(ccurl_setopt_long(api, easy, CURLOPT_NOPROGRESS, 0), "NOPROGRESS")
    try check(
      ccurl_setopt_xferinfo_callback(api, easy) { user, _, _, _, _ in
        Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue().cancelled.isSet ? 1 : 0
      }, "XFERINFOFUNCTION")
    try check(ccurl_setopt_pointer(api, easy, CURLOPT_XFERINFODATA, me), "XFERINFODATA")
    if request.addressPolicy != nil {
      try check(
        ccurl_setopt_opensocket_callback(api, easy) { user, purpose, address in
          let transfer = Unmanaged<CurlTransfer>.fromOpaque(user!).takeUnretainedValue()
          return transfer.openSocket(purpose: purpose, address: address!)
        }, "OPENSOCKETFUNCTION")
      try check(ccurl_setopt_pointer(api, easy, CURLOPT_OPENSOCKETDATA, me), "OPENSOCKETDATA")
      // A fresh connection for every hop, so every address is seen by the policy.
      try check(ccurl_setopt_long(api, easy, CURLOPT_FORBID_REUSE, 1), "FORBID_REUSE")
      try check(ccurl_setopt_long(api, easy, CURLOPT_FRESH_CONNECT, 1), "FRESH_CONNECT")
    }
  }

  // MARK: Callbacks (transfer thread)

  private func headerLine(_ bytes: UnsafeRawBufferPointer) {
    lastActivity = MonotonicClock.nanoseconds()
    // Line ends are stripped as bytes: in a Swift String "\r\n" is a single Character.
    var end = bytes.count
    while end > 0 && (bytes[end - 1] == 0x0A || bytes[end - 1] == 0x0D) { end -= 1 }
    let line = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<end]), as: UTF8.self)
    if line.hasPrefix("HTTP/") {
      let parts = line.split(separator: " ", maxSplits: 2)
      pendingStatus = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
      pendingHeaders = []
      return
    }
    if line.isEmpty {
      // The end of a header block: 1xx are interim, and a redirect that will be followed is not final.
      let following =
        request.maxRedirects > 0 && (300..<400).contains(pendingStatus)
        && pendingHeaders.contains { $0.name.lowercased() == "location" }
      if pendingStatus >= 200 && !following { deliverHead() }
      return
    }
    if let colon = line.firstIndex(of: ":") {
      let name = String(line[..<colon]).trimmed()
      let value = String(line[line.index(after: colon)...]).trimmed()
      pendingHeaders.append((name, value))
    }
  }

  private func deliverHead() {
    var ip: UnsafeMutablePointer<CChar>? = nil
    _ = ccurl_getinfo_string(api, easy, CURLINFO_PRIMARY_IP, &ip)
    let remote = ip.map { String(cString: $0) }
    let h = ResponseHead(status: pendingStatus, headers: HTTPHeaders(pendingHeaders), remoteAddress: remote)
    lock.lock()
    if head == nil {
      head = h
      let waiter = headWaiter
      headWaiter = nil
      lock.unlock()
      waiter?.resume(returning: h)
    } else {
      lock.unlock()
    }
  }

  /// Body bytes: queued for the reader; blocks this thread while the reader is far behind.
  private func received(_ bytes: UnsafeRawBufferPointer) -> Int {
    if cancelled.isSet { return 0 }
    lastActivity = MonotonicClock.nanoseconds()
    receivedBytes += bytes.count
    if let max = request.maxResponseBytes, receivedBytes > max {
      tooLarge = true
      return 0
    }
    if head == nil { deliverHead() }
    let chunk = Array(bytes)
    lock.lock()
    while bufferedBytes > Self.maxBufferedBytes && !cancelled.isSet { lock.wait() }
    lastActivity = MonotonicClock.nanoseconds()  // waiting for the reader is not the server's idleness
    if cancelled.isSet {
      lock.unlock()
      return 0
    }
    if let waiter = bodyWaiter {
      bodyWaiter = nil
      lock.unlock()
      waiter.resume(returning: chunk)
      return bytes.count
    }
    chunks.append(chunk)
    bufferedBytes += chunk.count
    lock.unlock()
    return bytes.count
  }

  private func openSocket(purpose: curlsocktype, address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
    let a = address.pointee
    // The address is read where curl put it, `addrlen` bytes long: the `struct sockaddr` field of
    // curl_sockaddr is only the start of it, and a copy of the struct would cut an IPv6 address short.
    var storage = sockaddr_storage()
    let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
    let length = min(Int(a.addrlen), MemoryLayout<sockaddr_storage>.size)
    withUnsafeMutableBytes(of: &storage) { buffer in
      buffer.copyMemory(from: UnsafeRawBufferPointer(start: UnsafeRawPointer(address) + offset, count: length))
    }
    let (host, port) = SocketAddress.describe(&storage)
    if let policy = request.addressPolicy, !policy(host, port) {
      refusedAddress = "\(host):\(port)"
      return CURL_SOCKET_BAD
    }
    return socket(a.family, a.socktype, a.protocol)
  }

  // MARK: The loop (transfer thread)

  func run() {
    _ = api.pointee.multi_add_handle(multi, easy)
    var result = CURLE_OK
    loop: while true {
      var running: Int32 = 0
      let mc = api.pointee.multi_perform(multi, &running)
      if mc != CURLM_OK {
        result = CURLE_FAILED_INIT
        break
      }
      var remaining: Int32 = 0
      while let msg = api.pointee.multi_info_read(multi, &remaining) {
        if msg.pointee.msg == CURLMSG_DONE {
          result = msg.pointee.data.result
          break loop
        }
      }
      if running == 0 { break }
      if cancelled.isSet {
        result = CURLE_ABORTED_BY_CALLBACK
        break
      }
      // The idle timeout is kept here: curl's low-speed check averages over several seconds.
      if head != nil || receivedBytes > 0,
        Double(MonotonicClock.nanoseconds() - lastActivity) / 1e9 > request.idleTimeout
      {
        idleExpired = true
        result = CURLE_OPERATION_TIMEDOUT
        break
      }
      _ = api.pointee.multi_poll(multi, nil, 0, 200, nil)
    }
    _ = api.pointee.multi_remove_handle(multi, easy)
    finish(result)
  }

  private func finish(_ code: CURLcode) {
    var error: HTTPError? = nil
    if code != CURLE_OK {
      let detail =
        String(cString: errorBuffer).isEmpty ? describe(code) : String(cString: errorBuffer)
      if cancelled.isSet {
        error = HTTPError(.cancelled, "cancelled")
      } else if idleExpired {
        error = HTTPError(.idle, "no data for \(request.idleTimeout) s")
      } else if tooLarge {
        error = HTTPError(.tooLarge, "response larger than \(request.maxResponseBytes ?? 0) bytes")
      } else if let refused = refusedAddress {
        error = HTTPError(.refused, "connection to \(refused) refused by policy")
      } else {
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
          error = HTTPError(detail.contains("too slow") ? .idle : .timedOut, detail)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
          error = HTTPError(.connectFailed, detail)
        case CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
          error = HTTPError(.invalidURL, detail)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
          CURLE_SSL_CACERT_BADFILE:
          error = HTTPError(.tls, detail)
        case CURLE_TOO_MANY_REDIRECTS:
          error = HTTPError(.refused, detail)
        case CURLE_RECV_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_WEIRD_SERVER_REPLY:
          error = HTTPError(.protocolError, detail)
        default:
          error = HTTPError(.other, detail)
        }
      }
    } else if head == nil {
      deliverHead()  // a response without a body
    }
    lock.lock()
    finished = true
    finalError = error
    let headWaiter = self.headWaiter
    self.headWaiter = nil
    if head == nil { headError = error ?? HTTPError(.protocolError, "no response") }
    let bodyWaiter = self.bodyWaiter
    self.bodyWaiter = nil
    let remaining = chunks.isEmpty
    lock.broadcast()
    lock.unlock()
    if let headWaiter { headWaiter.resume(throwing: headError!) }
    if let bodyWaiter, remaining {
      if let error { bodyWaiter.resume(throwing: error) } else { bodyWaiter.resume(returning: nil) }
    }
    if let error, error.kind != .cancelled {
      logger.debug("\(request.method) \(request.url.prefix(120)) failed: \(error.message)")
    }
  }

  // MARK: The reader's side

  func awaitHead() async throws -> ResponseHead {
    try await withCheckedThrowingContinuation { continuation in
      lock.lock()
      if let head {
        lock.unlock()
        continuation.resume(returning: head)
      } else if let headError {
        lock.unlock()
        continuation.resume(throwing: headError)
      } else {
        headWaiter = continuation
        lock.unlock()
      }
    }
  }

  /// Everything received since the last call, as one chunk (or waits for the next bytes).
  func next() async throws -> [UInt8]? {
    try await withCheckedThrowingContinuation { continuation in
      lock.lock()
      if !chunks.isEmpty {
        var all = chunks[0]
        if chunks.count > 1 {
          all.reserveCapacity(bufferedBytes)
          for c in chunks.dropFirst() { all += c }
        }
        chunks.removeAll(keepingCapacity: true)
        let wasFull = bufferedBytes > Self.maxBufferedBytes
        bufferedBytes = 0
        if wasFull { lock.broadcast() }  // the transfer is waiting for room
        lock.unlock()
        continuation.resume(returning: all)
      } else if finished {
        let error = finalError
        lock.unlock()
        if let error { continuation.resume(throwing: error) } else { continuation.resume(returning: nil) }
      } else {
        bodyWaiter = continuation
        lock.unlock()
      }
    }
  }

  func cancel() {
    guard cancelled.setIfUnset() else { return }
    lock.lock()
    lock.broadcast()
    lock.unlock()
    _ = api.pointee.multi_wakeup(multi)
  }
}

/// Formats socket addresses for policies and logs.
public enum SocketAddress {
  /// The numeric host ("10.0.0.1", "::1") and port of a socket address.
  public static func describe(_ storage: UnsafePointer<sockaddr_storage>) -> (String, Int) {
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
    let length = socklen_t(
      Int32(storage.pointee.ss_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size)
    let rc = storage.withMemoryRebound(to: sockaddr.self, capacity: 1) {
      getnameinfo(
        $0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
    }
    guard rc == 0 else { return ("", 0) }
    let h = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let s = String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return (h, Int(s) ?? 0)
  }
}
