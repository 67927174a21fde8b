import MinionsCore

/// What `tools/list` shows of a tool, and what a model is offered.
public struct ToolDefinition: Sendable, Equatable {
  public var name: String
  public var description: String
  /// A grouping for `tools/list {category}`: `files`, `data`, `web`, `agents`, `custom`, or `mcp`.
  public var category: String
  /// A JSON Schema (an object schema) of the arguments; arguments are validated against it before a call.
  public var inputSchema: JSONValue
  /// Whether some calls of this tool change things and so need approval when an agent makes them
  /// (which ones is the tool's `needsApproval(_:)`).
  public var requiresApproval: Bool
  /// How long a call may run before it is cancelled and reported as a failure.
  public var timeoutMs: Int
  /// Whether the output depends only on the arguments, so a repeated call may be answered from the
  /// response cache (`cache.maxEntries`, `cache.ttlSeconds`). Only successful outputs are kept.
  public var cacheable: Bool

  public init(
    name: String, description: String, category: String, inputSchema: JSONValue, requiresApproval: Bool,
    timeoutMs: Int = 30_000, cacheable: Bool = false
  ) {
    self.cacheable = cacheable
    self.name = name
    self.description = description
    self.category = category
    self.inputSchema = inputSchema
    self.requiresApproval = requiresApproval
    self.timeoutMs = timeoutMs
  }

  /// The definition as a model is offered it.
  public var spec: ToolSpec { ToolSpec(name: name, description: description, parameters: inputSchema) }
}

/// What a tool call produced. A tool that fails says so here (`isError`) with a message a person or a
/// model can act on; it does not throw.
public struct ToolOutput: Sendable, Equatable {
  public var isError: Bool
  /// The result as text (MCP's `content: [{type: "text", text}]`).
  public var text: String
  /// The same result as structured JSON, when the tool has one (MCP's `structuredContent`).
  public var structured: JSONValue?

  public init(isError: Bool, text: String, structured: JSONValue? = nil) {
    self.isError = isError
    self.text = text
    self.structured = structured
  }

  public static func success(_ text: String, structured: JSONValue? = nil) -> ToolOutput {
    ToolOutput(isError: false, text: text, structured: structured)
  }

  public static func failure(_ message: String) -> ToolOutput { ToolOutput(isError: true, text: message) }
}

/// Who is calling a tool and on whose behalf, for auditing and per-session decisions.
public struct ToolContext: Sendable {
  public var username: String?
  public var sessionID: String?
  /// The agent making the call; nil for a direct `tools/execute` by a user.
  public var agent: String?
  /// How long the call may run (the registry cancels it after this).
  public var timeoutMs: Int
  /// The directory file tools work in for this call, when it is not the engine's (an ACP session's cwd).
  public var workspace: String?
  /// The editor's view of files, when the client offers one: file reads and writes go through it, so
  /// the agent sees unsaved buffers and the editor sees the change.
  public var editorFiles: (any EditorFiles)?

  public init(
    username: String? = nil, sessionID: String? = nil, agent: String? = nil, timeoutMs: Int = 30_000,
    workspace: String? = nil, editorFiles: (any EditorFiles)? = nil
  ) {
    self.username = username
    self.sessionID = sessionID
    self.agent = agent
    self.timeoutMs = timeoutMs
    self.workspace = workspace
    self.editorFiles = editorFiles
  }
}

/// Files as an editor holds them (ACP's `fs/read_text_file` and `fs/write_text_file`). Paths are
/// absolute, already confined to the workspace by the caller.
public protocol EditorFiles: Sendable {
  func readTextFile(path: String) async throws -> String
  func writeTextFile(path: String, content: String) async throws
}

/// A tool the engine can run: built in, a custom command, or one served by an MCP server.
public protocol Tool: Sendable {
  var definition: ToolDefinition { get }

  /// Whether this particular call changes something (a write, a delete, an `execute`, a POST) and
  /// so needs approval when an agent makes it. Called with arguments that passed the schema.
  func needsApproval(_ arguments: JSONValue) -> Bool

  /// Runs a call whose arguments passed the schema. Failures are `ToolOutput.failure`; the only error
  /// thrown is `CancellationError`, when the task was cancelled (a cancelled turn, or the timeout):
  /// work must stop promptly then (kill subprocesses, interrupt queries, abort transfers).
  func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput
}

extension Tool {
  public func needsApproval(_ arguments: JSONValue) -> Bool { definition.requiresApproval }
}
