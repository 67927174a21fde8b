/// Encodes `Encodable` values straight into a `JSONValue`.
///
/// Optional properties that are nil are written as `null` by default, so a result always shows every
/// field the protocol documents (a client can tell "no cursor" from a missing field); pass
/// `.omit` for wire formats that reject nulls.
///
/// Nested values are encoded eagerly (a member's value is complete when `encode(_:forKey:)` returns), so
/// the common case allocates one small box per nested value; only `nestedContainer` and
/// `superEncoder`, which may be filled later, keep a reference.
public struct JSONValueEncoder: Sendable {
  public enum NilEncoding: Sendable { case null, omit }
  public var nilEncoding: NilEncoding

  public init(nilEncoding: NilEncoding = .null) { self.nilEncoding = nilEncoding }

  public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
    try encodeToJSON(value, nilEncoding: nilEncoding, path: [])
  }
}

/// Encodes one value; primitives take a fast path by metatype identity (no dynamic casts).
@inline(__always)
func encodeToJSON<T: Encodable>(_ value: T, nilEncoding: JSONValueEncoder.NilEncoding, path: [any CodingKey]) throws
  -> JSONValue
{
  if T.self == String.self { return .string(unsafeBitCast(value, to: String.self)) }
  if T.self == Int.self { return .int(unsafeBitCast(value, to: Int.self)) }
  if T.self == Bool.self { return .bool(unsafeBitCast(value, to: Bool.self)) }
  if T.self == Double.self { return .double(unsafeBitCast(value, to: Double.self)) }
  if T.self == JSONValue.self { return unsafeBitCast(value, to: JSONValue.self) }
  let box = EncodingBox()
  try value.encode(to: JSONValueEncoderImpl(box: box, codingPath: path, nilEncoding: nilEncoding))
  return box.finish()
}

/// Where one encoder's value is collected.
final class EncodingBox {
  var value: JSONValue?
  var members: [String: JSONValue]?
  var elements: [JSONValue]?
  /// Containers handed out to be filled later (nestedContainer, superEncoder).
  var deferredMembers: [String: EncodingBox]?
  var deferredElements: [(Int, EncodingBox)]?

  func finish() -> JSONValue {
    if var members {
      if let deferredMembers {
        for (k, b) in deferredMembers { members[k] = b.finish() }
      }
      return .object(members)
    }
    if var elements {
      if let deferredElements {
        for (i, b) in deferredElements { elements[i] = b.finish() }
      }
      return .array(elements)
    }
    return value ?? .object([:])
  }
}

struct JSONValueEncoderImpl: Encoder {
  let box: EncodingBox
  let codingPath: [any CodingKey]
  let nilEncoding: JSONValueEncoder.NilEncoding
  var userInfo: [CodingUserInfoKey: Any] { [:] }

  /// Stores a ready-made value (used by `JSONValue.encode(to:)` to skip the container dance).
  func store(_ value: JSONValue) { box.value = value }

  func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
    if box.members == nil { box.members = [:] }
    return KeyedEncodingContainer(KeyedContainer<Key>(encoder: self))
  }

  func unkeyedContainer() -> any UnkeyedEncodingContainer {
    if box.elements == nil { box.elements = [] }
    return UnkeyedContainer(encoder: self)
  }

  func singleValueContainer() -> any SingleValueEncodingContainer { SingleContainer(encoder: self) }

  func child(_ key: any CodingKey) -> [any CodingKey] { codingPath + [key] }

  struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let encoder: JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }

    @inline(__always) private func set(_ v: JSONValue, _ key: Key) { encoder.box.members![key.stringValue] = v }

    func encodeNil(forKey key: Key) throws { set(.null, key) }
    func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    func encode(_ value: Double, forKey key: Key) throws { set(.double(value), key) }
    func encode(_ value: Int, forKey key: Key) throws { set(.int(value), key) }
    func encode(_ value: Int64, forKey key: Key) throws { set(.int(Int(value)), key) }
    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
      set(try encodeToJSON(value, nilEncoding: encoder.nilEncoding, path: encoder.child(key)), key)
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
        set(.null, key)
      }
    }

    private func deferred(_ key: Key) -> JSONValueEncoderImpl {
      let b = EncodingBox()
      if encoder.box.deferredMembers == nil { encoder.box.deferredMembers = [:] }
      encoder.box.deferredMembers![key.stringValue] = b
      return JSONValueEncoderImpl(box: b, codingPath: encoder.child(key), nilEncoding: encoder.nilEncoding)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
      -> KeyedEncodingContainer<NestedKey>
    {
      deferred(key).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer { deferred(key).unkeyedContainer() }

    func superEncoder() -> any Encoder { encoder }

    func superEncoder(forKey key: Key) -> any Encoder { deferred(key) }
  }

  struct UnkeyedContainer: UnkeyedEncodingContainer {
    let encoder: JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }
    var count: Int { encoder.box.elements?.count ?? 0 }

    @inline(__always) private func append(_ v: JSONValue) { encoder.box.elements!.append(v) }

    func encodeNil() throws { append(.null) }
    func encode(_ value: Bool) throws { append(.bool(value)) }
    func encode(_ value: String) throws { append(.string(value)) }
    func encode(_ value: Double) throws { append(.double(value)) }
    func encode(_ value: Int) throws { append(.int(value)) }
    func encode<T: Encodable>(_ value: T) throws {
      append(try encodeToJSON(value, nilEncoding: encoder.nilEncoding, path: encoder.child(IndexKey(count))))
    }

    private func deferred() -> JSONValueEncoderImpl {
      let b = EncodingBox()
      let index = count
      append(.null)
      if encoder.box.deferredElements == nil { encoder.box.deferredElements = [] }
      encoder.box.deferredElements!.append((index, b))
      return JSONValueEncoderImpl(box: b, codingPath: encoder.child(IndexKey(index)), nilEncoding: encoder.nilEncoding)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
      deferred().container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { deferred().unkeyedContainer() }

    func superEncoder() -> any Encoder { deferred() }
  }

  struct SingleContainer: SingleValueEncodingContainer {
    let encoder: JSONValueEncoderImpl
    var codingPath: [any CodingKey] { encoder.codingPath }

    private func set(_ v: JSONValue) { encoder.box.value = v }

    func encodeNil() throws { set(.null) }
    func encode(_ value: Bool) throws { set(.bool(value)) }
    func encode(_ value: String) throws { set(.string(value)) }
    func encode(_ value: Double) throws { set(.double(value)) }
    func encode(_ value: Float) throws { set(.double(Double(value))) }
    func encode(_ value: Int) throws { set(.int(value)) }
    func encode(_ value: Int8) throws { set(.int(Int(value))) }
    func encode(_ value: Int16) throws { set(.int(Int(value))) }
    func encode(_ value: Int32) throws { set(.int(Int(value))) }
    func encode(_ value: Int64) throws { set(.int(Int(value))) }
    func encode(_ value: UInt) throws { set(value <= UInt(Int.max) ? .int(Int(value)) : .double(Double(value))) }
    func encode(_ value: UInt8) throws { set(.int(Int(value))) }
    func encode(_ value: UInt16) throws { set(.int(Int(value))) }
    func encode(_ value: UInt32) throws { set(.int(Int(value))) }
    func encode(_ value: UInt64) throws {
      set(value <= UInt64(Int.max) ? .int(Int(value)) : .double(Double(value)))
    }
    func encode<T: Encodable>(_ value: T) throws {
      set(try encodeToJSON(value, nilEncoding: encoder.nilEncoding, path: codingPath))
    }
  }
}
