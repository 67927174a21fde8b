#if canImport(Glibc)
  import Glibc
#endif

/// Why an export could not be written. Every one of them leaves no file behind.
public enum ExportError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The format needs every row before its first line (Markdown aligns columns), so it cannot stream.
  case unsupportedFormat(TabularFormat)
  /// No columns, or a name given twice.
  case invalidColumns(String)
  /// A row with a different number of cells than there are columns.
  case rowWidth(expected: Int, got: Int)
  /// The file exists already; exports never overwrite.
  case fileExists(path: String)
  /// A system call failed with `errno`.
  case io(operation: String, path: String, errno: Int32)
  /// The writer was finished, or gave up after an earlier error.
  case closed

  public var description: String {
    switch self {
    case .unsupportedFormat(let format):
      return "\(format.rawValue) cannot be streamed to a file; use csv, json or ndjson"
    case .invalidColumns(let reason): return "invalid columns: \(reason)"
    case .rowWidth(let expected, let got): return "a row has \(got) cells; there are \(expected) columns"
    case .fileExists(let path): return "\(path) exists already"
    case .io(let operation, let path, let code): return "\(operation) \(path): \(String(cString: strerror(code)))"
    case .closed: return "the export is finished or abandoned"
    }
  }
}
