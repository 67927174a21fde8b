import MinionsCore

/// A model the engine knows: who serves it, what it can do, what it costs, where to reach it.
public struct ModelConfig: Sendable, Codable, Equatable {
  public enum Source: String, Sendable, Codable {
    /// Shipped with the engine (the local model, the cloud table).
    case builtin
    /// Added with models/register.
    case registered
    /// Found by asking a provider (Ollama's tags).
    case discovered
  }

  public var name: String
  public var provider: ProviderKind
  public var capabilities: [Capability]
  public var baseURL: String?
  /// The name of the environment variable holding the API key (the key itself is never stored).
  public var apiKeyEnv: String?
  public var contextLength: Int
  public var costPer1kInput: Double
  public var costPer1kOutput: Double
  /// For provider `script`: the script file.
  public var script: String?
  /// Models to fail over to, in order, when this one fails before any output.
  public var fallbacks: [String]
  public var source: Source
  /// A prior for answer quality in 0…1 (the `quality` strategy); measured figures do the rest.
  public var quality: Double

  public init(
    name: String, provider: ProviderKind, capabilities: [Capability], baseURL: String? = nil,
    apiKeyEnv: String? = nil, contextLength: Int = 8192, costPer1kInput: Double = 0, costPer1kOutput: Double = 0,
    script: String? = nil, fallbacks: [String] = [], source: Source = .registered, quality: Double = 0.5
  ) {
    self.name = name
    self.provider = provider
    self.capabilities = capabilities
    self.baseURL = baseURL
    self.apiKeyEnv = apiKeyEnv
    self.contextLength = contextLength
    self.costPer1kInput = costPer1kInput
    self.costPer1kOutput = costPer1kOutput
    self.script = script
    self.fallbacks = fallbacks
    self.source = source
    self.quality = quality
  }

  public func has(_ c: Capability) -> Bool { capabilities.contains(c) }

  /// The price of a call in US dollars.
  public func cost(promptTokens: Int, completionTokens: Int) -> Double {
    Double(promptTokens) / 1000 * costPer1kInput + Double(completionTokens) / 1000 * costPer1kOutput
  }
}

/// The models shipped with the engine: the offline model, and a small table of cloud models that
/// become available when their API key is in the environment. Prices are per 1000 tokens in US
/// dollars (approximate list prices; register a model again to correct them).
public enum BuiltinModels {
  public static let local = ModelConfig(
    name: "local", provider: .local, capabilities: [.textGeneration, .codeGeneration, .toolUse], contextLength: 8192,
    source: .builtin, quality: 0.1)

  public static let cloud: [ModelConfig] = [
    ModelConfig(
      name: "gpt-4o-mini", provider: .openai,
      capabilities: [.textGeneration, .codeGeneration, .toolUse, .vision, .longContext],
      contextLength: 128_000, costPer1kInput: 0.00015, costPer1kOutput: 0.0006, source: .builtin, quality: 0.7),
    ModelConfig(
      name: "gpt-4o", provider: .openai,
      capabilities: [.textGeneration, .codeGeneration, .reasoning, .toolUse, .vision, .longContext],
      contextLength: 128_000, costPer1kInput: 0.0025, costPer1kOutput: 0.01, source: .builtin, quality: 0.85),
    ModelConfig(
      name: "gpt-4.1", provider: .openai,
      capabilities: [.textGeneration, .codeGeneration, .reasoning, .toolUse, .vision, .longContext],
      contextLength: 1_047_576, costPer1kInput: 0.002, costPer1kOutput: 0.008, source: .builtin, quality: 0.88),
    ModelConfig(
      name: "gpt-4.1-mini", provider: .openai,
      capabilities: [.textGeneration, .codeGeneration, .toolUse, .vision, .longContext],
      contextLength: 1_047_576, costPer1kInput: 0.0004, costPer1kOutput: 0.0016, source: .builtin, quality: 0.75),
    ModelConfig(
      name: "claude-sonnet-4-20250514", provider: .anthropic,
      capabilities: [.textGeneration, .codeGeneration, .reasoning, .toolUse, .vision, .longContext],
      contextLength: 200_000, costPer1kInput: 0.003, costPer1kOutput: 0.015, source: .builtin, quality: 0.92),
    ModelConfig(
      name: "claude-3-5-haiku-20241022", provider: .anthropic,
      capabilities: [.textGeneration, .codeGeneration, .toolUse, .longContext],
      contextLength: 200_000, costPer1kInput: 0.0008, costPer1kOutput: 0.004, source: .builtin, quality: 0.72),
  ]

  /// The environment variable that holds the API key of a provider by default.
  public static func defaultKeyEnv(_ provider: ProviderKind) -> String? {
    switch provider {
    case .openai: return "OPENAI_API_KEY"
    case .anthropic: return "ANTHROPIC_API_KEY"
    default: return nil
    }
  }
}
