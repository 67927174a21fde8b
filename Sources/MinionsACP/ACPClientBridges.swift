import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine

/// The editor's files through ACP's `fs/read_text_file` and `fs/write_text_file`.
struct ACPEditorFiles: EditorFiles {
  let connection: JSONRPCConnection
  let sessionID: String

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  func readTextFile(path: String) async throws -> String {
    switch await connection.request("fs/read_text_file", ["sessionId": .string(sessionID), "path": .string(path)]) {
    case .success(let result):
      guard let content = result["content"]?.stringValue else { throw Failure(description: "no content in the reply") }
      return content
    case .failure(let error):
      throw Self.failure(error)
    }
  }

  func writeTextFile(path: String, content: String) async throws {
    let params: JSONValue = ["sessionId": .string(sessionID), "path": .string(path), "content": .string(content)]
    if case .failure(let error) = await connection.request("fs/write_text_file", params) { throw Self.failure(error) }
  }

  static func failure(_ error: OutgoingRequestError) -> any Error {
    switch error {
    case .cancelled: return CancellationError()
    case .remote(let e): return Failure(description: e.message)
    case .timedOut: return Failure(description: "the editor did not answer in time")
    case .connectionClosed: return Failure(description: "the editor is gone")
    }
  }
}

/// Approvals through ACP's `session/request_permission`, with ACP's option kinds (which are Minions'
/// own: allow_once, allow_always, reject_once, reject_always).
struct ACPApprovalGate: ApprovalGate {
  let connection: JSONRPCConnection
  let logger: Logger

  static let options: [JSONValue] = ApprovalOutcome.offered.map {
    ["optionId": .string($0.rawValue), "name": .string($0.label), "kind": .string($0.rawValue)]
  }

  func decide(_ request: ApprovalRequest) async -> (ApprovalOutcome, ApprovalSource) {
    let params: JSONValue = [
      "sessionId": .string(request.sessionID),
      "toolCall": [
        "toolCallId": .string(request.callID), "title": .string(ACPUpdates.title(request.tool, request.arguments)),
        "kind": .string(ACPUpdates.kind(request.tool, request.arguments)), "status": "pending",
        "rawInput": request.arguments,
      ],
      "options": .array(Self.options),
    ]
    switch await connection.request("session/request_permission", params) {
    case .success(let result):
      let outcome = result["outcome"]
      if outcome?["outcome"] == "selected", let id = outcome?["optionId"]?.stringValue,
        let chosen = ApprovalOutcome(rawValue: id), chosen != .cancelled
      {
        return (chosen, .client)
      }
      return (.cancelled, .client)
    case .failure(let error):
      logger.info("session/request_permission failed: \(error)")
      return (.cancelled, .client)
    }
  }
}
