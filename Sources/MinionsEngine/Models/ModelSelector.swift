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
  /// The models considered, and the eligible ones' positions among them by rank.
  let pool: [ModelConfig]
  let order: [Int]

  /// The eligible models in order, for failover.
  public var ranked: [ModelConfig] { order.map { pool[$0] } }
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
    guard let task, !task.isEmpty else { return [] }
    // ASCII case folding over bytes: the keywords are ASCII, and this runs on every selection.
    let text = task.utf8.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
    func mentions(_ words: [StaticString]) -> Bool { words.contains { text.containsBytes(of: $0) } }
    var hints: [Capability] = []
    if mentions(Self.codeWords) { hints.append(.codeGeneration) }
    if mentions(Self.reasoningWords) { hints.append(.reasoning) }
    if mentions(Self.visionWords) { hints.append(.vision) }
    if text.count > 20_000 && task.count > 20_000 { hints.append(.longContext) }
    return hints
  }

  static let codeWords: [StaticString] = [
    "code", "function", "bug", "refactor", "compile", "swift", "python", "javascript", "test", "class ", "api",
    "program",
  ]
  static let reasoningWords: [StaticString] = [
    "why", "reason", "prove", "analy", "plan", "compare", "explain", "math", "logic", "step by step",
  ]
  static let visionWords: [StaticString] = ["image", "picture", "photo", "screenshot", "diagram"]

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

    func score(_ p: Parts) -> Double {
      quality * p.quality + speed * p.speed + cost * p.cost + reliability * p.reliability + p.hintBonus
        + p.exploration
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
    var sum = 0.0
    var count = 0.0
    if let ttft = s.p50TtftMs {
      sum += 1 / (1 + ttft / 1000)
      count += 1
    }
    if let tps = s.tokensPerSecond {
      sum += tps / (tps + 40)
      count += 1
    }
    if count == 0, let latency = s.p50LatencyMs {
      sum += 1 / (1 + latency / 2000)
      count += 1
    }
    return count == 0 ? (0.5, false) : (sum / count, true)
  }

  /// A model's score parts from its static profile and measured figures.
  static func parts(_ p: SelectionProfile, _ s: ModelStatsSnapshot, hints: CapabilitySet) -> Parts {
    let (speed, measured) = Self.speed(s)
    // Each hinted capability the model has adds 0.08; each it lacks takes 0.08 away.
    let bonus = 0.08 * Double(hints.intersection(p.capabilities).count - hints.subtracting(p.capabilities).count)
    // Prices per 1k tokens run from about $0.0001 to $0.1: this curve gives $0.001 a score of one half.
    return Parts(
      quality: p.quality, speed: speed, cost: 1 / (1 + p.price * 1000), reliability: 1 - s.errorRate,
      hintBonus: bonus, exploration: measured ? 0 : 0.02, measured: measured)
  }

  public func select(_ criteria: SelectionCriteria) throws -> SelectionResult {
    let hints = Self.hints(for: criteria.task)
    let hintSet = CapabilitySet(hints)
    let required = CapabilitySet(criteria.requiredCapabilities)
    let weights = Weights.of(criteria.strategy)
    let exclude = Set(criteria.exclude)
    let snapshots = stats.snapshots()
    let cooldowns = health.activeCooldowns()
    let (models, profiles) = registry.selectionView()
    // Eligible models as (score, position); positions follow name order, so ties break by name.
    var eligible: [(score: Double, index: Int)] = []
    eligible.reserveCapacity(models.count)
    var excluded: [SelectionResult.Candidate] = []
    for index in profiles.indices {
      let p = profiles[index]
      if !exclude.isEmpty && exclude.contains(p.name) {
        excluded.append(.init(model: p.name, score: nil, excluded: "excluded by the request"))
        continue
      }
      if !p.capabilities.isSuperset(of: required) {
        let missing = criteria.requiredCapabilities.first { !p.capabilities.contains(CapabilitySet($0)) }!
        excluded.append(.init(model: p.name, score: nil, excluded: "lacks \(missing.rawValue)"))
        continue
      }
      if let need = criteria.minimumContext, p.contextLength < need {
        excluded.append(
          .init(model: p.name, score: nil, excluded: "context of \(p.contextLength) tokens is under the \(need) needed")
        )
        continue
      }
      if p.mayBeUnavailable, let reason = registry.unavailableReason(models[index]) {
        excluded.append(.init(model: p.name, score: nil, excluded: "unavailable: \(reason)"))
        continue
      }
      if !cooldowns.isEmpty, let until = cooldowns[p.name] {
        let end = Timestamp(millisecondsSinceEpoch: until).iso8601()
        excluded.append(.init(model: p.name, score: nil, excluded: "cooling down until \(end)"))
        continue
      }
      let score = weights.score(Self.parts(p, snapshots[p.name] ?? .empty, hints: hintSet))
      eligible.append(((score * 1000).rounded() / 1000, index))
    }
    eligible.sort { $0.score != $1.score ? $0.score > $1.score : $0.index < $1.index }
    var candidates: [SelectionResult.Candidate] = []
    candidates.reserveCapacity(eligible.count + excluded.count)
    for e in eligible { candidates.append(.init(model: profiles[e.index].name, score: e.score, excluded: nil)) }
    candidates += excluded
    guard let (score, bestIndex) = eligible.first else { throw Failure.noModel(candidates: candidates) }
    let best = models[bestIndex]
    let s = snapshots[best.name] ?? .empty
    let parts = Self.parts(profiles[bestIndex], s, hints: hintSet)

    var reasons: [String] = []
    if !criteria.requiredCapabilities.isEmpty {
      reasons.append(
        "has the required capabilities: " + criteria.requiredCapabilities.map(\.rawValue).joined(separator: ", "))
    }
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
      model: best, score: score, reasons: reasons, candidates: candidates, pool: models, order: eligible.map(\.index))
  }

  private func fmt(_ v: Double, _ digits: Int = 2) -> String {
    var p = 1.0
    for _ in 0..<digits { p *= 10 }
    let r = (v * p).rounded() / p
    return String(r)
  }
}

/// A set of capabilities as bits, for filtering without allocating.
struct CapabilitySet: OptionSet, Sendable {
  let rawValue: UInt32

  init(rawValue: UInt32) { self.rawValue = rawValue }

  init(_ capability: Capability) {
    rawValue = 1 << UInt32(Capability.allCases.firstIndex(of: capability)!)
  }

  init(_ capabilities: [Capability]) {
    self = capabilities.reduce(into: CapabilitySet()) { $0.insert(CapabilitySet($1)) }
  }

  var count: Int { rawValue.nonzeroBitCount }
}

/// What selection needs of a model, precomputed when the registry changes.
struct SelectionProfile: Sendable {
  var name: String
  var capabilities: CapabilitySet
  var contextLength: Int
  /// Dollars per 1k input plus 1k output tokens.
  var price: Double
  var quality: Double
  /// False for models that are always usable (the local model, OpenAI-compatible servers at a set URL),
  /// so selection skips asking the registry.
  var mayBeUnavailable: Bool

  init(_ m: ModelConfig) {
    name = m.name
    capabilities = CapabilitySet(m.capabilities)
    contextLength = m.contextLength
    price = m.costPer1kInput + m.costPer1kOutput
    quality = m.quality
    mayBeUnavailable = !(m.provider == .local || (m.provider == .openai && m.baseURL != nil))
  }
}

extension Array where Element == UInt8 {
  /// Whether these bytes contain the keyword's bytes.
  fileprivate func containsBytes(of keyword: StaticString) -> Bool {
    let n = keyword.utf8CodeUnitCount
    guard n > 0, n <= count else { return n == 0 }
    return keyword.withUTF8Buffer { word in
      withUnsafeBufferPointer { text in
        let first = word[0]
        var i = 0
        while i <= text.count - n {
          if text[i] == first {
            var j = 1
            while j < n && text[i + j] == word[j] { j += 1 }
            if j == n { return true }
          }
          i += 1
        }
        return false
      }
    }
  }
}
