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
  private let key: [UInt8]

  public init(key: [UInt8]) {
    precondition(key.count >= Self.minimumSecretBytes, "JWT keys must be at least 32 bytes")
    self.key = key
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
    let payload: JSONValue = [
      "sub": .string(subject), "uid": .int(Int(userID)), "role": .string(role), "iat": .int(Int(iat)),
      "exp": .int(Int(exp)), "nbf": .int(Int(iat)), "iss": .string(Self.issuer), "jti": .string(jti),
      "ver": .int(Int(tokenVersion)),
    ]
    let signingInput = Self.encodedHeader + "." + Crypto.base64URLEncode(JSONWriter.bytes(payload))
    let signature = Crypto.hmacSHA256(key: key, data: signingInput)
    return (signingInput + "." + Crypto.base64URLEncode(signature), jti, Timestamp(millisecondsSinceEpoch: exp * 1000))
  }

  /// Checks the signature and the time and issuer claims. Revocation and the user's state are the
  /// authenticator's to check.
  public func verify(_ token: String, now: Timestamp) throws(TokenError) -> TokenClaims {
    guard token.utf8.count <= 8192 else { throw .malformed }
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count == 3 else { throw .malformed }
    guard let headerBytes = Crypto.base64URLDecode(parts[0]),
      case .object(let header)? = try? JSONParser.parse(headerBytes)
    else { throw .malformed }
    guard case .string(let alg)? = header["alg"] else { throw .unsupportedAlgorithm("(none given)") }
    guard alg == "HS256" else { throw .unsupportedAlgorithm(alg) }
    if header["crit"] != nil { throw .malformed }  // no extensions are understood
    guard let signature = Crypto.base64URLDecode(parts[2]), signature.count == 32 else { throw .badSignature }
    let signingInput = token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count)
    let expected = Crypto.hmacSHA256(key: key, data: Array(signingInput))
    guard Crypto.constantTimeEquals(expected, signature) else { throw .badSignature }
    guard let payloadBytes = Crypto.base64URLDecode(parts[1]),
      case .object(let claims)? = try? JSONParser.parse(payloadBytes)
    else { throw .malformed }
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
