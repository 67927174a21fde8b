import MinionsCore

/// What a caller wants from a model.
public struct SelectionCriteria: Sendable {
  public enum Strategy: String, Sendable, Codable, CaseIterable, JSONSchemaEnum {
    case balanced, fastest, cheapest, quality
  }

  public var task: String?
  public var requiredCapabilities: [Capability]
  public var strategy: Strategy
  public var exclude: [String]
  /// Prompt tokens the model must fit (context length filter).
  public var minimumContext: Int?

  public init(
    task: String? = nil, requiredCapabilities: [Capability] = [], strategy: Strategy = .balanced,
    exclude: [String] = [], minimumContext: Int? = nil
  ) {
    self.task = task
    self.requiredCapabilities = requiredCapabilities
    self.strategy = strategy
    self.exclude = exclude
    self.minimumContext = minimumContext
  }
}

/// The selector's answer, explaining itself.
public struct SelectionResult: Sendable {
  public struct Candidate: Sendable, Equatable {
    public var model: String
    public var score: Double?
    /// Why it was excluded, when it was.
    public var excluded: String?
  }

  public var model: ModelConfig
  public var score: Double
  public var reasons: [String]
  /// Every model: eligible ones by descending score, then excluded ones with their reason.
  public var candidates: [Candidate]
  /// The eligible models in order, for failover.
  public var ranked: [ModelConfig]
}

/// Picks a model: hard filters first (capabilities, context length, availability, cooldown, exclusions),
/// then a score from measured latency, time to first token, throughput, error rate and price under the
/// chosen strategy, nudged by what the task looks like, with a little exploration for untried models.
public struct ModelSelector: Sendable {
  let registry: ModelRegistry
  let stats: ModelStats
  let health: ModelHealth

  public enum Failure: Error, Sendable {
    case noModel(candidates: [SelectionResult.Candidate])
  }

  /// The needs a task's wording suggests.
  static func hints(for task: String?) -> [Capability] {
    guard let t = task?.lowercased(), !t.isEmpty else { return [] }
    var hints: [Capability] = []
    let code = [
      "code", "function", "bug", "refactor", "compile", "swift", "python", "javascript", "test", "class ", "api",
      "program",
    ]
    if code.contains(where: t.contains) { hints.append(.codeGeneration) }
    let reasoning = ["why", "reason", "prove", "analy", "plan", "compare", "explain", "math", "logic", "step by step"]
    if reasoning.contains(where: t.contains) { hints.append(.reasoning) }
    let vision = ["image", "picture", "photo", "screenshot", "diagram"]
    if vision.contains(where: t.contains) { hints.append(.vision) }
    if t.count > 20_000 { hints.append(.longContext) }
    return hints
  }

  struct Weights {
    var quality: Double
    var speed: Double
    var cost: Double
    var reliability: Double

    static func of(_ s: SelectionCriteria.Strategy) -> Weights {
      switch s {
      case .balanced: return Weights(quality: 0.35, speed: 0.25, cost: 0.2, reliability: 0.2)
      case .fastest: return Weights(quality: 0.1, speed: 0.65, cost: 0.05, reliability: 0.2)
      case .cheapest: return Weights(quality: 0.05, speed: 0.05, cost: 0.7, reliability: 0.2)
      case .quality: return Weights(quality: 0.7, speed: 0.05, cost: 0.05, reliability: 0.2)
      }
    }
  }

  struct Parts {
    var quality: Double
    var speed: Double
    var cost: Double
    var reliability: Double
    var hintBonus: Double
    var exploration: Double
    var measured: Bool
  }

  /// 0…1 speed from measured figures; 0.5 when nothing was measured yet.
  static func speed(_ s: ModelStatsSnapshot) -> (Double, Bool) {
    guard s.p50LatencyMs != nil || s.p50TtftMs != nil || s.tokensPerSecond != nil else { return (0.5, false) }
    var parts: [Double] = []
    if let ttft = s.p50TtftMs { parts.append(1 / (1 + ttft / 1000)) }
    if let tps = s.tokensPerSecond { parts.append(tps / (tps + 40)) }
    if parts.isEmpty, let latency = s.p50LatencyMs { parts.append(1 / (1 + latency / 2000)) }
    return (parts.reduce(0, +) / Double(parts.count), true)
  }

  public func select(_ criteria: SelectionCriteria) throws -> SelectionResult {
    let hints = Self.hints(for: criteria.task)
    let weights = Weights.of(criteria.strategy)
    var eligible: [(ModelConfig, Double, Parts)] = []
    var excluded: [SelectionResult.Candidate] = []
    let exclude = Set(criteria.exclude)
    for m in registry.all {
      if exclude.contains(m.name) {
        excluded.append(.init(model: m.name, score: nil, excluded: "excluded by the request"))
        continue
      }
      if let missing = criteria.requiredCapabilities.first(where: { !m.has($0) }) {
        excluded.append(.init(model: m.name, score: nil, excluded: "lacks \(missing.rawValue)"))
        continue
      }
      if let need = criteria.minimumContext, m.contextLength < need {
        excluded.append(
          .init(model: m.name, score: nil, excluded: "context of \(m.contextLength) tokens is under the \(need) needed")
        )
        continue
      }
      if let reason = registry.unavailableReason(m) {
        excluded.append(.init(model: m.name, score: nil, excluded: "unavailable: \(reason)"))
        continue
      }
      if let until = health.cooldownUntil(m.name) {
        excluded.append(.init(model: m.name, score: nil, excluded: "cooling down until \(until.iso8601())"))
        continue
      }
      let s = stats.snapshot(m.name)
      let (speed, measured) = Self.speed(s)
      let price = m.costPer1kInput + m.costPer1kOutput
      var bonus = 0.0
      for h in hints { bonus += m.has(h) ? 0.08 : -0.08 }
      // Prices per 1k tokens run from about $0.0001 to $0.1: this curve gives $0.001 a score of one half.
      let parts = Parts(
        quality: m.quality, speed: speed, cost: 1 / (1 + price * 1000), reliability: 1 - s.errorRate,
        hintBonus: bonus, exploration: measured ? 0 : 0.02, measured: measured)
      let score =
        weights.quality * parts.quality + weights.speed * parts.speed + weights.cost * parts.cost
        + weights.reliability * parts.reliability + parts.hintBonus + parts.exploration
      eligible.append((m, (score * 1000).rounded() / 1000, parts))
    }
    eligible.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.name < $1.0.name }
    let candidates = eligible.map { SelectionResult.Candidate(model: $0.0.name, score: $0.1, excluded: nil) } + excluded
    guard let (best, score, parts) = eligible.first else { throw Failure.noModel(candidates: candidates) }

    var reasons: [String] = []
    if !criteria.requiredCapabilities.isEmpty {
      reasons.append(
        "has the required capabilities: " + criteria.requiredCapabilities.map(\.rawValue).joined(separator: ", "))
    }
    let s = stats.snapshot(best.name)
    var measured = "not measured yet (a small exploration bonus)"
    if parts.measured {
      var figures: [String] = []
      if let l = s.p50LatencyMs { figures.append("p50 \(Int(l)) ms") }
      if let t = s.p50TtftMs { figures.append("time to first token \(Int(t)) ms") }
      if let r = s.tokensPerSecond { figures.append("\(Int(r)) tokens/s") }
      measured = figures.joined(separator: ", ")
    }
    reasons.append(
      "\(criteria.strategy.rawValue) strategy: quality \(fmt(parts.quality)), speed \(fmt(parts.speed)) (\(measured)), "
        + "cost \(fmt(parts.cost)) ($\(fmt(best.costPer1kInput + best.costPer1kOutput, 5))/1k tokens), reliability \(fmt(parts.reliability))"
    )
    for h in hints {
      reasons.append(
        "the task looks like it needs \(h.rawValue): "
          + (best.has(h) ? "this model has it" : "no eligible model has it"))
    }
    let others = eligible.count - 1
    reasons.append("\(others) other eligible model\(others == 1 ? "" : "s") scored lower; \(excluded.count) excluded")
    return SelectionResult(
      model: best, score: score, reasons: reasons, candidates: candidates, ranked: eligible.map(\.0))
  }

  private func fmt(_ v: Double, _ digits: Int = 2) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    return String(r)
  }
}
