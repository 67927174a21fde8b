import JSONRPCTransport
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsWeb
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

enum ServeCommand {
  static let usage = """
    usage: minions serve [--listen HOST:PORT]... [--http HOST:PORT] [--web-root DIR] [--stdio] [--workspace DIR]
                         [--require-auth] [--log-level LEVEL]

    Runs the engine. Without --listen it speaks JSON-RPC on stdin/stdout (an editor spawns it like a
    language server); with --listen it serves TCP clients (repeatable; port 0 picks a free port, logged
    on stderr). Framing is detected per connection: Content-Length headers or one JSON text per line.

    options:
      --listen HOST:PORT   serve TCP on this address (e.g. 127.0.0.1:7411); clients must authenticate
      --http HOST:PORT     serve the web dashboard, its WebSocket /rpc, /healthz and /metrics over HTTP
      --web-root DIR       the dashboard's files (default: clients/web of the checkout the binary was built in)
      --stdio              also serve stdin/stdout when --listen or --http is given
      --workspace DIR      the directory file tools may use (default: the current directory)
      --require-auth       make stdio clients authenticate too (default: stdio is the local owner, an admin)
      --log-level LEVEL    trace, debug, info, notice, warning, error or off (default: $MINIONS_LOG or info)

    environment:
      MINIONS_DATA_DIR     where the database and keys live (default: $XDG_DATA_HOME/minions or
                           ~/.local/share/minions)
      MINIONS_LOG          default log level
    """

  static func run(_ args: [String]) throws -> Int32 {
    let a = try Arguments(
      args, valued: ["--listen", "--http", "--web-root", "--workspace", "--log-level"],
      flags: ["--stdio", "--require-auth", "--help", "-h"], usage: usage)
    if a.has("--help") || a.has("-h") {
      print(usage)
      return 0
    }
    guard a.positional.isEmpty else {
      throw UsageError(message: "unexpected argument '\(a.positional[0])'", usage: usage)
    }
    let level = try a.logLevel(usage: usage)
    let listenAddresses = a.values("--listen")
    for address in listenAddresses where TCPListener.parseAddress(address) == nil {
      throw UsageError(message: "invalid --listen address '\(address)': expected HOST:PORT", usage: usage)
    }
    let httpAddress = a.value("--http")
    if let httpAddress, TCPListener.parseAddress(httpAddress) == nil {
      throw UsageError(message: "invalid --http address '\(httpAddress)': expected HOST:PORT", usage: usage)
    }
    var webFiles: StaticFiles? = nil
    if httpAddress != nil {
      if let root = a.value("--web-root") {
        guard let files = StaticFiles(root: root) else {
          throw UsageError(message: "--web-root \(root) is not a directory", usage: usage)
        }
        webFiles = files
      } else {
        webFiles = WebRoot.default()
      }
    }
    let serveStdio = (listenAddresses.isEmpty && httpAddress == nil) || a.has("--stdio")
    let logger = Logger(label: "minions", level: level)

    // stdout belongs to the protocol: keep a private copy of it and point fd 1 at stderr, so a stray
    // print anywhere in the process can never corrupt the stream.
    var protocolOutput: Int32 = -1
    if serveStdio {
      guard let output = takeStdoutForProtocol() else { return 1 }
      protocolOutput = output
    }

    let workspace = a.value("--workspace") ?? Environment.currentDirectory
    let configuration = ServerConfiguration(
      requireAuthOnStdio: a.has("--require-auth"), workspace: workspace, dataDirectory: Environment.dataDirectory)
    let engine: Engine
    do {
      engine = try Engine(configuration: Environment.engineConfiguration(workspace: workspace), logger: logger)
    } catch {
      printError("minions: \(error)")
      return 1
    }
    defer { shutDown(engine) }
    // Logins can only happen on TCP or with --require-auth: only then prepare for them.
    if !listenAddresses.isEmpty || httpAddress != nil || a.has("--require-auth") { engine.warmUp() }
    engine.startTools()
    engine.startHousekeeping()
    let server = MinionsServer(configuration: configuration, engine: engine, logger: logger)
    let done = OneShotEvent()
    let exitCode = Mutex<Int32>(0)

    var listeners: [TCPListener] = []
    for address in listenAddresses {
      let listener: TCPListener
      do {
        listener = try TCPListener(address: address)
      } catch {
        printError("minions: \(error)")
        return 1
      }
      listeners.append(listener)
      logger.notice("listening on \(listener.boundAddress)")
      listener.start { fd, peer in
        if server.connectionCount >= configuration.maxConnections {
          logger.warning("refused connection from \(peer): \(configuration.maxConnections) connections already open")
          close(fd)
          return
        }
        server.serve(input: fd, output: fd, endpoint: .tcp(peer: peer), ownsDescriptors: true)
      }
    }

    if let httpAddress {
      let listener: TCPListener
      do {
        listener = try TCPListener(address: httpAddress)
      } catch {
        printError("minions: \(error)")
        return 1
      }
      listeners.append(listener)
      let dashboard = DashboardServer(
        server: server, files: webFiles, logger: logger.with(label: "http"),
        maxMessage: configuration.connectionOptions.limits.maxFrameBytes)
      logger.notice("http listening on \(listener.boundAddress) (dashboard: http://\(listener.boundAddress)/)")
      if webFiles == nil {
        logger.warning("no dashboard files found: pass --web-root DIR (the repository's clients/web)")
      }
      listener.start { fd, peer in dashboard.accept(fd, peer: peer) }
    }

    if serveStdio {
      let session = server.serve(input: 0, output: protocolOutput, endpoint: .stdio, ownsDescriptors: false)
      spawnThread(name: "stdio-wait") {
        session.connection.finished.wait()
        exitCode.withLock { $0 = session.exitCode ?? 0 }
        done.signal()
      }
    }

    SignalWatcher.start { signal in
      logger.notice("received signal \(signal); shutting down")
      done.signal()
    }
    done.wait()

    for listener in listeners { listener.stop() }
    let open = server.allSessions
    for session in open { session.connection.close() }
    for session in open { _ = session.connection.finished.wait(timeout: 10) }
    return exitCode.withLock { $0 }
  }
}

/// Delivers SIGINT and SIGTERM to a callback on a thread of its own (via sigwait), so shutdown runs
/// as ordinary code rather than inside a signal handler.
enum SignalWatcher {
  /// Blocks the signals in the calling thread (and so in threads it starts later). Call first in main.
  static func blockSignals() {
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGINT)
    sigaddset(&set, SIGTERM)
    pthread_sigmask(SIG_BLOCK, &set, nil)
  }

  static func start(_ onSignal: @escaping @Sendable (Int32) -> Void) {
    spawnThread(name: "signals") {
      var set = sigset_t()
      sigemptyset(&set)
      sigaddset(&set, SIGINT)
      sigaddset(&set, SIGTERM)
      var received: Int32 = 0
      while sigwait(&set, &received) != 0 {}
      onSignal(received)
    }
  }
}

/// Where the dashboard's files are when `--web-root` is not given: `clients/web` of the checkout the
/// binary lives in (`.build/<config>/minions` → the repository root), if it is there.
enum WebRoot {
  static func `default`() -> StaticFiles? {
    var buffer = [CChar](repeating: 0, count: 4096)
    let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    var dir = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    for _ in 0..<5 {
      guard let slash = dir.lastIndex(of: "/") else { break }
      dir = String(dir[..<slash])
      if let files = StaticFiles(root: dir + "/clients/web"), access(dir + "/clients/web/index.html", R_OK) == 0 {
        return files
      }
    }
    return nil
  }
}
