import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// `file_operations` `search`: the lines containing a plain substring in the text files under a path
/// of the workspace, in name order, depth first.
///
/// Symbolic links are never followed (a link cannot lead the walk outside) and binary files (a NUL in
/// their first 8 KiB) are skipped. The walk stops at the limits on matches and files, and says so.
struct FileSearch {
  struct Match: Sendable, Equatable {
    var path: String
    var line: Int
    var text: String
  }

  let pattern: [UInt8]
  let limits: FileTool.Limits
  let cancelled: AtomicFlag
  private(set) var matches: [Match] = []
  private(set) var filesSearched = 0
  /// Files searched only up to `maxSearchFileBytes`.
  private(set) var filesCutShort = 0
  /// Why the walk ended early, if it did.
  private(set) var stoppedBecause: String?

  /// The deepest directory nesting followed.
  static let maxDepth = 64
  /// A matching line longer than this is shown cut.
  static let maxLineBytes = 300

  init(pattern: String, limits: FileTool.Limits, cancelled: AtomicFlag) {
    self.pattern = Array(pattern.utf8)
    self.limits = limits
    self.cancelled = cancelled
  }

  mutating func run(in path: WorkspacePath) throws(ToolFailure) -> ToolOutput {
    guard path.exists else { throw ToolFailure("\(path.shown) does not exist") }
    var info = stat()
    if !path.isRoot {
      let parent = try path.openParent(creatingMissing: false)
      guard fstatat(parent.raw, path.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
        throw ToolFailure("cannot search \(path.shown): \(errorText(errno))")
      }
      if info.st_mode & S_IFMT == S_IFREG {
        searchFile(path.name, in: parent, relative: path.relative)
        return output(for: path)
      }
    }
    let directory = try path.openDirectory()
    walk(directory, relative: path.isRoot ? "" : path.relative, depth: 0)
    return output(for: path)
  }

  private var isDone: Bool { stoppedBecause != nil || cancelled.isSet }

  private mutating func walk(_ directory: borrowing FileDescriptor, relative: String, depth: Int) {
    guard let entries = try? DirectoryEntry.entries(of: directory, shown: relative) else { return }
    for entry in entries {
      if isDone { return }
      let child = relative.isEmpty ? entry.name : relative + "/" + entry.name
      switch entry.kind {
      case .file:
        searchFile(entry.name, in: directory, relative: child)
      case .directory:
        guard depth + 1 < Self.maxDepth else { continue }
        guard let sub = try? WorkspacePath.openDirectory(entry.name, in: directory, shown: child) else { continue }
        walk(sub, relative: child, depth: depth + 1)
      case .symlink, .other:
        continue
      }
    }
  }

  private mutating func searchFile(_ name: String, in directory: borrowing FileDescriptor, relative: String) {
    guard filesSearched < limits.maxSearchFiles else {
      stoppedBecause = "searched the first \(limits.maxSearchFiles) files"
      return
    }
    let raw = openat(directory.raw, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard raw >= 0 else { return }
    let file = FileDescriptor(raw)
    var info = stat()
    guard fstat(file.raw, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return }
    guard let (bytes, size) = try? FileTool.readPrefix(of: file, limit: limits.maxSearchFileBytes, shown: relative)
    else { return }
    filesSearched += 1
    if bytes.prefix(8192).contains(0) { return }  // binary
    if size > bytes.count { filesCutShort += 1 }
    scan(bytes, relative: relative)
  }

  /// Records every line of `bytes` containing the pattern (once per line).
  private mutating func scan(_ bytes: [UInt8], relative: String) {
    guard !pattern.isEmpty, bytes.count >= pattern.count else { return }
    var found: [(start: Int, end: Int)] = []
    var offset = 0
    while offset < bytes.count, let hit = bytes[offset...].firstRange(of: pattern) {
      var start = hit.lowerBound
      while start > 0 && bytes[start - 1] != 0x0A { start -= 1 }
      let end = bytes[hit.lowerBound...].firstIndex(of: 0x0A) ?? bytes.count
      found.append((start, end))
      offset = end + 1
    }
    var lineNumber = 1
    var counted = 0
    for (start, end) in found {
      if matches.count >= limits.maxSearchMatches {
        stoppedBecause = "found the first \(limits.maxSearchMatches) matches"
        return
      }
      for i in counted..<start where bytes[i] == 0x0A { lineNumber += 1 }
      counted = start
      var lineEnd = end
      if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
      let cut = min(lineEnd, start + Self.maxLineBytes)
      var text = TextDecoding.text(bytes[start..<cut], cutShort: cut < lineEnd) ?? ""
      if cut < lineEnd { text += "…" }
      matches.append(Match(path: relative, line: lineNumber, text: text))
    }
  }

  private func output(for path: WorkspacePath) -> ToolOutput {
    let quoted = "\"\(String(decoding: pattern, as: UTF8.self))\""
    var lines = matches.map { "\($0.path):\($0.line): \($0.text)" }
    if matches.isEmpty {
      lines.append(
        "no lines contain \(quoted) in \(path.relative) (\(counted(filesSearched, "file")) searched)")
    }
    if let stoppedBecause { lines.append("[truncated: the search stopped after it \(stoppedBecause)]") }
    if filesCutShort > 0 {
      let files = filesCutShort == 1 ? "1 file was" : "\(filesCutShort) files were"
      lines.append("[\(files) searched only in their first \(counted(limits.maxSearchFileBytes, "byte"))]")
    }
    let structured: JSONValue = [
      "path": .string(path.relative),
      "matches": .array(
        matches.map { ["path": .string($0.path), "line": .int($0.line), "text": .string($0.text)] }),
      "filesSearched": .int(filesSearched),
      "truncated": .bool(stoppedBecause != nil),
    ]
    return .success(lines.joined(separator: "\n"), structured: structured)
  }
}
