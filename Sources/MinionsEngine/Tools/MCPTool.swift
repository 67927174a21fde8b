import MinionsCore

/// A tool served by an MCP server, exposed as `SERVER.TOOL` (category `mcp`).
///
/// A call is `tools/call` on the server's `MCPClient`: text content parts become the result text
/// (joined with newlines; other parts are described), `structuredContent` the structured result and
/// `isError` a failure. A server that died is restarted by the call; a call cancelled or timed out is
/// cancelled on the server with `notifications/cancelled` (the server keeps running for other calls).
public struct MCPTool: Tool {
  public let definition: ToolDefinition
  public let serverName: String
  /// The tool's own name on the server.
  public let remoteName: String
  /// MCP's hints (`readOnlyHint`, `destructiveHint`, …), as the server listed them.
  public let annotations: JSONValue?
  public let client: MCPClient

  /// The tool described by one entry of `tools/list`; nil (with why) when the entry cannot be exposed.
  static func make(listing: JSONValue, client: MCPClient) -> Result<MCPTool, MCPError> {
    let server = client.serverName
    guard let name = listing["name"]?.stringValue else {
      return .failure(MCPError(.invalidResponse, "MCP server `\(server)` listed a tool without a name"))
    }
    guard isAcceptableName(name) else {
      return .failure(
        MCPError(
          .invalidResponse,
          "MCP server `\(server)` listed a tool named \(JSONWriter.string(.string(name))), "
            + "which is empty, too long (over 128 characters) or contains spaces or control characters"))
    }
    var schema: JSONValue = ["type": "object"]
    if let given = listing["inputSchema"], given.objectValue != nil { schema = given }
    let annotations = listing["annotations"]
    let readOnly = annotations?["readOnlyHint"]?.boolValue == true
    let description =
      listing["description"]?.stringValue ?? listing["title"]?.stringValue ?? annotations?["title"]?.stringValue
      ?? "Tool \(name) of MCP server \(server)"
    let definition = ToolDefinition(
      name: "\(server).\(name)", description: description, category: "mcp", inputSchema: schema,
      requiresApproval: !readOnly, timeoutMs: client.options.requestTimeoutMs)
    return .success(
      MCPTool(definition: definition, serverName: server, remoteName: name, annotations: annotations, client: client))
  }

  /// MCP names are meant to be short and plain; Minions takes anything printable without spaces.
  static func isAcceptableName(_ name: String) -> Bool {
    guard !name.isEmpty, name.count <= 128 else { return false }
    return name.unicodeScalars.allSatisfy { !$0.properties.isWhitespace && $0.value >= 32 && $0.value != 127 }
  }

  public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
    do {
      let result = try await client.callTool(remoteName, arguments: arguments, timeoutMs: context.timeoutMs)
      return Self.output(of: result, serverName: serverName)
    } catch let error as MCPError {
      if Task.isCancelled { throw CancellationError() }
      var message = error.message
      if error.kind == .serverExited { message += "\n(the server is restarted on the next call)" }
      return .failure(message)
    } catch is CancellationError {
      throw CancellationError()
    } catch {
      return .failure("MCP server `\(serverName)`: \(error)")
    }
  }

  /// A `tools/call` result as a tool output.
  static func output(of result: JSONValue, serverName: String) -> ToolOutput {
    let structured = result["structuredContent"].flatMap { $0.isNull ? nil : $0 }
    let isError = result["isError"]?.boolValue ?? false
    if let content = result["content"]?.arrayValue {
      var text = MCPContent.text(of: content)
      if text.isEmpty, let structured { text = JSONWriter.string(structured) }
      return ToolOutput(isError: isError, text: text, structured: structured)
    }
    if let structured {
      return ToolOutput(isError: isError, text: JSONWriter.string(structured), structured: structured)
    }
    return .failure("MCP server `\(serverName)` answered tools/call without content: \(JSONWriter.string(result))")
  }
}
