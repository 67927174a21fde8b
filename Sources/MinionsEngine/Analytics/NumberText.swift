#if canImport(Glibc)
  import Glibc
#endif

/// Decimal text for doubles without binary noise or needless exponents: exact for files programs
/// read, rounded to a few significant digits for tables people read.
enum NumberText {
  /// The shortest text that reads back as the same double, in positional notation: `0.1`, `2.5`,
  /// `3` (not `3.0`), `0.00001` (not `1e-05`), `10000000000000000` (not `1e+16`). Only magnitudes
  /// beyond 1e±21 keep an exponent (`1e-300`). Nil for NaN and infinities.
  static func exact(_ value: Double) -> String? {
    guard value.isFinite else { return nil }
    if value == 0 { return "0" }
    if value == value.rounded(), abs(value) < 9_007_199_254_740_992 { return String(Int64(value)) }
    let text = value.description  // Swift's shortest round-trip digits
    guard let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }), let exponent = Int(text[text.index(after: e)...]),
      (-21...21).contains(exponent)
    else { return text.hasSuffix(".0") ? String(text.dropLast(2)) : text }
    var mantissa = text[..<e]
    let negative = mantissa.hasPrefix("-")
    if negative { mantissa = mantissa.dropFirst() }
    let integerDigits = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) }
    var digits = String(mantissa.filter { $0 != "." })
    // Where the decimal point falls in `digits` once the exponent is applied.
    let point = (integerDigits ?? digits.count) + exponent
    if point <= 0 {
      digits = "0." + String(repeating: "0", count: -point) + digits
    } else if point >= digits.count {
      digits += String(repeating: "0", count: point - digits.count)
    } else {
      digits.insert(".", at: digits.index(digits.startIndex, offsetBy: point))
    }
    return negative ? "-" + digits : digits
  }

  /// `value` rounded to `significantDigits`, trailing zeros dropped: `1.0000000002` → `1`,
  /// `3.14159265` → `3.14159`, `0.000123456789` → `0.000123457`. The whole part is never rounded
  /// (`123456789.4` → `123456789`); magnitudes from 1e15 up or below 1e-6 use an exponent
  /// (`1.23457e+20`). Nil for NaN and infinities.
  static func rounded(_ value: Double, significantDigits: Int) -> String? {
    guard value.isFinite else { return nil }
    let digits = max(1, min(17, significantDigits))
    let magnitude = abs(value)
    if magnitude == 0 { return "0" }
    if magnitude >= 1e15 || magnitude < 1e-6 { return format("%.*g", digits, value) }
    let decimals = max(0, digits - 1 - Int(log10(magnitude).rounded(.down)))
    var text = format("%.*f", decimals, value)
    if text.contains(".") {
      while text.hasSuffix("0") { text.removeLast() }
      if text.hasSuffix(".") { text.removeLast() }
    }
    return text == "-0" ? "0" : text
  }

  private static func format(_ format: String, _ precision: Int, _ value: Double) -> String {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buffer in
      let count = withVaList([Int32(precision), value]) { vsnprintf(buffer.baseAddress, 64, format, $0) }
      let length = max(0, min(Int(count), 63))
      return String(decoding: UnsafeRawBufferPointer(start: buffer.baseAddress, count: length), as: UTF8.self)
    }
  }
}
