import MinionsCore
import MinionsServer

#if canImport(Glibc)
  import Glibc
#endif

let usage = """
  usage: minions <command> [options]

  commands:
    serve              run the engine over stdio (default for editors) or TCP (--listen)
    chat [MESSAGE]     talk to an agent from the terminal (spawns the engine, or --connect to a server)
    users              add, list, unlock users and set passwords (works on the data directory)
    acp                run as an Agent Client Protocol agent on stdio (for Zed and other ACP editors)
    replay SCRIPT      replay a recorded session (sessions/export format script) and report differences
    protocol openrpc   print the OpenRPC description of every method
    version            print the version
    help               show this help

  Run 'minions <command> --help' for a command's options.
  """

// A client closing its end must never kill the engine: writes then fail with EPIPE instead.
signal(SIGPIPE, SIG_IGN)
SignalWatcher.blockSignals()

func runCommand(_ all: [String]) throws -> Int32 {
  var arguments = all
  let command = arguments.isEmpty ? "help" : arguments.removeFirst()
  switch command {
  case "serve":
    return try ServeCommand.run(arguments)
  case "users":
    return try UsersCommand.run(arguments)
  case "chat":
    return try ChatCommand.run(arguments)
  case "replay":
    return try ReplayCommand.run(arguments)
  case "acp":
    return try ACPCommand.run(arguments)
  case "version", "--version":
    guard arguments.isEmpty || arguments == ["--help"] else {
      throw UsageError(message: "unexpected argument '\(arguments[0])'", usage: "usage: minions version")
    }
    print(
      arguments == ["--help"]
        ? "usage: minions version\n\nPrints the engine and protocol versions."
        : "minions \(MinionsVersion.current) (protocol \(MinionsVersion.protocolVersion))")
    return 0
  case "protocol":
    let protocolUsage =
      "usage: minions protocol openrpc\n\nPrints the OpenRPC document of every method (as rpc.discover returns it)."
    if arguments == ["--help"] || arguments == ["-h"] {
      print(protocolUsage)
      return 0
    }
    guard arguments == ["openrpc"] else {
      throw UsageError(
        message: arguments.isEmpty ? "missing subcommand" : "unknown subcommand '\(arguments[0])'",
        usage: protocolUsage)
    }
    print(JSONWriter.prettyString(MinionsServer.openRPC), terminator: "")
    return 0
  case "help", "--help", "-h":
    print(usage)
    return 0
  default:
    throw UsageError(message: "unknown command '\(command)'", usage: usage)
  }
}

do {
  exit(try runCommand(Array(CommandLine.arguments.dropFirst())))
} catch let error as UsageError {
  printError("minions: \(error.message)\n\(error.usage)")
  exit(2)
} catch {
  printError("minions: \(error)")
  exit(1)
}
