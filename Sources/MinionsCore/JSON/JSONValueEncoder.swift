/// Encodes `Encodable` values straight into a `JSONValue`.
///
/// Optional properties that are nil are written as `null` by default, so a result always shows every
/// field the protocol documents (a client can tell "no cursor" from a missing field); pass
/// `.omit` for wire formats that reject nulls.
public struct JSONValueEncoder: Sendable {
  public enum NilEncoding: Sendable { case null, omit }
  public var nilEncoding: NilEncoding

  public init(nilEncoding: NilEncoding = .null) { self.nilEncoding = nilEncoding }

  public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
    if let v = value as? JSONValue { return v }
    let node = EncodingNode()
    try value.encode(to: JSONValueEncoderImpl(node: node, codingPath: [], nilEncoding: nilEncoding))
    return node.finish()
  }
}

/// A mutable tree under construction; containers hold references into it so nested containers
/// can be filled in any order, as `Encoder` allows.
final class EncodingNode {
  enum Content {
    case unset
    case value(JSONValue)
    case object([String: EncodingNode])
    case array([EncodingNode])
  }

  var content: Content = .unset

  func finish() -> JSONValue {
    switch content {
    case .unset: return .object([:])
    case .value(let v): return v
    case .object(let members): return .object(members.mapValues { $0.finish() })
    case .array(let elements): return .array(elements.map { $0.finish() })
    }
  }

  func child(forKey key: String) -> EncodingNode {
    if case .object(var members) = content {
      if let existing = members[key] { return existing }
      let node = EncodingNode()
      members[key] = node
      content = .object(members)
      return node
    }
    let node = EncodingNode()
    content = .object([key: node])
    return node
  }

  func appendChild() -> EncodingNode {
    let node = EncodingNode()
    if case .array(var elements) = content {
      elements.append(node)
      content = .array(elements)
    } else {
      content = .array([node])
    }
    return node
  }
}

final class JSONValueEncoderImpl: Encoder {
  let node: EncodingNode
  let codingPath: [any CodingKey]
  let nilEncoding: JSONValueEncoder.NilEncoding
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  init(node: EncodingNode, codingPath: [any CodingKey], nilEncoding: JSONValueEncoder.NilEncoding) {
    self.node = node
    self.codingPath = codingPath
    self.nilEncoding = nilEncoding
  }

  /// Stores a ready-made value (used by `JSONValue.encode(to:)` to skip the container dance).
  func store(_ value: JSONValue) { node.content = .value(value) }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if case .object = node.content {} else { node.content = .object([:]) }
    return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if case .array = node.content {} else { node.content = .array([]) }
    return UnkeyedContainer(encoder: self)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(encoder: self) }

  func encodeValue<T: Encodable>(_ value: T, into node: EncodingNode, path: [any CodingKey]) throws {
    switch value {
    case let v as JSONValue: node.content = .value(v)
    case let v as String: node.content = .value(.string(v))
    case let v as Int: node.content = .value(.int(v))
    case let v as Bool: node.content = .value(.bool(v))
    case let v as Double: node.content = .value(.double(v))
    default:
      try value.encode(to: JSONValueEncoderImpl(node: node, codingPath: path, nilEncoding: nilEncoding))
    }
  }

  struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }

    func encodeNil(forKey key: Key) throws { encoder.node.child(forKey: key.stringValue).content = .value(.null) }
    func encode(_ value: Bool, forKey key: Key) throws {
      encoder.node.child(forKey: key.stringValue).content = .value(.bool(value))
    }
    func encode(_ value: String, forKey key: Key) throws {
      encoder.node.child(forKey: key.stringValue).content = .value(.string(value))
    }
    func encode(_ value: Double, forKey key: Key) throws {
      encoder.node.child(forKey: key.stringValue).content = .value(.double(value))
    }
    func encode(_ value: Int, forKey key: Key) throws {
      encoder.node.child(forKey: key.stringValue).content = .value(.int(value))
    }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
      try encoder.encodeValue(value, into: encoder.node.child(forKey: key.stringValue), path: codingPath + [key])
    }

    func encodeIfPresent(_ value: Bool?, forKey key: Key) throws { try encodeOptional(value, forKey: key) }
    func encodeIfPresent(_ value: String?, forKey key: Key) throws { try encodeOptional(value, forKey: key) }
    func encodeIfPresent(_ value: Double?, forKey key: Key) throws { try encodeOptional(value, forKey: key) }
    func encodeIfPresent(_ value: Int?, forKey key: Key) throws { try encodeOptional(value, forKey: key) }
    func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: Key) throws { try encodeOptional(value, forKey: key) }

    private func encodeOptional<T: Encodable>(_ value: T?, forKey key: Key) throws {
      if let value {
        try encode(value, forKey: key)
      } else if encoder.nilEncoding == .null {
        try encodeNil(forKey: key)
      }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
      -> KeyedEncodingContainer<NestedKey>
    {
      let child = encoder.node.child(forKey: key.stringValue)
      return JSONValueEncoderImpl(node: child, codingPath: codingPath + [key], nilEncoding: encoder.nilEncoding)
        .container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
      let child = encoder.node.child(forKey: key.stringValue)
      return JSONValueEncoderImpl(node: child, codingPath: codingPath + [key], nilEncoding: encoder.nilEncoding)
        .unkeyedContainer()
    }

    func superEncoder() -> any Encoder { encoder }

    func superEncoder(forKey key: Key) -> any Encoder {
      JSONValueEncoderImpl(
        node: encoder.node.child(forKey: key.stringValue), codingPath: codingPath + [key],
        nilEncoding: encoder.nilEncoding)
    }
  }

  struct UnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int {
      if case .array(let elements) = encoder.node.content { return elements.count }
      return 0
    }

    func encodeNil() throws { encoder.node.appendChild().content = .value(.null) }
    func encode<T: Encodable>(_ value: T) throws {
      let path = codingPath + [IndexKey(count)]
      try encoder.encodeValue(value, into: encoder.node.appendChild(), path: path)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
      let path = codingPath + [IndexKey(count)]
      return JSONValueEncoderImpl(node: encoder.node.appendChild(), codingPath: path, nilEncoding: encoder.nilEncoding)
        .container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
      let path = codingPath + [IndexKey(count)]
      return JSONValueEncoderImpl(node: encoder.node.appendChild(), codingPath: path, nilEncoding: encoder.nilEncoding)
        .unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
      let path = codingPath + [IndexKey(count)]
      return JSONValueEncoderImpl(node: encoder.node.appendChild(), codingPath: path, nilEncoding: encoder.nilEncoding)
    }
  }

  struct SingleContainer: SingleValueEncodingContainer {
    let encoder: JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }

    func encodeNil() throws { encoder.node.content = .value(.null) }
    func encode(_ value: Bool) throws { encoder.node.content = .value(.bool(value)) }
    func encode(_ value: String) throws { encoder.node.content = .value(.string(value)) }
    func encode(_ value: Double) throws { encoder.node.content = .value(.double(value)) }
    func encode(_ value: Float) throws { encoder.node.content = .value(.double(Double(value))) }
    func encode(_ value: Int) throws { encoder.node.content = .value(.int(value)) }
    func encode(_ value: Int64) throws { encoder.node.content = .value(.int(Int(value))) }
    func encode(_ value: Int32) throws { encoder.node.content = .value(.int(Int(value))) }
    func encode(_ value: UInt32) throws { encoder.node.content = .value(.int(Int(value))) }
    func encode(_ value: UInt64) throws {
      encoder.node.content = .value(value <= UInt64(Int.max) ? .int(Int(value)) : .double(Double(value)))
    }
    func encode<T: Encodable>(_ value: T) throws { try encoder.encodeValue(value, into: encoder.node, path: codingPath) }
  }
}
