/// A value bound to or read from SQLite.
public enum SQLValue: Sendable, Hashable {
  case null
  case int(Int64)
  case double(Double)
  case text(String)
  case blob([UInt8])

  public var int64: Int64? {
    switch self {
    case .int(let i): return i
    case .double(let d): return Int64(exactly: d)
    default: return nil
    }
  }

  public var int: Int? { int64.map { Int($0) } }

  public var double: Double? {
    switch self {
    case .int(let i): return Double(i)
    case .double(let d): return d
    default: return nil
    }
  }

  public var text: String? {
    if case .text(let s) = self { return s }
    return nil
  }

  public var blob: [UInt8]? {
    if case .blob(let b) = self { return b }
    return nil
  }

  public var isNull: Bool {
    if case .null = self { return true }
    return false
  }
}

extension SQLValue: ExpressibleByIntegerLiteral, ExpressibleByStringLiteral, ExpressibleByFloatLiteral,
  ExpressibleByNilLiteral, ExpressibleByStringInterpolation
{
  public init(integerLiteral value: Int64) { self = .int(value) }
  public init(stringLiteral value: String) { self = .text(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(nilLiteral: ()) { self = .null }
}

/// Things that bind as SQL values.
public protocol SQLBindable {
  var sqlValue: SQLValue { get }
}

extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .double(self) } }
extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Bool: SQLBindable { public var sqlValue: SQLValue { .int(self ? 1 : 0) } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
  public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One result row: values by column index or name.
public struct Row: Sendable {
  public let columns: [String]
  public let values: [SQLValue]

  public subscript(_ index: Int) -> SQLValue { values[index] }

  public subscript(_ name: String) -> SQLValue {
    guard let i = columns.firstIndex(of: name) else { return .null }
    return values[i]
  }
}
