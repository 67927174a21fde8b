import JSONRPC
import MinionsCore
import Synchronization

/// What a request handler knows about the request it is serving and the connection it came on.
public struct RequestContext: Sendable {
  public let id: RequestID
  public let method: String
  public let connection: JSONRPCConnection
  /// The `workDoneToken` from the params, when the client asked for progress.
  public let workDoneToken: JSONValue?
  let afterReplyActions = AfterReplyActions()

  public init(id: RequestID, method: String, params: JSONValue?, connection: JSONRPCConnection) {
    self.id = id
    self.method = method
    self.connection = connection
    if let token = params?["workDoneToken"], token.stringValue != nil || token.intValue != nil {
      self.workDoneToken = token
    } else {
      self.workDoneToken = nil
    }
  }

  /// Runs `action` once this request's reply has been queued for writing, so whatever it sends comes
  /// after the reply (a subscription's first update, a task's first status). In a batch the replies
  /// are sent together when all are done, so there it runs before the batch's reply is written.
  public func afterReply(_ action: @escaping @Sendable () -> Void) {
    afterReplyActions.add(action)
  }

  /// True once the client cancelled this request (or the connection is going away).
  public var isCancelled: Bool { Task.isCancelled }

  /// A progress reporter when the client passed `workDoneToken`, else nil.
  public var progress: ProgressReporter? {
    workDoneToken.map { ProgressReporter(token: $0, connection: connection) }
  }
}

/// Sends `$/progress` notifications for one `workDoneToken` (LSP work-done progress).
public struct ProgressReporter: Sendable {
  public let token: JSONValue
  let connection: JSONRPCConnection

  public func begin(title: String, message: String? = nil, percentage: Int? = nil, cancellable: Bool = true) async {
    var value: [String: JSONValue] = ["kind": "begin", "title": .string(title), "cancellable": .bool(cancellable)]
    if let message { value["message"] = .string(message) }
    if let percentage { value["percentage"] = .int(percentage) }
    await connection.notify("$/progress", ["token": token, "value": .object(value)])
  }

  public func report(message: String? = nil, percentage: Int? = nil) async {
    var value: [String: JSONValue] = ["kind": "report"]
    if let message { value["message"] = .string(message) }
    if let percentage { value["percentage"] = .int(max(0, min(100, percentage))) }
    await connection.notify("$/progress", ["token": token, "value": .object(value)])
  }

  public func end(message: String? = nil) async {
    var value: [String: JSONValue] = ["kind": "end"]
    if let message { value["message"] = .string(message) }
    await connection.notify("$/progress", ["token": token, "value": .object(value)])
  }
}

/// The actions `RequestContext.afterReply` collected for one request.
final class AfterReplyActions: Sendable {
  private let actions = Mutex<[@Sendable () -> Void]>([])

  func add(_ action: @escaping @Sendable () -> Void) { actions.withLock { $0.append(action) } }

  func run() {
    for action in actions.withLock({ a in
      defer { a.removeAll() }
      return a
    }) { action() }
  }
}
