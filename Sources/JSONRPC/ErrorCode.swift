/// Every error code the protocol uses, in one place (contract §4).
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
  public let rawValue: Int
  public init(rawValue: Int) { self.rawValue = rawValue }

  // JSON-RPC 2.0 and LSP.
  public static let parseError = ErrorCode(rawValue: -32700)
  public static let invalidRequest = ErrorCode(rawValue: -32600)
  public static let methodNotFound = ErrorCode(rawValue: -32601)
  public static let invalidParams = ErrorCode(rawValue: -32602)
  public static let internalError = ErrorCode(rawValue: -32603)
  public static let serverNotInitialized = ErrorCode(rawValue: -32002)
  public static let requestCancelled = ErrorCode(rawValue: -32800)

  // Minions.
  public static let unauthenticated = ErrorCode(rawValue: -32010)
  public static let permissionDenied = ErrorCode(rawValue: -32011)
  public static let accountLocked = ErrorCode(rawValue: -32012)
  public static let notFound = ErrorCode(rawValue: -32013)
  public static let alreadyExists = ErrorCode(rawValue: -32014)
  public static let overloaded = ErrorCode(rawValue: -32015)
  public static let providerError = ErrorCode(rawValue: -32020)
  public static let noModelAvailable = ErrorCode(rawValue: -32021)
  public static let approvalDenied = ErrorCode(rawValue: -32031)

  /// All codes with their names, for documentation and the OpenRPC document.
  public static let all: [ErrorCode] = [
    .parseError, .invalidRequest, .methodNotFound, .invalidParams, .internalError, .serverNotInitialized,
    .requestCancelled, .unauthenticated, .permissionDenied, .accountLocked, .notFound, .alreadyExists,
    .overloaded, .providerError, .noModelAvailable, .approvalDenied,
  ]

  public var name: String {
    switch self {
    case .parseError: return "ParseError"
    case .invalidRequest: return "InvalidRequest"
    case .methodNotFound: return "MethodNotFound"
    case .invalidParams: return "InvalidParams"
    case .internalError: return "InternalError"
    case .serverNotInitialized: return "ServerNotInitialized"
    case .requestCancelled: return "RequestCancelled"
    case .unauthenticated: return "Unauthenticated"
    case .permissionDenied: return "PermissionDenied"
    case .accountLocked: return "AccountLocked"
    case .notFound: return "NotFound"
    case .alreadyExists: return "AlreadyExists"
    case .overloaded: return "Overloaded"
    case .providerError: return "ProviderError"
    case .noModelAvailable: return "NoModelAvailable"
    case .approvalDenied: return "ApprovalDenied"
    default: return "Error\(rawValue)"
    }
  }

  /// What the code means, as the protocol guide explains it.
  public var meaning: String {
    switch self {
    case .parseError: return "The message is not valid JSON (or not valid UTF-8, or its framing is malformed)."
    case .invalidRequest:
      return "The JSON is not a valid JSON-RPC 2.0 request, or it breaks a protocol limit or the lifecycle."
    case .methodNotFound: return "No such method."
    case .invalidParams: return "The params do not match the method; data.field names the bad field."
    case .internalError: return "The server failed unexpectedly; details are in its log, never in the reply."
    case .serverNotInitialized: return "A request came before initialize."
    case .requestCancelled: return "The request was cancelled before it produced a result."
    case .unauthenticated: return "The connection has not authenticated."
    case .permissionDenied: return "The user's role or key scopes lack data.permission."
    case .accountLocked: return "Too many failed logins; retry after data.retryAfterSeconds."
    case .notFound: return "data.kind with data.id does not exist (or is not yours)."
    case .alreadyExists: return "data.kind with data.id already exists."
    case .overloaded: return "Too much work in flight; retry after data.retryAfterMs."
    case .providerError:
      return "The model provider failed; data says which, with its HTTP status and whether a retry may help."
    case .noModelAvailable: return "No model satisfies the request; data.candidates says why each was excluded."
    case .approvalDenied: return "A tool call needing approval was refused."
    default: return ""
    }
  }

  public var description: String { "\(rawValue) \(name)" }
}
