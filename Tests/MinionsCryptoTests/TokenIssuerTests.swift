import MinionsCore
import MinionsCrypto
import MinionsEngine
import Testing

/// The JWT checklist: only HS256 with our key, valid times and issuer.
@Suite struct TokenIssuerTests {
  let key = Array("0123456789abcdef0123456789abcdef".utf8)
  var issuer: TokenIssuer { TokenIssuer(key: key) }
  let now = Timestamp(millisecondsSinceEpoch: 1_800_000_000_000)

  func token(ttl: Int64 = 3600) -> String {
    issuer.issue(subject: "alice", userID: 7, role: "admin", tokenVersion: 3, ttlSeconds: ttl, now: now).token
  }

  /// Builds a token by hand: any header and claims, signed with `signKey` (nil: unsigned).
  func forge(header: JSONValue, claims: JSONValue, signKey: [UInt8]?, signature: String? = nil) -> String {
    let input =
      Crypto.base64URLEncode(JSONWriter.bytes(header)) + "." + Crypto.base64URLEncode(JSONWriter.bytes(claims))
    if let signature { return input + "." + signature }
    guard let signKey else { return input + "." }
    return input + "." + Crypto.base64URLEncode(Crypto.hmacSHA256(key: signKey, data: Array(input.utf8)))
  }

  var goodClaims: JSONValue {
    let s = now.secondsSinceEpoch
    return [
      "sub": "alice", "uid": 7, "role": "admin", "iat": .int(Int(s)), "nbf": .int(Int(s)), "exp": .int(Int(s + 600)),
      "iss": "minions", "jti": "abc", "ver": 3,
    ]
  }

  func rejection(_ token: String, at time: Timestamp? = nil) -> TokenError? {
    do {
      _ = try issuer.verify(token, now: time ?? now)
      return nil
    } catch { return error }
  }

  @Test func issuedTokensVerifyWithTheirClaims() throws {
    let claims = try issuer.verify(token(), now: now)
    #expect(claims.subject == "alice" && claims.userID == 7 && claims.role == "admin" && claims.tokenVersion == 3)
    #expect(claims.expiresAt - claims.issuedAt == 3600 && claims.issuer == "minions" && claims.tokenID.count == 32)
    // Each token has its own id.
    #expect(try issuer.verify(token(), now: now).tokenID != claims.tokenID)
    // The hand-built token with the right key verifies too (the forge helper is faithful).
    #expect(rejection(forge(header: ["alg": "HS256", "typ": "JWT"], claims: goodClaims, signKey: key)) == nil)
  }

  @Test func algNoneIsRefused() {
    #expect(
      rejection(forge(header: ["alg": "none", "typ": "JWT"], claims: goodClaims, signKey: nil))
        == .unsupportedAlgorithm("none"))
    #expect(
      rejection(forge(header: ["alg": "None"], claims: goodClaims, signKey: key)) == .unsupportedAlgorithm("None"))
    #expect(
      rejection(forge(header: ["typ": "JWT"], claims: goodClaims, signKey: key))
        == .unsupportedAlgorithm("(none given)"))
  }

  @Test func otherAlgorithmsAreRefusedEvenWithAValidMAC() {
    for alg in ["HS512", "HS384", "RS256", "ES256", "hs256"] {
      #expect(
        rejection(forge(header: ["alg": .string(alg)], claims: goodClaims, signKey: key)) == .unsupportedAlgorithm(alg))
    }
  }

  @Test func emptyOrWrongSignaturesAreRefused() {
    #expect(rejection(forge(header: ["alg": "HS256"], claims: goodClaims, signKey: nil)) == .badSignature)
    #expect(
      rejection(
        forge(header: ["alg": "HS256"], claims: goodClaims, signKey: Array("another key, also 32 bytes long!!".utf8)))
        == .badSignature)
    let t = token()
    var tampered = Array(t.utf8)
    tampered[tampered.count - 5] =
      tampered[tampered.count - 5] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
    #expect(rejection(String(decoding: tampered, as: UTF8.self)) == .badSignature)
    // Changing the claims without re-signing.
    let parts = t.split(separator: ".")
    let evil = Crypto.base64URLEncode(JSONWriter.bytes(["sub": "mallory", "uid": 1, "role": "admin"]))
    #expect(rejection("\(parts[0]).\(evil).\(parts[2])") == .badSignature)
  }

  @Test func keyHintsInTheHeaderNeverChooseTheKey() {
    let attackerKey = Array("attacker-controlled key material!".utf8)
    for hint: JSONValue in [
      ["alg": "HS256", "kid": "../../dev/null"], ["alg": "HS256", "jku": "http://evil/jwks"],
      ["alg": "HS256", "jwk": ["kty": "oct", "k": .string(Crypto.base64URLEncode(attackerKey))]],
      ["alg": "HS256", "x5u": "http://evil/cert"],
    ] {
      #expect(rejection(forge(header: hint, claims: goodClaims, signKey: attackerKey)) == .badSignature)
      #expect(rejection(forge(header: hint, claims: goodClaims, signKey: key)) == nil)
    }
  }

  @Test func expiryAndNotBeforeHonourSixtySecondsOfLeeway() {
    let t = token(ttl: 600)
    #expect(rejection(t, at: now.adding(milliseconds: 600_000 + 59_000)) == nil)
    #expect(rejection(t, at: now.adding(milliseconds: 600_000 + 61_000)) == .expired)
    // A token from the future (nbf and iat ahead of the clock) is refused past the leeway.
    #expect(rejection(t, at: now.adding(milliseconds: -59_000)) == nil)
    #expect(rejection(t, at: now.adding(milliseconds: -61_000)) == .notYetValid)
    var claims = goodClaims.objectValue!
    claims["nbf"] = .int(Int(now.secondsSinceEpoch + 3600))
    #expect(rejection(forge(header: ["alg": "HS256"], claims: .object(claims), signKey: key)) == .notYetValid)
  }

  @Test func wrongIssuerAndMissingClaimsAreRefused() {
    var claims = goodClaims.objectValue!
    claims["iss"] = "someone-else"
    #expect(rejection(forge(header: ["alg": "HS256"], claims: .object(claims), signKey: key)) == .wrongIssuer)
    for missing in ["exp", "jti", "uid", "ver", "sub"] {
      var c = goodClaims.objectValue!
      c.removeValue(forKey: missing)
      let error = rejection(forge(header: ["alg": "HS256"], claims: .object(c), signKey: key))
      #expect(error == .missingClaim(missing), "\(missing): \(String(describing: error))")
    }
  }

  @Test func malformedTokensAreRefused() {
    for bad in ["", "a.b", "a.b.c.d", "!!!.###.$$$", String(repeating: "a", count: 9000), "e30.e30.", ".."] {
      #expect(rejection(bad) != nil, "\(bad.prefix(20))")
    }
    #expect(
      rejection(forge(header: ["alg": "HS256", "crit": ["exp"]], claims: goodClaims, signKey: key)) == .malformed)
  }
}
