#if canImport(Glibc)
  import Glibc
#endif

/// One entry of a directory, as `readdir` reports it (a symbolic link is a link, never followed).
struct DirectoryEntry: Sendable, Equatable {
  enum Kind: String, Sendable {
    case file, directory, symlink, other
  }

  var name: String
  var kind: Kind

  /// The name as `ls -F` shows it: a trailing `/` for a directory, `@` for a symbolic link.
  var decoratedName: String {
    switch kind {
    case .directory: return name + "/"
    case .symlink: return name + "@"
    case .file, .other: return name
    }
  }

  /// The entries of the open directory `directory` (without `.` and `..`), sorted by name.
  static func entries(of directory: borrowing FileDescriptor, shown: String) throws(ToolFailure) -> [DirectoryEntry] {
    let copy = dup(directory.raw)  // fdopendir takes the descriptor; the caller keeps its own
    guard copy >= 0, let stream = fdopendir(copy) else {
      let code = errno
      if copy >= 0 { close(copy) }
      throw ToolFailure("cannot list \(shown): \(errorText(code))")
    }
    defer { closedir(stream) }
    var entries: [DirectoryEntry] = []
    while let raw = readdir(stream) {
      let name = withUnsafeBytes(of: raw.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
      if name == "." || name == ".." { continue }
      entries.append(DirectoryEntry(name: name, kind: kind(of: raw.pointee.d_type, name: name, in: directory)))
    }
    return entries.sorted { $0.name < $1.name }
  }

  private static func kind(of type: UInt8, name: String, in directory: borrowing FileDescriptor) -> Kind {
    switch Int(type) {
    case DT_REG: return .file
    case DT_DIR: return .directory
    case DT_LNK: return .symlink
    case DT_UNKNOWN:
      var info = stat()
      guard fstatat(directory.raw, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return .other }
      return kind(of: info.st_mode)
    default: return .other
    }
  }

  static func kind(of mode: mode_t) -> Kind {
    switch mode & S_IFMT {
    case S_IFREG: return .file
    case S_IFDIR: return .directory
    case S_IFLNK: return .symlink
    default: return .other
    }
  }
}
