import MinionsCore

/// The environment the engine gives programs it runs (command tools, MCP servers).
///
/// A child does not inherit the engine's environment: that holds secrets (`MINIONS_JWT_SECRET`,
/// provider API keys such as `OPENAI_API_KEY`, proxy credentials) a custom command must not see. It gets
/// only `PATH`, `HOME`, `USER`, `LOGNAME`, `LANG`, `LC_ALL`, `LC_CTYPE`, `TZ` and `TMPDIR` from the
/// engine (with `PATH` defaulting to `/usr/local/bin:/usr/bin:/bin` and `LANG` to `C.UTF-8` when unset),
/// plus whatever variables the tool's own configuration names.
public enum ChildEnvironment {
  /// The engine's variables a child inherits, when they are set.
  public static let inheritedNames: [String] = [
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
  ]

  /// `PATH` for a child when the engine has none.
  public static let defaultPath = "/usr/local/bin:/usr/bin:/bin"

  /// The minimal environment built from `parent` (the engine's, by default), with `adding` on top
  /// (a configuration's own variables win over inherited ones).
  public static func minimal(
    from parent: [String: String] = ProcessEnvironment.current, adding extra: [String: String] = [:]
  ) -> [String: String] {
    var result: [String: String] = [:]
    for name in inheritedNames {
      if let value = parent[name], !value.isEmpty { result[name] = value }
    }
    if result["PATH"] == nil { result["PATH"] = defaultPath }
    if result["LANG"] == nil { result["LANG"] = "C.UTF-8" }
    for (name, value) in extra { result[name] = value }
    return result
  }
}
