import Foundation
import MinionsCore
import Testing

@testable import MinionsEngine

@Suite struct FileToolTests {
  let box: SandboxDirectory
  let tool: FileTool

  init() throws {
    box = try SandboxDirectory()
    tool = FileTool(workspace: box.workspace)
  }

  // MARK: Every operation

  @Test func readsAFile() async throws {
    try box.write("notes/today.txt", "first line\nsecond line ünïcode\n")
    let out = try await call(tool, ["operation": "read", "path": "notes/today.txt"])
    #expect(!out.isError)
    #expect(out.text == "first line\nsecond line ünïcode\n")
    #expect(out.structured?["content"] == "first line\nsecond line ünïcode\n")
    #expect(out.structured?["truncated"] == false && out.structured?["path"] == "notes/today.txt")
  }

  @Test func readsAnAbsolutePathInsideTheWorkspace() async throws {
    try box.write("a.txt", "inside")
    let out = try await call(tool, ["operation": "read", "path": .string(box.workspace + "/a.txt")])
    #expect(!out.isError && out.text == "inside")
  }

  @Test func aFileOverTheReadLimitIsShownTruncatedAndSaysSo() async throws {
    let small = FileTool(workspace: box.workspace, limits: .init(maxReadBytes: 1000))
    try box.write("big.txt", String(repeating: "0123456789", count: 500))
    let out = try await call(small, ["operation": "read", "path": "big.txt"])
    #expect(!out.isError)
    #expect(out.structured?["truncated"] == true && out.structured?["size"] == 5000)
    #expect(out.structured?["content"]?.stringValue?.utf8.count == 1000)
    #expect(out.text.hasSuffix("[truncated: showing the first 1000 of 5000 bytes]"))
  }

  @Test func aBinaryFileIsNotShown() async throws {
    try box.write("blob.bin", bytes: [0x00, 0xFF, 0x10, 0x00, 0x80])
    let out = try await call(tool, ["operation": "read", "path": "blob.bin"])
    #expect(!out.isError)
    #expect(out.text == "blob.bin is a binary file (5 bytes); not shown")
    #expect(out.structured?["binary"] == true && out.structured?["content"] == nil)
  }

  @Test func writeCreatesTheFileAndMissingDirectoriesThenReplacesIt() async throws {
    var out = try await call(tool, ["operation": "write", "path": "deep/er/file.txt", "content": "one"])
    #expect(!out.isError)
    #expect(out.text == "wrote 3 bytes to deep/er/file.txt (new file)")
    #expect(out.structured?["created"] == true)
    #expect(box.read("deep/er/file.txt") == "one")
    out = try await call(tool, ["operation": "write", "path": "deep/er/file.txt", "content": "2"])
    #expect(!out.isError && out.structured?["created"] == false)
    #expect(box.read("deep/er/file.txt") == "2")
  }

  @Test func appendAddsToTheEnd() async throws {
    try box.write("log.txt", "a\n")
    let out = try await call(tool, ["operation": "append", "path": "log.txt", "content": "b\n"])
    #expect(!out.isError)
    #expect(out.text == "appended 2 bytes to log.txt (now 4 bytes)")
    #expect(box.read("log.txt") == "a\nb\n")
    let fresh = try await call(tool, ["operation": "append", "path": "new.log", "content": "x"])
    #expect(!fresh.isError && box.read("new.log") == "x")
  }

  @Test func contentOverTheWriteLimitIsRefused() async throws {
    let small = FileTool(workspace: box.workspace, limits: .init(maxWriteBytes: 100))
    let out = try await call(
      small, ["operation": "write", "path": "big.txt", "content": .string(String(repeating: "x", count: 101))])
    #expect(out.isError)
    #expect(out.text == "refused: content is 101 bytes; at most 100 bytes may be written in one call")
    #expect(!box.exists("big.txt"))
    let append = try await call(
      small, ["operation": "append", "path": "big.txt", "content": .string(String(repeating: "x", count: 101))])
    #expect(append.isError && !box.exists("big.txt"))
  }

  @Test func writeAndAppendNeedContent() async throws {
    let out = try await tool.run(["operation": "write", "path": "x.txt"], context: ToolContext())
    #expect(out.isError && out.text == "content is required for write")
  }

  @Test func listShowsSortedEntriesWithDirectoriesEndingInASlash() async throws {
    try box.write("b.txt", "")
    try box.write("a.txt", "")
    try box.makeDirectory("c")
    try box.makeDirectory("a-dir")
    try box.link("z-link", to: "a.txt")
    let out = try await call(tool, ["operation": "list", "path": "."])
    #expect(!out.isError)
    #expect(out.text == "a-dir/\na.txt\nb.txt\nc/\nz-link@")
    #expect(out.structured?["entries"] == ["a-dir/", "a.txt", "b.txt", "c/", "z-link@"])
    let empty = try await call(tool, ["operation": "list", "path": "c"])
    #expect(!empty.isError && empty.structured?["entries"] == [])
  }

  @Test func listStopsAtItsLimitAndSaysSo() async throws {
    for i in 0..<5 { try box.write("f\(i).txt", "") }
    let small = FileTool(workspace: box.workspace, limits: .init(maxListEntries: 3))
    let out = try await call(small, ["operation": "list", "path": "."])
    #expect(out.structured?["entries"] == ["f0.txt", "f1.txt", "f2.txt"] && out.structured?["truncated"] == true)
    #expect(out.text.hasSuffix("[truncated: showing 3 of 5 entries]"))
  }

  @Test func deleteRemovesAFileAndAnEmptyDirectoryButNotAFullOne() async throws {
    try box.write("gone.txt", "x")
    try box.write("full/keep.txt", "x")
    try box.makeDirectory("empty")
    var out = try await call(tool, ["operation": "delete", "path": "gone.txt"])
    #expect(!out.isError && out.text == "deleted the file gone.txt" && !box.exists("gone.txt"))
    out = try await call(tool, ["operation": "delete", "path": "empty"])
    #expect(!out.isError && out.text == "deleted the directory empty" && !box.exists("empty"))
    out = try await call(tool, ["operation": "delete", "path": "full"])
    #expect(out.isError && out.text == "\"full\" is a directory that is not empty (delete what it holds first)")
    #expect(box.exists("full/keep.txt"))
    out = try await call(tool, ["operation": "delete", "path": "never-was.txt"])
    #expect(out.isError && out.text == "\"never-was.txt\" does not exist")
  }

  @Test func theWorkspaceItselfCannotBeDeleted() async throws {
    for path: JSONValue in [".", .string(box.workspace), "sub/.."] {
      try box.makeDirectory("sub")
      let out = try await tool.run(["operation": "delete", "path": path], context: ToolContext())
      #expect(out.isError, "\(path)")
    }
    #expect(FileManager.default.fileExists(atPath: box.workspace))
  }

  @Test func statGivesTypeSizeAndModificationTime() async throws {
    try box.write("s.txt", "12345")
    let out = try await call(tool, ["operation": "stat", "path": "s.txt"])
    #expect(!out.isError)
    #expect(out.structured?["type"] == "file" && out.structured?["size"] == 5)
    let modified = try #require(out.structured?["modified"]?.stringValue)
    let stamp = try #require(Timestamp(iso8601: modified))
    #expect(abs(stamp.millisecondsSinceEpoch - Timestamp.now().millisecondsSinceEpoch) < 600_000)
    #expect(out.text.hasPrefix("s.txt: file, 5 bytes, modified "))
    let root = try await call(tool, ["operation": "stat", "path": "."])
    #expect(root.structured?["type"] == "directory")
  }

  @Test func mkdirCreatesMissingParentsAndAcceptsAnExistingDirectory() async throws {
    var out = try await call(tool, ["operation": "mkdir", "path": "x/y/z"])
    #expect(!out.isError && out.text == "created the directory x/y/z")
    var isDirectory: ObjCBool = false
    #expect(
      FileManager.default.fileExists(atPath: box.path("x/y/z"), isDirectory: &isDirectory) && isDirectory.boolValue)
    out = try await call(tool, ["operation": "mkdir", "path": "x/y"])
    #expect(!out.isError && out.structured?["created"] == false)
    try box.write("file", "")
    out = try await call(tool, ["operation": "mkdir", "path": "file"])
    #expect(out.isError && out.text == "\"file\" exists and is not a directory")
  }

  @Test func searchFindsLinesInTextFilesUnderADirectory() async throws {
    try box.write("src/a.swift", "let x = 1\n// TODO: one\nlet y = 2\n")
    try box.write("src/deep/b.swift", "TODO first\r\nnothing\nsecond TODO and TODO\n")
    try box.write("src/image.bin", bytes: Array("TODO".utf8) + [0, 1, 2])
    try box.write("other.txt", "TODO elsewhere")
    let out = try await call(tool, ["operation": "search", "path": "src", "pattern": "TODO"])
    #expect(!out.isError)
    #expect(
      out.text
        == "src/a.swift:2: // TODO: one\nsrc/deep/b.swift:1: TODO first\nsrc/deep/b.swift:3: second TODO and TODO")
    #expect(out.structured?["filesSearched"] == 3 && out.structured?["truncated"] == false)
    let matches = try #require(out.structured?["matches"]?.arrayValue)
    #expect(matches.first == ["path": "src/a.swift", "line": 2, "text": "// TODO: one"])
    let none = try await call(tool, ["operation": "search", "path": "src", "pattern": "absent"])
    #expect(!none.isError && none.text == "no lines contain \"absent\" in src (3 files searched)")
  }

  @Test func searchIsPlainTextNotARegularExpression() async throws {
    try box.write("r.txt", "a.c\nabc\n(a+)+$\n")
    let out = try await call(tool, ["operation": "search", "path": "r.txt", "pattern": "a.c"])
    #expect(out.text == "r.txt:1: a.c")
    let parens = try await call(tool, ["operation": "search", "path": ".", "pattern": "(a+)+$"])
    #expect(parens.text == "r.txt:3: (a+)+$")
  }

  @Test func searchStopsAtTheMatchLimitAndSaysSo() async throws {
    try box.write("many.txt", String(repeating: "hit\n", count: 10))
    let small = FileTool(workspace: box.workspace, limits: .init(maxSearchMatches: 3))
    let out = try await call(small, ["operation": "search", "path": ".", "pattern": "hit"])
    #expect(out.structured?["matches"]?.arrayValue?.count == 3 && out.structured?["truncated"] == true)
    #expect(out.text.hasSuffix("[truncated: the search stopped after it found the first 3 matches]"))
  }

  @Test func aCancelledCallThrowsCancellationError() async throws {
    try box.write("a.txt", "x")
    let tool = self.tool
    let task = Task {
      withUnsafeCurrentTask { $0?.cancel() }
      return try await tool.run(["operation": "search", "path": ".", "pattern": "x"], context: ToolContext())
    }
    await #expect(throws: CancellationError.self) { try await task.value }
  }

  @Test func approvalIsNeededOnlyForChanges() {
    #expect(tool.definition.requiresApproval && tool.definition.name == "file_operations")
    #expect(tool.definition.category == "files")
    for op in ["write", "append", "delete", "mkdir"] {
      #expect(tool.needsApproval(["operation": .string(op), "path": "x"]), "\(op)")
    }
    for op in ["read", "list", "stat", "search"] {
      #expect(!tool.needsApproval(["operation": .string(op), "path": "x"]), "\(op)")
    }
    #expect(tool.needsApproval(["operation": "format-disk", "path": "x"]))
  }

  @Test func theSchemaIsStrict() {
    #expect(schemaAccepts(tool, ["operation": "read", "path": "a"]))
    #expect(!schemaAccepts(tool, ["operation": "chmod", "path": "a"]))
    #expect(!schemaAccepts(tool, ["operation": "read"]))
    #expect(!schemaAccepts(tool, ["operation": "read", "path": "a", "mode": "0777"]))
  }

  // MARK: Escapes

  @Test(arguments: ["../outside/secret.txt", "sub/../../outside/secret.txt", "./../outside/./secret.txt"])
  func dotDotEscapesAreRefused(path: String) async throws {
    try box.makeDirectory("sub")
    let out = try await call(tool, ["operation": "read", "path": .string(path)])
    #expect(out.isError)
    #expect(out.text.hasPrefix("refused: \"\(path)\" is outside the workspace"))
    #expect(!out.text.contains(SandboxDirectory.secret))
    let write = try await call(tool, ["operation": "write", "path": "../outside/planted.txt", "content": "x"])
    #expect(write.isError && !box.exists(box.outside + "/planted.txt"))
  }

  @Test func anAbsolutePathOutsideIsRefused() async throws {
    let out = try await call(tool, ["operation": "read", "path": .string(box.outside + "/secret.txt")])
    #expect(out.isError && out.text.hasPrefix("refused:") && !out.text.contains(SandboxDirectory.secret))
    let list = try await call(tool, ["operation": "list", "path": "/"])
    #expect(list.isError && list.text == "refused: \"/\" is outside the workspace (it leads to /)")
  }

  @Test func aSiblingDirectorySharingThePrefixIsOutside() async throws {
    for path in [box.sibling + "/evil.txt", "../ws_evil/evil.txt"] {
      let out = try await call(tool, ["operation": "read", "path": .string(path)])
      #expect(out.isError && out.text.hasPrefix("refused: \"\(path)\" is outside the workspace"), "\(path)")
      let write = try await call(tool, ["operation": "write", "path": .string(path), "content": "x"])
      #expect(write.isError, "\(path)")
    }
    #expect(box.read(box.sibling + "/evil.txt") == "sibling")
  }

  @Test func readingThroughALinkToAFileOutsideIsRefused() async throws {
    try box.link("innocent.txt", to: box.outside + "/secret.txt")
    try box.link("relative.txt", to: "../outside/secret.txt")
    for path in ["innocent.txt", "relative.txt"] {
      let out = try await call(tool, ["operation": "read", "path": .string(path)])
      #expect(out.isError && out.text.hasPrefix("refused: \"\(path)\" is outside the workspace"))
      #expect(!out.text.contains(SandboxDirectory.secret))
      let search = try await call(tool, ["operation": "search", "path": .string(path), "pattern": "secret"])
      #expect(search.isError)
    }
  }

  @Test func writingThroughALinkToAFileOutsideIsRefused() async throws {
    try box.link("innocent.txt", to: box.outside + "/secret.txt")
    for op in ["write", "append"] {
      let out = try await call(tool, ["operation": .string(op), "path": "innocent.txt", "content": "overwritten"])
      #expect(out.isError && out.text.hasPrefix("refused:"), "\(op)")
    }
    #expect(box.read(box.outside + "/secret.txt") == SandboxDirectory.secret)
  }

  @Test func writingThroughALinkedDirectoryOutsideIsRefused() async throws {
    try box.link("docs", to: box.outside)
    let write = try await call(tool, ["operation": "write", "path": "docs/planted.txt", "content": "x"])
    #expect(write.isError && write.text.hasPrefix("refused: \"docs/planted.txt\" is outside the workspace"))
    #expect(!box.exists(box.outside + "/planted.txt"))
    let mkdir = try await call(tool, ["operation": "mkdir", "path": "docs/newdir"])
    #expect(mkdir.isError && !box.exists(box.outside + "/newdir"))
    let read = try await call(tool, ["operation": "read", "path": "docs/secret.txt"])
    #expect(read.isError && !read.text.contains(SandboxDirectory.secret))
    let list = try await call(tool, ["operation": "list", "path": "docs"])
    #expect(list.isError)
    let delete = try await call(tool, ["operation": "delete", "path": "docs/secret.txt"])
    #expect(delete.isError && box.exists(box.outside + "/secret.txt"))
  }

  @Test func writingThroughADanglingLinkIsRefused() async throws {
    // The link's target does not exist yet: opening it with O_CREAT would create it outside.
    try box.link("later.txt", to: box.outside + "/created-by-link.txt")
    let out = try await call(tool, ["operation": "write", "path": "later.txt", "content": "x"])
    #expect(out.isError)
    #expect(out.text == "refused: \"later.txt\" goes through a symbolic link whose target does not exist")
    #expect(!box.exists(box.outside + "/created-by-link.txt"))
  }

  @Test func aLinkInsideTheWorkspaceToAFileInsideIsFollowed() async throws {
    try box.write("real/data.txt", "data")
    try box.link("alias.txt", to: "real/data.txt")
    let out = try await call(tool, ["operation": "read", "path": "alias.txt"])
    #expect(!out.isError && out.text == "data")
  }

  @Test func deletingALinkDeletesTheLinkNotItsTarget() async throws {
    try box.link("innocent.txt", to: box.outside + "/secret.txt")
    let out = try await call(tool, ["operation": "delete", "path": "innocent.txt"])
    #expect(!out.isError && out.text == "deleted the symbolic link innocent.txt")
    #expect(!box.exists("innocent.txt") && box.read(box.outside + "/secret.txt") == SandboxDirectory.secret)
  }

  @Test func searchDoesNotFollowLinksOutOfTheWorkspace() async throws {
    try box.link("docs", to: box.outside)
    try box.link("secret-link.txt", to: box.outside + "/secret.txt")
    try box.write("inside.txt", "a secret inside")
    let out = try await call(tool, ["operation": "search", "path": ".", "pattern": "secret"])
    #expect(out.text == "inside.txt:1: a secret inside")
  }

  @Test func aPathWithANulByteIsRefused() async throws {
    try box.write("a.txt", "x")
    let out = try await tool.run(["operation": "read", "path": "a.txt\u{0}../../etc/passwd"], context: ToolContext())
    #expect(out.isError && out.text == "refused: the path contains a NUL byte")
  }

  @Test func aDirectorySwappedForALinkAfterTheCheckIsNotFollowed() throws {
    // The path is checked first; a directory on it is then replaced by a link to outside (a race). The
    // walk from the workspace with O_NOFOLLOW refuses it instead of writing outside.
    try box.makeDirectory("sub")
    let path = try Workspace(path: box.workspace).resolve("sub/planted.txt")
    try FileManager.default.removeItem(atPath: box.path("sub"))
    try box.link("sub", to: box.outside)
    #expect(throws: ToolFailure.self) { _ = try path.openParent(creatingMissing: true) }
    #expect(!box.exists(box.outside + "/planted.txt"))
  }

  @Test func aMissingWorkspaceIsReported() async throws {
    let gone = FileTool(workspace: box.root + "/no-such-workspace")
    let out = try await call(gone, ["operation": "list", "path": "."])
    #expect(out.isError && out.text.hasPrefix("the workspace \(box.root)/no-such-workspace is not available"))
  }
}
