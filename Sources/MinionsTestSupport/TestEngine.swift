import Foundation
import MinionsCore
import MinionsEngine

/// An engine on a fresh data directory, with the cheapest allowed bcrypt cost so tests that log in
/// stay quick (the cost itself is tested where it matters).
public func makeTestEngine(
  clock: EngineClock = EngineClock(), environment: [String: String] = [:],
  dataDirectory: String? = nil
) async throws -> Engine {
  let directory = try dataDirectory ?? temporaryDirectory(prefix: "minions-test")
  let engine = try Engine(
    configuration: EngineConfiguration(dataDirectory: directory, workspace: directory, environment: environment),
    logger: .disabled, clock: clock)
  _ = try await engine.settings.update(
    scope: .system, userID: 0, values: ["security.passwordHashCost": 10], now: clock.now())
  return engine
}
