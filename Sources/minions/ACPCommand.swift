import JSONRPCTransport
import MinionsACP
import MinionsCore
import MinionsEngine

#if canImport(Glibc)
  import Glibc
#endif

/// `minions acp`: the engine as an Agent Client Protocol agent on stdin/stdout, for editors that speak
/// ACP (Zed, JetBrains IDEs, Neovim and Emacs plugins).
enum ACPCommand {
  static let usage = """
    usage: minions acp [--log-level LEVEL]

    Runs the engine as an Agent Client Protocol (v1) agent over stdin/stdout (one JSON text per line),
    for editors that speak ACP. Sessions, models, tools, agents and analytics are the engine's own,
    shared with `minions serve` through the data directory. See protocol/acp.md.

    options:
      --log-level LEVEL    trace, debug, info, notice, warning, error or off (default: $MINIONS_LOG or info)
    """

  static func run(_ args: [String]) throws -> Int32 {
    let a = try Arguments(args, valued: ["--log-level"], flags: ["--help", "-h"], usage: usage)
    if a.has("--help") || a.has("-h") {
      print(usage)
      return 0
    }
    guard a.positional.isEmpty else {
      throw UsageError(message: "unexpected argument '\(a.positional[0])'", usage: usage)
    }
    let logger = Logger(label: "minions-acp", level: try a.logLevel(usage: usage))
    // stdout carries ACP messages only.
    guard let protocolOutput = takeStdoutForProtocol() else { return 1 }
    let workspace = Environment.currentDirectory
    let engine: Engine
    do {
      engine = try Engine(configuration: Environment.engineConfiguration(workspace: workspace), logger: logger)
    } catch {
      printError("minions: \(error)")
      return 1
    }
    engine.startTools()
    engine.startHousekeeping()
    let connection = ACPAgent.serve(
      input: 0, output: protocolOutput, engine: engine, logger: logger.with(label: "acp"), workspace: workspace)
    let done = OneShotEvent()
    spawnThread(name: "acp-wait") {
      connection.finished.wait()
      done.signal()
    }
    SignalWatcher.start { _ in done.signal() }
    done.wait()
    connection.close()
    _ = connection.finished.wait(timeout: 10)
    shutDown(engine)
    return 0
  }
}
