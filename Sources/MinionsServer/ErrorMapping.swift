import JSONRPC
import MinionsCore
import MinionsEngine

/// An error that knows its protocol form. Engine error types conform in this module, so the engine
/// never imports JSON-RPC and the mapping lives in one place.
public protocol ResponseErrorConvertible: Error {
  var responseError: ResponseError { get }
}

extension ResponseError: ResponseErrorConvertible {
  public var responseError: ResponseError { self }
}

extension EngineError: ResponseErrorConvertible {
  public var responseError: ResponseError {
    switch self {
    case .invalidField(let field, let reason): return .invalidParams(field: field, reason)
    case .notFound(let kind, let id): return .notFound(kind: kind, id: id)
    case .alreadyExists(let kind, let id): return .alreadyExists(kind: kind, id: id)
    case .permissionDenied(let p): return .permissionDenied(p.rawValue)
    case .unauthenticated(let reason):
      return ResponseError(code: .unauthenticated, message: "Unauthenticated: \(reason)")
    case .accountLocked(let seconds):
      return ResponseError(
        code: .accountLocked, message: "Account locked: too many failed logins; retry in \(seconds) s",
        data: ["retryAfterSeconds": .int(seconds)])
    case .overloaded(let detail, let ms): return .overloaded(detail, retryAfterMs: ms)
    }
  }
}

extension ModelRoutingError: ResponseErrorConvertible {
  public var responseError: ResponseError {
    switch self {
    case .noModelAvailable(let candidates):
      return ResponseError(
        code: .noModelAvailable, message: "No model available: no model satisfies the request",
        data: [
          "candidates": .array(
            candidates.map { ["model": .string($0.model), "excluded": $0.excluded.map(JSONValue.string) ?? .null] })
        ])
    case .failed(let e):
      var data: [String: JSONValue] = [
        "provider": .string(e.provider.rawValue), "model": .string(e.model), "retryable": .bool(e.retryable),
        "kind": .string(e.kind.rawValue),
      ]
      if let status = e.httpStatus { data["httpStatus"] = .int(status) }
      return ResponseError(code: .providerError, message: "Provider error: \(e)", data: .object(data))
    }
  }
}

public enum ErrorMapping {
  /// Maps anything a handler throws to the reply. Unknown errors become -32603 with a generic message;
  /// their details go to the log only.
  public static func responseError(for error: any Error, method: String, logger: Logger) -> ResponseError {
    switch error {
    case let e as ResponseErrorConvertible:
      return e.responseError
    case let e as JSONDecodingError:
      return .invalidParams(field: e.path.isEmpty ? "params" : e.path, e.message)
    case is CancellationError:
      return .requestCancelled
    default:
      logger.error("\(method) failed: \(String(describing: error))")
      return .internalError()
    }
  }
}
