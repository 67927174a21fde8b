import MinionsCore
import MinionsEngine

public struct ToolStatsRecord: Codable, Sendable {
  public var calls: Int
  public var errors: Int
  public var p50Ms: Double?
}

/// A tool as `tools/list` shows it: MCP's shape (name, description, inputSchema) plus Minions' fields.
public struct ToolRecord: Codable, Sendable {
  public var name: String
  public var description: String
  public var category: String
  public var inputSchema: JSONValue
  public var requiresApproval: Bool
  public var timeoutMs: Int
  /// Repeated calls with the same arguments may be answered from the response cache.
  public var cacheable: Bool
  public var stats: ToolStatsRecord

  init(_ e: ToolRegistry.Entry) {
    name = e.definition.name
    description = e.definition.description
    category = e.definition.category
    inputSchema = e.definition.inputSchema
    requiresApproval = e.definition.requiresApproval
    timeoutMs = e.definition.timeoutMs
    cacheable = e.definition.cacheable
    stats = ToolStatsRecord(calls: e.stats.calls, errors: e.stats.errors, p50Ms: e.stats.p50Ms)
  }
}

public struct ToolsListParams: Codable, Sendable, JSONSchemaDocumented {
  public var category: String?
  public var cursor: String?

  public static var fieldDescriptions: [String: String] {
    [
      "category": "files, data, web, agents, custom or mcp",
      "cursor": "nextCursor of the previous page (pages of 100 tools)",
    ]
  }
}

public struct ToolsListResult: Codable, Sendable {
  public var tools: [ToolRecord]
  public var nextCursor: String?
}

public struct ToolExecuteParams: Codable, Sendable, JSONSchemaDocumented {
  public var tool: String
  public var arguments: JSONValue?
  public var timeoutMs: Int?

  public static var fieldDescriptions: [String: String] {
    [
      "arguments": "an object matching the tool's inputSchema (default {})",
      "timeoutMs": "1–600000; the tool's own limit applies when smaller",
    ]
  }
}

/// MCP's `tools/call` params.
public struct ToolCallParams: Codable, Sendable {
  public var name: String
  public var arguments: JSONValue?
}

public struct ContentPart: Codable, Sendable {
  public var type: String
  public var text: String
}

/// A tool's result in MCP's shape.
public struct ToolCallResult: Codable, Sendable {
  public var isError: Bool
  public var content: [ContentPart]
  public var structuredContent: JSONValue?
  public var durationMs: Double?

  init(_ output: ToolOutput, durationMs: Double?) {
    isError = output.isError
    content = [ContentPart(type: "text", text: output.text)]
    // MCP requires structuredContent to be an object.
    if case .object? = output.structured { structuredContent = output.structured } else { structuredContent = nil }
    self.durationMs = durationMs
  }
}

public struct MCPServerParams: Codable, Sendable, JSONSchemaDocumented {
  public var name: String
  public var command: [String]
  public var env: [String: String]?

  public static var fieldDescriptions: [String: String] {
    [
      "name": "the prefix of its tools' names (SERVER.TOOL): 1–64 letters, digits, _ or -",
      "command": "the server's argv; it speaks MCP over stdin/stdout",
      "env": "extra environment variables for the server process",
    ]
  }
}

/// `tools/register`: a command tool (`name`, `description`, `inputSchema`, `command`) or every tool of
/// an MCP server (`mcpServer`).
public struct ToolRegisterParams: Codable, Sendable, JSONSchemaDocumented {
  public var name: String?
  public var description: String?
  public var category: String?
  public var inputSchema: JSONValue?
  public var command: [String]?
  public var requiresApproval: Bool?
  public var timeoutMs: Int?
  public var cacheable: Bool?
  public var mcpServer: MCPServerParams?

  public static var fieldDescriptions: [String: String] {
    [
      "name": "for a command tool: 1–64 letters, digits, _, - or .; not a built-in tool's name",
      "command": "for a command tool: argv run in the workspace; JSON arguments on stdin, the result from stdout",
      "requiresApproval": "for a command tool: whether an agent's calls need approval (default true)",
      "timeoutMs": "for a command tool: 1–600000, default 30000; the whole process group is killed after it",
      "cacheable":
        "for a command tool: its output depends only on its arguments, so repeated calls may be answered from the "
        + "response cache (default false)",
      "mcpServer": "instead of a command: an MCP server whose every tool is added as SERVER.TOOL",
    ]
  }
}

public struct ToolRegisterResult: Codable, Sendable {
  public var tools: [ToolRecord]
}

public struct ToolNameParams: Codable, Sendable {
  public var name: String
}

public struct ToolUnregisterResult: Codable, Sendable {
  /// The tools removed (all of an MCP server's tools when `name` is the server).
  public var removed: [String]
}
