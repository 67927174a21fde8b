import Foundation
import MinionsCore
import MinionsTestSupport
import Testing

/// Every transcript in protocol/examples/ and every ```transcript block of the docs, replayed against
/// the engine binary.
@Suite struct TranscriptTests {
  static let examples = repositoryRootPath + "/protocol/examples"

  /// The transcripts, by where they come from.
  static func all() throws -> [Transcript] {
    var out: [Transcript] = []
    let files = try FileManager.default.contentsOfDirectory(atPath: examples).filter { $0.hasSuffix(".txt") }.sorted()
    for file in files {
      let path = examples + "/" + file
      out.append(try Transcript(source: path, text: try String(contentsOfFile: path, encoding: .utf8)))
    }
    var docs = try FileManager.default.contentsOfDirectory(atPath: repositoryRootPath + "/protocol")
      .filter { $0.hasSuffix(".md") }.sorted().map { repositoryRootPath + "/protocol/" + $0 }
    docs.append(repositoryRootPath + "/README.md")
    for client in (try? FileManager.default.contentsOfDirectory(atPath: repositoryRootPath + "/clients")) ?? [] {
      let readme = repositoryRootPath + "/clients/" + client + "/README.md"
      if FileManager.default.fileExists(atPath: readme) { docs.append(readme) }
    }
    for doc in docs { out += try Transcript.blocks(inMarkdown: doc) }
    return out
  }

  @Test func everyDocumentedExchangeHappensAsWritten() async throws {
    let transcripts = try Self.all()
    #expect(transcripts.count >= 10, "the docs should carry their examples as transcripts")
    for t in transcripts {
      let failures = try await replay(t, examples: Self.examples)
      for f in failures { Issue.record(Comment(rawValue: f)) }
    }
  }

  @Test func theMatcherIsStrictWhereItMatters() {
    var captures: [String: JSONValue] = [:]
    #expect(match(["a": 1], ["a": 1, "b": 2], path: "", captures: &captures) == nil)
    #expect(match(["a": 1], ["a": 2], path: "", captures: &captures) != nil)
    #expect(match(["a": 1], ["b": 1], path: "", captures: &captures) != nil)
    #expect(match([1, 2], [1, 2, 3], path: "", captures: &captures) != nil)
    #expect(match([1, "$more"], [1, 2, 3], path: "", captures: &captures) == nil)
    #expect(match(["t": "$time"], ["t": "2026-11-25T10:00:00Z"], path: "", captures: &captures) == nil)
    #expect(match(["t": "$time"], ["t": "yesterday"], path: "", captures: &captures) != nil)
    #expect(match(["s": "$id:s"], ["s": "abc"], path: "", captures: &captures) == nil)
    #expect(match(["s": "$id:s"], ["s": "abd"], path: "", captures: &captures) != nil)
    #expect(match(["n": 1.0], ["n": 1], path: "", captures: &captures) == nil)
    #expect(match(["n": "$integer"], ["n": 1.5], path: "", captures: &captures) != nil)
  }
}
