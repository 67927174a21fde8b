#if canImport(Glibc)
  import Glibc
#endif

extension String {
  /// The string without leading and trailing whitespace (spaces, tabs, line ends, other Unicode spaces).
  public func trimmed() -> String {
    var scalars = Substring(self).unicodeScalars
    while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
    while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
    return String(scalars)
  }

  /// The string padded with spaces on the right to `width` characters (never truncated).
  public func padded(to width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}

/// The process's environment variables (without Foundation, which the engine does not link).
public enum ProcessEnvironment {
  public static var current: [String: String] {
    var result: [String: String] = [:]
    var p = environ
    while let entry = p.pointee {
      let text = String(cString: entry)
      if let eq = text.firstIndex(of: "=") {
        result[String(text[..<eq])] = String(text[text.index(after: eq)...])
      }
      p += 1
    }
    return result
  }
}
