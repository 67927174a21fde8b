import MinionsCore

/// An agent: who it is (its system prompt), what it needs of a model, which tools it may use and which
/// agents it may hand work to.
public struct AgentDefinition: Sendable, Codable, Equatable {
  public var name: String
  public var description: String
  public var systemPrompt: String
  /// Capabilities a model must have to serve this agent (used by model selection).
  public var requiredCapabilities: [Capability]
  /// The tools offered to the model (names in the tool registry; `delegate` is added when the agent
  /// may delegate).
  public var tools: [String]
  /// Agents this one may delegate to through the `delegate` tool.
  public var canDelegateTo: [String]
  /// A model this agent prefers (else selection decides).
  public var model: String?
  public var temperature: Double?
  /// True for the agents that ship with the engine (they cannot be changed or deleted).
  public var builtin: Bool

  public init(
    name: String, description: String, systemPrompt: String, requiredCapabilities: [Capability] = [.textGeneration],
    tools: [String] = [], canDelegateTo: [String] = [], model: String? = nil, temperature: Double? = nil,
    builtin: Bool = false
  ) {
    self.name = name
    self.description = description
    self.systemPrompt = systemPrompt
    self.requiredCapabilities = requiredCapabilities
    self.tools = tools
    self.canDelegateTo = canDelegateTo
    self.model = model
    self.temperature = temperature
    self.builtin = builtin
  }

  /// The agents that ship with the engine.
  public static let builtins: [AgentDefinition] = [
    AgentDefinition(
      name: "assistant",
      description: "A general assistant: answers, reads and writes workspace files, queries data, fetches pages, "
        + "and hands specialised work to the coder, researcher or analyst.",
      systemPrompt:
        "You are Minions' assistant, working inside the user's editor. Answer clearly and briefly. Use the tools "
        + "when they help: file_operations for the workspace, database for SQLite files, http_request for the web. "
        + "Delegate focused work to another agent with the delegate tool when that agent is better suited.",
      requiredCapabilities: [.textGeneration],
      tools: ["file_operations", "database", "http_request"],
      canDelegateTo: ["coder", "researcher", "analyst"], builtin: true),
    AgentDefinition(
      name: "coder",
      description: "Writes, explains and fixes code in the workspace.",
      systemPrompt:
        "You are Minions' coder. Write correct, idiomatic, minimal code; explain changes briefly. Read files before "
        + "changing them and keep edits small. Use file_operations to read and write workspace files.",
      requiredCapabilities: [.textGeneration, .codeGeneration],
      tools: ["file_operations"], builtin: true),
    AgentDefinition(
      name: "researcher",
      description: "Finds and summarises information from the web and the workspace, citing sources.",
      systemPrompt:
        "You are Minions' researcher. Gather facts with http_request and file_operations, then summarise them "
        + "accurately, citing where each fact came from. Say when you could not verify something.",
      requiredCapabilities: [.textGeneration],
      tools: ["http_request", "file_operations"], builtin: true),
    AgentDefinition(
      name: "analyst",
      description: "Answers questions about data: queries SQLite databases and reads data files.",
      systemPrompt:
        "You are Minions' analyst. Answer questions about data by querying SQLite databases with the database tool "
        + "(read-only queries unless asked to change data) and reading files. Show the figures you relied on.",
      requiredCapabilities: [.textGeneration],
      tools: ["database", "file_operations"], builtin: true),
    AgentDefinition(
      name: "coordinator",
      description: "Breaks a larger task into parts and delegates each to the right agent, then combines the answers.",
      systemPrompt:
        "You are Minions' coordinator. Split the user's task into focused parts, delegate each part to the best "
        + "agent with the delegate tool, then combine their answers into one clear reply.",
      requiredCapabilities: [.textGeneration],
      tools: [], canDelegateTo: ["assistant", "coder", "researcher", "analyst"], builtin: true),
  ]
}
