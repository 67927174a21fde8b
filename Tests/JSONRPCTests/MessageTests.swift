import JSONRPC
import MinionsCore
import Testing

@Suite struct MessageTests {
  func decode(_ text: String) throws -> DecodedMessage { Message.decode(try JSONParser.parse(text)) }

  @Test func readsRequestsNotificationsAndResponses() throws {
    guard case .message(.request(let r)) = try decode(#"{"jsonrpc":"2.0","id":7,"method":"m","params":{"a":1}}"#) else {
      Issue.record("not a request"); return
    }
    #expect(r.id == .int(7) && r.method == "m" && r.params == ["a": 1])
    guard case .message(.request(let s)) = try decode(#"{"jsonrpc":"2.0","id":"x","method":"m","params":[1]}"#) else {
      Issue.record("not a request"); return
    }
    #expect(s.id == .string("x"))
    guard case .message(.notification(let n)) = try decode(#"{"jsonrpc":"2.0","method":"n"}"#) else {
      Issue.record("not a notification"); return
    }
    #expect(n.method == "n" && n.params == nil)
    guard case .message(.response(let ok)) = try decode(#"{"jsonrpc":"2.0","id":1,"result":null}"#) else {
      Issue.record("not a response"); return
    }
    #expect(ok.id == .int(1))
    guard
      case .message(.response(let err)) = try decode(#"{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"no"}}"#),
      case .failure(let e) = err.result
    else { Issue.record("not an error response"); return }
    #expect(e.code.rawValue == -1 && e.message == "no")
  }

  @Test func aNullIDIsARequestAnsweredWithNull() throws {
    guard case .message(.request(let r)) = try decode(#"{"jsonrpc":"2.0","id":null,"method":"m"}"#) else {
      Issue.record("not a request"); return
    }
    #expect(r.id == .null)
  }

  @Test(arguments: [
    (#"1"#, RequestID.null, "expected a JSON object"),
    (#"{"jsonrpc":"1.0","id":1,"method":"m"}"#, RequestID.int(1), "jsonrpc"),
    (#"{"id":1,"method":"m"}"#, RequestID.int(1), "jsonrpc"),
    (#"{"jsonrpc":"2.0","id":1,"method":5}"#, RequestID.int(1), "method must be a string"),
    (#"{"jsonrpc":"2.0","id":"a","method":"m","params":"bar"}"#, RequestID.string("a"), "params must be"),
    (#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#, RequestID.null, "fractional"),
    (#"{"jsonrpc":"2.0","id":{},"method":"m"}"#, RequestID.null, "id must be"),
    (#"{"jsonrpc":"2.0"}"#, RequestID.null, "needs a method"),
    (#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}"#, RequestID.null, "exactly one"),
  ])
  func invalidMessagesAreInvalidRequests(_ text: String, _ id: RequestID, _ fragment: String) throws {
    guard case .invalid(let error, let gotID) = try decode(text) else {
      Issue.record("accepted \(text)"); return
    }
    #expect(error.code == .invalidRequest)
    #expect(gotID == id)
    #expect(error.message.contains(fragment))
  }

  @Test func encodesTheEnvelopeInConventionalOrder() {
    var out: [UInt8] = []
    MessageEncoder.encodeResponse(Response(id: .int(1), result: .success(["b": 1, "a": 2])), into: &out)
    #expect(String(decoding: out, as: UTF8.self) == #"{"jsonrpc":"2.0","id":1,"result":{"a":2,"b":1}}"#)
    out = []
    MessageEncoder.encodeResponse(Response(id: .null, result: .failure(.parseError("x"))), into: &out)
    #expect(
      String(decoding: out, as: UTF8.self)
        == #"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error: x"}}"#)
    #expect(
      String(decoding: MessageEncoder.encode(.notification(Notification(method: "n", params: nil))), as: UTF8.self)
        == #"{"jsonrpc":"2.0","method":"n"}"#)
    #expect(
      String(
        decoding: MessageEncoder.encode(.request(Request(id: .string("s"), method: "m", params: [1]))), as: UTF8.self)
        == #"{"jsonrpc":"2.0","id":"s","method":"m","params":[1]}"#)
  }

  @Test func everyErrorCodeHasANameAndAMeaning() {
    #expect(Set(ErrorCode.all.map(\.rawValue)).count == ErrorCode.all.count)
    for code in ErrorCode.all {
      #expect(!code.name.hasPrefix("Error"))
      #expect(!code.meaning.isEmpty)
    }
  }

  @Test func errorHelpersCarryStructuredData() {
    #expect(ResponseError.invalidParams(field: "maxSteps", "expected integer").data?["field"] == "maxSteps")
    #expect(ResponseError.permissionDenied("chat").data == ["permission": "chat"])
    #expect(ResponseError.notFound(kind: "session", id: "s1").data == ["kind": "session", "id": "s1"])
    #expect(ResponseError.overloaded("busy", retryAfterMs: 50).data == ["retryAfterMs": 50])
  }
}

@Suite struct IDScannerTests {
  func scan(_ text: String, chunk: Int = 1) -> IDScanner {
    var s = IDScanner()
    let bytes = Array(text.utf8)
    var i = 0
    while i < bytes.count {
      s.feed(Array(bytes[i..<min(bytes.count, i + chunk)]))
      i += chunk
    }
    return s
  }

  @Test func findsTopLevelIDsInAnyPosition() {
    #expect(scan(#"{"jsonrpc":"2.0","id":42,"method":"m"}"#).foundID == .int(42))
    #expect(scan(#"{"method":"m","params":{"id":1,"x":[{"id":2}]},"id":"abc"}"#).foundID == .string("abc"))
    #expect(scan(#"{ "id" : -7 }"#, chunk: 3).foundID == .int(-7))
    #expect(scan(#"{"id":"a\"b"}"#).foundID == .string("a\"b"))
    #expect(scan(#"{"id":null}"#).foundID == .null)
  }

  @Test func ignoresLookalikes() {
    #expect(scan(#"{"params":{"id":1}}"#).foundID == nil)
    #expect(scan(#"{"idx":1,"x":"\"id\":5"}"#).foundID == nil)
    #expect(scan(#"[{"id":1}]"#).foundID == nil)
    #expect(scan(#"[{"id":1}]"#).isBatch)
  }

  @Test func tellsWhenABracketedValueEnds() {
    let s = scan(#"{"a":"}}}","b":[1,{"c":"]"}]}"#)
    #expect(s.isComplete)
    #expect(!scan(#"{"a":[1,2]"#).isComplete)
  }
}
