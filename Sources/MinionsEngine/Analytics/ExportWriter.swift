import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// Streams rows to a new file as CSV, JSON or NDJSON in constant memory.
///
/// Rows are encoded into a buffer that is written out with `write(2)` whenever the next row would
/// take it past `flushBytes`, so memory is that buffer plus one encoded row, whatever the row count
/// (a row larger than the buffer is written on its own). The bytes are exactly what `TableFormatter`
/// returns for the same rows. The file is created with mode 0600 and never replaces an existing one;
/// a missing parent directory is created with mode 0700. Until `finish()` succeeds the file is
/// provisional: any error, or dropping the writer unfinished, removes it. The file is not fsynced: an
/// export is a copy that can be made again.
public final class ExportWriter: Sendable {
  /// Buffered bytes that trigger a write.
  public static let flushBytes = 64 * 1024

  private enum Phase { case open, finished, abandoned }

  private struct State {
    var fd: Int32
    /// The file's identity, so abandoning removes this file and not one put in its place.
    var device: UInt64
    var inode: UInt64
    var phase = Phase.open
    var buffer: [UInt8] = []
    /// One encoded row, before it joins the buffer.
    var record: [UInt8] = []
    var rows = 0
    var bytesWritten = 0
    var peakBufferedBytes = 0
  }

  public let path: String
  public let format: TabularFormat
  private let formatter: TableFormatter
  private let state: Mutex<State>

  /// The `exports` directory inside the engine's data directory, where exports belong.
  public static func exportsDirectory(dataDirectory: String) -> String {
    dataDirectory.hasSuffix("/") ? dataDirectory + "exports" : dataDirectory + "/exports"
  }

  /// Creates `path` (failing if it exists) and writes the header: the CSV header record or JSON's `[`.
  public init(path: String, format: TabularFormat, columns: [String]) throws(ExportError) {
    guard format != .markdown else { throw .unsupportedFormat(format) }
    guard !columns.isEmpty else { throw .invalidColumns("an export needs at least one column") }
    if let duplicate = Self.firstDuplicate(columns) { throw .invalidColumns("\"\(duplicate)\" appears twice") }
    let nameStart = path.lastIndex(of: "/").map { path.index(after: $0) } ?? path.startIndex
    guard nameStart < path.endIndex else { throw .io(operation: "create", path: path, errno: EISDIR) }
    let directory = String(path[..<nameStart])
    if !directory.isEmpty { try Self.makeDirectory(directory) }

    let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      let code = errno
      throw code == EEXIST ? .fileExists(path: path) : .io(operation: "create", path: path, errno: code)
    }
    var info = stat()
    _ = fstat(fd, &info)
    self.path = path
    self.format = format
    formatter = TableFormatter(columns: columns)
    let initial = State(fd: fd, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    state = Mutex(initial)
    var header: [UInt8] = []
    switch format {
    case .csv: formatter.appendCSVHeader(into: &header)
    case .json: header.append(UInt8(ascii: "["))
    case .ndjson, .markdown: break
    }
    // Should this fail, the writer is abandoned and deinit finds nothing left to remove.
    try state.withLock { (state: inout State) throws(ExportError) in
      state.buffer.reserveCapacity(Self.flushBytes)
      try enqueue(header, &state)
    }
  }

  /// Appends one row; its cells must match the columns in number.
  public func write(row: [JSONValue]) throws(ExportError) {
    try state.withLock { (state: inout State) throws(ExportError) in
      guard state.phase == .open else { throw .closed }
      guard row.count == formatter.columns.count else {
        abandon(&state)
        throw .rowWidth(expected: formatter.columns.count, got: row.count)
      }
      state.record.removeAll(keepingCapacity: true)
      switch format {
      case .csv:
        formatter.appendCSVRecord(row, into: &state.record)
      case .json:
        state.record.append(contentsOf: state.rows == 0 ? [0x0A] : [UInt8(ascii: ","), 0x0A])
        formatter.appendJSONObject(row, into: &state.record)
      case .ndjson, .markdown:
        formatter.appendJSONObject(row, into: &state.record)
        state.record.append(0x0A)
      }
      try enqueue(state.record, &state)
      state.rows += 1
    }
  }

  /// Writes the rest (JSON's closing `]`) and closes the file; returns the rows and bytes written.
  @discardableResult
  public func finish() throws(ExportError) -> (rows: Int, bytes: Int) {
    try state.withLock { (state: inout State) throws(ExportError) in
      guard state.phase == .open else { throw .closed }
      if format == .json {
        try enqueue(state.rows == 0 ? [UInt8(ascii: "]"), 0x0A] : [0x0A, UInt8(ascii: "]"), 0x0A], &state)
      }
      try flush(&state)
      let fd = state.fd
      state.fd = -1
      guard close(fd) == 0 else {
        let code = errno
        abandon(&state)
        throw .io(operation: "close", path: path, errno: code)
      }
      state.phase = .finished
      return (state.rows, state.bytesWritten)
    }
  }

  /// The most bytes the buffer has held: at most `flushBytes`, for any number of rows.
  public var peakBufferedBytes: Int { state.withLock { $0.peakBufferedBytes } }

  /// Rows written so far.
  public var rowCount: Int { state.withLock { $0.rows } }

  deinit {
    state.withLock { state in
      if state.phase == .open { abandon(&state) }
    }
  }

  /// Adds `bytes` to the buffer, writing the buffer out first if they would take it past `flushBytes`,
  /// and writing them directly if they alone are larger.
  private func enqueue(_ bytes: [UInt8], _ state: inout State) throws(ExportError) {
    if state.buffer.count + bytes.count > Self.flushBytes {
      try flush(&state)
      if bytes.count > Self.flushBytes {
        try writeAll(bytes, &state)
        return
      }
    }
    state.buffer.append(contentsOf: bytes)
    state.peakBufferedBytes = max(state.peakBufferedBytes, state.buffer.count)
  }

  private func flush(_ state: inout State) throws(ExportError) {
    guard !state.buffer.isEmpty else { return }
    try writeAll(state.buffer, &state)
    state.buffer.removeAll(keepingCapacity: true)
  }

  /// `write(2)` until every byte is out; on failure the export is abandoned.
  private func writeAll(_ bytes: [UInt8], _ state: inout State) throws(ExportError) {
    let fd = state.fd
    let failure: Int32? = bytes.withUnsafeBytes { raw in
      var offset = 0
      while offset < raw.count {
        let written = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
        if written < 0 {
          if errno == EINTR { continue }
          return errno
        }
        // A regular file takes at least one byte per call or reports an error, so this loop ends.
        offset += written
      }
      return nil
    }
    if let failure {
      abandon(&state)
      throw .io(operation: "write", path: path, errno: failure)
    }
    state.bytesWritten += bytes.count
  }

  /// Closes and removes the provisional file, if it is still the one this writer created.
  private func abandon(_ state: inout State) {
    if state.fd >= 0 {
      close(state.fd)
      state.fd = -1
    }
    state.phase = .abandoned
    state.buffer = []
    state.record = []
    var info = stat()
    if lstat(path, &info) == 0, UInt64(info.st_dev) == state.device, UInt64(info.st_ino) == state.inode {
      unlink(path)
    }
  }

  private static func firstDuplicate(_ columns: [String]) -> String? {
    var seen = Set<String>()
    return columns.first { !seen.insert($0).inserted }
  }

  /// Creates `directory` and any missing parents with mode 0700; an existing directory is left as is.
  private static func makeDirectory(_ directory: String) throws(ExportError) {
    var missing: [String] = []
    var current = directory
    // Walk up until a directory exists (bounded by the path's components).
    while !current.isEmpty && current != "/" {
      if mkdir(current, 0o700) == 0 || errno == EEXIST { break }
      guard errno == ENOENT else { throw .io(operation: "create directory", path: current, errno: errno) }
      missing.append(current)
      var trimmed = current
      while trimmed.hasSuffix("/") { trimmed.removeLast() }
      guard let slash = trimmed.lastIndex(of: "/") else { break }
      current = String(trimmed[..<slash])
    }
    for path in missing.reversed() where mkdir(path, 0o700) != 0 && errno != EEXIST {
      throw .io(operation: "create directory", path: path, errno: errno)
    }
  }
}
