import MinionsCore

public struct Request: Sendable {
  public var id: RequestID
  public var method: String
  public var params: JSONValue?

  public init(id: RequestID, method: String, params: JSONValue?) {
    self.id = id
    self.method = method
    self.params = params
  }
}

public struct Notification: Sendable {
  public var method: String
  public var params: JSONValue?

  public init(method: String, params: JSONValue?) {
    self.method = method
    self.params = params
  }
}

public struct Response: Sendable {
  public var id: RequestID
  public var result: Result<JSONValue, ResponseError>

  public init(id: RequestID, result: Result<JSONValue, ResponseError>) {
    self.id = id
    self.result = result
  }
}

/// One JSON-RPC 2.0 message.
public enum Message: Sendable {
  case request(Request)
  case notification(Notification)
  case response(Response)
}

/// The outcome of reading one element: a message, or an invalid one to answer with an error.
public enum DecodedMessage: Sendable {
  case message(Message)
  /// The element is not a valid message; reply with `error` to `id` (`.null` when unknown).
  case invalid(ResponseError, id: RequestID)
}

extension Message {
  /// Validates one JSON value against JSON-RPC 2.0 §4–5.
  public static func decode(_ value: JSONValue) -> DecodedMessage {
    guard case .object(let members) = value else {
      return .invalid(.invalidRequest("expected a JSON object, got \(value.typeName)"), id: .null)
    }
    var id: RequestID? = nil
    if let rawID = members["id"] {
      guard let parsed = RequestID(json: rawID) else {
        return .invalid(
          .invalidRequest(
            "id must be a string or an integer, got \(rawID.typeName == "number" ? "a fractional number" : rawID.typeName)",
            data: ["field": "id"]), id: .null)
      }
      id = parsed
    }
    guard members["jsonrpc"] == .string("2.0") else {
      return .invalid(.invalidRequest("jsonrpc must be exactly \"2.0\"", data: ["field": "jsonrpc"]), id: id ?? .null)
    }
    if let rawMethod = members["method"] {
      guard case .string(let method) = rawMethod else {
        return .invalid(.invalidRequest("method must be a string", data: ["field": "method"]), id: id ?? .null)
      }
      let params = members["params"]
      if let params {
        switch params {
        case .object, .array: break
        default:
          return .invalid(
            .invalidRequest(
              "params must be an object or an array, got \(params.typeName)",
              data: ["field": "params"]), id: id ?? .null)
        }
      }
      if let id { return .message(.request(Request(id: id, method: method, params: params))) }
      return .message(.notification(Notification(method: method, params: params)))
    }
    // No method: a response to one of our requests.
    guard let id else {
      return .invalid(
        .invalidRequest(
          "a message needs a method (request or notification) or an id (response)",
          data: ["field": "method"]), id: .null)
    }
    let result = members["result"]
    let error = members["error"]
    switch (result, error) {
    case (let r?, nil):
      return .message(.response(Response(id: id, result: .success(r))))
    case (nil, let e?):
      guard let err = ResponseError(json: e) else {
        return .invalid(
          .invalidRequest(
            "error must be an object with an integer code and a string message",
            data: ["field": "error"]), id: .null)
      }
      return .message(.response(Response(id: id, result: .failure(err))))
    default:
      return .invalid(
        .invalidRequest("a response needs exactly one of result and error", data: ["field": "result"]),
        id: .null)
    }
  }
}

/// Writes JSON-RPC messages as compact JSON text with the envelope members in conventional order.
public enum MessageEncoder {
  private static let prefix = Array(#"{"jsonrpc":"2.0""#.utf8)

  public static func encode(_ message: Message, into out: inout [UInt8]) {
    switch message {
    case .request(let r): encodeRequest(id: r.id, method: r.method, params: r.params, into: &out)
    case .notification(let n): encodeNotification(method: n.method, params: n.params, into: &out)
    case .response(let r): encodeResponse(r, into: &out)
    }
  }

  public static func encode(_ message: Message) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(128)
    encode(message, into: &out)
    return out
  }

  public static func encodeResponse(_ response: Response, into out: inout [UInt8]) {
    out.append(contentsOf: prefix)
    out.append(contentsOf: #","id":"#.utf8)
    JSONWriter.write(response.id.jsonValue, into: &out)
    switch response.result {
    case .success(let v):
      out.append(contentsOf: #","result":"#.utf8)
      JSONWriter.write(v, into: &out)
    case .failure(let e):
      out.append(contentsOf: #","error":"#.utf8)
      JSONWriter.write(e.jsonValue, into: &out)
    }
    out.append(UInt8(ascii: "}"))
  }

  public static func encodeRequest(id: RequestID, method: String, params: JSONValue?, into out: inout [UInt8]) {
    out.append(contentsOf: prefix)
    out.append(contentsOf: #","id":"#.utf8)
    JSONWriter.write(id.jsonValue, into: &out)
    out.append(contentsOf: #","method":"#.utf8)
    JSONWriter.writeString(method, into: &out)
    if let params {
      out.append(contentsOf: #","params":"#.utf8)
      JSONWriter.write(params, into: &out)
    }
    out.append(UInt8(ascii: "}"))
  }

  public static func encodeNotification(method: String, params: JSONValue?, into out: inout [UInt8]) {
    out.append(contentsOf: prefix)
    out.append(contentsOf: #","method":"#.utf8)
    JSONWriter.writeString(method, into: &out)
    if let params {
      out.append(contentsOf: #","params":"#.utf8)
      JSONWriter.write(params, into: &out)
    }
    out.append(UInt8(ascii: "}"))
  }

  /// A batch reply: the responses as one JSON array (never empty: callers send nothing instead).
  public static func encodeBatch(_ responses: [Response], into out: inout [UInt8]) {
    precondition(!responses.isEmpty, "an empty batch reply is never sent")
    out.append(UInt8(ascii: "["))
    for (i, r) in responses.enumerated() {
      if i > 0 { out.append(UInt8(ascii: ",")) }
      encodeResponse(r, into: &out)
    }
    out.append(UInt8(ascii: "]"))
  }
}
