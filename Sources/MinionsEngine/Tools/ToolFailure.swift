/// A built-in tool call that cannot go on, carrying the message its caller sees as `ToolOutput.failure`.
/// Thrown inside a tool's work and turned into the output at its `run` boundary.
struct ToolFailure: Error, Sendable, Equatable, CustomStringConvertible {
  var message: String

  init(_ message: String) { self.message = message }

  var description: String { message }
}
