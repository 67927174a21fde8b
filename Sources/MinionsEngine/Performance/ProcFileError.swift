#if canImport(Glibc)
  import Glibc
#endif

/// Why a figure could not be taken from a `/proc` file: the file could not be read, or its text was
/// not what the kernel writes.
public enum ProcFileError: Error, Sendable, Equatable, CustomStringConvertible {
  /// `open` or `read` failed with `errno`.
  case unreadable(path: String, errno: Int32)
  /// The text did not parse; `file` names the kind of file (`/proc/stat`), `reason` says what was wrong.
  case malformed(file: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let code): return "cannot read \(path): \(String(cString: strerror(code)))"
    case .malformed(let file, let reason): return "cannot parse \(file): \(reason)"
    }
  }
}
