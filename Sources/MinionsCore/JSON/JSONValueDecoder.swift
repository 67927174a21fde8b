/// A value could not be decoded: `path` names the field ("capabilities.tokenCoalesceMs",
/// "messages[2].role") and `message` says what was wrong, in words a client author can act on.
public struct JSONDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
  public var path: String
  public var message: String

  public init(path: String, message: String) {
    self.path = path
    self.message = message
  }

  public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// Decodes `Decodable` types straight from a `JSONValue`, without a round trip through bytes, and
/// reports failures as a `JSONDecodingError` naming the offending field.
public struct JSONValueDecoder: Sendable {
  public init() {}

  /// Decodes `type` from `value`; `rootPath` prefixes field names in errors (e.g. "params").
  public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, rootPath: String = "") throws -> T {
    let decoder = JSONValueDecoderImpl(value: value, codingPath: [], rootPath: rootPath)
    do {
      return try T(from: decoder)
    } catch let error as JSONDecodingError {
      throw error
    } catch let error as DecodingError {
      throw JSONDecodingError(decodingError: error, rootPath: rootPath)
    }
  }
}

extension JSONDecodingError {
  init(decodingError: DecodingError, rootPath: String) {
    switch decodingError {
    case .typeMismatch(let type, let ctx):
      self.init(path: renderPath(ctx.codingPath, root: rootPath), message: "expected \(type): \(ctx.debugDescription)")
    case .valueNotFound(_, let ctx):
      self.init(path: renderPath(ctx.codingPath, root: rootPath), message: "is required")
    case .keyNotFound(let key, let ctx):
      self.init(path: renderPath(ctx.codingPath + [key], root: rootPath), message: "is required")
    case .dataCorrupted(let ctx):
      self.init(path: renderPath(ctx.codingPath, root: rootPath), message: ctx.debugDescription)
    @unknown default:
      self.init(path: rootPath, message: "\(decodingError)")
    }
  }
}

/// Renders a coding path as "a.b[2].c", prefixed by `root` when it is not empty.
func renderPath(_ path: [any CodingKey], root: String) -> String {
  var out = root
  for key in path {
    if let i = key.intValue, key.stringValue.hasPrefix("Index ") || key.stringValue == "\(i)" {
      out += "[\(i)]"
    } else {
      if !out.isEmpty { out += "." }
      out += key.stringValue
    }
  }
  return out
}

struct NameKey: CodingKey {
  let stringValue: String
  var intValue: Int? { nil }
  init(_ name: String) { stringValue = name }
  init?(stringValue: String) { self.stringValue = stringValue }
  init?(intValue: Int) { return nil }
}

struct IndexKey: CodingKey {
  var stringValue: String { "\(index)" }
  var intValue: Int? { index }
  let index: Int
  init(_ index: Int) { self.index = index }
  init?(stringValue: String) { return nil }
  init?(intValue: Int) { self.index = intValue }
}

final class JSONValueDecoderImpl: Decoder {
  let value: JSONValue
  let codingPath: [any CodingKey]
  let rootPath: String
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(value: JSONValue, codingPath: [any CodingKey], rootPath: String) {
    self.value = value
    self.codingPath = codingPath
    self.rootPath = rootPath
  }

  func fail(_ message: String, path: [any CodingKey]? = nil) -> JSONDecodingError {
    JSONDecodingError(path: renderPath(path ?? codingPath, root: rootPath), message: message)
  }

  func mismatch(expected: String, got: JSONValue, path: [any CodingKey]? = nil) -> JSONDecodingError {
    fail("expected \(expected), got \(got.typeName)", path: path)
  }

  func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
    guard case .object(let members) = value else { throw mismatch(expected: "object", got: value) }
    return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, members: members))
  }

  func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
    guard case .array(let elements) = value else { throw mismatch(expected: "array", got: value) }
    return UnkeyedContainer(decoder: self, elements: elements)
  }

  func singleValueContainer() throws -> any SingleValueDecodingContainer { SingleContainer(decoder: self) }

  // MARK: Primitive conversions shared by the containers

  func decodeBool(_ v: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> Bool {
    guard case .bool(let b) = v else { throw mismatch(expected: "boolean", got: v, path: path()) }
    return b
  }

  func decodeString(_ v: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> String {
    guard case .string(let s) = v else { throw mismatch(expected: "string", got: v, path: path()) }
    return s
  }

  func decodeDouble(_ v: JSONValue, path: @autoclosure () -> [any CodingKey]) throws -> Double {
    switch v {
    case .int(let i): return Double(i)
    case .double(let d): return d
    default: throw mismatch(expected: "number", got: v, path: path())
    }
  }

  func decodeInteger<T: FixedWidthInteger>(_ v: JSONValue, as: T.Type, path: @autoclosure () -> [any CodingKey]) throws
    -> T
  {
    switch v {
    case .int(let i):
      guard let r = T(exactly: i) else { throw fail("integer \(i) is out of range", path: path()) }
      return r
    case .double(let d):
      guard d.rounded() == d, let r = T(exactly: d) else {
        throw fail("expected integer, got \(d)", path: path())
      }
      return r
    default:
      throw mismatch(expected: "integer", got: v, path: path())
    }
  }

  func decodeValue<T: Decodable>(_ type: T.Type, from v: JSONValue, path: @autoclosure () -> [any CodingKey]) throws
    -> T
  {
    if T.self == JSONValue.self { return v as! T }
    if T.self == String.self { return try decodeString(v, path: path()) as! T }
    if T.self == Int.self { return try decodeInteger(v, as: Int.self, path: path()) as! T }
    if T.self == Bool.self { return try decodeBool(v, path: path()) as! T }
    if T.self == Double.self { return try decodeDouble(v, path: path()) as! T }
    // String-keyed maps are common in params (tags, env, arguments) and slow through Codable's generic
    // dictionary path: decode them directly.
    if T.self == [String: String].self {
      guard case .object(let members) = v else { throw mismatch(expected: "object", got: v, path: path()) }
      var out: [String: String] = [:]
      out.reserveCapacity(members.count)
      for (k, m) in members { out[k] = try decodeString(m, path: path() + [NameKey(k)]) }
      return out as! T
    }
    if T.self == [String: JSONValue].self {
      guard case .object(let members) = v else { throw mismatch(expected: "object", got: v, path: path()) }
      return members as! T
    }
    // A string enum names its allowed values instead of Swift's "Cannot initialize Kind from …".
    if let e = T.self as? any JSONSchemaEnum.Type {
      guard case .string(let raw) = v else { throw mismatch(expected: "string", got: v, path: path()) }
      if let value = e.caseNamed(raw) { return value as! T }
      throw fail("must be one of \(e.allowedValuesText), got \"\(raw)\"", path: path())
    }
    return try T(from: JSONValueDecoderImpl(value: v, codingPath: path(), rootPath: rootPath))
  }

  struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: JSONValueDecoderImpl
    let members: [String: JSONValue]
    var codingPath: [any CodingKey] { decoder.codingPath }
    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func require(_ key: Key) throws -> JSONValue {
      guard let v = members[key.stringValue] else {
        throw decoder.fail("is required", path: codingPath + [key])
      }
      return v
    }

    func decodeNil(forKey key: Key) throws -> Bool {
      guard let v = members[key.stringValue] else { return true }
      return v.isNull
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
      try decoder.decodeBool(try require(key), path: codingPath + [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
      try decoder.decodeString(try require(key), path: codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
      try decoder.decodeDouble(try require(key), path: codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
      Float(try decoder.decodeDouble(try require(key), path: codingPath + [key]))
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
      try decoder.decodeInteger(try require(key), as: Int.self, path: codingPath + [key])
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
      try decoder.decodeInteger(try require(key), as: Int8.self, path: codingPath + [key])
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
      try decoder.decodeInteger(try require(key), as: Int16.self, path: codingPath + [key])
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
      try decoder.decodeInteger(try require(key), as: Int32.self, path: codingPath + [key])
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
      try decoder.decodeInteger(try require(key), as: Int64.self, path: codingPath + [key])
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
      try decoder.decodeInteger(try require(key), as: UInt.self, path: codingPath + [key])
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
      try decoder.decodeInteger(try require(key), as: UInt8.self, path: codingPath + [key])
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
      try decoder.decodeInteger(try require(key), as: UInt16.self, path: codingPath + [key])
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
      try decoder.decodeInteger(try require(key), as: UInt32.self, path: codingPath + [key])
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
      try decoder.decodeInteger(try require(key), as: UInt64.self, path: codingPath + [key])
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
      try decoder.decodeValue(type, from: try require(key), path: codingPath + [key])
    }

    // Absent and null both mean "not given" for optional fields.
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
      try present(key).map { try decoder.decodeBool($0, path: codingPath + [key]) }
    }
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
      try present(key).map { try decoder.decodeString($0, path: codingPath + [key]) }
    }
    func decodeIfPresent(_ type: Double.Type, forKey key: Key) throws -> Double? {
      try present(key).map { try decoder.decodeDouble($0, path: codingPath + [key]) }
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
      try present(key).map { try decoder.decodeInteger($0, as: Int.self, path: codingPath + [key]) }
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
      if T.self == JSONValue.self, let v = members[key.stringValue] { return (v as! T) }
      return try present(key).map { try decoder.decodeValue(type, from: $0, path: codingPath + [key]) }
    }

    private func present(_ key: Key) -> JSONValue? {
      guard let v = members[key.stringValue], !v.isNull else { return nil }
      return v
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
      -> KeyedDecodingContainer<NestedKey>
    {
      let sub = JSONValueDecoderImpl(
        value: try require(key), codingPath: codingPath + [key], rootPath: decoder.rootPath)
      return try sub.container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
      let sub = JSONValueDecoderImpl(
        value: try require(key), codingPath: codingPath + [key], rootPath: decoder.rootPath)
      return try sub.unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { decoder }

    func superDecoder(forKey key: Key) throws -> any Decoder {
      JSONValueDecoderImpl(
        value: members[key.stringValue] ?? .null, codingPath: codingPath + [key], rootPath: decoder.rootPath)
    }
  }

  struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: JSONValueDecoderImpl
    let elements: [JSONValue]
    var currentIndex = 0
    var codingPath: [any CodingKey] { decoder.codingPath }
    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    init(decoder: JSONValueDecoderImpl, elements: [JSONValue]) {
      self.decoder = decoder
      self.elements = elements
    }

    private mutating func next() throws -> (JSONValue, [any CodingKey]) {
      let path = codingPath + [IndexKey(currentIndex)]
      guard !isAtEnd else { throw decoder.fail("array has too few elements", path: path) }
      defer { currentIndex += 1 }
      return (elements[currentIndex], path)
    }

    mutating func decodeNil() throws -> Bool {
      if !isAtEnd, elements[currentIndex].isNull {
        currentIndex += 1
        return true
      }
      return false
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
      let (v, path) = try next()
      return try decoder.decodeValue(type, from: v, path: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
      -> KeyedDecodingContainer<NestedKey>
    {
      let (v, path) = try next()
      return try JSONValueDecoderImpl(value: v, codingPath: path, rootPath: decoder.rootPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
      let (v, path) = try next()
      return try JSONValueDecoderImpl(value: v, codingPath: path, rootPath: decoder.rootPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
      let (v, path) = try next()
      return JSONValueDecoderImpl(value: v, codingPath: path, rootPath: decoder.rootPath)
    }
  }

  struct SingleContainer: SingleValueDecodingContainer {
    let decoder: JSONValueDecoderImpl
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool { decoder.value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try decoder.decodeBool(decoder.value, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try decoder.decodeString(decoder.value, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try decoder.decodeDouble(decoder.value, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try decoder.decodeDouble(decoder.value, path: codingPath)) }
    func decode(_ type: Int.Type) throws -> Int {
      try decoder.decodeInteger(decoder.value, as: Int.self, path: codingPath)
    }
    func decode(_ type: Int64.Type) throws -> Int64 {
      try decoder.decodeInteger(decoder.value, as: Int64.self, path: codingPath)
    }
    func decode(_ type: UInt64.Type) throws -> UInt64 {
      try decoder.decodeInteger(decoder.value, as: UInt64.self, path: codingPath)
    }
    func decode(_ type: Int32.Type) throws -> Int32 {
      try decoder.decodeInteger(decoder.value, as: Int32.self, path: codingPath)
    }
    func decode(_ type: UInt32.Type) throws -> UInt32 {
      try decoder.decodeInteger(decoder.value, as: UInt32.self, path: codingPath)
    }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
      try decoder.decodeValue(type, from: decoder.value, path: codingPath)
    }
  }
}
