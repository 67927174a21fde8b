import MinionsCore
import MinionsCrypto

/// What the cache holds: a model's answer, or a cacheable tool's output.
public enum CachedValue: Sendable {
  case modelAnswer(CachedResponse)
  case toolOutput(ToolOutput)
}

/// A model's completed answer as the normalized event sequence it streamed, so a cache hit streams
/// like a live reply.
public struct CachedResponse: Sendable {
  /// Text and tool-call events in their original order (usage, finish and load time kept apart).
  public var events: [ModelEvent]
  public var usage: (promptTokens: Int, completionTokens: Int)?
  public var finish: FinishReason?
}

/// Model responses keyed by the SHA-256 of the canonical request (model, messages, tools, sampling
/// parameters), and outputs of tools that declare themselves cacheable keyed by the SHA-256 of the
/// tool's name and canonical arguments, in one `LRUCache` sized by the `cache.maxEntries` and
/// `cache.ttlSeconds` settings, which apply live.
///
/// Only requests whose answer does not depend on chance are cached: temperature 0, or the caller asked
/// (`cache: true`); `cache: false` never is. Scripted models count turns, so they are cached only when
/// asked. Entries are written after a stream completed without error.
public final class ResponseCache: Sendable {
  public let entries: LRUCache<String, CachedValue>

  public init(settings: SettingsStore) {
    entries = LRUCache(
      maxEntries: settings.int("cache.maxEntries"), ttlSeconds: Double(settings.int("cache.ttlSeconds")))
    let entries = self.entries
    settings.observe { name, value in
      switch name {
      case "cache.maxEntries": if let n = value.intValue { entries.resize(maxEntries: n) }
      case "cache.ttlSeconds": if let s = value.intValue { entries.setTTL(Double(s)) }
      default: break
      }
    }
  }

  /// Whether `request` to `model` may be answered from, and stored in, the cache.
  public static func isCacheable(_ request: ModelRequest, model: ModelConfig) -> Bool {
    if let asked = request.cache { return asked }
    return request.temperature == 0 && model.provider != .script
  }

  /// The key of a tool call: the hex SHA-256 of `tool\0NAME\0` and the canonical arguments.
  public static func key(tool name: String, arguments: JSONValue) -> String {
    Crypto.hex(Crypto.sha256(Array("tool\u{0}\(name)\u{0}".utf8) + JSONWriter.bytes(arguments)))
  }

  /// The hex SHA-256 of the request's canonical JSON (keys sorted, no whitespace).
  public static func key(_ request: ModelRequest, model: ModelConfig) -> String {
    var messages: [JSONValue] = []
    messages.reserveCapacity(request.messages.count)
    for m in request.messages {
      var o: [String: JSONValue] = ["role": .string(m.role.rawValue), "content": .string(m.content)]
      if !m.toolCalls.isEmpty {
        o["toolCalls"] = .array(
          m.toolCalls.map { .object(["id": .string($0.id), "name": .string($0.name), "arguments": $0.arguments]) })
      }
      if let id = m.toolCallID { o["toolCallId"] = .string(id) }
      if let name = m.toolName { o["toolName"] = .string(name) }
      if m.isError { o["isError"] = true }
      messages.append(.object(o))
    }
    let canonical: JSONValue = .object([
      "provider": .string(model.provider.rawValue),
      "model": .string(model.name),
      "messages": .array(messages),
      "tools": .array(
        request.tools.map {
          .object(["name": .string($0.name), "description": .string($0.description), "parameters": $0.parameters])
        }),
      "temperature": request.temperature.map { .double($0) } ?? .null,
      "maxTokens": request.maxTokens.map { .int($0) } ?? .null,
    ])
    return Crypto.hex(Crypto.sha256(JSONWriter.bytes(canonical)))
  }
}
