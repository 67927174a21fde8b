import Foundation
import MinionsCore
import MinionsEngine
import Testing

/// A scratch directory for one test, removed afterwards: `ws/` is the workspace, and next to it
/// `outside/` (holding `secret.txt`) and `ws_evil/`, a sibling whose name starts with the workspace's.
final class SandboxDirectory: Sendable {
  let root: String
  var workspace: String { root + "/ws" }
  var outside: String { root + "/outside" }
  var sibling: String { root + "/ws_evil" }
  static let secret = "the secret outside the workspace"

  init() throws {
    var template = Array((NSTemporaryDirectory() + "/minions-tools-XXXXXX").utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
    // The real path, so tests compare with what the tools resolve (/tmp may be a link).
    root = URL(fileURLWithPath: String(cString: made)).resolvingSymlinksInPath().path
    for directory in [workspace, outside, sibling] {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    try write(outside + "/secret.txt", Self.secret)
    try write(sibling + "/evil.txt", "sibling")
  }

  deinit { try? FileManager.default.removeItem(atPath: root) }

  /// The absolute path of `path` (absolute already, or relative to the workspace).
  func path(_ path: String) -> String { path.hasPrefix("/") ? path : workspace + "/" + path }

  func write(_ path: String, _ text: String) throws {
    let full = self.path(path)
    try FileManager.default.createDirectory(
      atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try Data(text.utf8).write(to: URL(fileURLWithPath: full))
  }

  func write(_ path: String, bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: self.path(path)))
  }

  func read(_ path: String) -> String? {
    FileManager.default.contents(atPath: self.path(path)).map { String(decoding: $0, as: UTF8.self) }
  }

  func exists(_ path: String) -> Bool {
    var info = stat()
    return lstat(self.path(path), &info) == 0
  }

  func makeDirectory(_ path: String) throws {
    try FileManager.default.createDirectory(atPath: self.path(path), withIntermediateDirectories: true)
  }

  /// A symbolic link at `path` pointing at `target` (kept as given: relative or absolute).
  func link(_ path: String, to target: String) throws {
    try FileManager.default.createSymbolicLink(atPath: self.path(path), withDestinationPath: target)
  }
}

/// Calls `tool` the way the registry does: the arguments must pass the tool's schema first.
func call(_ tool: some Tool, _ arguments: JSONValue, sourceLocation: SourceLocation = #_sourceLocation)
  async throws -> ToolOutput
{
  do {
    try JSONSchemaValidator.validate(arguments, against: tool.definition.inputSchema)
  } catch {
    Issue.record("arguments \(arguments) break the schema: \(error)", sourceLocation: sourceLocation)
  }
  return try await tool.run(arguments, context: ToolContext())
}

/// Whether `arguments` pass the tool's schema.
func schemaAccepts(_ tool: some Tool, _ arguments: JSONValue) -> Bool {
  (try? JSONSchemaValidator.validate(arguments, against: tool.definition.inputSchema)) != nil
}

/// Runs `body` on a thread of its own (for blocking setup, such as opening a `Database`), never on the
/// cooperative pool.
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
  try await withCheckedThrowingContinuation { continuation in
    spawnThread(name: "test-setup") { continuation.resume(with: Result { try body() }) }
  }
}
