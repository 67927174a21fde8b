import Testing

@testable import MinionsCore

private struct Capabilities: Codable, Equatable {
  var approvals: Bool?
  var tokenCoalesceMs: Int?
}

private struct Params: Codable, Equatable {
  var message: String
  var maxSteps: Int?
  var temperature: Double?
  var capabilities: Capabilities?
  var tags: [String]?
  var extra: JSONValue?
}

private enum Strategy: String, Codable, CaseIterable, JSONSchemaEnum { case fastest, cheapest }

private struct Nested: Codable {
  var items: [Item]
  struct Item: Codable { var role: String }
}

@Suite struct JSONValueCodingTests {
  let decoder = JSONValueDecoder()

  @Test func decodesStructsWithOptionalsAndNesting() throws {
    let p = try decoder.decode(
      Params.self,
      from: [
        "message": "hi", "maxSteps": 3, "temperature": 1, "capabilities": ["approvals": true],
        "tags": ["a"], "extra": ["x": [1]], "unknown": "ignored",
      ])
    #expect(
      p
        == Params(
          message: "hi", maxSteps: 3, temperature: 1.0, capabilities: Capabilities(approvals: true),
          tags: ["a"], extra: ["x": [1]]))
  }

  @Test func enumsAndStringMapsDecodeWithPreciseErrors() throws {
    struct Choice: Codable { var strategy: Strategy; var env: [String: String]? }
    let ok = try decoder.decode(Choice.self, from: ["strategy": "cheapest", "env": ["A": "1"]])
    #expect(ok.strategy == .cheapest && ok.env == ["A": "1"])
    #expect(
      throws: JSONDecodingError(path: "strategy", message: "must be one of \"fastest\", \"cheapest\", got \"slowest\"")
    ) {
      try decoder.decode(Choice.self, from: ["strategy": "slowest"])
    }
    #expect(throws: JSONDecodingError(path: "strategy", message: "expected string, got integer")) {
      try decoder.decode(Choice.self, from: ["strategy": 3])
    }
    #expect(throws: JSONDecodingError(path: "env.A", message: "expected string, got integer")) {
      try decoder.decode(Choice.self, from: ["strategy": "fastest", "env": ["A": 1]])
    }
  }

  @Test func nullMeansAbsentForOptionalFields() throws {
    let p = try decoder.decode(Params.self, from: ["message": "hi", "maxSteps": nil])
    #expect(p.maxSteps == nil)
  }

  @Test func integralDoublesAreAcceptedAsIntegers() throws {
    #expect(try decoder.decode(Params.self, from: ["message": "m", "maxSteps": 4.0]).maxSteps == 4)
  }

  @Test func errorsNameTheField() {
    func failure(_ v: JSONValue) -> JSONDecodingError? {
      do {
        _ = try decoder.decode(Params.self, from: v)
        return nil
      } catch { return error as? JSONDecodingError }
    }
    #expect(failure(["maxSteps": 1]) == JSONDecodingError(path: "message", message: "is required"))
    #expect(failure(["message": 5]) == JSONDecodingError(path: "message", message: "expected string, got integer"))
    #expect(
      failure(["message": "m", "maxSteps": "8"])
        == JSONDecodingError(path: "maxSteps", message: "expected integer, got string"))
    #expect(failure(["message": "m", "maxSteps": 1.5])?.path == "maxSteps")
    #expect(
      failure(["message": "m", "capabilities": ["tokenCoalesceMs": true]])
        == JSONDecodingError(path: "capabilities.tokenCoalesceMs", message: "expected integer, got boolean"))
    #expect(
      failure(["message": "m", "tags": ["a", 2]])
        == JSONDecodingError(path: "tags[1]", message: "expected string, got integer"))
    #expect(failure("not an object") == JSONDecodingError(path: "", message: "expected object, got string"))
  }

  @Test func enumErrorsNameTheFieldToo() {
    struct S: Codable { var strategy: Strategy }
    #expect {
      try decoder.decode(S.self, from: ["strategy": "slowest"])
    } throws: { ($0 as? JSONDecodingError)?.path == "strategy" }
  }

  @Test func nestedArrayPaths() {
    #expect {
      try decoder.decode(Nested.self, from: ["items": [["role": "a"], ["role": 1]]])
    } throws: { ($0 as? JSONDecodingError)?.path == "items[1].role" }
  }

  @Test func outOfRangeIntegersAreRefused() {
    struct S: Codable { var small: UInt8 }
    #expect {
      try decoder.decode(S.self, from: ["small": 300])
    } throws: { ($0 as? JSONDecodingError)?.path == "small" }
  }

  @Test func encoderWritesNilAsNullByDefault() throws {
    let v = try JSONValueEncoder().encode(Params(message: "m", maxSteps: nil))
    #expect(v["maxSteps"] == .null)
    #expect(v["message"] == "m")
    let omitted = try JSONValueEncoder(nilEncoding: .omit).encode(Params(message: "m", maxSteps: nil))
    #expect(omitted["maxSteps"] == nil)
  }

  @Test func encodeDecodeRoundTrip() throws {
    let p = Params(
      message: "m", maxSteps: 2, temperature: 0.5, capabilities: Capabilities(approvals: false, tokenCoalesceMs: 5),
      tags: ["x", "y"], extra: ["k": [true, nil]])
    #expect(try decoder.decode(Params.self, from: JSONValueEncoder().encode(p)) == p)
  }

  @Test func jsonValueRoundTripsThroughFoundationFreeCoding() throws {
    let v: JSONValue = ["a": [1, 2.5, "s", nil, true, ["b": []]]]
    #expect(try decoder.decode(JSONValue.self, from: v) == v)
    #expect(try JSONValueEncoder().encode(v) == v)
  }
}

@Suite struct JSONSchemaProbeTests {
  @Test func infersRequiredAndOptionalFields() {
    let schema = JSONSchemaProbe.schema(for: Params.self)
    #expect(schema["type"] == "object")
    #expect(schema["required"] == ["message"])
    #expect(schema["properties"]?["message"] == ["type": "string"])
    #expect(schema["properties"]?["maxSteps"] == ["type": ["integer", "null"]])
    #expect(schema["properties"]?["temperature"] == ["type": ["number", "null"]])
    #expect(schema["properties"]?["tags"]?["items"] == ["type": "string"])
    #expect(schema["properties"]?["capabilities"]?["properties"]?["approvals"] == ["type": ["boolean", "null"]])
    #expect(schema["properties"]?["extra"] == [:])
  }

  @Test func enumsAndMapsDescribeThemselves() {
    struct S: Codable {
      var strategy: Strategy
      var counts: [String: Int]
    }
    let schema = JSONSchemaProbe.schema(for: S.self)
    #expect(schema["properties"]?["strategy"] == ["type": "string", "enum": ["fastest", "cheapest"]])
    #expect(schema["properties"]?["counts"] == ["type": "object", "additionalProperties": ["type": "integer"]])
  }

  @Test func arraysOfStructs() {
    let schema = JSONSchemaProbe.schema(for: Nested.self)
    #expect(schema["properties"]?["items"]?["items"]?["required"] == ["role"])
  }
}

@Suite struct TimestampTests {
  @Test func formatsISO8601() {
    #expect(Timestamp(millisecondsSinceEpoch: 0).iso8601() == "1970-01-01T00:00:00Z")
    #expect(
      Timestamp(millisecondsSinceEpoch: 1_795_000_000_123).iso8601(milliseconds: true) == "2026-11-18T11:06:40.123Z")
  }

  @Test func parsesISO8601Forms() {
    #expect(Timestamp(iso8601: "2026-11-18T11:06:40.123Z")?.millisecondsSinceEpoch == 1_795_000_000_123)
    #expect(Timestamp(iso8601: "2026-11-18T12:06:40+01:00")?.millisecondsSinceEpoch == 1_795_000_000_000)
    #expect(Timestamp(iso8601: "1970-01-02")?.millisecondsSinceEpoch == 86_400_000)
    #expect(Timestamp(iso8601: "2026-13-01") == nil)
    #expect(Timestamp(iso8601: "yesterday") == nil)
  }

  @Test func roundTrips() {
    let now = Timestamp.now()
    #expect(Timestamp(iso8601: now.iso8601(milliseconds: true)) == now)
  }
}
