import MinionsCore
import MinionsCrypto

#if canImport(Glibc)
  import Glibc
#endif

/// The claims of a Minions token.
public struct TokenClaims: Sendable, Equatable {
  public var subject: String
  public var userID: Int64
  public var role: String
  public var issuedAt: Int64
  public var expiresAt: Int64
  public var notBefore: Int64
  public var issuer: String
  public var tokenID: String
  public var tokenVersion: Int64
}

/// Why a token was refused. The reason is safe to show: it reveals nothing about the key.
public enum TokenError: Error, Sendable, Equatable, CustomStringConvertible {
  case malformed
  case unsupportedAlgorithm(String)
  case badSignature
  case expired
  case notYetValid
  case wrongIssuer
  case missingClaim(String)
  case revoked

  public var description: String {
    switch self {
    case .malformed: return "malformed token"
    case .unsupportedAlgorithm(let a): return "unsupported algorithm \"\(a)\" (only HS256 is accepted)"
    case .badSignature: return "bad signature"
    case .expired: return "token expired"
    case .notYetValid: return "token not yet valid"
    case .wrongIssuer: return "wrong issuer"
    case .missingClaim(let c): return "missing or invalid claim \(c)"
    case .revoked: return "token revoked"
    }
  }
}

/// Issues and verifies JWTs: HS256 only (the algorithm is allow-listed, never taken from the token),
/// claims `sub`, `uid`, `role`, `iat`, `exp`, `nbf`, `iss`, `jti` and `ver` (the user's token version),
/// at most 60 seconds of clock leeway. Header fields such as `kid`, `jku`, `jwk` or `x5u` never choose
/// a key: there is exactly one.
public final class TokenIssuer: Sendable {
  public static let issuer = "minions"
  public static let leewaySeconds: Int64 = 60
  public static let minimumSecretBytes = 32
  private static let encodedHeader = Crypto.base64URLEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
  private let key: HMACKey

  public init(key: [UInt8]) {
    precondition(key.count >= Self.minimumSecretBytes, "JWT keys must be at least 32 bytes")
    self.key = HMACKey(key)
  }

  public enum KeyError: Error, CustomStringConvertible {
    case secretTooShort(Int)
    case keyFile(String)

    public var description: String {
      switch self {
      case .secretTooShort(let n):
        return
          "MINIONS_JWT_SECRET must be at least \(TokenIssuer.minimumSecretBytes) bytes (it has \(n)); unset it to use a generated key"
      case .keyFile(let message): return message
      }
    }
  }

  /// The signing key: `MINIONS_JWT_SECRET` (≥ 32 bytes), else a random 256-bit key created once in the
  /// data directory as `jwt.key` with mode 0600.
  public static func loadKey(environment: [String: String], dataDirectory: String) throws -> [UInt8] {
    if let secret = environment["MINIONS_JWT_SECRET"] {
      let bytes = Array(secret.utf8)
      guard bytes.count >= minimumSecretBytes else { throw KeyError.secretTooShort(bytes.count) }
      return bytes
    }
    let path = dataDirectory + "/jwt.key"
    for _ in 0..<2 {
      if let existing = readFile(path) {
        guard existing.count >= minimumSecretBytes else {
          throw KeyError.keyFile("\(path) is shorter than 32 bytes; delete it to make a new key")
        }
        return existing
      }
      let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
      if fd < 0 {
        if errno == EEXIST { continue }  // another process made it first: read theirs
        throw KeyError.keyFile("cannot create \(path): \(String(cString: strerror(errno)))")
      }
      let key = Crypto.randomBytes(32)
      let written = key.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
      fsync(fd)
      close(fd)
      guard written == key.count else { throw KeyError.keyFile("cannot write \(path)") }
      return key
    }
    throw KeyError.keyFile("cannot read or create \(path)")
  }

  private static func readFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 256)
    while true {
      let n = read(fd, &buffer, buffer.count)
      if n <= 0 { break }
      out += buffer[0..<n]
      if out.count > 4096 { break }
    }
    return out
  }

  /// A new token for `user`, valid for `ttlSeconds` from `now`.
  public func issue(
    subject: String, userID: Int64, role: String, tokenVersion: Int64, ttlSeconds: Int64,
    now: Timestamp
  ) -> (token: String, tokenID: String, expiresAt: Timestamp) {
    let iat = now.secondsSinceEpoch
    let exp = iat + ttlSeconds
    let jti = Crypto.hex(Crypto.randomBytes(16))
    // The claims, written directly in sorted-key order (what JSONWriter would write for the same object).
    var payload: [UInt8] = []
    payload.reserveCapacity(192)
    payload.append(contentsOf: #"{"exp":"#.utf8)
    JSONWriter.writeInt(Int(exp), into: &payload)
    payload.append(contentsOf: #","iat":"#.utf8)
    JSONWriter.writeInt(Int(iat), into: &payload)
    payload.append(contentsOf: #","iss":"minions","jti":"#.utf8)
    JSONWriter.writeString(jti, into: &payload)
    payload.append(contentsOf: #","nbf":"#.utf8)
    JSONWriter.writeInt(Int(iat), into: &payload)
    payload.append(contentsOf: #","role":"#.utf8)
    JSONWriter.writeString(role, into: &payload)
    payload.append(contentsOf: #","sub":"#.utf8)
    JSONWriter.writeString(subject, into: &payload)
    payload.append(contentsOf: #","uid":"#.utf8)
    JSONWriter.writeInt(Int(userID), into: &payload)
    payload.append(contentsOf: #","ver":"#.utf8)
    JSONWriter.writeInt(Int(tokenVersion), into: &payload)
    payload.append(UInt8(ascii: "}"))
    var token = Self.encodedHeaderBytes
    token.reserveCapacity(token.count + payload.count * 4 / 3 + 48)
    token.append(UInt8(ascii: "."))
    payload.withUnsafeBytes { Crypto.base64URLEncode($0, into: &token) }
    let signature = token.withUnsafeBytes { key.mac($0) }
    token.append(UInt8(ascii: "."))
    signature.withUnsafeBytes { Crypto.base64URLEncode($0, into: &token) }
    return (String(decoding: token, as: UTF8.self), jti, Timestamp(millisecondsSinceEpoch: exp * 1000))
  }

  /// Splits a token, checks its header and signature, and returns its decoded payload.
  private static func checkSignature(_ bytes: UnsafeBufferPointer<UInt8>, key: HMACKey) throws(TokenError) -> [UInt8] {
    guard bytes.count <= 8192 else { throw .malformed }
    guard let base = bytes.baseAddress else { throw .malformed }
    func dot(after start: Int) -> Int? {
      guard start < bytes.count, let p = memchr(base + start, Int32(UInt8(ascii: ".")), bytes.count - start) else {
        return nil
      }
      return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }
    guard let first = dot(after: 0), let second = dot(after: first + 1), dot(after: second + 1) == nil else {
      throw .malformed
    }
    let dots = (first, second)
    let header = UnsafeBufferPointer(rebasing: bytes[0..<dots.0])
    // Our own header is recognised byte for byte; any other spelling is decoded and judged.
    let isOurHeader =
      header.count == Self.encodedHeaderBytes.count
      && Self.encodedHeaderBytes.withUnsafeBytes { memcmp($0.baseAddress!, base, header.count) == 0 }
    if !isOurHeader {
      guard let headerBytes = Crypto.base64URLDecode(bytes: header),
        case .object(let fields)? = try? JSONParser.parse(headerBytes)
      else { throw .malformed }
      guard case .string(let alg)? = fields["alg"] else { throw .unsupportedAlgorithm("(none given)") }
      guard alg == "HS256" else { throw .unsupportedAlgorithm(alg) }
      if fields["crit"] != nil { throw .malformed }  // no extensions are understood
    }
    // The expected signature is encoded and compared as text (in constant time): cheaper than decoding
    // the given one, and equivalent, as unpadded base64url has one spelling per 32 bytes.
    let expected = key.mac(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[0..<dots.1])))
    var encoded: [UInt8] = []
    encoded.reserveCapacity(44)
    expected.withUnsafeBytes { Crypto.base64URLEncode($0, into: &encoded) }
    guard Crypto.constantTimeEquals(encoded, Array(bytes[(dots.1 + 1)...])) else { throw .badSignature }
    guard let payload = Crypto.base64URLDecode(bytes: UnsafeBufferPointer(rebasing: bytes[(dots.0 + 1)..<dots.1]))
    else {
      throw .malformed
    }
    return payload
  }

  private static let encodedHeaderBytes = Array(encodedHeader.utf8)

  private func check(_ c: CanonicalClaims, now: Timestamp) throws(TokenError) -> TokenClaims {
    guard c.iss == Self.issuer else { throw .wrongIssuer }
    let nowSeconds = now.secondsSinceEpoch
    guard c.exp + Self.leewaySeconds > nowSeconds else { throw .expired }
    guard c.nbf - Self.leewaySeconds <= nowSeconds, c.iat - Self.leewaySeconds <= nowSeconds else { throw .notYetValid }
    for (name, value) in [("sub", c.sub), ("role", c.role), ("jti", c.jti)] where value.isEmpty {
      throw .missingClaim(name)
    }
    return TokenClaims(
      subject: c.sub, userID: c.uid, role: c.role, issuedAt: c.iat, expiresAt: c.exp, notBefore: c.nbf,
      issuer: Self.issuer, tokenID: c.jti, tokenVersion: c.ver)
  }

  /// Checks the signature and the time and issuer claims. Revocation and the user's state are the
  /// authenticator's to check.
  public func verify(_ token: String, now: Timestamp) throws(TokenError) -> TokenClaims {
    var copy = token
    let payload = try copy.withUTF8 { bytes in
      Result { () throws(TokenError) -> [UInt8] in try Self.checkSignature(bytes, key: key) }
    }.get()
    // The layout this issuer writes is read without building a dictionary; any other goes the long way.
    if let canonical = CanonicalClaims(payload) { return try check(canonical, now: now) }
    guard case .object(let claims)? = try? JSONParser.parse(payload) else { throw .malformed }
    func int(_ name: String) throws(TokenError) -> Int64 {
      guard let v = claims[name]?.intValue else { throw .missingClaim(name) }
      return Int64(v)
    }
    func string(_ name: String) throws(TokenError) -> String {
      guard let v = claims[name]?.stringValue, !v.isEmpty else { throw .missingClaim(name) }
      return v
    }
    guard claims["iss"]?.stringValue == Self.issuer else { throw .wrongIssuer }
    let nowSeconds = now.secondsSinceEpoch
    let exp = try int("exp")
    let nbf = try int("nbf")
    let iat = try int("iat")
    guard exp + Self.leewaySeconds > nowSeconds else { throw .expired }
    guard nbf - Self.leewaySeconds <= nowSeconds, iat - Self.leewaySeconds <= nowSeconds else { throw .notYetValid }
    return TokenClaims(
      subject: try string("sub"), userID: try int("uid"), role: try string("role"), issuedAt: iat,
      expiresAt: exp, notBefore: nbf, issuer: Self.issuer, tokenID: try string("jti"),
      tokenVersion: try int("ver"))
  }
}

/// The claims exactly as `TokenIssuer.issue` writes them — keys in that order, integers, and strings
/// without escapes — read in one pass. Anything else (another issuer's layout, escapes) is not
/// recognised and goes through the general JSON parser instead.
struct CanonicalClaims {
  var exp: Int64 = 0, iat: Int64 = 0, nbf: Int64 = 0, uid: Int64 = 0, ver: Int64 = 0
  var iss = "", jti = "", role = "", sub = ""

  init?(_ array: [UInt8]) {
    guard let parsed = array.withUnsafeBufferPointer({ CanonicalClaims(bytes: $0) }) else { return nil }
    self = parsed
  }

  private init?(bytes: UnsafeBufferPointer<UInt8>) {
    var i = 0
    func expect(_ literal: StaticString) -> Bool {
      let n = literal.utf8CodeUnitCount
      guard i + n <= bytes.count else { return false }
      for k in 0..<n where bytes[i + k] != literal.utf8Start[k] { return false }
      i += n
      return true
    }
    func integer() -> Int64? {
      let start = i
      var v: Int64 = 0
      while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39, i - start < 18 {
        v = v * 10 + Int64(bytes[i] - 0x30)
        i += 1
      }
      return i > start ? v : nil
    }
    func string() -> String? {
      guard i < bytes.count, bytes[i] == 0x22 else { return nil }
      i += 1
      let start = i
      while i < bytes.count, bytes[i] != 0x22 {
        if bytes[i] == 0x5C || bytes[i] < 0x20 || bytes[i] >= 0x80 { return nil }  // escapes and non-ASCII: general path
        i += 1
      }
      guard i < bytes.count else { return nil }
      defer { i += 1 }
      return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }
    guard expect(#"{"exp":"#), let exp = integer(), expect(#","iat":"#), let iat = integer(),
      expect(#","iss":"#), let iss = string(), expect(#","jti":"#), let jti = string(),
      expect(#","nbf":"#), let nbf = integer(), expect(#","role":"#), let role = string(),
      expect(#","sub":"#), let sub = string(), expect(#","uid":"#), let uid = integer(),
      expect(#","ver":"#), let ver = integer(), expect("}"), i == bytes.count
    else { return nil }
    (self.exp, self.iat, self.iss, self.jti, self.nbf, self.role, self.sub, self.uid, self.ver) =
      (exp, iat, iss, jti, nbf, role, sub, uid, ver)
  }
}
