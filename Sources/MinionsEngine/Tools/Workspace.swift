#if canImport(Glibc)
  import Glibc
#endif

/// The directory the file and database tools are confined to, and the resolution of the paths they are
/// given.
///
/// A path is resolved the way the kernel would follow it: its deepest existing ancestor through
/// `realpath` (every `..` and symbolic link applied), the parts that do not exist yet appended. The result
/// is compared with the workspace's own real path component by component, so neither `..`, an absolute
/// path, a symbolic link (to a file or a directory) nor a sibling sharing a prefix (`/ws_evil` next to
/// `/ws`) leads outside. Files are then opened by walking down from the workspace with `O_NOFOLLOW` on
/// every component (`WorkspacePath`), so a link swapped in after the check is not followed either.
struct Workspace: Sendable {
  /// The workspace as configured; its real path is taken on every call, so it may be created later.
  let path: String

  init(path: String) { self.path = path }

  /// What the last component of a path stands for.
  enum FinalComponent {
    /// What it leads to: a symbolic link is followed (and must stay inside).
    case follow
    /// The entry itself: a symbolic link is the link (deleting it deletes the link, not its target).
    case keep
  }

  /// The workspace's real path.
  func realRoot() throws(ToolFailure) -> String {
    guard let resolved = realpath(path, nil) else {
      throw ToolFailure("the workspace \(path) is not available: \(errorText(errno))")
    }
    defer { free(resolved) }
    return String(cString: resolved)
  }

  /// `input` (relative to the workspace, or absolute) resolved and checked to be inside.
  func resolve(_ input: String, final: FinalComponent = .follow) throws(ToolFailure) -> WorkspacePath {
    let shown = "\"\(input)\""
    guard !input.utf8.contains(0) else { throw ToolFailure("refused: the path contains a NUL byte") }
    guard input.utf8.count <= 4096 else { throw ToolFailure("refused: the path is longer than 4096 bytes") }
    let root = try realRoot()
    let rootParts = Self.components(of: root)
    var parts = Self.components(of: input.hasPrefix("/") ? input : root + "/" + input)
    switch final {
    case .follow:
      let (real, missing) = try locate(parts, shown: shown)
      try confine(real, to: rootParts, shown: shown)
      let inside = Array(real.dropFirst(rootParts.count))
      return WorkspacePath(root: root, components: inside + missing, existingCount: inside.count, shown: shown)
    case .keep:
      guard let last = parts.popLast(), last != ".", last != ".." else {
        throw ToolFailure("\(shown) does not name an entry of the workspace")
      }
      let (real, missing) = try locate(parts, shown: shown)
      if real + [last] == rootParts && missing.isEmpty {
        throw ToolFailure("refused: \(shown) is the workspace itself")
      }
      try confine(real, to: rootParts, shown: shown)
      guard missing.isEmpty else { throw ToolFailure("\(shown) does not exist") }
      let inside = Array(real.dropFirst(rootParts.count)) + [last]
      var info = stat()
      let exists = lstat("/" + (real + [last]).joined(separator: "/"), &info) == 0
      return WorkspacePath(
        root: root, components: inside, existingCount: exists ? inside.count : inside.count - 1, shown: shown)
    }
  }

  /// The real components of the deepest existing ancestor of `parts`, and the parts after it.
  private func locate(_ parts: [String], shown: String) throws(ToolFailure) -> (real: [String], missing: [String]) {
    var count = parts.count
    while true {
      let prefix = "/" + parts[0..<count].joined(separator: "/")
      if let resolved = realpath(prefix, nil) {
        let real = String(cString: resolved)
        free(resolved)
        var missing = Array(parts[count...])
        if let first = missing.first {
          // realpath found nothing there, but lstat may: a link whose target does not exist. Creating
          // through it would create the target, wherever it points.
          var info = stat()
          if lstat((real == "/" ? "" : real) + "/" + first, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFLNK {
              throw ToolFailure("refused: \(shown) goes through a symbolic link whose target does not exist")
            }
            throw ToolFailure("cannot resolve \(shown)")
          }
        }
        missing.removeAll { $0 == "." }
        if missing.contains("..") {
          throw ToolFailure("\(shown) does not exist (it has .. after a directory that does not exist)")
        }
        return (Self.components(of: real), missing)
      }
      let code = errno
      guard code == ENOENT, count > 0 else {
        switch code {
        case ENOTDIR: throw ToolFailure("\(shown) does not exist: a part of it is a file, not a directory")
        case ELOOP: throw ToolFailure("refused: \(shown) has a loop of symbolic links")
        default: throw ToolFailure("cannot resolve \(shown): \(errorText(code))")
        }
      }
      count -= 1
    }
  }

  private func confine(_ real: [String], to root: [String], shown: String) throws(ToolFailure) {
    guard real.starts(with: root) else {
      throw ToolFailure("refused: \(shown) is outside the workspace (it leads to /\(real.joined(separator: "/")))")
    }
  }

  /// The non-empty components of a path: `/a//b/` is `["a", "b"]`.
  static func components(of path: String) -> [String] {
    path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
  }
}
