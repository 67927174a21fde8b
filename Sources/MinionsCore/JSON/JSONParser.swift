/// Why a JSON text was refused, and where (a byte offset into the text).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
  public enum Kind: Sendable, Equatable {
    case unexpectedEnd
    case unexpectedByte(UInt8)
    case invalidUTF8
    case loneSurrogate
    case invalidEscape
    case controlCharacterInString
    case invalidNumber
    case trailingData
    /// Nesting deeper than the limit; refused before the deeper value is allocated.
    case tooDeep(limit: Int)
    /// A top-level array with more elements than the limit (a JSON-RPC batch).
    case tooManyElements(limit: Int)
    case emptyInput
  }

  public var kind: Kind
  public var offset: Int

  public init(_ kind: Kind, offset: Int) {
    self.kind = kind
    self.offset = offset
  }

  /// True when the text was refused for a configured limit rather than for being malformed.
  public var isLimit: Bool {
    switch kind {
    case .tooDeep, .tooManyElements: return true
    default: return false
    }
  }

  public var description: String {
    switch kind {
    case .unexpectedEnd: return "unexpected end of JSON text at byte \(offset)"
    case .unexpectedByte(let b):
      if b >= 0x21 && b < 0x7F {
        return "unexpected character '\(Character(Unicode.Scalar(b)))' at byte \(offset)"
      }
      return "unexpected byte 0x\(String(b, radix: 16, uppercase: true)) at byte \(offset)"
    case .invalidUTF8: return "invalid UTF-8 in string at byte \(offset)"
    case .loneSurrogate: return "lone UTF-16 surrogate in \\u escape at byte \(offset)"
    case .invalidEscape: return "invalid escape sequence at byte \(offset)"
    case .controlCharacterInString: return "unescaped control character in string at byte \(offset)"
    case .invalidNumber: return "invalid number at byte \(offset)"
    case .trailingData: return "unexpected data after the JSON value at byte \(offset)"
    case .tooDeep(let limit): return "JSON nested deeper than the limit of \(limit) at byte \(offset)"
    case .tooManyElements(let limit): return "batch has more than the limit of \(limit) entries"
    case .emptyInput: return "empty JSON text"
    }
  }
}

/// A strict RFC 8259 parser working directly on UTF-8 bytes.
///
/// It enforces the protocol's limits while parsing, so an over-deep document or an over-long batch is
/// refused before the offending part is allocated. Strings must be valid UTF-8 and `\u` escapes must
/// not leave lone surrogates (Swift strings cannot hold them, and silently replacing them would
/// change what the client sent).
public struct JSONParser {
  public struct Options: Sendable {
    /// Maximum nesting of arrays and objects; 128 in the protocol.
    public var maxDepth: Int
    /// Maximum elements of a top-level array (the batch limit); nil for none.
    public var maxTopLevelArrayElements: Int?

    public init(maxDepth: Int = 128, maxTopLevelArrayElements: Int? = nil) {
      self.maxDepth = maxDepth
      self.maxTopLevelArrayElements = maxTopLevelArrayElements
    }
  }

  /// Parses one JSON text occupying all of `bytes` (surrounding whitespace allowed).
  public static func parse(_ bytes: UnsafeBufferPointer<UInt8>, options: Options = Options()) throws -> JSONValue {
    guard let base = bytes.baseAddress, bytes.count > 0 else { throw JSONParseError(.emptyInput, offset: 0) }
    var parser = JSONParser(base: base, count: bytes.count, options: options)
    parser.skipWhitespace()
    if parser.index == parser.count { throw JSONParseError(.emptyInput, offset: 0) }
    let value = try parser.parseValue(depth: 0)
    parser.skipWhitespace()
    if parser.index != parser.count { throw JSONParseError(.trailingData, offset: parser.index) }
    return value
  }

  public static func parse(_ bytes: [UInt8], options: Options = Options()) throws -> JSONValue {
    try bytes.withUnsafeBufferPointer { try parse($0, options: options) }
  }

  public static func parse(_ bytes: ArraySlice<UInt8>, options: Options = Options()) throws -> JSONValue {
    try bytes.withUnsafeBufferPointer { try parse($0, options: options) }
  }

  public static func parse(_ text: String, options: Options = Options()) throws -> JSONValue {
    var text = text
    return try text.withUTF8 { try parse($0, options: options) }
  }

  private let base: UnsafePointer<UInt8>
  private let count: Int
  private let options: Options
  private var index = 0
  /// Members of the objects being parsed, shared by every nesting level: an object's members are
  /// pushed here and its dictionary is built once, at its final size, when it closes. (Growing a
  /// dictionary member by member rehashed it several times and dominated parsing small objects.)
  private var memberKeys: [String] = []
  private var memberValues: [JSONValue] = []

  private init(base: UnsafePointer<UInt8>, count: Int, options: Options) {
    self.base = base
    self.count = count
    self.options = options
  }

  private mutating func skipWhitespace() {
    while index < count {
      switch base[index] {
      case 0x20, 0x09, 0x0A, 0x0D: index += 1
      default: return
      }
    }
  }

  private func error(_ kind: JSONParseError.Kind, at offset: Int? = nil) -> JSONParseError {
    JSONParseError(kind, offset: offset ?? index)
  }

  private func unexpected() -> JSONParseError {
    index < count ? error(.unexpectedByte(base[index])) : error(.unexpectedEnd)
  }

  private mutating func parseValue(depth: Int) throws -> JSONValue {
    guard index < count else { throw error(.unexpectedEnd) }
    switch base[index] {
    case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
    case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"):
      try expectLiteral("true")
      return .bool(true)
    case UInt8(ascii: "f"):
      try expectLiteral("false")
      return .bool(false)
    case UInt8(ascii: "n"):
      try expectLiteral("null")
      return .null
    case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return try parseNumber()
    default:
      throw unexpected()
    }
  }

  private mutating func expectLiteral(_ literal: StaticString) throws {
    let n = literal.utf8CodeUnitCount
    let lit = literal.utf8Start
    for i in 0..<n {
      guard index + i < count else { throw error(.unexpectedEnd, at: count) }
      guard base[index + i] == lit[i] else { throw error(.unexpectedByte(base[index + i]), at: index + i) }
    }
    index += n
  }

  private mutating func parseObject(depth: Int) throws -> JSONValue {
    if depth > options.maxDepth { throw error(.tooDeep(limit: options.maxDepth)) }
    index += 1  // {
    skipWhitespace()
    if index < count && base[index] == UInt8(ascii: "}") {
      index += 1
      return .object([:])
    }
    let first = memberKeys.count
    while true {
      skipWhitespace()
      guard index < count else { throw error(.unexpectedEnd) }
      guard base[index] == UInt8(ascii: "\"") else { throw unexpected() }
      let key = try parseString()
      skipWhitespace()
      guard index < count, base[index] == UInt8(ascii: ":") else { throw unexpected() }
      index += 1
      skipWhitespace()
      let value = try parseValue(depth: depth)
      memberKeys.append(key)
      memberValues.append(value)
      skipWhitespace()
      guard index < count else { throw error(.unexpectedEnd) }
      switch base[index] {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "}"):
        index += 1
        var members = [String: JSONValue](minimumCapacity: memberKeys.count - first)
        for i in first..<memberKeys.count { members[memberKeys[i]] = memberValues[i] }  // a repeated key keeps its last value
        memberKeys.removeSubrange(first...)
        memberValues.removeSubrange(first...)
        return .object(members)
      default: throw unexpected()
      }
    }
  }

  private mutating func parseArray(depth: Int) throws -> JSONValue {
    if depth > options.maxDepth { throw error(.tooDeep(limit: options.maxDepth)) }
    index += 1  // [
    var elements: [JSONValue] = []
    skipWhitespace()
    if index < count && base[index] == UInt8(ascii: "]") {
      index += 1
      return .array(elements)
    }
    let limit = depth == 1 ? options.maxTopLevelArrayElements : nil
    while true {
      skipWhitespace()
      if let limit, elements.count >= limit { throw error(.tooManyElements(limit: limit)) }
      elements.append(try parseValue(depth: depth))
      skipWhitespace()
      guard index < count else { throw error(.unexpectedEnd) }
      switch base[index] {
      case UInt8(ascii: ","): index += 1
      case UInt8(ascii: "]"):
        index += 1
        return .array(elements)
      default: throw unexpected()
      }
    }
  }

  private mutating func parseString() throws -> String {
    index += 1  // opening quote
    let start = index
    var ascii = true
    while index < count {
      let c = base[index]
      if c == UInt8(ascii: "\"") {
        let span = UnsafeBufferPointer(start: base + start, count: index - start)
        index += 1
        if ascii { return String(decoding: span, as: UTF8.self) }
        guard let s = String(validating: span, as: UTF8.self) else { throw error(.invalidUTF8, at: start) }
        return s
      }
      if c == UInt8(ascii: "\\") { return try parseEscapedString(start: start) }
      if c < 0x20 { throw error(.controlCharacterInString) }
      if c >= 0x80 { ascii = false }
      index += 1
    }
    throw error(.unexpectedEnd)
  }

  private mutating func parseEscapedString(start: Int) throws -> String {
    var buffer: [UInt8] = []
    buffer.reserveCapacity(index - start + 16)
    buffer.append(contentsOf: UnsafeBufferPointer(start: base + start, count: index - start))
    while index < count {
      let c = base[index]
      switch c {
      case UInt8(ascii: "\""):
        index += 1
        guard let s = String(validating: buffer, as: UTF8.self) else { throw error(.invalidUTF8, at: start) }
        return s
      case UInt8(ascii: "\\"):
        index += 1
        guard index < count else { throw error(.unexpectedEnd) }
        let e = base[index]
        index += 1
        switch e {
        case UInt8(ascii: "\""): buffer.append(0x22)
        case UInt8(ascii: "\\"): buffer.append(0x5C)
        case UInt8(ascii: "/"): buffer.append(0x2F)
        case UInt8(ascii: "b"): buffer.append(0x08)
        case UInt8(ascii: "f"): buffer.append(0x0C)
        case UInt8(ascii: "n"): buffer.append(0x0A)
        case UInt8(ascii: "r"): buffer.append(0x0D)
        case UInt8(ascii: "t"): buffer.append(0x09)
        case UInt8(ascii: "u"):
          let escapeStart = index - 2
          let unit = try parseHex4()
          var scalarValue: UInt32
          if unit >= 0xD800 && unit <= 0xDBFF {
            // A high surrogate must be followed by an escaped low surrogate.
            guard index + 1 < count, base[index] == UInt8(ascii: "\\"), base[index + 1] == UInt8(ascii: "u") else {
              throw error(.loneSurrogate, at: escapeStart)
            }
            index += 2
            let low = try parseHex4()
            guard low >= 0xDC00 && low <= 0xDFFF else { throw error(.loneSurrogate, at: escapeStart) }
            scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
          } else if unit >= 0xDC00 && unit <= 0xDFFF {
            throw error(.loneSurrogate, at: escapeStart)
          } else {
            scalarValue = UInt32(unit)
          }
          guard let scalar = Unicode.Scalar(scalarValue) else { throw error(.loneSurrogate, at: escapeStart) }
          buffer.append(contentsOf: UTF8.encode(scalar)!)
        default:
          throw error(.invalidEscape, at: index - 2)
        }
      default:
        if c < 0x20 { throw error(.controlCharacterInString) }
        buffer.append(c)
        index += 1
      }
    }
    throw error(.unexpectedEnd)
  }

  private mutating func parseHex4() throws -> UInt16 {
    guard index + 4 <= count else { throw error(.unexpectedEnd, at: count) }
    var v: UInt16 = 0
    for _ in 0..<4 {
      let c = base[index]
      let d: UInt8
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
      default: throw error(.invalidEscape)
      }
      v = v << 4 | UInt16(d)
      index += 1
    }
    return v
  }

  private mutating func parseNumber() throws -> JSONValue {
    let start = index
    var negative = false
    if base[index] == UInt8(ascii: "-") {
      negative = true
      index += 1
    }
    guard index < count else { throw error(.invalidNumber, at: start) }
    var integer = true
    var magnitude: UInt64 = 0
    var overflow = false
    let first = base[index]
    if first == UInt8(ascii: "0") {
      index += 1
    } else if first >= UInt8(ascii: "1") && first <= UInt8(ascii: "9") {
      while index < count, base[index] >= UInt8(ascii: "0"), base[index] <= UInt8(ascii: "9") {
        let digit = UInt64(base[index] - UInt8(ascii: "0"))
        let (m1, o1) = magnitude.multipliedReportingOverflow(by: 10)
        let (m2, o2) = m1.addingReportingOverflow(digit)
        if o1 || o2 { overflow = true } else { magnitude = m2 }
        index += 1
      }
    } else {
      throw error(.invalidNumber, at: start)
    }
    if index < count && base[index] == UInt8(ascii: ".") {
      integer = false
      index += 1
      let digitsStart = index
      while index < count, base[index] >= UInt8(ascii: "0"), base[index] <= UInt8(ascii: "9") { index += 1 }
      if index == digitsStart { throw error(.invalidNumber, at: start) }
    }
    if index < count && (base[index] == UInt8(ascii: "e") || base[index] == UInt8(ascii: "E")) {
      integer = false
      index += 1
      if index < count && (base[index] == UInt8(ascii: "+") || base[index] == UInt8(ascii: "-")) { index += 1 }
      let digitsStart = index
      while index < count, base[index] >= UInt8(ascii: "0"), base[index] <= UInt8(ascii: "9") { index += 1 }
      if index == digitsStart { throw error(.invalidNumber, at: start) }
    }
    if integer && !overflow {
      if negative {
        if magnitude <= UInt64(Int.max) { return .int(-Int(magnitude)) }
        if magnitude == UInt64(Int.max) + 1 { return .int(Int.min) }
      } else if magnitude <= UInt64(Int.max) {
        return .int(Int(magnitude))
      }
    }
    let text = String(decoding: UnsafeBufferPointer(start: base + start, count: index - start), as: UTF8.self)
    guard let d = Double(text), d.isFinite else { throw error(.invalidNumber, at: start) }
    return .double(d)
  }
}
