import MinionsCore

#if canImport(Glibc)
  import Glibc
#endif

/// The built-in `file_operations` tool: reads, writes and searches files inside one workspace directory,
/// and nowhere else (see `Workspace` for how paths are confined).
///
/// Reading (`read`, `list`, `stat`, `search`) needs no approval; changing (`write`, `append`, `delete`,
/// `mkdir`) does. `search` looks for a plain, case-sensitive substring (not a regular expression, so a
/// pattern cannot make it backtrack for ever) in the text files under a directory.
public struct FileTool: Tool {
  /// Bounds on what one call reads, writes or reports.
  public struct Limits: Sendable, Equatable {
    /// A longer file is shown up to here, and said to be truncated.
    public var maxReadBytes: Int
    /// `content` longer than this is refused (per call, for `write` and `append`).
    public var maxWriteBytes: Int
    public var maxListEntries: Int
    public var maxSearchMatches: Int
    /// Files looked at by one search.
    public var maxSearchFiles: Int
    /// A longer file is searched only up to here.
    public var maxSearchFileBytes: Int

    public init(
      maxReadBytes: Int = 1 << 20, maxWriteBytes: Int = 1 << 20, maxListEntries: Int = 1000,
      maxSearchMatches: Int = 200, maxSearchFiles: Int = 5000, maxSearchFileBytes: Int = 1 << 20
    ) {
      self.maxReadBytes = maxReadBytes
      self.maxWriteBytes = maxWriteBytes
      self.maxListEntries = maxListEntries
      self.maxSearchMatches = maxSearchMatches
      self.maxSearchFiles = maxSearchFiles
      self.maxSearchFileBytes = maxSearchFileBytes
    }
  }

  /// The operations, as the `operation` argument names them.
  public enum Operation: String, Sendable, CaseIterable {
    case read, write, append, list, delete, stat, search, mkdir

    /// Whether the operation changes the workspace (and so needs approval).
    public var changesFiles: Bool {
      switch self {
      case .write, .append, .delete, .mkdir: return true
      case .read, .list, .stat, .search: return false
      }
    }
  }

  /// The tool's name, as models and `tools/list` see it.
  public static let name = "file_operations"

  public let definition: ToolDefinition
  /// The workspace directory, as configured.
  public let workspace: String
  /// The bounds every call runs under.
  public let limits: Limits
  let confinement: Workspace

  public init(workspace: String, limits: Limits = Limits()) {
    self.workspace = workspace
    self.limits = limits
    self.confinement = Workspace(path: workspace)
    self.definition = ToolDefinition(
      name: Self.name,
      description: """
        Reads, writes, lists and searches files in the workspace (paths are relative to it; nothing outside \
        it can be reached). read: a file's text (at most \(limits.maxReadBytes) bytes shown). write/append: \
        content to a file (missing directories are created). list: a directory's entries, directories ending \
        in /. delete: a file, a link or an empty directory. stat: type, size and modification time. search: \
        lines containing pattern (plain text, case-sensitive) in the files under path. mkdir: a directory \
        and any missing parents.
        """,
      category: "files",
      inputSchema: [
        "type": "object",
        "properties": [
          "operation": [
            "type": "string", "enum": .array(Operation.allCases.map { .string($0.rawValue) }),
            "description": "What to do.",
          ],
          "path": [
            "type": "string", "minLength": 1, "maxLength": 4096,
            "description": "A file or directory, relative to the workspace (\".\" is the workspace itself).",
          ],
          "content": [
            "type": "string", "description": "The text to write or append (write, append).",
          ],
          "pattern": [
            "type": "string", "minLength": 1, "maxLength": 1000,
            "description":
              "The text to look for: a plain, case-sensitive substring, not a regular expression (search).",
          ],
        ],
        "required": ["operation", "path"],
        "additionalProperties": false,
      ],
      requiresApproval: true)
  }

  /// Changing operations need approval; reading ones do not. An unknown operation is treated as changing.
  public func needsApproval(_ arguments: JSONValue) -> Bool {
    guard let name = arguments["operation"]?.stringValue, let operation = Operation(rawValue: name) else { return true }
    return operation.changesFiles
  }

  public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
    guard let name = arguments["operation"]?.stringValue, let operation = Operation(rawValue: name) else {
      let names = Operation.allCases.map(\.rawValue).joined(separator: ", ")
      return .failure("operation must be one of \(names)")
    }
    guard let path = arguments["path"]?.stringValue else { return .failure("path is required") }
    // Another workspace for this call (an ACP session's cwd): the same tool, confined there.
    if let other = context.workspace, other != workspace {
      var inner = context
      inner.workspace = nil
      return try await FileTool(workspace: other, limits: limits).run(arguments, context: inner)
    }
    let content = arguments["content"]?.stringValue
    if let editor = context.editorFiles, operation == .read || operation == .write {
      return try await throughEditor(editor, operation, path: path, content: content)
    }
    let pattern = arguments["pattern"]?.stringValue
    let cancelled = AtomicFlag()
    let output = await BlockingWork.run(onCancel: { cancelled.set() }) { [self] in
      do throws(ToolFailure) {
        return try perform(operation, path: path, content: content, pattern: pattern, cancelled: cancelled)
      } catch {
        return .failure(error.message)
      }
    }
    try Task.checkCancellation()
    return output
  }

  /// A read or write through the editor, for a path confined to the workspace like any other.
  private func throughEditor(_ editor: any EditorFiles, _ operation: Operation, path: String, content: String?)
    async throws -> ToolOutput
  {
    let resolved: WorkspacePath
    do {
      resolved = try confinement.resolve(path)
    } catch {
      return .failure(error.message)
    }
    do {
      if operation == .read {
        let text = try await editor.readTextFile(path: resolved.absolute)
        return .success(
          text.isEmpty ? "(\(resolved.relative) is empty)" : text,
          structured: ["path": .string(resolved.relative), "content": .string(text), "via": "editor"])
      }
      guard let content else { return .failure("content is required for write") }
      guard content.utf8.count <= limits.maxWriteBytes else {
        return .failure("refused: content is over \(limits.maxWriteBytes) bytes")
      }
      try await editor.writeTextFile(path: resolved.absolute, content: content)
      return .success(
        "wrote \(counted(content.utf8.count, "byte")) to \(resolved.relative) (in the editor)",
        structured: ["path": .string(resolved.relative), "bytes": .int(content.utf8.count), "via": "editor"])
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      return .failure("the editor could not \(operation.rawValue) \(resolved.relative): \(error)")
    }
  }

  func perform(_ operation: Operation, path: String, content: String?, pattern: String?, cancelled: AtomicFlag)
    throws(ToolFailure) -> ToolOutput
  {
    switch operation {
    case .read: return try read(confinement.resolve(path))
    case .write, .append:
      guard let content else { throw ToolFailure("content is required for \(operation.rawValue)") }
      return try write(content, to: confinement.resolve(path), appending: operation == .append)
    case .list: return try list(confinement.resolve(path))
    case .delete: return try delete(confinement.resolve(path, final: .keep))
    case .stat: return try stat(confinement.resolve(path))
    case .mkdir: return try makeDirectory(confinement.resolve(path))
    case .search:
      guard let pattern, !pattern.isEmpty else { throw ToolFailure("pattern is required for search") }
      var search = FileSearch(pattern: pattern, limits: limits, cancelled: cancelled)
      return try search.run(in: confinement.resolve(path))
    }
  }

  // MARK: Operations (on the tool's own thread)

  private func read(_ path: WorkspacePath) throws(ToolFailure) -> ToolOutput {
    guard path.exists else { throw ToolFailure("\(path.shown) does not exist") }
    guard !path.isRoot else { throw ToolFailure("\(path.shown) is a directory (use list)") }
    let file = try openRegularFile(path)
    let (bytes, size) = try Self.readPrefix(of: file, limit: limits.maxReadBytes, shown: path.shown)
    let truncated = size > bytes.count
    var structured: [String: JSONValue] = [
      "path": .string(path.relative), "size": .int(size), "truncated": .bool(truncated),
    ]
    guard let text = TextDecoding.text(bytes, cutShort: truncated) else {
      structured["binary"] = true
      return .success(
        "\(path.relative) is a binary file (\(counted(size, "byte"))); not shown", structured: .object(structured))
    }
    structured["content"] = .string(text)
    structured["binary"] = false
    var shown = text
    if truncated {
      shown += "\n\n[truncated: showing the first \(bytes.count) of \(size) bytes]"
    } else if text.isEmpty {
      shown = "(\(path.relative) is empty)"
    }
    return .success(shown, structured: .object(structured))
  }

  private func write(_ content: String, to path: WorkspacePath, appending: Bool) throws(ToolFailure) -> ToolOutput {
    let bytes = Array(content.utf8)
    guard bytes.count <= limits.maxWriteBytes else {
      throw ToolFailure(
        "refused: content is \(bytes.count) bytes; at most \(limits.maxWriteBytes) bytes may be written in one call")
    }
    guard !path.isRoot else { throw ToolFailure("\(path.shown) is a directory") }
    let parent = try path.openParent(creatingMissing: true)
    // O_NOFOLLOW: a link put in place of the file after the check is refused, not written through.
    // O_NONBLOCK: opening a FIFO does not wait for a reader (and is then refused as not a regular file).
    let flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (appending ? O_APPEND : 0)
    let raw = openat(parent.raw, path.name, flags, 0o644)
    guard raw >= 0 else { throw Self.openFailure(errno, path) }
    let file = FileDescriptor(raw)
    var info = Glibc.stat()
    guard fstat(file.raw, &info) == 0 else { throw ToolFailure("cannot write \(path.shown): \(errorText(errno))") }
    guard info.st_mode & S_IFMT == S_IFREG else { throw ToolFailure("\(path.shown) is not a regular file") }
    // Another name for the same file could be anywhere, also outside the workspace.
    guard info.st_nlink <= 1 else {
      throw ToolFailure("refused: \(path.shown) has other hard links, which may be outside the workspace")
    }
    let created = !path.exists
    if !appending && ftruncate(file.raw, 0) != 0 {
      throw ToolFailure("cannot write \(path.shown): \(errorText(errno))")
    }
    var written = 0
    while written < bytes.count {
      let n = bytes.withUnsafeBytes { Glibc.write(file.raw, $0.baseAddress! + written, bytes.count - written) }
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else { throw ToolFailure("cannot write \(path.shown): \(errorText(errno))") }
      written += n
    }
    let size = fstat(file.raw, &info) == 0 ? Int(info.st_size) : written
    let structured: JSONValue = [
      "path": .string(path.relative), "bytes": .int(written), "size": .int(size), "created": .bool(created),
    ]
    if appending {
      return .success(
        "appended \(counted(written, "byte")) to \(path.relative) (now \(counted(size, "byte")))",
        structured: structured)
    }
    return .success(
      "wrote \(counted(written, "byte")) to \(path.relative)\(created ? " (new file)" : "")", structured: structured)
  }

  private func list(_ path: WorkspacePath) throws(ToolFailure) -> ToolOutput {
    guard path.exists else { throw ToolFailure("\(path.shown) does not exist") }
    let directory = try path.openDirectory()
    let all = try DirectoryEntry.entries(of: directory, shown: path.shown)
    let shown = all.prefix(limits.maxListEntries)
    let truncated = all.count > shown.count
    var text = shown.map(\.decoratedName).joined(separator: "\n")
    if all.isEmpty { text = "(\(path.relative) is empty)" }
    if truncated { text += "\n[truncated: showing \(shown.count) of \(all.count) entries]" }
    return .success(
      text,
      structured: [
        "path": .string(path.relative), "entries": .array(shown.map { .string($0.decoratedName) }),
        "truncated": .bool(truncated),
      ])
  }

  private func delete(_ path: WorkspacePath) throws(ToolFailure) -> ToolOutput {
    guard path.exists else { throw ToolFailure("\(path.shown) does not exist") }
    let parent = try path.openParent(creatingMissing: false)
    var info = Glibc.stat()
    guard fstatat(parent.raw, path.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
      throw ToolFailure("cannot delete \(path.shown): \(errorText(errno))")
    }
    let kind = DirectoryEntry.kind(of: info.st_mode)
    if kind == .directory {
      guard unlinkat(parent.raw, path.name, AT_REMOVEDIR) == 0 else {
        let code = errno
        if code == ENOTEMPTY || code == EEXIST {
          throw ToolFailure("\(path.shown) is a directory that is not empty (delete what it holds first)")
        }
        throw ToolFailure("cannot delete \(path.shown): \(errorText(code))")
      }
    } else {
      guard unlinkat(parent.raw, path.name, 0) == 0 else {
        throw ToolFailure("cannot delete \(path.shown): \(errorText(errno))")
      }
    }
    let described = kind == .directory ? "directory" : kind == .symlink ? "symbolic link" : "file"
    return .success(
      "deleted the \(described) \(path.relative)",
      structured: ["path": .string(path.relative), "type": .string(kind.rawValue)])
  }

  private func stat(_ path: WorkspacePath) throws(ToolFailure) -> ToolOutput {
    guard path.exists else { throw ToolFailure("\(path.shown) does not exist") }
    var info = Glibc.stat()
    if path.isRoot {
      let root = try path.openRoot()
      guard fstat(root.raw, &info) == 0 else { throw ToolFailure("cannot stat \(path.shown): \(errorText(errno))") }
    } else {
      let parent = try path.openParent(creatingMissing: false)
      guard fstatat(parent.raw, path.name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
        throw ToolFailure("cannot stat \(path.shown): \(errorText(errno))")
      }
    }
    let kind = DirectoryEntry.kind(of: info.st_mode)
    let modified = Timestamp(
      millisecondsSinceEpoch: Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000)
    var mode = String(info.st_mode & 0o7777, radix: 8)
    mode = String(repeating: "0", count: max(0, 4 - mode.count)) + mode
    let size = Int(info.st_size)
    return .success(
      "\(path.relative): \(kind.rawValue), \(counted(size, "byte")), modified \(modified.iso8601()), mode \(mode)",
      structured: [
        "path": .string(path.relative), "type": .string(kind.rawValue), "size": .int(size),
        "modified": .string(modified.iso8601()), "mode": .string(mode),
      ])
  }

  private func makeDirectory(_ path: WorkspacePath) throws(ToolFailure) -> ToolOutput {
    if path.exists {
      var info = Glibc.stat()
      let isDirectory = path.isRoot || (lstat(path.absolute, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
      guard isDirectory else { throw ToolFailure("\(path.shown) exists and is not a directory") }
      return .success(
        "the directory \(path.relative) already exists",
        structured: ["path": .string(path.relative), "created": false])
    }
    let parent = try path.openParent(creatingMissing: true)
    guard mkdirat(parent.raw, path.name, 0o755) == 0 || errno == EEXIST else {
      throw ToolFailure("cannot create \(path.shown): \(errorText(errno))")
    }
    return .success(
      "created the directory \(path.relative)", structured: ["path": .string(path.relative), "created": true])
  }

  // MARK: Helpers

  /// The existing file at `path`, opened for reading without following a link; refused unless it is a
  /// regular file (a FIFO would block, a device could be endless).
  private func openRegularFile(_ path: WorkspacePath) throws(ToolFailure) -> FileDescriptor {
    let parent = try path.openParent(creatingMissing: false)
    let raw = openat(parent.raw, path.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard raw >= 0 else { throw Self.openFailure(errno, path) }
    let file = FileDescriptor(raw)
    var info = Glibc.stat()
    guard fstat(file.raw, &info) == 0 else { throw ToolFailure("cannot read \(path.shown): \(errorText(errno))") }
    switch info.st_mode & S_IFMT {
    case S_IFREG: return file
    case S_IFDIR: throw ToolFailure("\(path.shown) is a directory (use list)")
    default: throw ToolFailure("\(path.shown) is not a regular file")
    }
  }

  private static func openFailure(_ code: Int32, _ path: WorkspacePath) -> ToolFailure {
    switch code {
    case ELOOP: return ToolFailure("refused: \(path.shown) is a symbolic link (it changed after it was checked)")
    case EISDIR: return ToolFailure("\(path.shown) is a directory")
    case ENOENT: return ToolFailure("\(path.shown) does not exist")
    case ENXIO: return ToolFailure("\(path.shown) is not a regular file")
    default: return ToolFailure("cannot open \(path.shown): \(errorText(code))")
    }
  }

  /// At most `limit` bytes from the start of `file`, and the file's size.
  static func readPrefix(of file: borrowing FileDescriptor, limit: Int, shown: String) throws(ToolFailure) -> (
    [UInt8], Int
  ) {
    var info = Glibc.stat()
    guard fstat(file.raw, &info) == 0 else { throw ToolFailure("cannot read \(shown): \(errorText(errno))") }
    let size = Int(info.st_size)
    let wanted = min(size, limit)
    var bytes = [UInt8](repeating: 0, count: wanted)
    var got = 0
    while got < wanted {
      let n = bytes.withUnsafeMutableBytes { Glibc.read(file.raw, $0.baseAddress! + got, wanted - got) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { throw ToolFailure("cannot read \(shown): \(errorText(errno))") }
      if n == 0 { break }
      got += n
    }
    bytes.removeLast(wanted - got)
    return (bytes, max(size, got))
  }
}
