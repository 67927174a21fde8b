import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A script file (contract §7): deterministic model turns for test harnesses.
public struct ModelScript: Sendable {
  public enum Event: Sendable, Equatable {
    case text(String)
    case toolCall(tool: String, arguments: JSONValue)
    case delay(milliseconds: Int)
    case error(httpStatus: Int, message: String)
  }

  public struct Turn: Sendable {
    public var match: String?
    public var events: [Event]
    public var usage: (prompt: Int, completion: Int)?
  }

  public var turns: [Turn]

  /// Reads and checks a script; errors name the offending part ("turns[2].events[0]").
  public static func load(path: String) throws -> ModelScript {
    guard let bytes = readWholeFile(path) else {
      throw EngineError.invalidField("script", "cannot read \(path)")
    }
    let json: JSONValue
    do { json = try JSONParser.parse(bytes) } catch {
      throw EngineError.invalidField("script", "\(path) is not JSON: \(error)")
    }
    return try parse(json)
  }

  public static func parse(_ json: JSONValue) throws -> ModelScript {
    guard let turns = json["turns"]?.arrayValue, !turns.isEmpty else {
      throw EngineError.invalidField("script", "needs a non-empty \"turns\" array")
    }
    var parsed: [Turn] = []
    for (t, turn) in turns.enumerated() {
      let at = "script turns[\(t)]"
      var match: String? = nil
      if let m = turn["match"] {
        guard let pattern = m.stringValue else {
          throw EngineError.invalidField("script", "\(at).match must be a string")
        }
        guard (try? Regex(pattern)) != nil else {
          throw EngineError.invalidField("script", "\(at).match is not a valid regular expression")
        }
        match = pattern
      }
      guard let events = turn["events"]?.arrayValue else {
        throw EngineError.invalidField("script", "\(at) needs an \"events\" array")
      }
      var list: [Event] = []
      for (e, event) in events.enumerated() {
        let where_ = "\(at).events[\(e)]"
        if let text = event["text"]?.stringValue {
          list.append(.text(text))
        } else if let call = event["toolCall"] {
          guard let tool = call["tool"]?.stringValue else {
            throw EngineError.invalidField("script", "\(where_).toolCall needs \"tool\"")
          }
          let arguments = call["arguments"] ?? [:]
          guard arguments.objectValue != nil else {
            throw EngineError.invalidField("script", "\(where_).toolCall.arguments must be an object")
          }
          list.append(.toolCall(tool: tool, arguments: arguments))
        } else if let ms = event["delayMs"]?.intValue {
          guard (0...600_000).contains(ms) else {
            throw EngineError.invalidField("script", "\(where_).delayMs must be 0 to 600000")
          }
          list.append(.delay(milliseconds: ms))
        } else if let error = event["error"] {
          guard let status = error["httpStatus"]?.intValue else {
            throw EngineError.invalidField("script", "\(where_).error needs httpStatus")
          }
          list.append(.error(httpStatus: status, message: error["message"]?.stringValue ?? "scripted error"))
        } else {
          throw EngineError.invalidField("script", "\(where_) must be {text}, {toolCall}, {delayMs} or {error}")
        }
      }
      var usage: (Int, Int)? = nil
      if let u = turn["usage"] {
        guard let p = u["promptTokens"]?.intValue, let c = u["completionTokens"]?.intValue else {
          throw EngineError.invalidField("script", "\(at).usage needs promptTokens and completionTokens")
        }
        usage = (p, c)
      }
      parsed.append(Turn(match: match, events: list, usage: usage))
    }
    return ModelScript(turns: parsed)
  }
}

/// A whole file (at most `limit` bytes; nil when it cannot be read or is larger).
public func readWholeFile(_ path: String, limit: Int = 64 << 20) -> [UInt8]? {
  let fd = open(path, O_RDONLY | O_CLOEXEC)
  guard fd >= 0 else { return nil }
  defer { close(fd) }
  var out: [UInt8] = []
  var buffer = [UInt8](repeating: 0, count: 65536)
  while true {
    let n = read(fd, &buffer, buffer.count)
    if n < 0 { return nil }
    if n == 0 { break }
    out += buffer[0..<n]
    if out.count > limit { return nil }
  }
  return out
}

/// Serves script models. Turns are counted per script model within one engine process: each call
/// takes the first unused turn whose `match` finds the newest user or tool message, else the first
/// unused turn without `match`; once every turn was used the script starts over.
final class ScriptedModel: ModelProvider {
  private let used = Mutex<[String: Set<Int>]>([:])
  private let callCounter = Atomic<Int>(0)

  func complete(_ request: ModelRequest, model: ModelConfig, emit: (ModelEvent) async throws -> Void) async throws {
    guard let path = model.script else {
      throw ModelError(
        kind: .configuration, provider: .script, model: model.name, retryable: false, message: "no script file")
    }
    let script: ModelScript
    do { script = try ModelScript.load(path: path) } catch {
      throw ModelError(
        kind: .configuration, provider: .script, model: model.name, retryable: false, message: "\(error)")
    }
    let newest = request.messages.last { $0.role == .user || $0.role == .tool }?.content ?? ""
    guard let turnIndex = takeTurn(script, model: model.name, newest: newest) else {
      throw ModelError(
        kind: .configuration, provider: .script, model: model.name, retryable: false,
        message: "no unused turn of the script matches \"\(newest.prefix(80))\"")
    }
    let turn = script.turns[turnIndex]
    let call = callCounter.add(1, ordering: .relaxed).newValue
    var output = false
    var toolCalls = 0
    var completionChars = 0
    for event in turn.events {
      switch event {
      case .text(let text):
        output = true
        completionChars += text.utf8.count
        try await emit(.text(text))
      case .toolCall(let tool, let arguments):
        let index = toolCalls
        toolCalls += 1
        output = true
        try await emit(.toolCallStart(index: index, id: "call_\(call)_\(index)", name: tool))
        try await emit(.toolCallArguments(index: index, fragment: JSONWriter.string(arguments)))
        try await emit(.toolCallEnd(index: index))
      case .delay(let ms):
        try await Task.sleep(nanoseconds: UInt64(ms) * 1_000_000)
      case .error(let status, let message):
        throw ModelError(
          kind: output ? .midStream : .http, provider: .script, model: model.name, httpStatus: status,
          retryable: ModelError.isRetryable(status: status), message: message)
      }
    }
    if let usage = turn.usage { try await emit(.usage(promptTokens: usage.prompt, completionTokens: usage.completion)) }
    try await emit(.finish(toolCalls > 0 ? .toolCalls : .stop))
  }

  private func takeTurn(_ script: ModelScript, model: String, newest: String) -> Int? {
    used.withLock { all -> Int? in
      var taken = all[model] ?? []
      if taken.count >= script.turns.count { taken = [] }  // every turn was used: start over
      func pick() -> Int? {
        let unused = script.turns.indices.filter { !taken.contains($0) }
        if let i = unused.first(where: { i in
          guard let pattern = script.turns[i].match, let regex = try? Regex(pattern) else { return false }
          return newest.contains(regex)
        }) {
          return i
        }
        return unused.first { script.turns[$0].match == nil }
      }
      guard let i = pick() else { return nil }
      taken.insert(i)
      all[model] = taken
      return i
    }
  }
}
