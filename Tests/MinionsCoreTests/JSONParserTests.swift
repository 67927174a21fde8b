import Testing

@testable import MinionsCore

@Suite struct JSONParserTests {
  @Test func parsesEveryKindOfValue() throws {
    let v = try JSONParser.parse(#" {"a": [1, -2, 3.5, 1e3, true, false, null, "x"], "b": {}} "#)
    #expect(v["a"] == [1, -2, 3.5, 1000.0, true, false, nil, "x"])
    #expect(v["b"] == .object([:]))
  }

  @Test func keepsIntegersApartFromOtherNumbers() throws {
    #expect(try JSONParser.parse("9223372036854775807") == .int(Int.max))
    #expect(try JSONParser.parse("-9223372036854775808") == .int(Int.min))
    #expect(try JSONParser.parse("9223372036854775808") == .double(9223372036854775808.0))
    #expect(try JSONParser.parse("-0") == .int(0))
    #expect(try JSONParser.parse("1.0") == .double(1.0))
    #expect(try JSONParser.parse("2E-2") == .double(0.02))
  }

  @Test(arguments: ["01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "1e400"])
  func rejectsMalformedNumbers(_ text: String) {
    #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
  }

  @Test func decodesEscapesAndSurrogatePairs() throws {
    let v = try JSONParser.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
    #expect(v == .string("a\"b\\c/d\u{8}\u{c}\n\r\té😀"))
  }

  @Test func acceptsRawUTF8() throws {
    #expect(try JSONParser.parse("\"héllo wörld 日本 😀\"") == .string("héllo wörld 日本 😀"))
  }

  @Test(arguments: [#""\ud800""#, #""\ud800x""#, #""\udc00""#, #""\ud800\u0041""#, #""a\udfffb""#])
  func rejectsLoneSurrogates(_ text: String) {
    #expect {
      try JSONParser.parse(text)
    } throws: { ($0 as? JSONParseError)?.kind == .loneSurrogate }
  }

  @Test(
    arguments: [
      [0x22, 0xFF, 0x22],  // invalid byte
      [0x22, 0xC3, 0x22],  // truncated sequence
      [0x22, 0xC0, 0xAF, 0x22],  // overlong "/"
      [0x22, 0xED, 0xA0, 0x80, 0x22],  // UTF-8 encoded surrogate
      [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],  // beyond U+10FFFF
    ] as [[UInt8]])
  func rejectsInvalidUTF8(_ bytes: [UInt8]) {
    #expect {
      try JSONParser.parse(bytes)
    } throws: { ($0 as? JSONParseError)?.kind == .invalidUTF8 }
  }

  @Test func rejectsInvalidUTF8InsideEscapedStrings() {
    #expect {
      try JSONParser.parse([0x22, 0x5C, 0x6E, 0xFF, 0x22])
    } throws: { ($0 as? JSONParseError)?.kind == .invalidUTF8 }
  }

  @Test func rejectsControlCharactersInStrings() {
    #expect {
      try JSONParser.parse("\"a\nb\"")
    } throws: { ($0 as? JSONParseError)?.kind == .controlCharacterInString }
  }

  @Test(arguments: [
    "", "   ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{1:2}", "[1 2]", "tru", "nul", "'x'",
    "{\"a\":1}}", "[1]x", "\"abc", "\"\\x\"", "\"\\u12\"",
  ])
  func rejectsMalformedDocuments(_ text: String) {
    #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
  }

  @Test func reportsTheOffsetOfTheProblem() {
    #expect {
      try JSONParser.parse(#"{"a": tru}"#)
    } throws: { ($0 as? JSONParseError)?.offset == 9 }
  }

  @Test func nestingUpToTheLimitIsAccepted() throws {
    let text = String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
    _ = try JSONParser.parse(text)
    let objects = String(repeating: "{\"a\":", count: 127) + "[]" + String(repeating: "}", count: 127)
    _ = try JSONParser.parse(objects)
  }

  @Test func nestingPastTheLimitIsRefused() {
    let text = String(repeating: "[", count: 129) + String(repeating: "]", count: 129)
    #expect {
      try JSONParser.parse(text)
    } throws: { ($0 as? JSONParseError)?.kind == .tooDeep(limit: 128) }
  }

  @Test func absurdNestingIsRefusedWithoutRecursingDeep() {
    let text = String(repeating: "[", count: 100_000)
    #expect {
      try JSONParser.parse(text)
    } throws: { ($0 as? JSONParseError)?.kind == .tooDeep(limit: 128) }
  }

  @Test func topLevelArrayLimitStopsAtTheLimit() throws {
    let ok = "[" + Array(repeating: "1", count: 1000).joined(separator: ",") + "]"
    #expect(try JSONParser.parse(ok, options: .init(maxTopLevelArrayElements: 1000)).arrayValue?.count == 1000)
    let tooMany = "[" + Array(repeating: "1", count: 1001).joined(separator: ",") + "]"
    #expect {
      try JSONParser.parse(tooMany, options: .init(maxTopLevelArrayElements: 1000))
    } throws: { ($0 as? JSONParseError)?.kind == .tooManyElements(limit: 1000) }
    // Nested arrays are not batches.
    let nested = "[[" + Array(repeating: "1", count: 1001).joined(separator: ",") + "]]"
    #expect(throws: Never.self) { try JSONParser.parse(nested, options: .init(maxTopLevelArrayElements: 1000)) }
  }

  @Test func duplicateKeysKeepTheLast() throws {
    #expect(try JSONParser.parse(#"{"a":1,"a":2}"#)["a"] == 2)
  }
}

@Suite struct JSONWriterTests {
  @Test func writesCompactSortedText() {
    let v: JSONValue = ["b": [1, 2.5, "x"], "a": nil, "c": ["z": true, "y": false]]
    #expect(JSONWriter.string(v) == #"{"a":null,"b":[1,2.5,"x"],"c":{"y":false,"z":true}}"#)
  }

  @Test func escapesWhatJSONRequires() {
    #expect(JSONWriter.string("q\"b\\n\nt\tc\u{1}e\u{7f}é") == #""q\"b\\n\nt\tc\u0001e"# + "\u{7f}é\"")
  }

  @Test func writesNoRawNewlinesSoEveryMessageFitsOnOneLine() {
    let v: JSONValue = ["text": "line1\nline2\r\n", "list": ["\n"]]
    #expect(!JSONWriter.bytes(v).contains(0x0A))
  }

  @Test func nonFiniteNumbersBecomeNull() {
    #expect(JSONWriter.string([.double(.nan), .double(.infinity)]) == "[null,null]")
  }

  @Test(arguments: [0, 7, -1, 10, 12345, Int.max, Int.min])
  func integersRoundTrip(_ i: Int) throws {
    #expect(try JSONParser.parse(JSONWriter.bytes(.int(i))) == .int(i))
  }

  @Test(arguments: [0.1, -2.5, 1e-7, 123456789.125, 1e300, 3.0])
  func doublesRoundTrip(_ d: Double) throws {
    #expect(try JSONParser.parse(JSONWriter.bytes(.double(d))) == .double(d))
  }

  @Test func stringsRoundTrip() throws {
    for s in ["", "plain", "with \"quotes\"", "tab\tand\u{0}nul", "emoji 😀 日本"] {
      #expect(try JSONParser.parse(JSONWriter.bytes(.string(s))) == .string(s))
    }
  }

  @Test func prettyPrintsWithTwoSpaces() {
    #expect(JSONWriter.prettyString(["a": [1], "b": [:]]) == "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}\n")
  }
}
