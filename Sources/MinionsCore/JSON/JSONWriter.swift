/// Serializes `JSONValue`s to UTF-8 JSON text.
///
/// Object keys are always written sorted, so the same value always gives the same bytes: transcripts,
/// the OpenRPC document and cache keys depend on that. Non-finite doubles, which JSON cannot carry,
/// are written as `null`.
public enum JSONWriter {
  /// Appends the compact encoding of `value` to `out`.
  public static func write(_ value: JSONValue, into out: inout [UInt8]) {
    switch value {
    case .null: out.append(contentsOf: nullBytes)
    case .bool(let b): out.append(contentsOf: b ? trueBytes : falseBytes)
    case .int(let i): writeInt(i, into: &out)
    case .double(let d): writeDouble(d, into: &out)
    case .string(let s): writeString(s, into: &out)
    case .array(let elements):
      out.append(UInt8(ascii: "["))
      var first = true
      for e in elements {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        write(e, into: &out)
      }
      out.append(UInt8(ascii: "]"))
    case .object(let members):
      out.append(UInt8(ascii: "{"))
      var first = true
      for key in sortedKeys(members) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        writeString(key, into: &out)
        out.append(UInt8(ascii: ":"))
        write(members[key]!, into: &out)
      }
      out.append(UInt8(ascii: "}"))
    }
  }

  /// Appends an indented encoding (two spaces), for files people read such as `openrpc.json`.
  public static func writePretty(_ value: JSONValue, into out: inout [UInt8], indent: Int = 0) {
    func newline(_ level: Int) {
      out.append(0x0A)
      out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: level * 2))
    }
    switch value {
    case .array(let elements) where !elements.isEmpty:
      out.append(UInt8(ascii: "["))
      for (i, e) in elements.enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(indent + 1)
        writePretty(e, into: &out, indent: indent + 1)
      }
      newline(indent)
      out.append(UInt8(ascii: "]"))
    case .object(let members) where !members.isEmpty:
      out.append(UInt8(ascii: "{"))
      for (i, key) in sortedKeys(members).enumerated() {
        if i > 0 { out.append(UInt8(ascii: ",")) }
        newline(indent + 1)
        writeString(key, into: &out)
        out.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
        writePretty(members[key]!, into: &out, indent: indent + 1)
      }
      newline(indent)
      out.append(UInt8(ascii: "}"))
    default:
      write(value, into: &out)
    }
  }

  public static func bytes(_ value: JSONValue) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(64)
    write(value, into: &out)
    return out
  }

  public static func string(_ value: JSONValue) -> String {
    String(decoding: bytes(value), as: UTF8.self)
  }

  public static func prettyString(_ value: JSONValue) -> String {
    var out: [UInt8] = []
    writePretty(value, into: &out)
    out.append(0x0A)
    return String(decoding: out, as: UTF8.self)
  }

  @inline(__always)
  static func sortedKeys(_ members: [String: JSONValue]) -> [String] {
    if members.count < 2 { return Array(members.keys) }
    // String order (byte order for the ASCII keys the protocol uses): the same output on every run.
    return members.keys.sorted()
  }

  private static let nullBytes: [UInt8] = Array("null".utf8)
  private static let trueBytes: [UInt8] = Array("true".utf8)
  private static let falseBytes: [UInt8] = Array("false".utf8)
  private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

  public static func writeInt(_ i: Int, into out: inout [UInt8]) {
    if i >= 0 && i < 10 {
      out.append(UInt8(ascii: "0") + UInt8(i))
      return
    }
    var magnitude = i.magnitude
    var digits:
      (
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
        UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
      ) =
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var n = 0
    withUnsafeMutableBytes(of: &digits) { buf in
      repeat {
        buf[19 - n] = UInt8(ascii: "0") + UInt8(magnitude % 10)
        magnitude /= 10
        n += 1
      } while magnitude > 0
      if i < 0 { out.append(UInt8(ascii: "-")) }
      out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[(20 - n)...]))
    }
  }

  static func writeDouble(_ d: Double, into out: inout [UInt8]) {
    guard d.isFinite else {
      out.append(contentsOf: nullBytes)
      return
    }
    if d == d.rounded(), abs(d) < 1e15 {
      // Whole numbers print without an exponent or a trailing ".0" noise beyond one digit.
      writeInt(Int(d), into: &out)
      out.append(contentsOf: [UInt8(ascii: "."), UInt8(ascii: "0")])
      return
    }
    out.append(contentsOf: d.description.utf8)
  }

  /// Appends `s` as a JSON string literal, escaping quotes, backslashes and control characters.
  public static func writeString(_ s: String, into out: inout [UInt8]) {
    out.append(UInt8(ascii: "\""))
    var s = s
    s.withUTF8 { utf8 in
      var runStart = 0
      for i in 0..<utf8.count {
        let c = utf8[i]
        if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
        if runStart < i { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
        runStart = i + 1
        out.append(UInt8(ascii: "\\"))
        switch c {
        case 0x22: out.append(0x22)
        case 0x5C: out.append(0x5C)
        case 0x0A: out.append(UInt8(ascii: "n"))
        case 0x0D: out.append(UInt8(ascii: "r"))
        case 0x09: out.append(UInt8(ascii: "t"))
        case 0x08: out.append(UInt8(ascii: "b"))
        case 0x0C: out.append(UInt8(ascii: "f"))
        default:
          out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
          out.append(hexDigits[Int(c >> 4)])
          out.append(hexDigits[Int(c & 0xF)])
        }
      }
      if runStart < utf8.count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...])) }
    }
    out.append(UInt8(ascii: "\""))
  }
}
