import JSONRPC
import MinionsCore
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// What the layer above decides for each incoming request, on the reader thread, before it runs.
public enum RequestAdmission: Sendable {
  /// Run it concurrently with other requests.
  case run
  /// Run it and read nothing more until its reply is queued (lifecycle requests such as `initialize`,
  /// so that a pipelined request right behind it sees the initialized state).
  case runExclusively
  /// Answer at once with this error.
  case reject(ResponseError)
}

/// The layer above the transport: decides admission and handles requests and notifications.
public protocol JSONRPCConnectionHandler: AnyObject, Sendable {
  /// Called on the reader thread, in arrival order; must return quickly.
  func admit(_ request: Request, connection: JSONRPCConnection) -> RequestAdmission
  /// Runs in its own Task; everything it sends through the connection before returning is written
  /// before its reply.
  func handle(_ request: Request, context: RequestContext) async -> Result<JSONValue, ResponseError>
  /// Called on the reader thread, in arrival order (`$/cancelRequest` is handled by the transport).
  func handle(_ notification: Notification, connection: JSONRPCConnection)
  /// Called once, after the connection has finished (its work cancelled and its output flushed).
  func connectionDidClose(_ connection: JSONRPCConnection)
}

/// Why a request the server sent to the client did not produce a result.
public enum OutgoingRequestError: Error, Sendable, Equatable {
  case remote(ResponseError)
  case timedOut
  case cancelled
  case connectionClosed
}

/// One JSON-RPC peer over a pair of file descriptors (stdin/stdout, or a socket).
///
/// A reader thread parses frames and dispatches a Task per request; a writer thread drains the
/// bounded outgoing queue. Requests can be cancelled (`$/cancelRequest`) and always get exactly one
/// reply. The server can send its own requests and await the client's answer.
public final class JSONRPCConnection: Sendable {
  public enum Endpoint: Sendable, Equatable, CustomStringConvertible {
    case stdio
    case tcp(peer: String)
    case other(String)

    public var description: String {
      switch self {
      case .stdio: return "stdio"
      case .tcp(let peer): return "tcp \(peer)"
      case .other(let s): return s
      }
    }
  }

  public struct Options: Sendable {
    public var limits: FrameLimits
    /// Requests running at once on this connection before new ones get -32015.
    public var maxInFlight: Int
    /// Bytes of replies and notifications waiting for a slow reader before senders wait.
    public var maxQueuedBytes: Int
    /// After the client closes its input, how long running requests may still finish before they
    /// are cancelled (their replies are still written if the client reads them).
    public var inputClosedGracePeriod: Double

    public init(
      limits: FrameLimits = FrameLimits(), maxInFlight: Int = 1024, maxQueuedBytes: Int = 16 << 20,
      inputClosedGracePeriod: Double = 10
    ) {
      self.limits = limits
      self.maxInFlight = maxInFlight
      self.maxQueuedBytes = maxQueuedBytes
      self.inputClosedGracePeriod = inputClosedGracePeriod
    }
  }

  private enum RunningKey: Hashable {
    case id(RequestID)
    case anonymous(Int)
  }

  /// A request between admission and the end of its handler. Its Task is made outside the lock, so
  /// for a moment it is registered without one; a cancel arriving then is remembered.
  private enum RunningRequest {
    case starting(cancelled: Bool)
    case running(Task<Void, Never>)
  }

  private struct State {
    var handler: (any JSONRPCConnectionHandler)?
    /// Running requests that can still be cancelled (removed once their result exists).
    var running: [RunningKey: RunningRequest] = [:]
    /// Requests admitted whose reply is not yet queued.
    var active = 0
    var anonymousCounter = 0
    var pendingOutgoing: [RequestID: PendingReply] = [:]
    var nextOutgoingID = 1
    var inputClosed = false
    var finished = false
    var idle: OneShotEvent?
  }

  public let number: Int
  public let endpoint: Endpoint
  public let logger: Logger
  private let inputFD: Int32
  private let outputFD: Int32
  private let ownsDescriptors: Bool
  private let options: Options
  private let outgoing: OutgoingQueue
  private let state: Mutex<State>
  private let framingValue = Atomic<UInt8>(0)
  private let wakePipe: (read: Int32, write: Int32)
  private let stopRequested = AtomicFlag()
  private let cancelOnClose = AtomicFlag()
  /// Signalled once the connection has completely finished.
  public let finished = OneShotEvent()

  /// Creates a connection over `input`/`output` served by `handler`. With `ownsDescriptors` the
  /// descriptors are closed at the end.
  public convenience init(
    number: Int, endpoint: Endpoint, input: Int32, output: Int32, ownsDescriptors: Bool,
    handler: any JSONRPCConnectionHandler, options: Options = Options(), logger: Logger
  ) {
    self.init(
      number: number, endpoint: endpoint, input: input, output: output, ownsDescriptors: ownsDescriptors,
      options: options, logger: logger, makeHandler: { _ in handler })
  }

  /// Creates a connection whose handler is made for it (and may keep a reference to it; the connection
  /// drops its handler when it finishes, which breaks the cycle).
  public init(
    number: Int, endpoint: Endpoint, input: Int32, output: Int32, ownsDescriptors: Bool,
    options: Options = Options(), logger: Logger,
    makeHandler: (JSONRPCConnection) -> any JSONRPCConnectionHandler
  ) {
    self.number = number
    self.endpoint = endpoint
    self.inputFD = input
    self.outputFD = output
    self.ownsDescriptors = ownsDescriptors
    self.options = options
    self.logger = logger
    var fds: [Int32] = [0, 0]
    precondition(pipe(&fds) == 0, "pipe() failed")
    self.wakePipe = (fds[0], fds[1])
    self.state = Mutex(State(handler: nil))
    let box = WeakConnection()
    self.outgoing = OutgoingQueue(fd: output, maxQueuedBytes: options.maxQueuedBytes, logger: logger) {
      box.connection?.outputDidFail()
    }
    box.connection = self
    let handler = makeHandler(self)
    state.withLock { $0.handler = handler }
  }

  /// Starts the reader and writer threads.
  public func start() {
    outgoing.start(name: "rpc-w\(number)")
    spawnThread(name: "rpc-r\(number)") { [self] in readLoop() }
  }

  /// Fixes the framing of what this side sends, for a connection that speaks first (a client);
  /// otherwise it follows the peer's first message.
  public func useFraming(_ f: Framing) {
    outgoing.setFraming(f)
    framingValue.store(f == .lsp ? 1 : 2, ordering: .releasing)
  }

  /// The framing the client chose (nil until its first byte arrived).
  public var framing: Framing? {
    switch framingValue.load(ordering: .acquiring) {
    case 1: return .lsp
    case 2: return .ndjson
    default: return nil
    }
  }

  // MARK: Sending

  /// Sends a notification, in order with replies; suspends while the client is not reading.
  public func notify(_ method: String, _ params: JSONValue? = nil) async {
    var body: [UInt8] = []
    body.reserveCapacity(96)
    MessageEncoder.encodeNotification(method: method, params: params, into: &body)
    await outgoing.enqueue(body)
  }

  /// Sends an already encoded notification (a JSON text), in order with replies.
  public func notify(encoded body: [UInt8]) async {
    await outgoing.enqueue(body)
  }

  /// Sends a notification that may be replaced by a newer one with the same `key` if the client has
  /// not read it yet (metrics, progress of the same token).
  public func notifyLatest(key: String, _ method: String, _ params: JSONValue? = nil) {
    var body: [UInt8] = []
    MessageEncoder.encodeNotification(method: method, params: params, into: &body)
    outgoing.enqueueLatest(key: key, body)
  }

  /// Withdraws the unsent `notifyLatest` message with this key, if the client has not read it yet.
  public func dropLatest(key: String) {
    outgoing.dropLatest(key: key)
  }

  /// Sends a request to the client and waits for its answer (or the timeout, or cancellation).
  public func request(_ method: String, _ params: JSONValue? = nil, timeout: Double? = nil) async
    -> Result<JSONValue, OutgoingRequestError>
  {
    let pending = PendingReply()
    let id: RequestID? = state.withLock { s in
      guard !s.inputClosed, !s.finished else { return nil }
      let id = RequestID.string("minions-\(s.nextOutgoingID)")
      s.nextOutgoingID += 1
      s.pendingOutgoing[id] = pending
      return id
    }
    guard let id else { return .failure(.connectionClosed) }
    var body: [UInt8] = []
    MessageEncoder.encodeRequest(id: id, method: method, params: params, into: &body)
    await outgoing.enqueue(body)
    let timer: Task<Void, Never>? = timeout.map { seconds in
      Task { [self] in
        try? await Task.sleep(nanoseconds: UInt64(seconds * 1e9))
        if !Task.isCancelled { resolveOutgoing(id, with: .failure(.timedOut)) }
      }
    }
    let result = await withTaskCancellationHandler {
      await pending.wait()
    } onCancel: {
      if resolveOutgoing(id, with: .failure(.cancelled)) {
        notifyLatest(key: "$/cancelRequest:\(id)", "$/cancelRequest", ["id": id.jsonValue])
      }
    }
    timer?.cancel()
    return result
  }

  @discardableResult
  private func resolveOutgoing(_ id: RequestID, with result: Result<JSONValue, OutgoingRequestError>) -> Bool {
    guard let pending = state.withLock({ $0.pendingOutgoing.removeValue(forKey: id) }) else { return false }
    pending.resolve(result)
    return true
  }

  private func sendResponse(_ response: Response) async {
    var body: [UInt8] = []
    body.reserveCapacity(128)
    MessageEncoder.encodeResponse(response, into: &body)
    await outgoing.enqueue(body)
  }

  private func sendResponseFromReader(_ response: Response) {
    var body: [UInt8] = []
    MessageEncoder.encodeResponse(response, into: &body)
    outgoing.enqueueBlocking(body)
  }

  private func sendBatchResponse(_ responses: [Response]) async {
    var body: [UInt8] = []
    MessageEncoder.encodeBatch(responses, into: &body)
    await outgoing.enqueue(body)
  }

  private func sendBatchResponseFromReader(_ responses: [Response]) {
    var body: [UInt8] = []
    MessageEncoder.encodeBatch(responses, into: &body)
    outgoing.enqueueBlocking(body)
  }

  // MARK: Reading

  private func readLoop() {
    var parser = FrameParser(limits: options.limits)
    let capacity = 64 << 10
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    defer { buffer.deallocate() }
    var fds = [
      pollfd(fd: inputFD, events: Int16(POLLIN), revents: 0),
      pollfd(fd: wakePipe.read, events: Int16(POLLIN), revents: 0),
    ]
    readLoop: while !stopRequested.isSet {
      let ready = poll(&fds, 2, -1)
      if ready < 0 {
        if errno == EINTR { continue }
        break
      }
      if fds[1].revents != 0 { break }
      let n = read(inputFD, buffer, capacity)
      if n < 0 {
        if errno == EINTR || errno == EAGAIN { continue }
        logger.debug("connection \(number): read failed: \(String(cString: strerror(errno)))")
        break
      }
      if n == 0 { break }
      let bytes = UnsafeRawBufferPointer(start: buffer, count: n)
      if framingValue.load(ordering: .relaxed) == 0, let detected = Self.detectFraming(bytes) {
        outgoing.setFraming(detected)
        framingValue.store(detected == .lsp ? 1 : 2, ordering: .releasing)
        logger.debug("connection \(number): \(detected.rawValue) framing")
      }
      parser.feed(bytes) { event in process(event) }
      if stopRequested.isSet { break readLoop }
    }
    inputDidClose()
  }

  static func detectFraming(_ bytes: UnsafeRawBufferPointer) -> Framing? {
    for b in bytes {
      switch b {
      case 0x20, 0x09, 0x0A, 0x0D: continue
      case UInt8(ascii: "{"), UInt8(ascii: "["): return .ndjson
      default: return .lsp
      }
    }
    return nil
  }

  private func process(_ event: FrameParser.Event) {
    switch event {
    case .frame(let bytes):
      let value: JSONValue
      do {
        value = try JSONParser.parse(
          bytes, options: .init(maxDepth: options.limits.maxDepth, maxTopLevelArrayElements: options.limits.maxBatch))
      } catch let error as JSONParseError {
        refuse(frame: bytes, error: error)
        return
      } catch {
        sendResponseFromReader(Response(id: .null, result: .failure(.parseError("\(error)"))))
        return
      }
      processValue(value)
    case .error(let frameError):
      if frameError.isLimit {
        if let id = frameError.id, id != .null {
          logger.warning("connection \(number): refused request \(id): \(frameError.message)")
          sendResponseFromReader(Response(id: id, result: .failure(frameError.responseError)))
        } else {
          logger.warning("connection \(number): dropped a message without id: \(frameError.message)")
        }
      } else {
        logger.warning("connection \(number): malformed frame: \(frameError.message)")
        sendResponseFromReader(Response(id: frameError.id ?? .null, result: .failure(frameError.responseError)))
      }
    }
  }

  private func refuse(frame bytes: [UInt8], error: JSONParseError) {
    switch error.kind {
    case .tooManyElements(let limit):
      logger.warning("connection \(number): refused a batch: \(error)")
      sendResponseFromReader(
        Response(
          id: .null,
          result: .failure(
            .invalidRequest(
              "batch has more than the limit of \(limit) entries",
              data: ["limit": .int(limit)]))))
    case .tooDeep(let limit):
      var scanner = IDScanner()
      scanner.feed(bytes)
      if let id = scanner.foundID, id != .null {
        logger.warning("connection \(number): refused request \(id): \(error)")
        sendResponseFromReader(
          Response(
            id: id,
            result: .failure(
              .invalidRequest(
                "JSON nested deeper than the limit of \(limit)",
                data: ["limit": .int(limit), "offset": .int(error.offset)]))))
      } else {
        logger.warning("connection \(number): dropped a message without id: \(error)")
      }
    default:
      sendResponseFromReader(
        Response(
          id: .null, result: .failure(.parseError(error.description, data: ["offset": .int(error.offset)]))))
    }
  }

  private func processValue(_ value: JSONValue) {
    guard case .array(let elements) = value else {
      switch Message.decode(value) {
      case .invalid(let error, let id):
        sendResponseFromReader(Response(id: id, result: .failure(error)))
      case .message(.request(let request)):
        if let rejection = dispatch(request, completion: { [self] response in await sendResponse(response) }) {
          sendResponseFromReader(rejection)
        }
      case .message(.notification(let notification)):
        handleNotification(notification)
      case .message(.response(let response)):
        routeResponse(response)
      }
      return
    }
    guard !elements.isEmpty else {
      sendResponseFromReader(Response(id: .null, result: .failure(.invalidRequest("empty batch"))))
      return
    }
    // A batch: every request and invalid entry gets a slot in one array reply, sent when all are done.
    let decoded = elements.map(Message.decode)
    let slots = decoded.reduce(0) { n, d in
      switch d {
      case .invalid, .message(.request): return n + 1
      default: return n
      }
    }
    let collector = slots > 0 ? BatchCollector(count: slots) : nil
    var slot = 0
    for d in decoded {
      switch d {
      case .invalid(let error, let id):
        if let done = collector?.fill(slot, Response(id: id, result: .failure(error))) {
          sendBatchResponseFromReader(done)
        }
        slot += 1
      case .message(.request(let request)):
        let mySlot = slot
        slot += 1
        let rejection = dispatch(request) { [self] response in
          if let done = collector?.fill(mySlot, response) { await sendBatchResponse(done) }
        }
        if let rejection, let done = collector?.fill(mySlot, rejection) { sendBatchResponseFromReader(done) }
      case .message(.notification(let notification)):
        handleNotification(notification)
      case .message(.response(let response)):
        routeResponse(response)
      }
    }
  }

  /// Starts a request; returns a reply to send at once when it is refused before running.
  private func dispatch(_ request: Request, completion: @escaping @Sendable (Response) async -> Void) -> Response? {
    var done: OneShotEvent? = nil
    var handler: (any JSONRPCConnectionHandler)? = nil
    var key = RunningKey.anonymous(0)
    // A short critical section: admission, the duplicate and in-flight checks, and registration.
    let rejection: ResponseError? = state.withLock { s in
      guard let h = s.handler, !s.inputClosed, !s.finished else { return .invalidRequest("the connection is closing") }
      switch h.admit(request, connection: self) {
      case .reject(let error): return error
      case .run: break
      case .runExclusively: done = OneShotEvent()
      }
      if request.id == .null {
        s.anonymousCounter += 1
        key = .anonymous(s.anonymousCounter)
      } else {
        key = .id(request.id)
        if s.running[key] != nil {
          return .invalidRequest("id \(request.id) is already used by a request in flight", data: ["field": "id"])
        }
      }
      if s.active >= options.maxInFlight {
        return .overloaded(
          "\(options.maxInFlight) requests are already in flight on this connection", retryAfterMs: 100)
      }
      s.active += 1
      s.running[key] = .starting(cancelled: false)
      handler = h
      return nil
    }
    if let rejection { return Response(id: request.id, result: .failure(rejection)) }
    let started = MonotonicClock.nanoseconds()
    let debug = logger.isEnabled(.debug)
    let context = RequestContext(id: request.id, method: request.method, params: request.params, connection: self)
    let finished = done
    let runningKey = key
    let task = Task { [self, handler] in
      let result = await handler!.handle(request, context: context)
      // Its result exists: from now on a cancel is moot and the id may be reused.
      state.withLock { s in _ = s.running.removeValue(forKey: runningKey) }
      if debug {
        let micros = (MonotonicClock.nanoseconds() - started) / 1000
        switch result {
        case .success: logger.debug("\(request.method) id=\(request.id) ok \(micros)µs")
        case .failure(let e): logger.debug("\(request.method) id=\(request.id) error \(e.code.rawValue) \(micros)µs")
        }
      }
      await completion(Response(id: request.id, result: result))
      context.afterReplyActions.run()
      let idle = state.withLock { s -> OneShotEvent? in
        s.active -= 1
        return s.active == 0 ? s.idle : nil
      }
      finished?.signal()
      idle?.signal()
    }
    let cancelNow = state.withLock { s -> Bool in
      guard case .starting(let cancelled)? = s.running[runningKey] else { return false }  // already done
      s.running[runningKey] = .running(task)
      return cancelled
    }
    if cancelNow { task.cancel() }
    done?.wait()
    return nil
  }

  private func handleNotification(_ notification: Notification) {
    if notification.method == "$/cancelRequest" {
      guard let raw = notification.params?["id"], let id = RequestID(json: raw) else {
        logger.debug("connection \(number): $/cancelRequest without a valid id ignored")
        return
      }
      let task = state.withLock { s -> Task<Void, Never>? in
        switch s.running[.id(id)] {
        case .running(let task)?: return task
        case .starting?:
          s.running[.id(id)] = .starting(cancelled: true)
          return nil
        case nil: return nil
        }
      }
      if let task {
        logger.debug("connection \(number): cancelling request \(id)")
        task.cancel()
      }
      return
    }
    state.withLock({ $0.handler })?.handle(notification, connection: self)
  }

  private func routeResponse(_ response: Response) {
    let outcome: Result<JSONValue, OutgoingRequestError>
    switch response.result {
    case .success(let v): outcome = .success(v)
    case .failure(let e): outcome = .failure(.remote(e))
    }
    if !resolveOutgoing(response.id, with: outcome) {
      logger.debug("connection \(number): response to unknown request \(response.id) ignored")
    }
  }

  // MARK: Closing

  /// Ends the connection: stops reading, cancels running requests (they still reply), flushes what is
  /// queued and closes. Returns at once; `finished` is signalled at the end.
  public func close() {
    cancelOnClose.set()
    stopRequested.set()
    var byte: UInt8 = 1
    _ = write(wakePipe.write, &byte, 1)
  }

  /// The number of requests running now.
  public var runningRequestCount: Int { state.withLock { $0.active } }

  private func outputDidFail() {
    logger.debug("connection \(number): peer stopped reading; cancelling its work")
    cancelOnClose.set()
    cancelAll()
    failAllOutgoing()
    close()
  }

  private func cancelAll() {
    let tasks = state.withLock { s -> [Task<Void, Never>] in
      var tasks: [Task<Void, Never>] = []
      for (key, entry) in s.running {
        switch entry {
        case .running(let t): tasks.append(t)
        case .starting: s.running[key] = .starting(cancelled: true)
        }
      }
      return tasks
    }
    for t in tasks { t.cancel() }
  }

  private func failAllOutgoing() {
    let pending = state.withLock { s -> [PendingReply] in
      let all = Array(s.pendingOutgoing.values)
      s.pendingOutgoing.removeAll()
      return all
    }
    for p in pending { p.resolve(.failure(.connectionClosed)) }
  }

  /// Waits (on the reader thread) until no request runs, at most `seconds`; returns whether idle.
  private func waitIdle(seconds: Double) -> Bool {
    let event = OneShotEvent()
    let alreadyIdle = state.withLock { s -> Bool in
      if s.active == 0 { return true }
      s.idle = event
      return false
    }
    if alreadyIdle { return true }
    return event.wait(timeout: seconds)
  }

  private func inputDidClose() {
    state.withLock { $0.inputClosed = true }
    // No answer to our own requests can arrive any more.
    failAllOutgoing()
    if !cancelOnClose.isSet && !outgoing.isFailed {
      _ = waitIdle(seconds: options.inputClosedGracePeriod)
    }
    cancelAll()
    if !waitIdle(seconds: 5) {
      logger.warning("connection \(number): \(runningRequestCount) requests did not finish after cancellation")
    }
    outgoing.closeAfterFlush()
    _ = outgoing.drained.wait(timeout: 10)
    let handler = state.withLock { s -> (any JSONRPCConnectionHandler)? in
      s.finished = true
      let h = s.handler
      s.handler = nil
      return h
    }
    if ownsDescriptors {
      Glibc.close(inputFD)
      if outputFD != inputFD { Glibc.close(outputFD) }
    }
    Glibc.close(wakePipe.read)
    Glibc.close(wakePipe.write)
    handler?.connectionDidClose(self)
    logger.debug("connection \(number) (\(endpoint)) closed")
    finished.signal()
  }
}

/// Breaks the reference cycle between the queue's failure callback and its connection.
private final class WeakConnection: @unchecked Sendable {  // set once during init, before any thread starts
  weak var connection: JSONRPCConnection?
}

/// Collects the replies of one batch and hands back the whole array when the last slot is filled.
final class BatchCollector: Sendable {
  private let state: Mutex<(slots: [Response?], remaining: Int)>

  init(count: Int) { state = Mutex((Array(repeating: nil, count: count), count)) }

  /// Fills a slot; returns all replies when this was the last one.
  func fill(_ index: Int, _ response: Response) -> [Response]? {
    state.withLock { s in
      s.slots[index] = response
      s.remaining -= 1
      return s.remaining == 0 ? s.slots.map { $0! } : nil
    }
  }
}

/// The answer to one server→client request, which may arrive before or after someone waits for it.
final class PendingReply: Sendable {
  private let state = Mutex<
    (
      result: Result<JSONValue, OutgoingRequestError>?,
      waiter: CheckedContinuation<Result<JSONValue, OutgoingRequestError>, Never>?
    )
  >((nil, nil))

  func resolve(_ result: Result<JSONValue, OutgoingRequestError>) {
    let waiter = state.withLock { s -> CheckedContinuation<Result<JSONValue, OutgoingRequestError>, Never>? in
      guard s.result == nil else { return nil }
      s.result = result
      let w = s.waiter
      s.waiter = nil
      return w
    }
    waiter?.resume(returning: result)
  }

  func wait() async -> Result<JSONValue, OutgoingRequestError> {
    await withCheckedContinuation { continuation in
      let ready = state.withLock { s -> Result<JSONValue, OutgoingRequestError>? in
        if let r = s.result { return r }
        s.waiter = continuation
        return nil
      }
      if let ready { continuation.resume(returning: ready) }
    }
  }
}
