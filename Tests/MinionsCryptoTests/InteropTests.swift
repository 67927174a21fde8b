import Foundation
import MinionsCore
import MinionsCrypto
import MinionsEngine
import MinionsTestSupport
import Testing

/// The Python interpreter with PyJWT and bcrypt from PyPI, set up by `make test` (a venv under .build/).
let interopPython = ProcessInfo.processInfo.environment["MINIONS_TEST_PYTHON"]

/// Runs a Python snippet with arguments; returns its stdout (trimmed) and exit status. The program is
/// waited for off the cooperative pool (a blocked pool thread starves every other test).
func runPython(_ code: String, _ arguments: [String]) async throws -> (String, Int32) {
  let run = try await runProgram(
    interopPython!, ["-c", code] + arguments, environment: ProcessInfo.processInfo.environment)
  return (run.output.trimmingCharacters(in: .whitespacesAndNewlines), run.status)
}

@Suite(.enabled(if: interopPython != nil, "needs MINIONS_TEST_PYTHON (make test sets it)"))
struct InteropTests {
  let secret = "an interop secret of at least 32 bytes!"

  @Test func pyJWTVerifiesOurTokensAndWeVerifyPyJWTs() async throws {
    let issuer = TokenIssuer(key: Array(secret.utf8))
    let now = Timestamp.now()
    let issued = issuer.issue(subject: "alice", userID: 5, role: "user", tokenVersion: 2, ttlSeconds: 600, now: now)
    let (decoded, status) = try await runPython(
      "import jwt, sys, json; c = jwt.decode(sys.argv[1], sys.argv[2], algorithms=['HS256'], issuer='minions'); print(json.dumps([c['sub'], c['uid'], c['ver'], c['jti']]))",
      [issued.token, secret])
    #expect(status == 0, "\(decoded)")
    #expect(decoded == #"["alice", 5, 2, "\#(issued.tokenID)"]"#)
    // PyJWT refuses it under another key, as it should.
    let (_, wrongKey) = try await runPython(
      "import jwt, sys; jwt.decode(sys.argv[1], 'x' * 32, algorithms=['HS256'])", [issued.token])
    #expect(wrongKey != 0)
    // And a token PyJWT makes verifies here.
    let s = now.secondsSinceEpoch
    let (theirs, made) = try await runPython(
      "import jwt, sys; print(jwt.encode({'sub':'bob','uid':9,'role':'viewer','iat':\(s),'nbf':\(s),'exp':\(s + 300),'iss':'minions','jti':'py','ver':1}, sys.argv[1], algorithm='HS256'))",
      [secret])
    #expect(made == 0)
    let claims = try issuer.verify(theirs, now: now)
    #expect(claims.subject == "bob" && claims.userID == 9 && claims.tokenID == "py")
    // PyJWT with alg none is refused here.
    let (unsigned, _) = try await runPython(
      "import jwt; print(jwt.encode({'sub':'bob','uid':9,'role':'admin','iat':\(s),'nbf':\(s),'exp':\(s + 300),'iss':'minions','jti':'n','ver':1}, None, algorithm='none'))",
      [])
    #expect(throws: TokenError.unsupportedAlgorithm("none")) { try issuer.verify(unsigned, now: now) }
  }

  @Test func pythonBcryptVerifiesOurHashesAndWeVerifyItsHashes() async throws {
    let ours = try BCrypt.hash("pässwörd-123", cost: 10)
    let (ok, status) = try await runPython(
      "import bcrypt, sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))",
      ["pässwörd-123", ours])
    #expect(status == 0 && ok == "True", "\(ok)")
    let (bad, _) = try await runPython(
      "import bcrypt, sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()))",
      ["pässwörd-124", ours])
    #expect(bad == "False")
    let (theirs, made) = try await runPython(
      "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(10)).decode())",
      ["from python"])
    #expect(made == 0 && theirs.hasPrefix("$2b$10$"))
    #expect(BCrypt.verify("from python", hash: theirs))
    #expect(!BCrypt.verify("from pythoN", hash: theirs))
  }
}
