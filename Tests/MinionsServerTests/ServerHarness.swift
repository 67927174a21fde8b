import JSONRPC
import JSONRPCTransport
import MinionsCore
import MinionsEngine
import MinionsServer
import MinionsTestSupport

/// A server with one client connected over pipes, as stdio or as an (unauthenticated) TCP peer.
struct ServerHarness {
  let server: MinionsServer
  let client: PipeClient
  let session: ClientSession
  private var nextID = 1000

  /// A server on a fresh test engine (or `engine`), with one client connected as `endpoint`.
  static func make(
    endpoint: JSONRPCConnection.Endpoint = .stdio, configuration: ServerConfiguration = ServerConfiguration(),
    engine given: Engine? = nil, startReading: Bool = true
  ) async throws -> ServerHarness {
    let engine: Engine
    if let given { engine = given } else { engine = try await makeTestEngine() }
    var configuration = configuration
    configuration.connectionOptions.inputClosedGracePeriod = 1
    let server = MinionsServer(configuration: configuration, engine: engine, logger: .disabled)
    return ServerHarness(server: server, endpoint: endpoint, startReading: startReading)
  }

  /// A client on `server` (reading the server's output at once unless `startReading` is false).
  init(server: MinionsServer, endpoint: JSONRPCConnection.Endpoint, startReading: Bool = true) {
    self.server = server
    client = PipeClient(startReading: startReading)
    session = server.serve(
      input: client.serverInput, output: client.serverOutput, endpoint: endpoint, ownsDescriptors: true)
  }

  var engine: Engine { server.engine }

  /// Sends a request without waiting; returns its id.
  mutating func send(_ method: String, _ params: JSONValue? = nil) -> JSONValue {
    nextID += 1
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(nextID), "method": .string(method)]
    if let params { message["params"] = params }
    client.sendLine(JSONWriter.string(.object(message)))
    return .int(nextID)
  }

  /// Sends a request and waits for its reply.
  mutating func call(_ method: String, _ params: JSONValue? = nil) async -> JSONValue {
    nextID += 1
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "id": .int(nextID), "method": .string(method)]
    if let params { message["params"] = params }
    client.sendLine(JSONWriter.string(.object(message)))
    return await client.reply(to: .int(nextID)) ?? ["error": "no reply"]
  }

  func notify(_ method: String, _ params: JSONValue? = nil) {
    var message: [String: JSONValue] = ["jsonrpc": "2.0", "method": .string(method)]
    if let params { message["params"] = params }
    client.sendLine(JSONWriter.string(.object(message)))
  }

  mutating func initialize(_ params: JSONValue = [:]) async -> JSONValue {
    await call("initialize", params)
  }

  func finish() async {
    client.closeInput()
    _ = await session.connection.finished.waitAsync(timeout: 10)
  }
}

/// The repository root, found from this file's path.
let repositoryRoot: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
  parts.removeLast(3)  // Tests/MinionsServerTests/ServerHarness.swift
  return parts.joined(separator: "/")
}()
