import Foundation
import MinionsCore
import MinionsEngine

/// An engine on a fresh data directory, set up for tests: the cheapest allowed bcrypt cost, quick
/// retries, an offline model that does not pause between words, and a short provider idle limit.
public func makeTestEngine(
  clock: EngineClock = EngineClock(), environment: [String: String] = [:], dataDirectory: String? = nil,
  workspace: String? = nil, providerIdleTimeout: Double = 2, tools: [any Tool] = []
) async throws -> Engine {
  let directory = try dataDirectory ?? temporaryDirectory(prefix: "minions-test")
  let engine = try Engine(
    configuration: EngineConfiguration(
      dataDirectory: directory, workspace: workspace ?? directory, environment: environment,
      routerOptions: .init(maxRetries: 2, baseDelay: 0.01, maxDelay: 0.05, retryAfterCap: 5), localModelTokenDelay: 0,
      providerIdleTimeout: providerIdleTimeout, additionalTools: tools),
    logger: .disabled, clock: clock)
  _ = try await engine.settings.update(
    scope: .system, userID: 0, values: ["security.passwordHashCost": 10], now: clock.now())
  await engine.customTools.startPersisted()
  return engine
}

/// Writes `text` to a new file in a fresh temporary directory; returns its path.
public func writeTemporaryFile(_ text: String, name: String = "file.json") throws -> String {
  let path = try temporaryDirectory(prefix: "minions-file") + "/" + name
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}
