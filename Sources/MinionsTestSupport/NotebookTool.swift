import MinionsCore
import MinionsEngine
import Synchronization

/// A tool for turn tests: reads answer at once (optionally after a pause, counting how many run at
/// the same time); writes need approval and are recorded; `wait` runs until cancelled.
public final class NotebookTool: Tool {
  public let definition: ToolDefinition
  public let written = Mutex<[String]>([])
  public let inFlight = Mutex((now: 0, most: 0))
  public let sawCancellation = AtomicFlag()
  let pause: Double

  public init(pause: Double = 0) {
    self.pause = pause
    definition = ToolDefinition(
      name: "notebook", description: "Reads and writes notes.", category: "custom",
      inputSchema: [
        "type": "object",
        "properties": [
          "operation": ["type": "string", "enum": ["read", "write", "wait"]], "text": ["type": "string"],
        ],
        "required": ["operation"], "additionalProperties": false,
      ], requiresApproval: true, timeoutMs: 60_000)
  }

  public func needsApproval(_ arguments: JSONValue) -> Bool { arguments["operation"] == "write" }

  public func run(_ arguments: JSONValue, context: ToolContext) async throws -> ToolOutput {
    switch arguments["operation"]?.stringValue {
    case "write":
      written.withLock { $0.append(arguments["text"]?.stringValue ?? "") }
      return .success("written")
    case "wait":
      do {
        try await Task.sleep(nanoseconds: 60_000_000_000)
      } catch {
        sawCancellation.set()
        throw error
      }
      return .success("waited")
    default:
      inFlight.withLock {
        $0.now += 1
        $0.most = max($0.most, $0.now)
      }
      if pause > 0 { try? await Task.sleep(nanoseconds: UInt64(pause * 1e9)) }
      inFlight.withLock { $0.now -= 1 }
      return .success("note: \(arguments["text"]?.stringValue ?? "empty")")
    }
  }
}
