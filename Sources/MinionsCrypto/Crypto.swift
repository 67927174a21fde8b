import CCrypto
import Synchronization

/// Hashes, MACs, randomness and encodings from OpenSSL's libcrypto. Nothing cryptographic here is
/// written by hand.
public enum Crypto {
  /// SHA-256 of `data`.
  public static func sha256(_ data: some ContiguousBytesView) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
    data.withBytes { buf in
      _ = SHA256(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), buf.count, &digest)
    }
    return digest
  }

  /// SHA-1 of `data` — only for protocols that fix it (the WebSocket handshake), never for security.
  public static func sha1(_ data: some ContiguousBytesView) -> [UInt8] {
    var digest = [UInt8](repeating: 0, count: Int(SHA_DIGEST_LENGTH))
    data.withBytes { buf in
      _ = SHA1(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), buf.count, &digest)
    }
    return digest
  }

  /// Standard base64 (RFC 4648 §4, with padding) of `bytes`, by libcrypto.
  public static func base64Encode(_ bytes: [UInt8]) -> String {
    guard !bytes.isEmpty else { return "" }
    var out = [UInt8](repeating: 0, count: 4 * ((bytes.count + 2) / 3) + 1)
    let n = EVP_EncodeBlock(&out, bytes, Int32(bytes.count))
    return String(decoding: out[0..<Int(n)], as: UTF8.self)
  }

  /// The bytes of standard, padded base64 `text`; nil when it is not (wrong length or characters).
  public static func base64Decode(_ text: String) -> [UInt8]? {
    let input = Array(text.utf8)
    guard input.count % 4 == 0 else { return nil }
    guard !input.isEmpty else { return [] }
    var out = [UInt8](repeating: 0, count: input.count / 4 * 3)
    let n = EVP_DecodeBlock(&out, input, Int32(input.count))
    guard n >= 0 else { return nil }
    // EVP_DecodeBlock counts the padding as zero bytes: drop one per '='.
    let padding = input.suffix(2).filter { $0 == UInt8(ascii: "=") }.count
    return Array(out[0..<(Int(n) - padding)])
  }

  /// SHA-256 as lowercase hex.
  public static func sha256Hex(_ text: String) -> String { hex(sha256(Array(text.utf8))) }

  /// HMAC-SHA256 of `data` under `key`.
  public static func hmacSHA256(key: [UInt8], data: some ContiguousBytesView) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 32)
    var length: UInt32 = 32
    key.withUnsafeBytes { k in
      data.withBytes { d in
        _ = HMAC(
          EVP_sha256(), k.baseAddress, Int32(k.count), d.baseAddress?.assumingMemoryBound(to: UInt8.self),
          d.count, &out, &length)
      }
    }
    return out
  }

  /// `count` bytes from OpenSSL's CSPRNG. Small requests are served from a buffer of its output
  /// (each call of RAND_bytes costs about 2 µs; token ids need 16 bytes at a time).
  public static func randomBytes(_ count: Int) -> [UInt8] {
    if count <= 64, let bytes = randomPool.take(count) { return bytes }
    var bytes = [UInt8](repeating: 0, count: count)
    let rc = RAND_bytes(&bytes, Int32(count))
    precondition(rc == 1, "RAND_bytes failed: the system has no usable entropy source")
    return bytes
  }

  private static let randomPool = RandomPool()

  /// Compares in time that depends only on the length (which is checked first, as it is not secret).
  public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
    }
  }

  public static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for b in bytes {
      out.append(digits[Int(b >> 4)])
      out.append(digits[Int(b & 0xF)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// Base64url without padding (RFC 4648 §5), as JWTs use it; OpenSSL does the encoding.
  public static func base64URLEncode(_ bytes: some ContiguousBytesView) -> String {
    bytes.withBytes { buf -> String in
      let count = buf.count
      if count == 0 { return "" }
      var out = [UInt8](repeating: 0, count: 4 * ((count + 2) / 3) + 1)
      let written = Int(EVP_EncodeBlock(&out, buf.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)))
      var end = written
      while end > 0 && out[end - 1] == UInt8(ascii: "=") { end -= 1 }
      for i in 0..<end {
        if out[i] == UInt8(ascii: "+") {
          out[i] = UInt8(ascii: "-")
        } else if out[i] == UInt8(ascii: "/") {
          out[i] = UInt8(ascii: "_")
        }
      }
      return String(decoding: out[0..<end], as: UTF8.self)
    }
  }

  /// Appends the base64url encoding (no padding) of `bytes` to `out`.
  public static func base64URLEncode(_ bytes: UnsafeRawBufferPointer, into out: inout [UInt8]) {
    let count = bytes.count
    if count == 0 { return }
    let start = out.count
    let encodedLength = 4 * ((count + 2) / 3)
    out.append(contentsOf: repeatElement(0, count: encodedLength + 1))
    let written = out.withUnsafeMutableBufferPointer { buf in
      Int(
        EVP_EncodeBlock(buf.baseAddress! + start, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)))
    }
    var end = start + written
    while end > start && out[end - 1] == UInt8(ascii: "=") { end -= 1 }
    out.removeLast(out.count - end)
    for i in start..<end {
      if out[i] == UInt8(ascii: "+") {
        out[i] = UInt8(ascii: "-")
      } else if out[i] == UInt8(ascii: "/") {
        out[i] = UInt8(ascii: "_")
      }
    }
  }

  /// Decodes base64url without padding; nil for any character outside the alphabet or a bad length.
  public static func base64URLDecode(_ text: Substring) -> [UInt8]? {
    var copy = String(text)
    return copy.withUTF8 { base64URLDecode(bytes: $0) }
  }

  /// Decodes base64url bytes without padding; nil for any byte outside the alphabet or a bad length.
  /// The two url-safe letters are mapped to the standard ones and OpenSSL decodes (and rejects anything
  /// else outside the alphabet).
  public static func base64URLDecode(bytes text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    let count = text.count
    let remainder = count % 4
    if remainder == 1 { return nil }
    if count == 0 { return [] }
    let padding = remainder == 0 ? 0 : 4 - remainder
    let paddedCount = count + padding
    return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: paddedCount) { input -> [UInt8]? in
      let dst = input.baseAddress!
      let src = text.baseAddress!
      let table = urlToStandardAlphabet
      var i = 0
      while i < count {
        let c = table[Int(src[i])]
        if c == 0 { return nil }
        dst[i] = c
        i += 1
      }
      while i < paddedCount {
        dst[i] = 0x3D
        i += 1
      }
      var out = [UInt8](repeating: 0, count: paddedCount / 4 * 3)
      let n = out.withUnsafeMutableBufferPointer { EVP_DecodeBlock($0.baseAddress, dst, Int32(paddedCount)) }
      guard n >= 0 else { return nil }
      // EVP_DecodeBlock counts the bytes that the '=' padding stands for; drop them.
      out.removeLast(out.count - (Int(n) - padding))
      return out
    }
  }

  public static func base64URLDecode(_ text: String) -> [UInt8]? { base64URLDecode(Substring(text)) }

  /// base64url letters mapped to the standard alphabet OpenSSL decodes; 0 for every other byte.
  private static let urlToStandardAlphabet: [UInt8] = {
    var table = [UInt8](repeating: 0, count: 256)
    for c in Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8) { table[Int(c)] = c }
    table[Int(UInt8(ascii: "-"))] = UInt8(ascii: "+")
    table[Int(UInt8(ascii: "_"))] = UInt8(ascii: "/")
    return table
  }()
}

/// Byte containers the crypto functions accept without copying.
public protocol ContiguousBytesView {
  func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytesView where Element == UInt8 {
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withUnsafeBytes(body) }
}

extension ArraySlice: ContiguousBytesView where Element == UInt8 {
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withUnsafeBytes(body) }
}

extension String: ContiguousBytesView {
  public func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    var copy = self
    return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
  }
}

/// A buffer of CSPRNG output handed out in small pieces and refilled from RAND_bytes when spent. Each
/// byte is handed out once.
final class RandomPool: Sendable {
  private let state = Mutex<(bytes: [UInt8], used: Int)>(([], 0))

  func take(_ count: Int) -> [UInt8]? {
    state.withLock { s -> [UInt8]? in
      if s.used + count > s.bytes.count {
        var fresh = [UInt8](repeating: 0, count: 4096)
        guard RAND_bytes(&fresh, Int32(fresh.count)) == 1 else { return nil }
        s.bytes = fresh
        s.used = 0
      }
      let out = Array(s.bytes[s.used..<(s.used + count)])
      // Wipe what was handed out so it cannot be handed out or read again.
      for i in s.used..<(s.used + count) { s.bytes[i] = 0 }
      s.used += count
      return out
    }
  }
}
