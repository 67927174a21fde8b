import MinionsCore
import MinionsEngine
import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// `minions replay SCRIPT`: runs a recorded session (`sessions/export {format: "script"}`) again in a
/// fresh, throwaway engine and reports every difference; exit 0 when the replay held, 1 when it did not.
enum ReplayCommand {
  static let usage = """
    usage: minions replay SCRIPT [--messages FILE] [--workspace DIR]

    Replays a session recorded with sessions/export {format: "script"}: the recorded user messages are
    sent again, one turn each, to the agent that answered them, with the script standing in for the model
    (each model call answers only the exact input it had when recorded). Tools run for real in the
    workspace, and anything that needs approval is allowed. Every difference in tool calls, tool outputs
    and final answers is printed; the exit code is 0 when there is none, 1 otherwise (2 for bad usage).

    options:
      --messages FILE    the user messages to send (a JSON array of strings, or one per line) instead of
                         the recorded ones
      --workspace DIR    the directory the tools work in (default: the current directory)
    """

  static func run(_ args: [String]) throws -> Int32 {
    let a = try Arguments(args, valued: ["--messages", "--workspace"], flags: ["--help", "-h"], usage: usage)
    if a.has("--help") || a.has("-h") {
      print(usage)
      return 0
    }
    guard a.positional.count == 1 else {
      throw UsageError(message: a.positional.isEmpty ? "missing SCRIPT" : "one SCRIPT only", usage: usage)
    }
    let scriptPath = absolute(a.positional[0])
    guard let bytes = readWholeFile(scriptPath, limit: 256 << 20), let script = try? JSONParser.parse(bytes) else {
      printError("minions: cannot read \(scriptPath) as JSON")
      return 2
    }
    var recorded: [SessionReplay.RecordedTurn]
    do {
      recorded = try SessionReplay.recording(in: script)
    } catch {
      printError("minions: \(scriptPath): \(error)")
      return 2
    }
    if let file = a.value("--messages") {
      guard let text = readWholeFile(absolute(file)).map({ String(decoding: $0, as: UTF8.self) }) else {
        printError("minions: cannot read \(file)")
        return 2
      }
      let messages: [String] =
        (try? JSONParser.parse(text))?.arrayValue?.compactMap(\.stringValue)
        ?? text.split(separator: "\n").map(String.init).filter { !$0.isEmpty }
      recorded = messages.enumerated().map { i, m in
        var turn =
          i < recorded.count
          ? recorded[i] : SessionReplay.RecordedTurn(message: m, agent: "assistant", toolCalls: [], answer: "")
        turn.message = m
        return turn
      }
    }
    let workspace = absolute(a.value("--workspace") ?? Environment.currentDirectory)
    var template = Array("/tmp/minions-replay-XXXXXX".utf8CString)
    guard let dir = mkdtemp(&template) else {
      printError("minions: cannot make a temporary directory")
      return 1
    }
    let dataDirectory = String(cString: dir)
    defer { removeTree(dataDirectory) }
    let engine = try Engine(
      configuration: EngineConfiguration(
        dataDirectory: dataDirectory, workspace: workspace, environment: ProcessEnvironment.current,
        localModelTokenDelay: 0),
      logger: Logger(label: "replay", level: .warning))
    defer { engine.close() }
    let result = Mutex<Result<[SessionReplay.Difference], any Error>?>(nil)
    let done = OneShotEvent()
    let turns = recorded
    Task {
      do {
        try await engine.models.register(
          ModelConfig(
            name: "replay", provider: .script, capabilities: Capability.allCases, contextLength: 1_000_000,
            script: scriptPath))
        let differences = try await SessionReplay.replay(
          turns, model: "replay", engine: engine, identity: engine.localOwner)
        result.withLock { $0 = .success(differences) }
      } catch {
        result.withLock { $0 = .failure(error) }
      }
      done.signal()
    }
    done.wait()
    switch result.withLock({ $0! }) {
    case .failure(let error):
      printError("minions: the replay could not run: \(error)")
      return 1
    case .success(let differences) where differences.isEmpty:
      print("replay held: \(turns.count) turn\(turns.count == 1 ? "" : "s"), every tool call and answer as recorded")
      return 0
    case .success(let differences):
      for d in differences { print(d.description) }
      print("replay differs from the recording: \(differences.count) difference\(differences.count == 1 ? "" : "s")")
      return 1
    }
  }

  static func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : Environment.currentDirectory + "/" + path
  }

  /// Removes a directory tree we made (the throwaway data directory).
  static func removeTree(_ path: String) {
    guard let d = opendir(path) else {
      unlink(path)
      return
    }
    while let entry = readdir(d) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) {
        String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
      }
      if name == "." || name == ".." { continue }
      let child = path + "/" + name
      var info = stat()
      if lstat(child, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { removeTree(child) } else { unlink(child) }
    }
    closedir(d)
    rmdir(path)
  }
}
