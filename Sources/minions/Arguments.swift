/// A usage error: printed with the command's usage line, exit code 2.
struct UsageError: Error {
  let message: String
  let usage: String
}

/// A small parser for `--flag`, `--option VALUE` and `--option=VALUE` arguments.
struct Arguments {
  private(set) var positional: [String] = []
  private var options: [String: [String]] = [:]
  private var flags: Set<String> = []

  /// Parses `args` given the names of options that take a value and of boolean flags.
  init(_ args: [String], valued: Set<String>, flags allowedFlags: Set<String>, usage: String) throws {
    var i = 0
    var onlyPositional = false
    while i < args.count {
      let arg = args[i]
      i += 1
      if onlyPositional || !arg.hasPrefix("-") || arg == "-" {
        positional.append(arg)
        continue
      }
      if arg == "--" {
        onlyPositional = true
        continue
      }
      var name = arg
      var inlineValue: String? = nil
      if let eq = arg.firstIndex(of: "=") {
        name = String(arg[..<eq])
        inlineValue = String(arg[arg.index(after: eq)...])
      }
      if valued.contains(name) {
        if let inlineValue {
          options[name, default: []].append(inlineValue)
        } else {
          guard i < args.count else { throw UsageError(message: "option \(name) needs a value", usage: usage) }
          options[name, default: []].append(args[i])
          i += 1
        }
      } else if allowedFlags.contains(name) {
        guard inlineValue == nil else { throw UsageError(message: "option \(name) takes no value", usage: usage) }
        flags.insert(name)
      } else {
        throw UsageError(message: "unknown option '\(name)'", usage: usage)
      }
    }
  }

  func values(_ name: String) -> [String] { options[name] ?? [] }
  func value(_ name: String) -> String? { options[name]?.last }
  func has(_ flag: String) -> Bool { flags.contains(flag) }
}
