#if canImport(Glibc)
  import Glibc
#endif

/// Why a program could not be started; the description is a sentence a person can act on.
public enum SubprocessError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The command has no program name.
  case emptyCommand
  /// The program has no `/` and is on none of the directories of `PATH`.
  case notFound(program: String, searchPath: String)
  /// The program's path names nothing.
  case noSuchFile(path: String)
  /// The path exists but is a directory, or is not executable for us.
  case notExecutable(path: String)
  case workingDirectoryMissing(String)
  /// An argument, a variable name or value that cannot be passed to exec (a NUL byte, `=` in a name).
  case invalidArgument(String)
  /// A system call failed (`pipe`, `posix_spawn`) with this errno.
  case systemCall(String, errno: Int32)

  public var description: String {
    switch self {
    case .emptyCommand:
      return "the command is empty: it needs at least the program to run"
    case .notFound(let program, let searchPath):
      return "command not found: \(program) (looked in PATH=\(searchPath))"
    case .noSuchFile(let path):
      return "no such file: \(path)"
    case .notExecutable(let path):
      return "not an executable file: \(path) (is its execute permission set?)"
    case .workingDirectoryMissing(let path):
      return "the working directory \(path) does not exist or is not a directory"
    case .invalidArgument(let message):
      return message
    case .systemCall(let call, let code):
      var detail = String(cString: strerror(code))
      if call == "posix_spawn" && code == ENOEXEC {
        detail += " (a script needs a #! line naming its interpreter)"
      }
      return "\(call) failed: \(detail)"
    }
  }
}
