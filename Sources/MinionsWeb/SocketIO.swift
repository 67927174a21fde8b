#if canImport(Glibc)
  import Glibc
#endif

/// Blocking socket reads and writes that retry on EINTR.
enum SocketIO {
  /// Reads what is available (at most `buffer.count` bytes); 0 at end of stream or on error.
  static func read(_ fd: Int32, into buffer: inout [UInt8]) -> Int {
    while true {
      let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
      if n < 0 && errno == EINTR { continue }
      return max(0, n)
    }
  }

  /// Writes all of `bytes`; false when the peer is gone.
  @discardableResult
  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buf in
      var off = 0
      while off < buf.count {
        let n = send(fd, buf.baseAddress! + off, buf.count - off, Int32(MSG_NOSIGNAL))
        if n < 0 && errno == EINTR { continue }
        if n <= 0 { return false }
        off += n
      }
      return true
    }
  }

  /// Sets the receive timeout (0: none).
  static func setReceiveTimeout(_ fd: Int32, seconds: Int) {
    var tv = timeval(tv_sec: seconds, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
  }
}
