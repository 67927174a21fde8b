import MinionsCore
import MinionsEngine

#if canImport(Glibc)
  import Glibc
#endif

/// `minions users …`: managing users straight in the data directory, so an admin can bootstrap a TCP
/// server before anyone can log in.
enum UsersCommand {
  static let usage = """
    usage: minions users add NAME --role ROLE [--email EMAIL] --password-stdin
           minions users list
           minions users passwd NAME --password-stdin
           minions users unlock NAME

    Works on the data directory ($MINIONS_DATA_DIR, else $XDG_DATA_HOME/minions or ~/.local/share/minions),
    also while a server runs. Roles: admin, user, viewer, api_user. The password is read from stdin (one
    line), never from the command line. Passwords are 8 to 72 bytes.
    """

  static func run(_ args: [String]) throws -> Int32 {
    guard let sub = args.first else { throw UsageError(message: "missing subcommand", usage: usage) }
    if sub == "--help" || sub == "-h" || sub == "help" {
      print(usage)
      return 0
    }
    let a = try Arguments(
      Array(args.dropFirst()), valued: ["--role", "--email"], flags: ["--password-stdin", "--help"],
      usage: usage)
    if a.has("--help") {
      print(usage)
      return 0
    }
    let engine: Engine
    do {
      engine = try Engine(
        configuration: Environment.engineConfiguration(workspace: Environment.currentDirectory),
        logger: Logger(label: "minions", level: .warning))
    } catch {
      printError("minions: \(error)")
      return 1
    }
    defer { engine.close() }
    do {
      switch sub {
      case "add":
        guard a.positional.count == 1 else { throw UsageError(message: "users add takes one NAME", usage: usage) }
        guard let roleName = a.value("--role") else {
          throw UsageError(message: "users add needs --role", usage: usage)
        }
        guard let role = Role(rawValue: roleName) else {
          throw UsageError(message: "unknown role '\(roleName)' (admin, user, viewer, api_user)", usage: usage)
        }
        guard a.has("--password-stdin") else {
          throw UsageError(message: "users add needs --password-stdin", usage: usage)
        }
        let password = try readPassword()
        let user = try engine.users.createBlocking(
          username: a.positional[0], email: a.value("--email"), password: password, role: role)
        print("created \(user.username) (\(user.role.rawValue))")
      case "list":
        guard a.positional.isEmpty else { throw UsageError(message: "users list takes no arguments", usage: usage) }
        let now = engine.clock.now()
        let rows = try engine.users.listBlocking().map { u -> [String] in
          [
            u.username, u.role.rawValue, u.email ?? "-",
            u.disabled ? "disabled" : (u.isLocked(at: now) ? "locked" : "active"),
            u.lastLoginAt?.iso8601() ?? "never",
          ]
        }
        printTable(header: ["USERNAME", "ROLE", "EMAIL", "STATE", "LAST LOGIN"], rows: rows)
      case "passwd":
        guard a.positional.count == 1 else { throw UsageError(message: "users passwd takes one NAME", usage: usage) }
        guard a.has("--password-stdin") else {
          throw UsageError(message: "users passwd needs --password-stdin", usage: usage)
        }
        let password = try readPassword()
        try engine.users.setPasswordBlocking(username: a.positional[0], password: password)
        print("password changed for \(a.positional[0]); their tokens are no longer valid")
      case "unlock":
        guard a.positional.count == 1 else { throw UsageError(message: "users unlock takes one NAME", usage: usage) }
        try engine.users.unlockBlocking(username: a.positional[0])
        print("unlocked \(a.positional[0])")
      default:
        throw UsageError(message: "unknown subcommand '\(sub)'", usage: usage)
      }
    } catch let e as EngineError {
      printError("minions: \(describe(e))")
      return 1
    }
    return 0
  }

  static func describe(_ e: EngineError) -> String {
    switch e {
    case .invalidField(let field, let reason): return "\(field) \(reason)"
    case .alreadyExists(let kind, let id): return "\(kind) '\(id)' already exists"
    case .notFound(let kind, let id): return "no \(kind) '\(id)'"
    default: return "\(e)"
    }
  }

  /// One line from stdin, without its line end.
  static func readPassword() throws -> String {
    var bytes: [UInt8] = []
    var byte: UInt8 = 0
    while read(0, &byte, 1) == 1 {
      if byte == 0x0A { break }
      bytes.append(byte)
      if bytes.count > 4096 { break }
    }
    if bytes.last == 0x0D { bytes.removeLast() }
    guard !bytes.isEmpty else { throw EngineError.invalidField("password", "is empty (give it on stdin)") }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func printTable(header: [String], rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
    for row in all {
      print(
        row.enumerated().map { i, cell in cell.padded(to: widths[i]) }.joined(
          separator: "  "))
    }
  }
}
