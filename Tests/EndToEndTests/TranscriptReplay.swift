import Foundation
import MinionsCore
import MinionsTestSupport

/// A documented protocol exchange, replayed against the engine binary so no example in the docs can
/// rot. The syntax (see protocol/examples/README.md):
///
///     -> a line the client sends (raw: it may be deliberately invalid JSON)
///     <- a JSON message the server must send next
///     (no reply)                      nothing more arrives within a moment
///     (the engine exits with code N)  the engine exits with that code
///     (initialized)                   the runner sends initialize first and reads its reply
///     (ignoring METHOD)               notifications of METHOD are skipped from here on
///     (anything else) and # lines     comments
///
/// Server lines match the members they show (the engine may send more); `"$any"`, `"$string"`,
/// `"$number"`, `"$integer"`, `"$bool"`, `"$time"` stand for any value of that kind, `"$id:NAME"`
/// captures a value on first sight and must equal it afterwards (client lines may use it too), and an
/// array ending in `"$more"` may have more elements. `$EXAMPLES` and `$WORKSPACE` in client lines
/// become the examples directory and the engine's workspace.
struct Transcript {
  enum Step {
    case send(String, line: Int)
    case expect(JSONValue, text: String, line: Int)
    case noReply(line: Int)
    case exits(Int32, line: Int)
    case ignore(String)
  }

  var source: String
  var steps: [Step] = []
  var initialized = false

  /// Parses transcript text; `firstLine` is where it starts in its file (for messages).
  init(source: String, text: String, firstLine: Int = 1) throws {
    self.source = source
    for (offset, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      let number = firstLine + offset
      if line.hasPrefix("-> ") {
        steps.append(.send(String(line.dropFirst(3)), line: number))
      } else if line.hasPrefix("<- ") {
        let text = String(line.dropFirst(3))
        do {
          steps.append(.expect(try JSONParser.parse(text), text: text, line: number))
        } catch {
          throw TranscriptError("\(source):\(number): the server line is not JSON: \(error)")
        }
      } else if line == "(no reply)" {
        steps.append(.noReply(line: number))
      } else if line.hasPrefix("(the engine exits with code "), let code = Int32(line.dropFirst(28).dropLast()) {
        steps.append(.exits(code, line: number))
      } else if line == "(initialized)" {
        initialized = true
      } else if line.hasPrefix("(ignoring "), line.hasSuffix(")") {
        steps.append(.ignore(String(line.dropFirst(10).dropLast())))
      }
    }
    if !steps.contains(where: { if case .expect = $0 { return true } else { return false } }) {
      throw TranscriptError("\(source): a transcript without a single server line proves nothing")
    }
  }

  /// Every ```transcript block of a Markdown file.
  static func blocks(inMarkdown path: String) throws -> [Transcript] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var out: [Transcript] = []
    var block: [Substring]? = nil
    var start = 0
    for (i, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      if block == nil, line.trimmingCharacters(in: .whitespaces) == "```transcript" {
        block = []
        start = i + 2
      } else if block != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
        out.append(try Transcript(source: path, text: block!.joined(separator: "\n"), firstLine: start))
        block = nil
      } else {
        block?.append(line)
      }
    }
    return out
  }
}

struct TranscriptError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Runs one transcript against a fresh engine; returns the failures (empty when it held).
func replay(_ transcript: Transcript, examples: String) async throws -> [String] {
  let workspace = try temporaryDirectory(prefix: "minions-transcript")
  let engine = try EngineProcess(["serve", "--workspace", workspace])
  var captures: [String: JSONValue] = [:]
  var ignored: Set<String> = []
  var next = 0  // the first message not matched yet
  var failures: [String] = []
  func at(_ line: Int) -> String { "\(transcript.source):\(line)" }

  if transcript.initialized {
    engine.sendLine(#"{"jsonrpc":"2.0","id":"transcript-init","method":"initialize","params":{}}"#)
    guard await engine.reader.reply(to: "transcript-init") != nil else {
      return ["\(transcript.source): no reply to the runner's initialize"]
    }
    next = engine.reader.messages.firstIndex { $0["id"] == "transcript-init" }! + 1
  }

  /// The next message the transcript has not matched, skipping ignored notifications.
  func nextMessage(timeout: Double) async -> JSONValue? {
    let deadline = MonotonicClock.nanoseconds() + UInt64(timeout * 1e9)
    while true {
      let messages = engine.reader.messages
      while next < messages.count {
        let m = messages[next]
        if let method = m["method"]?.stringValue, m["id"] == nil, ignored.contains(method) {
          next += 1
          continue
        }
        return m
      }
      if MonotonicClock.nanoseconds() >= deadline { return nil }
      await waitSeconds(0.002)
    }
  }

  steps: for step in transcript.steps {
    switch step {
    case .ignore(let method):
      ignored.insert(method)
    case .send(let text, let line):
      var message = text.replacingOccurrences(of: "$EXAMPLES", with: examples)
        .replacingOccurrences(of: "$WORKSPACE", with: workspace)
      for (name, value) in captures {
        message = message.replacingOccurrences(of: "\"$id:\(name)\"", with: JSONWriter.string(value))
      }
      if message.contains("\"$id:") {
        failures.append("\(at(line)): \(text) uses an id that was never captured")
        break steps
      }
      engine.sendLine(message)
    case .expect(let expected, let text, let line):
      guard let actual = await nextMessage(timeout: 15) else {
        failures.append("\(at(line)): expected \(text) but nothing more arrived")
        break steps
      }
      if let mismatch = match(expected, actual, path: "", captures: &captures) {
        failures.append("\(at(line)): expected \(text)\n  got \(JSONWriter.string(actual))\n  (\(mismatch))")
        break steps
      }
      next += 1
    case .noReply(let line):
      await waitSeconds(0.3)
      if let extra = await nextMessage(timeout: 0) {
        failures.append("\(at(line)): expected no reply, got \(JSONWriter.string(extra))")
        break steps
      }
    case .exits(let code, let line):
      let got = await engine.waitForExit()
      if got != code {
        failures.append("\(at(line)): expected exit code \(code), got \(got.map(String.init) ?? "none")")
      }
    }
  }
  if engine.process.isRunning {
    engine.closeStdin()
    if await engine.waitForExit(timeout: 10) == nil { engine.signal(SIGKILL) }
  }
  return failures
}

/// Nil when `actual` matches `expected` (see `Transcript`), else where and why not.
func match(_ expected: JSONValue, _ actual: JSONValue, path: String, captures: inout [String: JSONValue]) -> String? {
  let here = path.isEmpty ? "the message" : path
  if case .string(let s) = expected, s.hasPrefix("$") {
    switch s {
    case "$any": return nil
    case "$string": return actual.stringValue != nil ? nil : "\(here) is not a string"
    case "$number": return actual.doubleValue != nil ? nil : "\(here) is not a number"
    case "$integer":
      if case .int = actual { return nil }
      return "\(here) is not an integer"
    case "$bool": return actual.boolValue != nil ? nil : "\(here) is not a boolean"
    case "$time":
      return actual.stringValue.flatMap(Timestamp.init(iso8601:)) != nil ? nil : "\(here) is not an RFC 3339 time"
    default:
      if s.hasPrefix("$id:") {
        let name = String(s.dropFirst(4))
        if let known = captures[name] { return known == actual ? nil : "\(here) is not \(JSONWriter.string(known))" }
        if actual.isNull { return "\(here) is null" }
        captures[name] = actual
        return nil
      }
    }
  }
  switch (expected, actual) {
  case (.object(let e), .object(let a)):
    for (key, value) in e.sorted(by: { $0.key < $1.key }) {
      guard let got = a[key] else { return "\(path.isEmpty ? "" : path + ".")\(key) is missing" }
      if let m = match(value, got, path: path.isEmpty ? key : path + "." + key, captures: &captures) { return m }
    }
    return nil
  case (.array(var e), .array(let a)):
    let open = e.last == "$more"
    if open { e.removeLast() }
    if open ? a.count < e.count : a.count != e.count {
      return "\(here) has \(a.count) elements, expected \(open ? "at least " : "")\(e.count)"
    }
    for (i, value) in e.enumerated() {
      if let m = match(value, a[i], path: "\(path)[\(i)]", captures: &captures) { return m }
    }
    return nil
  default:
    if let x = expected.doubleValue, let y = actual.doubleValue, expected.stringValue == nil {
      return x == y ? nil : "\(here) is \(JSONWriter.string(actual))"
    }
    return expected == actual ? nil : "\(here) is \(JSONWriter.string(actual))"
  }
}
