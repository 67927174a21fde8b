import JSONRPC
import MinionsCore
import MinionsEngine

/// Who may call a method.
public enum MethodAccess: Sendable, Equatable {
  /// Anyone, even before authenticating (`initialize`, `auth/login`, `rpc.discover`, …).
  case open
  /// Any authenticated user.
  case authenticated
  /// Users holding this permission.
  case permission(Permission)

  public var description: String {
    switch self {
    case .open: return "open"
    case .authenticated: return "authenticated"
    case .permission(let p): return p.rawValue
    }
  }
}

/// One request method: its name, documentation, access rule, schemas and handler.
public struct MethodDescriptor: Sendable {
  public let name: String
  public let summary: String
  public let description: String?
  public let access: MethodAccess
  /// Errors the method raises itself, beyond those every method may raise.
  public let errors: [ErrorCode]
  public let paramsSchema: @Sendable () -> JSONValue
  public let resultSchema: @Sendable () -> JSONValue
  let invoke: @Sendable (JSONValue?, CallContext) async throws -> JSONValue

  /// The errors a client may see from this method: its own plus those implied by its access rule.
  public var allErrors: [ErrorCode] {
    var codes: [ErrorCode] = [.invalidParams]
    switch access {
    case .open: break
    case .authenticated: codes.append(.unauthenticated)
    case .permission: codes += [.unauthenticated, .permissionDenied]
    }
    for e in errors where !codes.contains(e) { codes.append(e) }
    return codes
  }
}

/// A notification: sent by the server (`agent/update`, `$/progress`, …) or by the client (`exit`, …).
public struct NotificationDescriptor: Sendable {
  public let name: String
  public let summary: String
  public let paramsSchema: @Sendable () -> JSONValue
}

/// The method table: the one place that says which methods exist, who may call them, what they take
/// and return, and which code runs. Dispatch, permission checks, `initialize`'s method list and the
/// OpenRPC document are all derived from it, so they cannot disagree.
public struct MethodTable: Sendable {
  public private(set) var methods: [String: MethodDescriptor] = [:]
  /// Notifications the client may send.
  public private(set) var clientNotifications: [String: NotificationDescriptor] = [:]
  /// Notifications the server may send.
  public private(set) var serverNotifications: [String: NotificationDescriptor] = [:]
  /// Requests the server may send to the client.
  public private(set) var serverRequests: [String: MethodDescriptor] = [:]

  public init() {}

  public subscript(name: String) -> MethodDescriptor? { methods[name] }

  public var methodNames: [String] { methods.keys.sorted() }
  public var serverNotificationNames: [String] { serverNotifications.keys.sorted() }

  /// Registers a request method. Params are decoded into `P` (absent params decode as `{}`), the
  /// result is encoded from `R`.
  public mutating func register<P: Decodable & Sendable, R: Codable & Sendable>(
    _ name: String, summary: String, description: String? = nil, access: MethodAccess, errors: [ErrorCode] = [],
    params: P.Type = P.self, result: R.Type = R.self,
    _ handler: @escaping @Sendable (P, CallContext) async throws -> R
  ) {
    precondition(methods[name] == nil, "method \(name) registered twice")
    methods[name] = MethodDescriptor(
      name: name, summary: summary, description: description, access: access, errors: errors,
      paramsSchema: { JSONSchemaProbe.schema(for: P.self) },
      resultSchema: { JSONSchemaProbe.schema(for: R.self) },
      invoke: { raw, context in
        let params = try MethodTable.decodeParams(P.self, from: raw)
        let result = try await handler(params, context)
        return try resultEncoder.encode(result)
      })
  }

  public mutating func registerClientNotification<P: Decodable & Sendable>(
    _ name: String, summary: String, params: P.Type
  ) {
    clientNotifications[name] = NotificationDescriptor(
      name: name, summary: summary,
      paramsSchema: { JSONSchemaProbe.schema(for: P.self) })
  }

  public mutating func registerServerNotification<P: Decodable & Sendable>(
    _ name: String, summary: String, params: P.Type
  ) {
    serverNotifications[name] = NotificationDescriptor(
      name: name, summary: summary,
      paramsSchema: { JSONSchemaProbe.schema(for: P.self) })
  }

  public mutating func registerServerRequest<P: Decodable & Sendable, R: Codable & Sendable>(
    _ name: String, summary: String, params: P.Type, result: R.Type
  ) {
    serverRequests[name] = MethodDescriptor(
      name: name, summary: summary, description: nil, access: .open, errors: [],
      paramsSchema: { JSONSchemaProbe.schema(for: P.self) }, resultSchema: { JSONSchemaProbe.schema(for: R.self) },
      invoke: { _, _ in .null })
  }

  /// Decodes params by name; a decoding failure becomes -32602 naming the field.
  public static func decodeParams<P: Decodable>(_ type: P.Type, from raw: JSONValue?) throws -> P {
    let value: JSONValue
    switch raw {
    case nil, .null?: value = .object([:])
    case .object?: value = raw!
    case .array?:
      throw ResponseError.invalidParams(field: "params", "params must be an object (by-name), not an array")
    default:
      throw ResponseError.invalidParams(field: "params", "params must be an object")
    }
    do {
      return try JSONValueDecoder().decode(P.self, from: value)
    } catch let error as JSONDecodingError {
      throw ResponseError.invalidParams(field: error.path.isEmpty ? "params" : error.path, error.message)
    }
  }
}

private let resultEncoder = JSONValueEncoder(nilEncoding: .null)

/// Params of methods that take none. Any members given are ignored.
public struct NoParams: Codable, Sendable {
  public init() {}
  public init(from decoder: any Decoder) throws {}
  public func encode(to encoder: any Encoder) throws { _ = encoder.container(keyedBy: NoKeys.self) }
  private enum NoKeys: CodingKey {}
}

extension NoParams: JSONSchemaDescribing {
  public static var jsonSchema: JSONValue { ["type": "object", "properties": [:]] }
  public static var schemaSample: NoParams { NoParams() }
}

/// The result `null` (as `shutdown` returns).
public struct NullResult: Codable, Sendable {
  public init() {}
  public init(from decoder: any Decoder) throws {}
  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encodeNil()
  }
}

extension NullResult: JSONSchemaDescribing {
  public static var jsonSchema: JSONValue { ["type": "null"] }
  public static var schemaSample: NullResult { NullResult() }
}

/// The result `{}` of methods that only acknowledge.
public struct EmptyResult: Codable, Sendable {
  public init() {}
}
