import MinionsCore

/// How a custom command tool is registered (`tools/register {name, description, command, …}`) and stored.
public struct CommandToolConfig: Sendable, Codable, Equatable {
  public var name: String
  public var description: String
  /// Defaults to `custom`.
  public var category: String?
  /// A JSON Schema (an object schema) of the arguments.
  public var inputSchema: JSONValue
  /// The program and its arguments, run without a shell.
  public var command: [String]
  /// Defaults to true: a command can do anything its program can, so calls need approval unless the
  /// person registering it says otherwise.
  public var requiresApproval: Bool?
  /// How long a call may run before its process group is killed; defaults to 30 s.
  public var timeoutMs: Int?
  /// The output depends only on the arguments: repeated calls may be answered from the cache.
  public var cacheable: Bool?

  public init(
    name: String, description: String, category: String? = nil, inputSchema: JSONValue, command: [String],
    requiresApproval: Bool? = nil, timeoutMs: Int? = nil, cacheable: Bool? = nil
  ) {
    self.cacheable = cacheable
    self.name = name
    self.description = description
    self.category = category
    self.inputSchema = inputSchema
    self.command = command
    self.requiresApproval = requiresApproval
    self.timeoutMs = timeoutMs
  }
}

/// A custom tool that runs a program per call: the arguments as JSON on stdin, the result from stdout.
///
/// The program runs in the workspace, in a process group of its own, with a minimal environment
/// (`ChildEnvironment`). A zero exit is a success whose text is stdout; stdout that is a JSON object of
/// MCP's result shape (`{content: [{type: "text", text}], isError?, structuredContent?}`) is taken as
/// that result, and other JSON (an object or an array) also becomes the structured result. A non-zero
/// exit, a signal or the timeout is a failure naming it, with the end of stderr. On timeout or
/// cancellation the whole group gets SIGTERM, then SIGKILL after a second.
public struct CommandTool: Tool {
  /// The most of stdout a result keeps (1 MiB); the rest is read and dropped.
  public static let stdoutLimit = 1 << 20
  /// The most of stderr kept (64 KiB, its end); messages quote up to `stderrQuoteLimit` of it.
  public static let stderrLimit = 64 << 10
  static let stderrQuoteLimit = 4000
  static let terminationGraceMs = 1000

  public let definition: ToolDefinition
  public let config: CommandToolConfig
  /// The directory the program starts in.
  public let workspace: String
  /// The program's complete environment.
  public let environment: [String: String]

  /// A tool from its configuration; throws `EngineError.invalidField` for a configuration that cannot work.
  public init(
    config: CommandToolConfig, workspace: String, environment: [String: String] = ChildEnvironment.minimal()
  ) throws {
    guard let program = config.command.first, !program.isEmpty else {
      throw EngineError.invalidField("command", "needs at least the program to run, as [program, arguments…]")
    }
    if let timeout = config.timeoutMs, timeout <= 0 {
      throw EngineError.invalidField("timeoutMs", "must be a positive number of milliseconds")
    }
    guard config.inputSchema.objectValue != nil else {
      throw EngineError.invalidField("inputSchema", "must be a JSON Schema object")
    }
    self.config = config
    self.workspace = workspace
    self.environment = environment
    self.definition = ToolDefinition(
      name: config.name, description: config.description, category: config.category ?? "custom",
      inputSchema: config.inputSchema, requiresApproval: config.requiresApproval ?? true,
      timeoutMs: config.timeoutMs ?? 30_000, cacheable: config.cacheable ?? false)
  }

  public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
    try Task.checkCancellation()
    let process: Subprocess
    do {
      process = try Subprocess(
        Subprocess.Configuration(
          arguments: config.command, environment: environment, workingDirectory: workspace,
          stdout: .keepHead(limit: Self.stdoutLimit), stderr: .keepTail(limit: Self.stderrLimit),
          terminationGraceMs: Self.terminationGraceMs))
    } catch {
      return .failure("cannot run `\(definition.name)`: \(error)")
    }
    process.write(JSONWriter.bytes(arguments) + [10])
    process.closeStdin()

    let timeoutMs = max(1, min(context.timeoutMs, definition.timeoutMs))
    let timedOut = AtomicFlag()
    let timer = Task {
      try await Task.sleep(for: .milliseconds(timeoutMs))
      timedOut.set()
      process.terminate()
    }
    let termination = await withTaskCancellationHandler {
      await process.wait()
    } onCancel: {
      process.terminate()
    }
    timer.cancel()
    let output = await process.output()
    if Task.isCancelled { throw CancellationError() }
    if timedOut.isSet {
      return .failure(
        "`\(definition.name)` timed out after \(timeoutMs) ms; its process group was killed"
          + Self.quote(output, includeStdout: true))
    }
    switch termination {
    case .exited(code: 0):
      return Self.result(of: output)
    case .exited(let code):
      return .failure("`\(definition.name)` exited with code \(code)" + Self.quote(output, includeStdout: true))
    case .signalled, .unknown:
      return .failure("`\(definition.name)` \(termination)" + Self.quote(output, includeStdout: true))
    }
  }

  /// The result of a successful run.
  static func result(of output: Subprocess.Output) -> ToolOutput {
    var text = output.stdoutText
    if output.stdoutIsTruncated {
      text += "\n[output truncated: the first \(output.stdout.count) of \(output.stdoutByteCount) bytes are shown]"
      return .success(text)
    }
    guard let json = try? JSONParser.parse(output.stdout) else { return .success(text) }
    if case .object(let members) = json, let content = members["content"]?.arrayValue {
      text = MCPContent.text(of: content)
      return ToolOutput(
        isError: members["isError"]?.boolValue ?? false, text: text, structured: members["structuredContent"])
    }
    switch json {
    case .object, .array: return .success(text, structured: json)
    default: return .success(text)
    }
  }

  /// The end of stderr (and the start of stdout) for a failure message.
  static func quote(_ output: Subprocess.Output, includeStdout: Bool) -> String {
    var message = ""
    let stderr = output.stderrText.trimmed()
    if !stderr.isEmpty {
      let bytes = Array(stderr.utf8)
      if bytes.count > stderrQuoteLimit || output.stderrIsTruncated {
        message += "\nstderr (the last \(min(bytes.count, stderrQuoteLimit)) bytes of \(output.stderrByteCount)):\n"
        message += String(decoding: bytes.suffix(stderrQuoteLimit), as: UTF8.self)
      } else {
        message += "\nstderr:\n" + stderr
      }
    }
    if includeStdout {
      let stdout = output.stdoutText.trimmed()
      if !stdout.isEmpty {
        let bytes = Array(stdout.utf8)
        if bytes.count > stderrQuoteLimit {
          message += "\nstdout (the first \(stderrQuoteLimit) bytes of \(output.stdoutByteCount)):\n"
          message += String(decoding: bytes.prefix(stderrQuoteLimit), as: UTF8.self)
        } else {
          message += "\nstdout:\n" + stdout
        }
      }
    }
    if output.isIncomplete {
      message += "\n(a process that left the tool's process group kept its output open; reading stopped)"
    }
    return message
  }
}
