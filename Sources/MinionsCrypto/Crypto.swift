import CCrypto

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

  /// `count` bytes from OpenSSL's CSPRNG.
  public static func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    let rc = RAND_bytes(&bytes, Int32(count))
    precondition(rc == 1, "RAND_bytes failed: the system has no usable entropy source")
    return bytes
  }

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

  /// Decodes base64url without padding; nil for any character outside the alphabet or a bad length.
  public static func base64URLDecode(_ text: Substring) -> [UInt8]? {
    var input = [UInt8]()
    input.reserveCapacity(text.utf8.count + 3)
    for c in text.utf8 {
      switch c {
      case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"):
        input.append(c)
      case UInt8(ascii: "-"): input.append(UInt8(ascii: "+"))
      case UInt8(ascii: "_"): input.append(UInt8(ascii: "/"))
      default: return nil
      }
    }
    let remainder = input.count % 4
    if remainder == 1 { return nil }
    let padding = remainder == 0 ? 0 : 4 - remainder
    input.append(contentsOf: repeatElement(UInt8(ascii: "="), count: padding))
    if input.isEmpty { return [] }
    var out = [UInt8](repeating: 0, count: input.count / 4 * 3)
    let n = EVP_DecodeBlock(&out, input, Int32(input.count))
    guard n >= 0 else { return nil }
    // EVP_DecodeBlock counts the bytes that the '=' padding stands for; drop them.
    return Array(out[0..<(Int(n) - padding)])
  }

  public static func base64URLDecode(_ text: String) -> [UInt8]? { base64URLDecode(Substring(text)) }
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
