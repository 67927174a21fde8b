import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// A handler with test methods: echo, slow, waitForCancel, notifyThenReply, ask, flood, latest.
final class TestHandler: JSONRPCConnectionHandler {
  let closed = OneShotEvent()
  let progress = Atomic<Int>(0)
  /// How many `latest` notifications the last `latest` request has handed to the connection.
  let latestSent = Atomic<Int>(0)
  let notifications = Mutex<[String]>([])
  let admissionLog = Mutex<[String]>([])

  func admit(_ request: Request, connection: JSONRPCConnection) -> RequestAdmission {
    admissionLog.withLock { $0.append(request.method) }
    if request.method == "reject" { return .reject(.invalidRequest("rejected")) }
    if request.method == "exclusive" { return .runExclusively }
    return .run
  }

  func handle(_ request: Request, context: RequestContext) async -> Result<JSONValue, ResponseError> {
    let p = request.params ?? .null
    switch request.method {
    case "echo":
      return .success(p)
    case "slow", "exclusive":
      try? await Task.sleep(nanoseconds: UInt64((p["ms"]?.intValue ?? 100) * 1_000_000))
      return .success(["slept": p["ms"] ?? 100])
    case "waitForCancel":
      // Cooperative: returns a partial result when cancelled.
      var spins = 0
      while !Task.isCancelled && spins < 10_000 {
        try? await Task.sleep(nanoseconds: 1_000_000)
        spins += 1
      }
      return .success(["partial": true, "cancelled": .bool(Task.isCancelled)])
    case "waitForCancelThenThrow":
      while !Task.isCancelled { try? await Task.sleep(nanoseconds: 1_000_000) }
      return .failure(.requestCancelled)
    case "notifyThenReply":
      let n = p["count"]?.intValue ?? 10
      for i in 0..<n { await context.connection.notify("test/note", ["i": .int(i)]) }
      return .success(["sent": .int(n)])
    case "progress":
      guard let reporter = context.progress else { return .success(["progress": false]) }
      await reporter.begin(title: "Working")
      await reporter.report(message: "half", percentage: 50)
      await reporter.end(message: "done")
      return .success(["progress": true])
    case "ask":
      let timeout = p["timeout"]?.doubleValue
      switch await context.connection.request("client/question", ["q": p["q"] ?? nil], timeout: timeout) {
      case .success(let answer): return .success(["answer": answer])
      case .failure(.timedOut): return .success(["answer": "timed out"])
      case .failure(.remote(let e)): return .success(["answer": .string("error \(e.code.rawValue)")])
      case .failure(let e): return .success(["answer": .string("\(e)")])
      }
    case "flood":
      let n = p["count"]?.intValue ?? 1000
      let pad = String(repeating: "x", count: p["size"]?.intValue ?? 10_000)
      for i in 0..<n {
        await context.connection.notify("test/flood", ["i": .int(i), "pad": .string(pad)])
        progress.store(i + 1, ordering: .relaxed)
      }
      return .success(["flooded": .int(n)])
    case "latest":
      let n = p["count"]?.intValue ?? 1000
      for i in 0..<n {
        context.connection.notifyLatest(key: "metrics", "test/latest", ["i": .int(i)])
        latestSent.store(i + 1, ordering: .relaxed)
      }
      return .success(["sent": .int(n)])
    default:
      return .failure(.methodNotFound(request.method))
    }
  }

  func handle(_ notification: Notification, connection: JSONRPCConnection) {
    notifications.withLock { $0.append(notification.method) }
  }

  func connectionDidClose(_ connection: JSONRPCConnection) { closed.signal() }
}

/// A started connection with its client and handler.
struct Harness {
  let client: PipeClient
  let handler: TestHandler
  let connection: JSONRPCConnection

  init(options: JSONRPCConnection.Options = .init(inputClosedGracePeriod: 2), startReading: Bool = true) {
    client = PipeClient(startReading: startReading)
    handler = TestHandler()
    connection = JSONRPCConnection(
      number: 1, endpoint: .other("test"), input: client.serverInput,
      output: client.serverOutput, ownsDescriptors: true, handler: handler,
      options: options, logger: .disabled)
    connection.start()
  }

  func finish() async {
    client.closeInput()
    _ = await connection.finished.waitAsync(timeout: 10)
  }
}
