import MinionsCore
import MinionsEngine

#if canImport(Glibc)
  import Glibc
#endif

enum Environment {
  static func get(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    let s = String(cString: p)
    return s.isEmpty ? nil : s
  }

  /// `$MINIONS_DATA_DIR`, else `$XDG_DATA_HOME/minions`, else `~/.local/share/minions` (contract §6).
  static var dataDirectory: String {
    if let d = get("MINIONS_DATA_DIR") { return d }
    if let x = get("XDG_DATA_HOME") { return x + "/minions" }
    return (get("HOME") ?? "/tmp") + "/.local/share/minions"
  }

  static func engineConfiguration(workspace: String) -> EngineConfiguration {
    EngineConfiguration(
      dataDirectory: dataDirectory, workspace: workspace, environment: ProcessEnvironment.current)
  }

  static var currentDirectory: String {
    var buffer = [CChar](repeating: 0, count: 4096)
    guard getcwd(&buffer, buffer.count) != nil else { return "." }
    return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}

/// Writes to stderr (the executable's messages to people; stdout may be the protocol's).
func printError(_ text: String) {
  var line = text
  if !line.hasSuffix("\n") { line += "\n" }
  line.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

extension Arguments {
  /// `--log-level`, else `$MINIONS_LOG`, else info; an unknown name is a usage error.
  func logLevel(usage: String) throws -> Logger.Level {
    let name = value("--log-level") ?? Environment.get("MINIONS_LOG") ?? "info"
    guard let level = Logger.Level(name: name) else {
      throw UsageError(message: "unknown log level '\(name)'", usage: usage)
    }
    return level
  }
}

/// Takes stdout for the protocol: returns a private copy of it and points fd 1 at stderr, so a stray
/// print anywhere in the process can never corrupt the stream. Nil (after saying why) if it cannot.
func takeStdoutForProtocol() -> Int32? {
  let output = dup(1)
  guard output >= 0 else {
    printError("minions: cannot duplicate stdout: \(String(cString: strerror(errno)))")
    return nil
  }
  _ = fcntl(output, F_SETFD, FD_CLOEXEC)
  dup2(2, 1)
  return output
}

/// Stops an engine the command line runs: MCP servers get their stdin closed and up to ten seconds to
/// exit, then the database closes.
func shutDown(_ engine: Engine) {
  let stopped = OneShotEvent()
  Task {
    await engine.stopTools()
    stopped.signal()
  }
  _ = stopped.wait(timeout: 10)
  engine.close()
}
