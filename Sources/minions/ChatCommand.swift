import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsServer
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `minions chat`: the thin terminal client (contract §6). It spawns `minions serve` over a pipe (or
/// connects to a TCP server), streams the answer's tokens to stdout, shows tool calls, results and
/// handoffs on stderr, asks for approvals on the terminal, and keeps one session across lines.
enum ChatCommand {
  static let usage = """
    usage: minions chat [MESSAGE] [--agent NAME] [--model NAME] [--session ID] [--connect HOST:PORT]
                        [--workspace DIR]

    Talks to an agent. With MESSAGE it runs one turn and exits; without, it reads one message per line
    (interactive when stdin is a terminal: /new starts a new conversation, /agent NAME and /model NAME
    switch, /quit or Ctrl-D ends; Ctrl-C stops a running turn). The answer streams to stdout; tool calls,
    results and handoffs go to stderr. On a terminal, tool calls that change things are shown for approval.

    options:
      --agent NAME         the agent (default: your defaultAgent preference, else assistant)
      --model NAME         a model name (default: the engine selects one)
      --session ID         continue a conversation (see sessions/list)
      --connect HOST:PORT  use a running TCP server instead of spawning the engine; credentials come from
                           MINIONS_API_KEY, MINIONS_TOKEN, or MINIONS_USER with MINIONS_PASSWORD (else asked)
      --workspace DIR      for a spawned engine: the directory file tools may use (default: here)

    exit status: 0 when every turn answered, 1 when one failed, 2 for bad usage.
    """

  static func run(_ args: [String]) throws -> Int32 {
    let a = try Arguments(
      args, valued: ["--agent", "--model", "--session", "--connect", "--workspace"], flags: ["--help", "-h"],
      usage: usage)
    if a.has("--help") || a.has("-h") {
      print(usage)
      return 0
    }
    guard a.positional.count <= 1 else {
      throw UsageError(message: "give the message as one argument (quote it)", usage: usage)
    }
    if let address = a.value("--connect"), TCPListener.parseAddress(address) == nil {
      throw UsageError(message: "invalid --connect address '\(address)': expected HOST:PORT", usage: usage)
    }
    let options = ChatSession.Options(
      agent: a.value("--agent"), model: a.value("--model"), session: a.value("--session"),
      interactive: a.positional.isEmpty && isatty(0) == 1)
    let link: EngineLink
    do {
      if let address = a.value("--connect") {
        link = try EngineLink.connect(address)
      } else {
        link = try EngineLink.spawn(workspace: a.value("--workspace"))
      }
    } catch {
      printError("minions chat: \(error)")
      return 1
    }
    let done = OneShotEvent()
    let code = Mutex<Int32>(1)
    Task {
      let session = ChatSession(link: link, options: options)
      let result = await session.run(message: a.positional.first)
      code.withLock { $0 = result }
      done.signal()
    }
    done.wait()
    link.close()
    return code.withLock { $0 }
  }
}

/// The connection to the engine: a spawned `minions serve` child over pipes, or a TCP socket.
final class EngineLink: Sendable {
  let input: Int32
  let output: Int32
  let child: pid_t?
  let isTCP: Bool

  private init(input: Int32, output: Int32, child: pid_t?, isTCP: Bool) {
    self.input = input
    self.output = output
    self.child = child
    self.isTCP = isTCP
  }

  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  /// Starts this executable as `minions serve` with its stdin/stdout on pipes (stderr shared, quiet
  /// unless MINIONS_LOG says otherwise).
  static func spawn(workspace: String?) throws -> EngineLink {
    var toChild: [Int32] = [0, 0]
    var fromChild: [Int32] = [0, 0]
    guard pipe(&toChild) == 0, pipe(&fromChild) == 0 else {
      throw Failure(description: "cannot make pipes: \(String(cString: strerror(errno)))")
    }
    for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    var arguments = ["minions", "serve", "--log-level", Environment.get("MINIONS_LOG") ?? "warning"]
    if let workspace { arguments += ["--workspace", workspace] }
    var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/proc/self/exe", &actions, nil, &argv, environ)
    Glibc.close(toChild[0])
    Glibc.close(fromChild[1])
    guard rc == 0 else {
      Glibc.close(toChild[1])
      Glibc.close(fromChild[0])
      throw Failure(description: "cannot start the engine: \(String(cString: strerror(rc)))")
    }
    return EngineLink(input: fromChild[0], output: toChild[1], child: pid, isTCP: false)
  }

  /// Connects to a TCP server.
  static func connect(_ address: String) throws -> EngineLink {
    guard let (host, port) = TCPListener.parseAddress(address) else {
      throw Failure(description: "invalid address \(address)")
    }
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    var list: UnsafeMutablePointer<addrinfo>?
    let rc = getaddrinfo(host, String(port), &hints, &list)
    guard rc == 0, let first = list else {
      throw Failure(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
    }
    defer { freeaddrinfo(list) }
    var cursor: UnsafeMutablePointer<addrinfo>? = first
    var lastError = "no address"
    while let ai = cursor {
      let fd = socket(ai.pointee.ai_family, ai.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue), 0)
      if fd >= 0 {
        if Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) == 0 {
          return EngineLink(input: fd, output: fd, child: nil, isTCP: true)
        }
        lastError = String(cString: strerror(errno))
        Glibc.close(fd)
      }
      cursor = ai.pointee.ai_next
    }
    throw Failure(description: "cannot connect to \(address): \(lastError)")
  }

  /// Waits for a spawned engine to exit (it does once its input closes).
  func close() {
    if let child {
      var status: Int32 = 0
      while waitpid(child, &status, 0) < 0 && errno == EINTR {}
    }
  }
}

/// One chat client: initializes, runs turns, renders updates, answers approval requests.
final class ChatSession: JSONRPCConnectionHandler {
  struct Options: Sendable {
    var agent: String?
    var model: String?
    var session: String?
    var interactive: Bool
  }

  struct State {
    var agent: String?
    var model: String?
    var sessionID: String?
    /// The running turn's session, once its first update named it.
    var turnSession: String?
    var turnRunning = false
    /// Whether the last thing written to stdout ended a line.
    var atLineStart = true
    var turnAgent = "assistant"
  }

  let link: EngineLink
  let options: Options
  private let state: Mutex<State>
  private let connection = Mutex<JSONRPCConnection?>(nil)
  private let stdoutIsTerminal = isatty(1) == 1

  init(link: EngineLink, options: Options) {
    self.link = link
    self.options = options
    state = Mutex(State(agent: options.agent, model: options.model, sessionID: options.session))
  }

  func run(message: String?) async -> Int32 {
    let conn = JSONRPCConnection(
      number: 0, endpoint: .other("engine"), input: link.input, output: link.output, ownsDescriptors: true,
      handler: self, logger: Logger(label: "chat", level: .warning))
    conn.useFraming(.ndjson)
    connection.withLock { $0 = conn }
    conn.start()
    defer { conn.close() }

    var initialize: [String: JSONValue] = [
      "clientInfo": ["name": "minions chat", "version": .string(MinionsVersion.current)],
      "capabilities": ["approvals": .bool(isatty(0) == 1), "tokenCoalesceMs": 20],
    ]
    if link.isTCP {
      guard let auth = Self.credentials() else {
        printError("minions chat: set MINIONS_API_KEY, MINIONS_TOKEN, or MINIONS_USER (and MINIONS_PASSWORD)")
        return 1
      }
      initialize["auth"] = auth
    }
    switch await conn.request("initialize", .object(initialize), timeout: 60) {
    case .success(let result):
      if options.interactive {
        let user = result["user"]?["username"]?.stringValue ?? "?"
        let version = result["serverInfo"]?["version"]?.stringValue ?? "?"
        printError("minions \(version) · signed in as \(user) · /help for commands, Ctrl-D to leave")
      }
    case .failure(let error):
      printError("minions chat: the engine did not start: \(Self.describe(error))")
      return 1
    }

    var failed = false
    if let message {
      failed = !(await turn(message, conn))
    } else {
      watchInterrupts(conn)
      while let line = await Self.readLine(prompt: options.interactive ? "\nyou> " : nil) {
        let text = line.trimmed()
        if text.isEmpty { continue }
        if text.hasPrefix("/") {
          if !command(text) { break }
          continue
        }
        if !(await turn(text, conn)) { failed = true }
      }
    }
    _ = await conn.request("shutdown", nil, timeout: 10)
    await conn.notify("exit", nil)
    return failed ? 1 : 0
  }

  /// Handles `/new`, `/agent`, `/model`, `/help`; returns false for `/quit`.
  private func command(_ text: String) -> Bool {
    let parts = text.split(separator: " ", maxSplits: 1).map(String.init)
    switch parts[0] {
    case "/quit", "/exit": return false
    case "/new":
      state.withLock { $0.sessionID = nil }
      printError("(a new conversation)")
    case "/agent" where parts.count == 2:
      state.withLock { $0.agent = parts[1] }
      printError("(agent: \(parts[1]))")
    case "/model" where parts.count == 2:
      state.withLock { $0.model = parts[1] == "auto" ? nil : parts[1] }
      printError("(model: \(parts[1]))")
    default:
      printError("commands: /new · /agent NAME · /model NAME|auto · /quit")
    }
    return true
  }

  /// Runs one turn; returns whether it answered.
  private func turn(_ message: String, _ conn: JSONRPCConnection) async -> Bool {
    var params: [String: JSONValue] = ["message": .string(message)]
    let s = state.withLock { s -> State in
      s.turnRunning = true
      s.turnSession = s.sessionID
      s.atLineStart = true
      return s
    }
    if let agent = s.agent { params["agent"] = .string(agent) }
    if let model = s.model { params["model"] = .string(model) }
    if let session = s.sessionID { params["sessionId"] = .string(session) }
    let result = await conn.request("agent/chat", .object(params))
    state.withLock { $0.turnRunning = false }
    switch result {
    case .success(let reply):
      let ended = state.withLock { $0.atLineStart }
      if !ended { write(1, "\n") }
      state.withLock { $0.sessionID = reply["sessionId"]?.stringValue ?? $0.sessionID }
      if reply["stopReason"] == "cancelled" { printError("(stopped)") }
      if options.interactive {
        let model = reply["model"]?.stringValue ?? "?"
        let ms = reply["timing"]?["totalMs"]?.doubleValue ?? 0
        let tokens = reply["usage"]?["totalTokens"]?.intValue ?? 0
        printError(dim("[\(reply["agent"]?.stringValue ?? "?") · \(model) · \(Int(ms)) ms · \(tokens) tokens]"))
      }
      return true
    case .failure(let error):
      if !state.withLock({ $0.atLineStart }) { write(1, "\n") }
      printError("minions chat: \(Self.describe(error))")
      return false
    }
  }

  /// Ctrl-C stops the running turn (agent/cancel); at the prompt it ends the chat.
  private func watchInterrupts(_ conn: JSONRPCConnection) {
    spawnThread(name: "chat-signals") { [self] in
      var set = sigset_t()
      sigemptyset(&set)
      sigaddset(&set, SIGINT)
      sigaddset(&set, SIGTERM)
      while true {
        var received: Int32 = 0
        guard sigwait(&set, &received) == 0 else { continue }
        let (running, session) = state.withLock { ($0.turnRunning, $0.turnSession) }
        if received == SIGINT && running, let session {
          Task { _ = await conn.request("agent/cancel", ["sessionId": .string(session)], timeout: 10) }
          continue
        }
        write(2, "\n")
        link.close()
        exit(130)
      }
    }
  }

  // MARK: JSONRPCConnectionHandler

  func admit(_ request: Request, connection: JSONRPCConnection) -> RequestAdmission { .run }

  func handle(_ request: Request, context: RequestContext) async -> Result<JSONValue, ResponseError> {
    guard request.method == "approval/request", let p = request.params else {
      return .failure(ResponseError(code: .methodNotFound, message: "Method not found: \(request.method)"))
    }
    return .success(await approve(p))
  }

  func handle(_ notification: Notification, connection: JSONRPCConnection) {
    guard notification.method == "agent/update", let p = notification.params else { return }
    render(p)
  }

  func connectionDidClose(_ connection: JSONRPCConnection) {}

  // MARK: Rendering

  private func render(_ p: JSONValue) {
    let agent = p["agent"]?.stringValue ?? ""
    state.withLock { s in
      if s.turnSession == nil { s.turnSession = p["sessionId"]?.stringValue }
      if p["seq"] == 1 && p["kind"] == "token" { s.turnAgent = agent }
    }
    switch p["kind"]?.stringValue {
    case "token":
      let text = p["text"]?.stringValue ?? ""
      let main = state.withLock { $0.turnAgent == agent || $0.atLineStart && $0.turnAgent.isEmpty }
      if main {
        write(1, text)
        state.withLock { $0.atLineStart = text.hasSuffix("\n") }
      } else {
        // A delegated agent's words go to stderr, so stdout stays the turn agent's answer.
        write(2, dim(text))
      }
    case "toolCall":
      newline()
      let args = JSONWriter.string(p["arguments"] ?? .null)
      printError(
        dim("  → \(p["tool"]?.stringValue ?? "?") \(args.count > 200 ? String(args.prefix(200)) + "…" : args)"))
    case "toolResult":
      let output = p["output"]?.stringValue ?? ""
      let lines = output.split(separator: "\n", omittingEmptySubsequences: false).count
      let first = output.split(separator: "\n").first.map { String($0.prefix(100)) } ?? ""
      let mark = p["isError"] == true ? "✗" : "←"
      printError(dim("  \(mark) \(first)\(lines > 1 ? " (+\(lines - 1) lines)" : "")"))
    case "handoff":
      newline()
      printError(
        dim(
          "  ⇢ \(p["from"]?.stringValue ?? "?") hands to \(p["to"]?.stringValue ?? "?"): \(p["task"]?.stringValue ?? "")"
        ))
    default:
      break
    }
  }

  private func newline() {
    let needed = state.withLock { s -> Bool in
      defer { s.atLineStart = true }
      return !s.atLineStart
    }
    if needed { write(1, "\n") }
  }

  private func dim(_ text: String) -> String { isatty(2) == 1 ? "\u{1B}[2m\(text)\u{1B}[0m" : text }

  // MARK: Approvals

  private func approve(_ p: JSONValue) async -> JSONValue {
    guard isatty(0) == 1 else { return ["outcome": "cancelled"] }
    newline()
    let args = JSONWriter.prettyString(p["arguments"] ?? .null)
    printError(
      "\n\(p["agent"]?.stringValue ?? "The agent") wants to run \(p["tool"]?.stringValue ?? "a tool"):\n\(args)")
    while true {
      guard let answer = await Self.readLine(prompt: "allow? [y] once · [a] always · [n] no · [N] never: ") else {
        return ["outcome": "cancelled"]
      }
      let option: String? =
        switch answer.trimmed() {
        case "y", "Y", "yes": "allow_once"
        case "a", "A", "always": "allow_always"
        case "n", "no", "": "reject_once"
        case "N", "never": "reject_always"
        default: nil
        }
      if let option { return ["outcome": "selected", "optionId": .string(option)] }
    }
  }

  // MARK: Input and output

  /// Reads a line on a thread of its own (never blocking the cooperative pool); nil at end of input.
  static func readLine(prompt: String?) async -> String? {
    await withCheckedContinuation { (done: CheckedContinuation<String?, Never>) in
      spawnThread(name: "chat-input") {
        if let prompt { write(2, prompt) }
        done.resume(returning: Swift.readLine(strippingNewline: true))
      }
    }
  }

  static func credentials() -> JSONValue? {
    if let key = Environment.get("MINIONS_API_KEY") { return ["apiKey": .string(key)] }
    if let token = Environment.get("MINIONS_TOKEN") { return ["token": .string(token)] }
    guard let user = Environment.get("MINIONS_USER") else { return nil }
    let password = Environment.get("MINIONS_PASSWORD") ?? Self.askPassword(for: user)
    guard let password else { return nil }
    return ["username": .string(user), "password": .string(password)]
  }

  /// Asks for a password on the terminal without echoing it.
  static func askPassword(for user: String) -> String? {
    guard isatty(0) == 1 else { return nil }
    write(2, "password for \(user): ")
    var saved = termios()
    tcgetattr(0, &saved)
    var quiet = saved
    quiet.c_lflag &= ~tcflag_t(ECHO)
    tcsetattr(0, TCSANOW, &quiet)
    defer {
      tcsetattr(0, TCSANOW, &saved)
      write(2, "\n")
    }
    return Swift.readLine(strippingNewline: true)
  }

  static func describe(_ error: OutgoingRequestError) -> String {
    switch error {
    case .remote(let e):
      var text = e.message
      if let data = e.data, data != .null { text += " " + JSONWriter.string(data) }
      return text
    default:
      return "\(error)"
    }
  }
}

/// Writes text to a descriptor in full.
func write(_ fd: Int32, _ text: String) {
  var bytes = Array(text.utf8)
  var offset = 0
  while offset < bytes.count {
    let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
    if n < 0 {
      if errno == EINTR { continue }
      return
    }
    offset += n
  }
}
