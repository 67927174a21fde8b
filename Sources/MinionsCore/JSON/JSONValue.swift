/// A JSON value as it travels over the wire: the common currency of the protocol layer, provider wire
/// formats and tool arguments.
///
/// Integers that fit in `Int` are kept apart from other numbers so ids, counts and limits round-trip
/// exactly. Objects are unordered; the writer emits their keys sorted so every encoding is stable.
public enum JSONValue: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])
}

extension JSONValue {
  /// The member `key` of an object, or nil for a missing member or a non-object.
  @inlinable
  public subscript(key: String) -> JSONValue? {
    if case .object(let members) = self { return members[key] }
    return nil
  }

  /// The element at `index` of an array, or nil when out of range or not an array.
  @inlinable
  public subscript(index: Int) -> JSONValue? {
    if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
    return nil
  }

  @inlinable public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The value as an integer: an `int`, or a `double` with no fractional part that fits.
  @inlinable public var intValue: Int? {
    switch self {
    case .int(let i): return i
    case .double(let d):
      guard d.rounded() == d, let i = Int(exactly: d) else { return nil }
      return i
    default: return nil
    }
  }

  @inlinable public var doubleValue: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let d): return d
    default: return nil
    }
  }

  @inlinable public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  @inlinable public var arrayValue: [JSONValue]? {
    if case .array(let a) = self { return a }
    return nil
  }

  @inlinable public var objectValue: [String: JSONValue]? {
    if case .object(let o) = self { return o }
    return nil
  }

  @inlinable public var isNull: Bool {
    if case .null = self { return true }
    return false
  }

  /// The JSON type name used in error messages ("string", "integer", "object", …).
  public var typeName: String {
    switch self {
    case .null: return "null"
    case .bool: return "boolean"
    case .int: return "integer"
    case .double: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    }
  }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
  ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByStringInterpolation, ExpressibleByArrayLiteral,
  ExpressibleByDictionaryLiteral
{
  public init(nilLiteral: ()) { self = .null }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(integerLiteral value: Int) { self = .int(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(stringLiteral value: String) { self = .string(value) }
  public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
  public init(dictionaryLiteral elements: (String, JSONValue)...) {
    var members: [String: JSONValue] = [:]
    members.reserveCapacity(elements.count)
    for (k, v) in elements { members[k] = v }
    self = .object(members)
  }
}

extension JSONValue: CustomStringConvertible {
  /// The compact JSON text of the value (keys sorted).
  public var description: String { JSONWriter.string(self) }
}

extension JSONValue: Codable {
  public init(from decoder: any Decoder) throws {
    if let direct = decoder as? JSONValueDecoderImpl {
      self = direct.value
      return
    }
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let b = try? container.decode(Bool.self) {
      self = .bool(b)
    } else if let i = try? container.decode(Int.self) {
      self = .int(i)
    } else if let d = try? container.decode(Double.self) {
      self = .double(d)
    } else if let s = try? container.decode(String.self) {
      self = .string(s)
    } else if let a = try? container.decode([JSONValue].self) {
      self = .array(a)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  public func encode(to encoder: any Encoder) throws {
    if let direct = encoder as? JSONValueEncoderImpl {
      direct.store(self)
      return
    }
    var container = encoder.singleValueContainer()
    switch self {
    case .null: try container.encodeNil()
    case .bool(let b): try container.encode(b)
    case .int(let i): try container.encode(i)
    case .double(let d): try container.encode(d)
    case .string(let s): try container.encode(s)
    case .array(let a): try container.encode(a)
    case .object(let o): try container.encode(o)
    }
  }
}
