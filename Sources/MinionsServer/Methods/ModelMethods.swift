import JSONRPC
import MinionsCore
import MinionsEngine

/// `models/*`: the registry, measured figures and selection.
enum ModelMethods {
  static func record(_ m: ModelConfig, engine: Engine) -> ModelRecord {
    let reason = engine.models.unavailableReason(m)
    return ModelRecord(
      name: m.name, provider: m.provider, capabilities: m.capabilities, contextLength: m.contextLength,
      costPer1kInput: m.costPer1kInput, costPer1kOutput: m.costPer1kOutput, available: reason == nil,
      unavailableReason: reason,
      cooldownUntil: engine.modelHealth.cooldownUntil(m.name),
      stats: ModelStatsRecord(engine.modelStats.snapshot(m.name)),
      source: m.source.rawValue, baseURL: m.baseURL, apiKeyEnv: m.apiKeyEnv, script: m.script, fallbacks: m.fallbacks)
  }

  static func register(in table: inout MethodTable) {
    table.register(
      "models/list", summary: "Lists every model with its availability, cooldown and measured figures.",
      access: .permission(.modelsRead), params: NoParams.self, result: ModelsListResult.self
    ) { _, call in
      ModelsListResult(models: call.engine.models.all.map { record($0, engine: call.engine) })
    }

    table.register(
      "models/register", summary: "Adds a model (or replaces one of the same name); persisted.",
      access: .permission(.modelsManage), errors: [.alreadyExists], params: ModelRegisterParams.self,
      result: ModelRegisterResult.self
    ) { p, call in
      var script = p.script
      if let s = script, !s.hasPrefix("/") { script = call.server.configuration.workspace + "/" + s }
      let config = ModelConfig(
        name: p.name, provider: p.provider, capabilities: p.capabilities, baseURL: p.baseURL, apiKeyEnv: p.apiKeyEnv,
        contextLength: p.contextLength ?? 8192, costPer1kInput: p.costPer1kInput ?? 0,
        costPer1kOutput: p.costPer1kOutput ?? 0,
        script: script, fallbacks: p.fallbacks ?? [], source: .registered, quality: 0.5)
      let replaced = try await call.engine.models.register(config)
      let identity = try call.requireIdentity()
      call.engine.audit.record(
        username: identity.username, action: "model.register", target: p.name, outcome: .ok,
        details: ["provider": .string(p.provider.rawValue), "replaced": .bool(replaced)])
      return ModelRegisterResult(
        model: record(call.engine.models.get(p.name)!, engine: call.engine), replaced: replaced)
    }

    table.register(
      "models/remove", summary: "Removes a registered or discovered model (the built-in local model stays).",
      access: .permission(.modelsManage), errors: [.notFound], params: ModelNameParams.self, result: RemovedResult.self
    ) { p, call in
      try await call.engine.models.remove(p.name)
      call.engine.audit.record(username: call.identity?.username, action: "model.remove", target: p.name, outcome: .ok)
      return RemovedResult(removed: true)
    }

    table.register(
      "models/refresh",
      summary: "Asks Ollama for its models and capabilities, and adds cloud models whose API keys are set.",
      access: .permission(.modelsManage), params: NoParams.self, result: ModelsRefreshResult.self
    ) { _, call in
      if let progress = call.request.progress { await progress.begin(title: "Refreshing models") }
      let report = await call.engine.refreshModels()
      if let progress = call.request.progress { await progress.end(message: "\(report.added.count) added") }
      return ModelsRefreshResult(
        added: report.added, updated: report.updated, removed: report.removed, errors: report.errors)
    }

    table.register(
      "models/select",
      summary: "Picks a model for a task and explains why (every candidate with its score or exclusion).",
      description: "Strategies: balanced (default), fastest, cheapest, quality. -32021 when nothing fits, listing why.",
      access: .permission(.modelsRead), errors: [.noModelAvailable], params: ModelSelectParams.self,
      result: ModelSelectResult.self
    ) { p, call in
      let criteria = SelectionCriteria(
        task: p.task, requiredCapabilities: p.requiredCapabilities ?? [],
        strategy: p.strategy ?? .balanced, exclude: p.exclude ?? [])
      do {
        let r = try call.engine.selector.select(criteria)
        return ModelSelectResult(
          model: r.model.name, provider: r.model.provider, score: r.score, reasons: r.reasons,
          candidates: r.candidates.map {
            SelectionCandidateRecord(model: $0.model, score: $0.score, excluded: $0.excluded)
          })
      } catch ModelSelector.Failure.noModel(let candidates) {
        throw ModelRoutingError.noModelAvailable(candidates: candidates)
      }
    }
  }
}
