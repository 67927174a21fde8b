/// Checks a JSON value against a JSON Schema, the subset tools use to describe their arguments:
/// `type` (one or several), `enum`, `const`, `properties`, `required`, `additionalProperties` (false or
/// a schema), `items`, `minItems`/`maxItems`, `minLength`/`maxLength` (in characters), `pattern`,
/// `minimum`/`maximum`/`exclusiveMinimum`/`exclusiveMaximum`, `anyOf`, `oneOf` and `allOf`. Other
/// keywords (`description`, `default`, `title`, `$schema`, formats) are annotations and pass.
public enum JSONSchemaValidator {
  /// The first place a value breaks its schema.
  public struct Violation: Error, Sendable, Equatable, CustomStringConvertible {
    /// Where, as a path from the validated value: `""` for the value itself, `operation`,
    /// `headers.Accept`, `items[2]`.
    public var path: String
    public var message: String

    public init(path: String, message: String) {
      self.path = path
      self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
  }

  /// Throws the first violation found, checking members in a stable (sorted) order.
  public static func validate(_ value: JSONValue, against schema: JSONValue) throws(Violation) {
    try check(value, schema, path: "", depth: 0)
  }

  private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

  private static func typeName(_ v: JSONValue) -> String {
    switch v {
    case .null: return "null"
    case .bool: return "boolean"
    case .int: return "integer"
    case .double(let d): return d.rounded() == d ? "integer" : "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }

  private static func matches(_ v: JSONValue, type: String) -> Bool {
    let actual = typeName(v)
    return actual == type || (type == "number" && actual == "integer")
  }

  private static func check(_ value: JSONValue, _ schema: JSONValue, path: String, depth: Int) throws(Violation) {
    guard depth < 64 else { throw Violation(path: path, message: "is nested too deeply") }
    if case .bool(let allowed) = schema {
      if !allowed { throw Violation(path: path, message: "is not allowed") }
      return
    }
    guard case .object(let s) = schema else { return }

    if let type = s["type"] {
      let types = type.arrayValue?.compactMap(\.stringValue) ?? type.stringValue.map { [$0] } ?? []
      if !types.isEmpty && !types.contains(where: { matches(value, type: $0) }) {
        let expected = types.count == 1 ? types[0] : "one of " + types.joined(separator: ", ")
        throw Violation(path: path, message: "must be \(article(expected)) (got \(article(typeName(value))))")
      }
    }
    if let options = s["enum"]?.arrayValue, !options.contains(where: { same($0, value) }) {
      let listed = options.map { JSONWriter.string($0) }.joined(separator: ", ")
      throw Violation(path: path, message: "must be one of \(listed)")
    }
    if let constant = s["const"], !same(constant, value) {
      throw Violation(path: path, message: "must be \(JSONWriter.string(constant))")
    }

    switch value {
    case .string(let text):
      let length = text.count
      if let min = s["minLength"]?.intValue, length < min {
        throw Violation(path: path, message: "must be at least \(min) character\(min == 1 ? "" : "s") long")
      }
      if let max = s["maxLength"]?.intValue, length > max {
        throw Violation(path: path, message: "must be at most \(max) characters long")
      }
      if let pattern = s["pattern"]?.stringValue, let regex = try? Regex(pattern),
        (try? regex.firstMatch(in: text)) == nil
      {
        throw Violation(path: path, message: "must match the pattern \(pattern)")
      }
    case .int, .double:
      let number = value.doubleValue ?? 0
      if let min = s["minimum"]?.doubleValue, number < min {
        throw Violation(path: path, message: "must be at least \(format(min))")
      }
      if let max = s["maximum"]?.doubleValue, number > max {
        throw Violation(path: path, message: "must be at most \(format(max))")
      }
      if let min = s["exclusiveMinimum"]?.doubleValue, number <= min {
        throw Violation(path: path, message: "must be greater than \(format(min))")
      }
      if let max = s["exclusiveMaximum"]?.doubleValue, number >= max {
        throw Violation(path: path, message: "must be less than \(format(max))")
      }
    case .array(let elements):
      if let min = s["minItems"]?.intValue, elements.count < min {
        throw Violation(path: path, message: "must have at least \(min) item\(min == 1 ? "" : "s")")
      }
      if let max = s["maxItems"]?.intValue, elements.count > max {
        throw Violation(path: path, message: "must have at most \(max) items")
      }
      if let items = s["items"] {
        for (i, element) in elements.enumerated() {
          try check(element, items, path: path + "[\(i)]", depth: depth + 1)
        }
      }
    case .object(let members):
      if let required = s["required"]?.arrayValue {
        for case .string(let key) in required where members[key] == nil {
          throw Violation(path: join(path, key), message: "is required")
        }
      }
      let properties = s["properties"]?.objectValue ?? [:]
      for key in members.keys.sorted() {
        let member = members[key]!
        if let property = properties[key] {
          try check(member, property, path: join(path, key), depth: depth + 1)
        } else if let extra = s["additionalProperties"] {
          if case .bool(false) = extra {
            let known = properties.keys.sorted().joined(separator: ", ")
            throw Violation(
              path: join(path, key), message: "is not a known field" + (known.isEmpty ? "" : " (known: \(known))"))
          }
          try check(member, extra, path: join(path, key), depth: depth + 1)
        }
      }
    default:
      break
    }

    if let all = s["allOf"]?.arrayValue {
      for sub in all { try check(value, sub, path: path, depth: depth + 1) }
    }
    if let any = s["anyOf"]?.arrayValue, !any.isEmpty {
      var first: Violation?
      var matched = false
      for sub in any {
        do throws(Violation) {
          try check(value, sub, path: path, depth: depth + 1)
          matched = true
          break
        } catch {
          if first == nil { first = error }
        }
      }
      if !matched, let first { throw first }
    }
    if let one = s["oneOf"]?.arrayValue, !one.isEmpty {
      var passing = 0
      var first: Violation?
      for sub in one {
        do throws(Violation) {
          try check(value, sub, path: path, depth: depth + 1)
          passing += 1
        } catch {
          if first == nil { first = error }
        }
      }
      if passing == 0, let first { throw first }
      if passing > 1 { throw Violation(path: path, message: "matches more than one of the allowed forms") }
    }
  }

  /// JSON equality where 1 and 1.0 are the same number.
  private static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    if let x = a.doubleValue, let y = b.doubleValue { return x == y }
    return a == b
  }

  private static func article(_ word: String) -> String {
    if word == "null" || word.hasPrefix("one of") { return word }
    return ("aeiou".contains(word.first ?? "x") ? "an " : "a ") + word
  }

  private static func format(_ d: Double) -> String {
    if d.rounded() == d, let i = Int(exactly: d) { return String(i) }
    return String(d)
  }
}
