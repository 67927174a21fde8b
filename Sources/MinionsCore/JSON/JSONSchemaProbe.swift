/// A type that states its own JSON Schema instead of having it inferred, and offers a sample value
/// the probe can hand back to code that decodes it (enums, unions, maps).
public protocol JSONSchemaDescribing {
  static var jsonSchema: JSONValue { get }
  static var schemaSample: Self { get }
}

/// String enums describe themselves as `{"type": "string", "enum": [...]}`.
public protocol JSONSchemaEnum: JSONSchemaDescribing, CaseIterable, RawRepresentable where RawValue == String {}

extension JSONSchemaEnum {
  public static var jsonSchema: JSONValue {
    ["type": "string", "enum": .array(allCases.map { .string($0.rawValue) })]
  }
  public static var schemaSample: Self { allCases.first! }

  /// The case whose raw value is `raw`, if any (for decoders that hold only the metatype).
  static func caseNamed(_ raw: String) -> Any? { Self(rawValue: raw) }

  /// `"a", "b", "c"`: the allowed values, for error messages.
  static var allowedValuesText: String { allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") }
}

/// Per-field descriptions a type may add to its inferred schema.
public protocol JSONSchemaDocumented {
  static var fieldDescriptions: [String: String] { get }
}

/// Infers the JSON Schema of a `Decodable` type by decoding it once from a recording decoder.
///
/// The schema therefore follows the type's real decoding code: a field decoded with `decode` is
/// required, one decoded with `decodeIfPresent` is optional. This is how the OpenRPC document is built
/// from the method table without a second, hand-kept description that could drift.
public enum JSONSchemaProbe {
  public static func schema<T: Decodable>(for type: T.Type) -> JSONValue {
    if let described = T.self as? any JSONSchemaDescribing.Type { return described.jsonSchema }
    let node = SchemaNode()
    let decoder = ProbeDecoder(node: node, depth: 0)
    do {
      _ = try T(from: decoder)
    } catch {
      // A type whose decoding code rejects sample values must describe itself; make that visible.
      return ["description": .string("schema unavailable: \(error)")]
    }
    var schema = node.render()
    if let documented = T.self as? any JSONSchemaDocumented.Type,
      case .object(var members) = schema, case .object(var properties)? = members["properties"]
    {
      for (field, text) in documented.fieldDescriptions {
        if case .object(var p)? = properties[field] {
          p["description"] = .string(text)
          properties[field] = .object(p)
        }
      }
      members["properties"] = .object(properties)
      schema = .object(members)
    }
    return schema
  }
}

extension Dictionary: JSONSchemaDescribing where Key == String, Value: Decodable {
  public static var jsonSchema: JSONValue {
    ["type": "object", "additionalProperties": JSONSchemaProbe.schema(for: Value.self)]
  }
  public static var schemaSample: [String: Value] { [:] }
}

extension JSONValue: JSONSchemaDescribing {
  public static var jsonSchema: JSONValue { [:] }
  public static var schemaSample: JSONValue { .null }
}

final class SchemaNode {
  enum Kind {
    case unknown
    case primitive(String)
    case described(JSONValue)
    case object([(String, SchemaNode, Bool)])  // name, schema, required
    case array(SchemaNode)
  }

  var kind: Kind = .unknown
  var nullable = false

  func render() -> JSONValue {
    var schema: JSONValue
    switch kind {
    case .unknown: schema = [:]
    case .primitive(let t): schema = ["type": .string(t)]
    case .described(let s): schema = s
    case .array(let items): schema = ["type": "array", "items": items.render()]
    case .object(let fields):
      var properties: [String: JSONValue] = [:]
      var required: [JSONValue] = []
      for (name, node, isRequired) in fields {
        properties[name] = node.render()
        if isRequired { required.append(.string(name)) }
      }
      var s: [String: JSONValue] = ["type": "object", "properties": .object(properties)]
      if !required.isEmpty { s["required"] = .array(required) }
      schema = .object(s)
    }
    if nullable, case .object(var members) = schema, case .string(let t)? = members["type"] {
      members["type"] = [.string(t), "null"]
      schema = .object(members)
    }
    return schema
  }

  func field(_ name: String, required: Bool) -> SchemaNode {
    var fields: [(String, SchemaNode, Bool)] = []
    if case .object(let existing) = kind { fields = existing }
    if let i = fields.firstIndex(where: { $0.0 == name }) { return fields[i].1 }
    let node = SchemaNode()
    fields.append((name, node, required))
    kind = .object(fields)
    return node
  }
}

private struct ProbeDecoder: Decoder {
  let node: SchemaNode
  let depth: Int
  var codingPath: [any CodingKey] { [] }
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    if case .object = node.kind {} else { node.kind = .object([]) }
    return KeyedDecodingContainer(ProbeKeyed<Key>(node: node, depth: depth))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    let items = SchemaNode()
    node.kind = .array(items)
    return ProbeUnkeyed(items: items, depth: depth)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { ProbeSingle(node: node, depth: depth) }
}

/// Produces a sample value of `T` while recording its schema into `node`.
private func probe<T: Decodable>(_ type: T.Type, into node: SchemaNode, depth: Int) throws -> T {
  if let described = T.self as? any JSONSchemaDescribing.Type {
    node.kind = .described(described.jsonSchema)
    return described.schemaSample as! T
  }
  switch T.self {
  case is String.Type:
    node.kind = .primitive("string")
    return "" as! T
  case is Bool.Type:
    node.kind = .primitive("boolean")
    return false as! T
  case is Int.Type:
    node.kind = .primitive("integer")
    return 0 as! T
  case is Double.Type:
    node.kind = .primitive("number")
    return 0.0 as! T
  default:
    break
  }
  guard depth < 16 else { throw JSONDecodingError(path: "", message: "recursive type \(T.self)") }
  return try T(from: ProbeDecoder(node: node, depth: depth + 1))
}

private struct ProbeKeyed<Key: CodingKey>: KeyedDecodingContainerProtocol {
  let node: SchemaNode
  let depth: Int
  var codingPath: [any CodingKey] { [] }
  var allKeys: [Key] { [] }

  func contains(_ key: Key) -> Bool { true }
  func decodeNil(forKey key: Key) throws -> Bool {
    node.field(key.stringValue, required: false).nullable = true
    return false
  }
  func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
    try probe(type, into: node.field(key.stringValue, required: true), depth: depth)
  }
  func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
    try optional(type, key)
  }
  func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decode(type as Bool.Type, key) }
  func decode(_ type: String.Type, forKey key: Key) throws -> String { try decode(type as String.Type, key) }
  func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decode(type as Double.Type, key) }
  func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decode(type as Int.Type, key) }
  func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? { try optional(type, key) }
  func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? { try optional(type, key) }
  func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? { try optional(type, key) }
  func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? { try optional(type, key) }

  private func decode<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T {
    try probe(type, into: node.field(key.stringValue, required: true), depth: depth)
  }
  /// Optional fields accept `null` as "not given", and results write nil as `null`.
  private func optional<T: Decodable>(_ type: T.Type, _ key: Key) throws -> T? {
    let field = node.field(key.stringValue, required: false)
    let sample = try probe(type, into: field, depth: depth)
    field.nullable = true
    return sample
  }

  func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    let child = node.field(key.stringValue, required: true)
    return try ProbeDecoder(node: child, depth: depth + 1).container(keyedBy: type)
  }
  func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
    let child = node.field(key.stringValue, required: true)
    return try ProbeDecoder(node: child, depth: depth + 1).unkeyedContainer()
  }
  func superDecoder() throws -> any Decoder { ProbeDecoder(node: node, depth: depth) }
  func superDecoder(forKey key: Key) throws -> any Decoder {
    ProbeDecoder(node: node.field(key.stringValue, required: false), depth: depth + 1)
  }
}

private struct ProbeUnkeyed: UnkeyedDecodingContainer {
  let items: SchemaNode
  let depth: Int
  var codingPath: [any CodingKey] { [] }
  var count: Int? { nil }
  var currentIndex = 0
  var isAtEnd: Bool { currentIndex > 0 }

  init(items: SchemaNode, depth: Int) {
    self.items = items
    self.depth = depth
  }

  mutating func decodeNil() throws -> Bool { false }
  mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
    currentIndex += 1
    return try probe(type, into: items, depth: depth)
  }
  mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
    -> KeyedDecodingContainer<NestedKey>
  {
    currentIndex += 1
    return try ProbeDecoder(node: items, depth: depth + 1).container(keyedBy: type)
  }
  mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
    currentIndex += 1
    return try ProbeDecoder(node: items, depth: depth + 1).unkeyedContainer()
  }
  mutating func superDecoder() throws -> any Decoder {
    currentIndex += 1
    return ProbeDecoder(node: items, depth: depth + 1)
  }
}

private struct ProbeSingle: SingleValueDecodingContainer {
  let node: SchemaNode
  let depth: Int
  var codingPath: [any CodingKey] { [] }

  func decodeNil() -> Bool {
    node.nullable = true
    return false
  }
  func decode<T: Decodable>(_ type: T.Type) throws -> T { try probe(type, into: node, depth: depth) }
  func decode(_ type: Bool.Type) throws -> Bool { try probe(type, into: node, depth: depth) }
  func decode(_ type: String.Type) throws -> String { try probe(type, into: node, depth: depth) }
  func decode(_ type: Double.Type) throws -> Double { try probe(type, into: node, depth: depth) }
  func decode(_ type: Int.Type) throws -> Int { try probe(type, into: node, depth: depth) }
}
