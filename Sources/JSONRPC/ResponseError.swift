import MinionsCore

/// A JSON-RPC error object: the code, a message for people, and structured `data` for programs.
public struct ResponseError: Error, Sendable, Hashable, CustomStringConvertible {
  public var code: ErrorCode
  public var message: String
  public var data: JSONValue?

  public init(code: ErrorCode, message: String, data: JSONValue? = nil) {
    self.code = code
    self.message = message
    self.data = data
  }

  public var description: String { "\(code.rawValue): \(message)" + (data.map { " \($0)" } ?? "") }

  public var jsonValue: JSONValue {
    var members: [String: JSONValue] = ["code": .int(code.rawValue), "message": .string(message)]
    if let data { members["data"] = data }
    return .object(members)
  }

  public init?(json: JSONValue) {
    guard let code = json["code"]?.intValue, let message = json["message"]?.stringValue else { return nil }
    self.init(code: ErrorCode(rawValue: code), message: message, data: json["data"])
  }

  // MARK: The errors every layer raises, spelled once.

  public static func parseError(_ detail: String, data: JSONValue? = nil) -> ResponseError {
    ResponseError(code: .parseError, message: "Parse error: \(detail)", data: data)
  }

  public static func invalidRequest(_ detail: String, data: JSONValue? = nil) -> ResponseError {
    ResponseError(code: .invalidRequest, message: "Invalid Request: \(detail)", data: data)
  }

  public static func methodNotFound(_ method: String) -> ResponseError {
    ResponseError(code: .methodNotFound, message: "Method not found: \(method)", data: ["method": .string(method)])
  }

  /// Bad params; `field` is the dotted path of the offending field ("params" for the whole object).
  public static func invalidParams(field: String, _ detail: String) -> ResponseError {
    ResponseError(
      code: .invalidParams,
      message: field == "params" ? "Invalid params: \(detail)" : "Invalid params: \(field): \(detail)",
      data: ["field": .string(field), "reason": .string(detail)])
  }

  public static func internalError() -> ResponseError {
    ResponseError(code: .internalError, message: "Internal error")
  }

  public static var serverNotInitialized: ResponseError {
    ResponseError(code: .serverNotInitialized, message: "Server not initialized: send initialize first")
  }

  public static var requestCancelled: ResponseError {
    ResponseError(code: .requestCancelled, message: "Request cancelled")
  }

  public static var unauthenticated: ResponseError {
    ResponseError(
      code: .unauthenticated,
      message: "Unauthenticated: log in with auth/login or pass auth in initialize")
  }

  public static func permissionDenied(_ permission: String) -> ResponseError {
    ResponseError(
      code: .permissionDenied, message: "Permission denied: requires \(permission)",
      data: ["permission": .string(permission)])
  }

  public static func notFound(kind: String, id: String) -> ResponseError {
    ResponseError(
      code: .notFound, message: "Not found: \(kind) \(id)", data: ["kind": .string(kind), "id": .string(id)])
  }

  public static func alreadyExists(kind: String, id: String) -> ResponseError {
    ResponseError(
      code: .alreadyExists, message: "Already exists: \(kind) \(id)",
      data: ["kind": .string(kind), "id": .string(id)])
  }

  public static func overloaded(_ detail: String, retryAfterMs: Int) -> ResponseError {
    ResponseError(code: .overloaded, message: "Overloaded: \(detail)", data: ["retryAfterMs": .int(retryAfterMs)])
  }
}
