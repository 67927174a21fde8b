import MinionsCore
import Testing

@Suite struct JSONSchemaValidatorTests {
  let schema: JSONValue = [
    "type": "object",
    "properties": [
      "operation": ["type": "string", "enum": ["read", "write"]],
      "path": ["type": "string", "minLength": 1, "maxLength": 8],
      "count": ["type": "integer", "minimum": 1, "maximum": 10],
      "ratio": ["type": "number", "exclusiveMaximum": 1],
      "headers": ["type": "object", "additionalProperties": ["type": "string"]],
      "tags": ["type": "array", "items": ["type": "string", "pattern": "^[a-z]+$"], "maxItems": 2],
      "body": ["type": ["string", "null"]],
    ],
    "required": ["operation", "path"],
    "additionalProperties": false,
  ]

  func violation(_ value: JSONValue) -> JSONSchemaValidator.Violation? {
    do throws(JSONSchemaValidator.Violation) {
      try JSONSchemaValidator.validate(value, against: schema)
      return nil
    } catch {
      return error
    }
  }

  @Test func aValidValuePasses() {
    #expect(
      violation([
        "operation": "read", "path": "a.txt", "count": 3, "ratio": 0.5, "headers": ["Accept": "x"], "tags": ["ab"],
        "body": nil,
      ]) == nil)
    #expect(violation(["operation": "write", "path": "b", "count": 3.0]) == nil)  // 3.0 is an integer
  }

  @Test(
    arguments: [
      (["path": "a"] as JSONValue, "operation", "is required"),
      (["operation": "delete", "path": "a"], "operation", #"must be one of "read", "write""#),
      (["operation": "read", "path": 5], "path", "must be a string (got an integer)"),
      (["operation": "read", "path": ""], "path", "must be at least 1 character long"),
      (["operation": "read", "path": "123456789"], "path", "must be at most 8 characters long"),
      (["operation": "read", "path": "a", "count": 0], "count", "must be at least 1"),
      (["operation": "read", "path": "a", "count": 1.5], "count", "must be an integer (got a number)"),
      (["operation": "read", "path": "a", "ratio": 1], "ratio", "must be less than 1"),
      (["operation": "read", "path": "a", "headers": ["X": 1]], "headers.X", "must be a string (got an integer)"),
      (["operation": "read", "path": "a", "tags": ["ok", "Bad"]], "tags[1]", "must match the pattern ^[a-z]+$"),
      (["operation": "read", "path": "a", "tags": ["a", "b", "c"]], "tags", "must have at most 2 items"),
      (["operation": "read", "path": "a", "body": 1], "body", "must be one of string, null (got an integer)"),
      (
        ["operation": "read", "path": "a", "extra": true], "extra",
        "is not a known field (known: body, count, headers, operation, path, ratio, tags)"
      ),
      ("text", "", "must be an object (got a string)"),
    ] as [(JSONValue, String, String)])
  func violationsNameThePlaceAndTheRule(_ value: JSONValue, _ path: String, _ message: String) {
    #expect(violation(value) == JSONSchemaValidator.Violation(path: path, message: message))
  }

  @Test func anyOfAndOneOf() throws {
    let either: JSONValue = ["anyOf": [["type": "string"], ["type": "integer", "minimum": 0]]]
    try JSONSchemaValidator.validate("x", against: either)
    try JSONSchemaValidator.validate(3, against: either)
    #expect(throws: JSONSchemaValidator.Violation.self) { try JSONSchemaValidator.validate(-1, against: either) }
    let exactlyOne: JSONValue = ["oneOf": [["type": "number"], ["type": "integer"]]]
    #expect(throws: JSONSchemaValidator.Violation.self) { try JSONSchemaValidator.validate(2, against: exactlyOne) }
    try JSONSchemaValidator.validate(2.5, against: exactlyOne)
    try JSONSchemaValidator.validate(["anything": [1, 2]], against: true)
    #expect(throws: JSONSchemaValidator.Violation.self) { try JSONSchemaValidator.validate(1, against: false) }
  }
}
