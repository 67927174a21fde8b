import MinionsCore
import MinionsCrypto
import Testing

@Suite struct CryptoTests {
  @Test func base64FollowsRFC4648() {
    let vectors = [
      "": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy",
    ]
    for (plain, encoded) in vectors {
      #expect(Crypto.base64Encode(Array(plain.utf8)) == encoded)
      #expect(Crypto.base64Decode(encoded) == Array(plain.utf8))
    }
    #expect(Crypto.base64Decode("Zm9") == nil)  // not a multiple of 4
    #expect(Crypto.base64Decode("Zm9v!!==") == nil)  // not base64
    #expect(Crypto.hex(Crypto.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")  // FIPS 180 example
  }

  @Test func sha256KnownVectors() {
    #expect(
      Crypto.hex(Crypto.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
    #expect(Crypto.hex(Crypto.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  }

  /// RFC 4231 test cases 1 and 2.
  @Test func hmacSHA256RFC4231() {
    let key1 = [UInt8](repeating: 0x0b, count: 20)
    #expect(
      Crypto.hex(Crypto.hmacSHA256(key: key1, data: Array("Hi There".utf8)))
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    #expect(
      Crypto.hex(Crypto.hmacSHA256(key: Array("Jefe".utf8), data: Array("what do ya want for nothing?".utf8)))
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
  }

  @Test func base64URLRoundTripsAndRefusesOtherAlphabets() {
    for n in 0..<40 {
      let bytes = (0..<n).map { UInt8(($0 * 37 + 251) & 0xFF) }
      let text = Crypto.base64URLEncode(bytes)
      #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
      #expect(Crypto.base64URLDecode(text) == bytes)
    }
    #expect(
      Crypto.base64URLEncode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)) == "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9")
    #expect(Crypto.base64URLDecode("ab+c") == nil)
    #expect(Crypto.base64URLDecode("ab/c") == nil)
    #expect(Crypto.base64URLDecode("abc=") == nil)
    #expect(Crypto.base64URLDecode("a") == nil)
    #expect(Crypto.base64URLDecode("ab c") == nil)
  }

  @Test func constantTimeComparison() {
    #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
    #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
    #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2]))
    #expect(Crypto.constantTimeEquals([], []))
  }

  @Test func randomBytesDiffer() {
    let a = Crypto.randomBytes(32)
    let b = Crypto.randomBytes(32)
    #expect(a.count == 32 && a != b)
  }
}

@Suite struct BCryptTests {
  @Test func hashesWith2bAndTheRequestedCost() throws {
    let hash = try BCrypt.hash("correct horse", cost: 10)
    #expect(hash.hasPrefix("$2b$10$"))
    #expect(hash.count == 60)
    #expect(BCrypt.cost(of: hash) == 10)
    #expect(BCrypt.verify("correct horse", hash: hash))
    #expect(!BCrypt.verify("correct horsf", hash: hash))
    #expect(try BCrypt.hash("correct horse", cost: 10) != hash)  // fresh salt each time
  }

  /// A hash from OpenBSD's test vectors (password "U*U", cost 5).
  @Test func verifiesHashesMadeElsewhere() {
    #expect(BCrypt.verify("U*U", hash: "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
    #expect(!BCrypt.verify("U*V", hash: "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"))
  }

  @Test func refusesWhatWouldBeTruncated() {
    let exactly72 = String(repeating: "p", count: 72)
    #expect(throws: Never.self) { try BCrypt.hash(exactly72, cost: 4) }
    #expect(throws: BCrypt.Failure.tooLong(73)) { try BCrypt.hash(exactly72 + "q", cost: 4) }
    #expect(throws: BCrypt.Failure.invalidCost(3)) { try BCrypt.hash("x", cost: 3) }
    // Without the length check, a 73rd byte would be ignored and this would verify.
    let hash = try! BCrypt.hash(exactly72, cost: 4)
    #expect(!BCrypt.verify(exactly72 + "q", hash: hash))
  }

  @Test func malformedHashesNeverVerify() {
    for bad in ["", "*0", "$1$abc", "$2b$", "$2b$99$xxxxxxxxxxxxxxxxxxxxxx", "!"] {
      #expect(!BCrypt.verify("password", hash: bad))
    }
  }
}
