import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// A listening TCP socket whose accept loop runs on its own thread.
public final class TCPListener: Sendable {
  public struct BindError: Error, CustomStringConvertible {
    public let description: String
  }

  /// The address as given, e.g. "127.0.0.1:7411".
  public let requestedAddress: String
  /// The host and the port actually bound (useful with port 0).
  public let host: String
  public let port: Int
  private let fd: Int32
  private let wakePipe: (read: Int32, write: Int32)
  private let stopped = AtomicFlag()
  public let finished = OneShotEvent()

  /// Parses "HOST:PORT" or "[V6]:PORT".
  public static func parseAddress(_ text: String) -> (host: String, port: Int)? {
    var host: Substring
    var portText: Substring
    if text.hasPrefix("[") {
      guard let close = text.firstIndex(of: "]") else { return nil }
      host = text[text.index(after: text.startIndex)..<close]
      let rest = text[text.index(after: close)...]
      guard rest.hasPrefix(":") else { return nil }
      portText = rest.dropFirst()
    } else {
      guard let colon = text.lastIndex(of: ":") else { return nil }
      host = text[..<colon]
      portText = text[text.index(after: colon)...]
      if host.contains(":") { return nil }  // a bare IPv6 address must be bracketed
    }
    guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
    return (String(host), port)
  }

  /// Binds and listens on `address` ("HOST:PORT"; port 0 picks a free port).
  public init(address: String, backlog: Int32 = 128) throws {
    guard let (host, port) = Self.parseAddress(address) else {
      throw BindError(description: "invalid address '\(address)': expected HOST:PORT, e.g. 127.0.0.1:7411")
    }
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
    var info: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &info)
    guard rc == 0, let first = info else {
      throw BindError(description: "cannot resolve '\(host)': \(String(cString: gai_strerror(rc)))")
    }
    defer { freeaddrinfo(info) }
    let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw BindError(description: "socket(): \(String(cString: strerror(errno)))") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    guard bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else {
      let message = String(cString: strerror(errno))
      Glibc.close(fd)
      throw BindError(description: "cannot listen on \(address): \(message)")
    }
    guard listen(fd, backlog) == 0 else {
      let message = String(cString: strerror(errno))
      Glibc.close(fd)
      throw BindError(description: "listen(): \(message)")
    }
    var storage = sockaddr_storage()
    var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
    _ = withUnsafeMutablePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    self.port = Self.port(of: storage)
    self.host = host
    self.requestedAddress = address
    self.fd = fd
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0, "pipe() failed")
    self.wakePipe = (fds[0], fds[1])
  }

  /// "host:port" as bound.
  public var boundAddress: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

  /// Accepts connections on a new thread, calling `accept` with each socket and its peer address.
  public func start(_ accept: @escaping @Sendable (_ fd: Int32, _ peer: String) -> Void) {
    spawnThread(name: "tcp-accept") { [self] in
      var fds = [
        pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
        pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0),
      ]
      while !stopped.isSet {
        let ready = poll(&fds, 2, -1)
        if ready < 0 {
          if errno == EINTR { continue }
          break
        }
        if fds[1].revents != 0 { break }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let client = withUnsafeMutablePointer(to: &storage) {
          $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.accept(fd, $0, &length) }
        }
        if client < 0 {
          if errno == EINTR || errno == EAGAIN || errno == ECONNABORTED { continue }
          if errno == EMFILE || errno == ENFILE {
            usleep(10_000)  // out of descriptors: back off instead of spinning
            continue
          }
          break
        }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        accept(client, Self.describe(storage))
      }
      Glibc.close(fd)
      Glibc.close(wakePipe.read)
      Glibc.close(wakePipe.write)
      finished.signal()
    }
  }

  /// Stops accepting; existing connections are not affected.
  public func stop() {
    guard stopped.setIfUnset() else { return }
    var byte: UInt8 = 1
    _ = write(wakePipe.write, &byte, 1)
  }

  static func port(of storage: sockaddr_storage) -> Int {
    var storage = storage
    return withUnsafePointer(to: &storage) { p -> Int in
      if Int32(p.pointee.ss_family) == AF_INET6 {
        return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
      }
      return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
    }
  }

  static func describe(_ storage: sockaddr_storage) -> String {
    var storage = storage
    var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
    var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
    let rc = withUnsafePointer(to: &storage) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        getnameinfo(
          $0, socklen_t(MemoryLayout<sockaddr_storage>.size), &host, socklen_t(host.count), &service,
          socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
      }
    }
    guard rc == 0 else { return "unknown" }
    let h = cString(host)
    let s = cString(service)
    return h.contains(":") ? "[\(h)]:\(s)" : "\(h):\(s)"
  }
}

/// The text of a NUL-terminated C character buffer.
func cString(_ chars: [CChar]) -> String {
  String(decoding: chars.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
