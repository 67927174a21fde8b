#if canImport(Glibc)
  import Glibc
#endif

/// A path inside a workspace, as `Workspace.resolve` found it: its components below the workspace, of
/// which the first `existingCount` exist (as real names: no symbolic links, no `..`).
///
/// It is opened by walking down from the workspace one component at a time (`openat` with `O_NOFOLLOW`),
/// never by its full path, so that a directory swapped for a symbolic link after the check is refused
/// rather than followed.
struct WorkspacePath: Sendable {
  /// The workspace's real path.
  let root: String
  let components: [String]
  let existingCount: Int
  /// The path as the caller gave it, quoted, for messages.
  let shown: String

  var exists: Bool { existingCount == components.count }
  var isRoot: Bool { components.isEmpty }
  /// The last component; the workspace's own name for the root.
  var name: String { components.last ?? "." }
  /// Relative to the workspace (`.` for the workspace itself).
  var relative: String { components.isEmpty ? "." : components.joined(separator: "/") }
  var absolute: String { components.isEmpty ? root : (root == "/" ? "" : root) + "/" + relative }

  /// The workspace directory.
  func openRoot() throws(ToolFailure) -> FileDescriptor {
    let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw ToolFailure("cannot open the workspace: \(errorText(errno))") }
    return FileDescriptor(fd)
  }

  /// The directory holding the last component. Missing directories on the way are created (mode 0755)
  /// when `creatingMissing`, else refused.
  func openParent(creatingMissing: Bool) throws(ToolFailure) -> FileDescriptor {
    var directory = try openRoot()
    for (index, part) in components.dropLast().enumerated() {
      if index >= existingCount {
        guard creatingMissing else { throw ToolFailure("\(shown) does not exist") }
        if mkdirat(directory.raw, part, 0o755) != 0 && errno != EEXIST {
          throw ToolFailure("cannot create the directory \(part) for \(shown): \(errorText(errno))")
        }
      }
      directory = try Self.openDirectory(part, in: directory, shown: shown)
    }
    return directory
  }

  /// The path itself, which must be a directory.
  func openDirectory() throws(ToolFailure) -> FileDescriptor {
    if isRoot { return try openRoot() }
    let parent = try openParent(creatingMissing: false)
    return try Self.openDirectory(name, in: parent, shown: shown)
  }

  /// `name` in `directory`, as a directory, without following a link.
  static func openDirectory(_ name: String, in directory: borrowing FileDescriptor, shown: String)
    throws(ToolFailure) -> FileDescriptor
  {
    let fd = openat(directory.raw, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else {
      let code = errno
      switch code {
      case ELOOP: throw ToolFailure("refused: \(shown) changed while it was opened (a part became a symbolic link)")
      case ENOTDIR: throw ToolFailure("\(shown) is not a directory (or a part of it is not)")
      case ENOENT: throw ToolFailure("\(shown) does not exist")
      default: throw ToolFailure("cannot open \(shown): \(errorText(code))")
      }
    }
    return FileDescriptor(fd)
  }
}
