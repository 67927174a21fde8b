import MinionsCore

/// Puts streamed tool calls back together: a start, argument fragments (JSON text, split anywhere),
/// an end. Calls come out in the order they started.
public struct ToolCallAssembler: Sendable {
  private var order: [Int] = []
  private var ids: [Int: String] = [:]
  private var names: [Int: String] = [:]
  private var arguments: [Int: String] = [:]

  public init() {}

  public mutating func apply(_ event: ModelEvent) {
    switch event {
    case .toolCallStart(let index, let id, let name):
      if ids[index] == nil { order.append(index) }
      ids[index] = id
      names[index] = name
    case .toolCallArguments(let index, let fragment):
      arguments[index, default: ""] += fragment
    default:
      break
    }
  }

  public var isEmpty: Bool { order.isEmpty }

  /// The calls so far. Arguments that are not a JSON object are kept as their text (the tool layer
  /// answers such a call with an error the model can read).
  public var calls: [ToolCallRequest] {
    order.map { index in
      let text = arguments[index] ?? ""
      let parsed: JSONValue
      if text.trimmed().isEmpty {
        parsed = [:]
      } else if let value = try? JSONParser.parse(text) {
        parsed = value
      } else {
        parsed = .string(text)
      }
      return ToolCallRequest(id: ids[index] ?? "call_\(index)", name: names[index] ?? "", arguments: parsed)
    }
  }

  /// Characters of argument text (for estimating usage).
  public var argumentCharacters: Int { arguments.values.reduce(0) { $0 + $1.utf8.count } }
}
