import MinionsCore

/// A request id: an integer or a string, echoed back exactly in the reply. `null` is what JSON-RPC
/// replies carry when the id could not be read, and what a client may (discouraged) send.
public enum RequestID: Sendable, Hashable, CustomStringConvertible {
  case int(Int)
  case string(String)
  case null

  public var jsonValue: JSONValue {
    switch self {
    case .int(let i): return .int(i)
    case .string(let s): return .string(s)
    case .null: return .null
    }
  }

  /// Reads an id; nil when the value cannot be an id (fractional numbers, objects, …).
  public init?(json: JSONValue) {
    switch json {
    case .int(let i): self = .int(i)
    case .string(let s): self = .string(s)
    case .null: self = .null
    default: return nil
    }
  }

  public var description: String {
    switch self {
    case .int(let i): return String(i)
    case .string(let s): return "\"\(s)\""
    case .null: return "null"
    }
  }
}
