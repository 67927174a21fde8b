/// A cursor over the bytes of a `/proc` file: the few lexical steps its parsers need (skip blanks,
/// read a number, go to the next line), on bytes so no `String` is made per token.
struct ProcTextScanner {
  let bytes: UnsafeRawBufferPointer
  var index: Int

  init(_ bytes: UnsafeRawBufferPointer, from index: Int = 0) {
    self.bytes = bytes
    self.index = index
  }

  var isAtEnd: Bool { index >= bytes.count }

  /// True at the end of the text or of a line.
  var isAtLineEnd: Bool { index >= bytes.count || bytes[index] == UInt8(ascii: "\n") }

  /// Skips spaces and tabs (not line ends).
  mutating func skipBlanks() {
    while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") {
      index += 1
    }
  }

  /// Moves past the next line end (or to the end of the text).
  mutating func skipLine() {
    while index < bytes.count {
      let byte = bytes[index]
      index += 1
      if byte == UInt8(ascii: "\n") { return }
    }
  }

  /// Moves past `literal` when the text continues with it.
  mutating func consume(_ literal: StaticString) -> Bool {
    let count = literal.utf8CodeUnitCount
    guard bytes.count - index >= count else { return false }
    let start = literal.utf8Start
    for i in 0..<count where bytes[index + i] != start[i] { return false }
    index += count
    return true
  }

  /// True when the next byte is a space or a tab.
  var isAtBlank: Bool {
    index < bytes.count && (bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t"))
  }

  /// True when the next byte is an ASCII digit.
  var isAtDigit: Bool { index < bytes.count && bytes[index] &- UInt8(ascii: "0") < 10 }

  /// An unsigned decimal integer after any blanks; nil when there are no digits, the number does not
  /// fit in 64 bits, or something other than a blank or a line end follows the digits.
  mutating func unsigned() -> UInt64? {
    skipBlanks()
    var value: UInt64 = 0
    let start = index
    while isAtDigit {
      let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
      let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] &- UInt8(ascii: "0")))
      if overflow1 || overflow2 { return nil }
      value = sum
      index += 1
    }
    guard index > start, endsToken else { return nil }
    return value
  }

  /// A non-negative decimal number such as `0.52` or `11314.07` after any blanks; nil when malformed
  /// or when it has more than 18 digits.
  mutating func decimal() -> Double? {
    skipBlanks()
    var mantissa: UInt64 = 0
    var digits = 0
    var fractionDigits = 0
    var seenPoint = false
    while index < bytes.count {
      let byte = bytes[index]
      if byte &- UInt8(ascii: "0") < 10 {
        digits += 1
        if digits > 18 { return nil }
        mantissa = mantissa * 10 + UInt64(byte &- UInt8(ascii: "0"))
        if seenPoint { fractionDigits += 1 }
      } else if byte == UInt8(ascii: "."), !seenPoint {
        seenPoint = true
      } else {
        break
      }
      index += 1
    }
    guard digits > 0, endsToken else { return nil }
    // One correctly rounded division, so "1.52" gives exactly the double the literal 1.52 does.
    var scale = 1.0
    for _ in 0..<fractionDigits { scale *= 10 }
    return Double(mantissa) / scale
  }

  /// Skips one blank-separated token; false when there is none before the line end.
  mutating func skipToken() -> Bool {
    skipBlanks()
    let start = index
    while !isAtLineEnd, bytes[index] != UInt8(ascii: " "), bytes[index] != UInt8(ascii: "\t") { index += 1 }
    return index > start
  }

  /// A number must be followed by a blank, a line end or the end of the text.
  private var endsToken: Bool {
    guard index < bytes.count else { return true }
    let byte = bytes[index]
    return byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
  }
}
