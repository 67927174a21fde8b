import MinionsCore

/// Safe, unique file names for exports: `audit-20261125T214000Z-a1b2c3.csv`.
public enum ExportFileName {
  /// Longest dataset part kept in a name.
  static let maxDatasetCharacters = 40

  /// `<dataset>-<UTC time>-<6 hex digits>.<extension>`. The dataset name is reduced to lowercase ASCII
  /// letters, digits, `_` and single `-` (anything else, path separators and dots included, becomes
  /// `-`), so nothing from it can reach outside the exports directory or hide the file; `export` when
  /// nothing is left. `token` (random by default) keeps two exports in the same second apart.
  public static func make(
    dataset: String, at time: Timestamp, format: TabularFormat, token: UInt32 = .random(in: 0...0xFF_FFFF)
  ) -> String {
    "\(slug(dataset))-\(compactTime(time))-\(hex(token & 0xFF_FFFF)).\(format.fileExtension)"
  }

  static func slug(_ name: String) -> String {
    var out: [UInt8] = []
    for byte in name.utf8 {
      if out.count >= maxDatasetCharacters { break }
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"):
        out.append(byte)
      case UInt8(ascii: "A")...UInt8(ascii: "Z"):
        out.append(byte + 32)
      default:
        // Non-ASCII text arrives as several bytes; they all collapse into one dash.
        if let last = out.last, last != UInt8(ascii: "-") { out.append(UInt8(ascii: "-")) }
      }
    }
    while out.last == UInt8(ascii: "-") { out.removeLast() }
    return out.isEmpty ? "export" : String(decoding: out, as: UTF8.self)
  }

  /// `20261125T214000Z`.
  static func compactTime(_ time: Timestamp) -> String {
    String(time.iso8601().filter { $0 != "-" && $0 != ":" })
  }

  private static func hex(_ value: UInt32) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
  }
}
