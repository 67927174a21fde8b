/// Bytes shown as text when they are text: valid UTF-8 without NUL bytes.
enum TextDecoding {
  /// The bytes as a string, or nil when they look binary. With `cutShort` (the bytes are a prefix of
  /// something longer) an incomplete UTF-8 sequence at the very end is dropped rather than refused.
  static func text(_ bytes: ArraySlice<UInt8>, cutShort: Bool = false) -> String? {
    var end = bytes.endIndex
    if cutShort {
      // Back up over at most three continuation bytes to the start of the last sequence.
      var lead = end
      while lead > bytes.startIndex && end - lead < 4 {
        lead -= 1
        if bytes[lead] & 0xC0 != 0x80 { break }
      }
      if lead < end {
        let first = bytes[lead]
        let length = first < 0x80 ? 1 : first >= 0xF0 ? 4 : first >= 0xE0 ? 3 : first >= 0xC0 ? 2 : 1
        if end - lead < length { end = lead }
      }
    }
    let slice = bytes[bytes.startIndex..<end]
    guard !slice.contains(0) else { return nil }
    return String(validating: slice, as: UTF8.self)
  }

  static func text(_ bytes: [UInt8], cutShort: Bool = false) -> String? { text(bytes[...], cutShort: cutShort) }
}
