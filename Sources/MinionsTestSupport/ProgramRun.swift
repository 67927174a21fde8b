import Foundation

/// What a finished program printed, and how it ended.
public struct ProgramRun: Sendable {
  public var status: Int32
  public var output: String
  public var errors: String
}

/// Runs a program to its end with `environment` (nothing inherited unless given), reading its output on
/// threads of their own so the cooperative pool never blocks; kills it after `timeout` seconds.
public func runProgram(
  _ executable: String, _ arguments: [String], environment: [String: String], input: String? = nil,
  timeout: Double = 120
) async throws -> ProgramRun {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: executable)
  p.arguments = arguments
  p.environment = environment
  let out = Pipe()
  let err = Pipe()
  let inPipe = Pipe()
  p.standardOutput = out
  p.standardError = err
  p.standardInput = inPipe
  let exited = AsyncStream<Int32> { continuation in
    p.terminationHandler = { continuation.yield($0.terminationStatus) }
  }
  try p.run()
  if let input { inPipe.fileHandleForWriting.write(Data(input.utf8)) }
  try? inPipe.fileHandleForWriting.close()
  let killer = Task {
    try await Task.sleep(nanoseconds: UInt64(timeout * 1e9))
    p.terminate()
  }
  async let output = readToEnd(out.fileHandleForReading)
  async let errors = readToEnd(err.fileHandleForReading)
  var status: Int32 = -1
  for await s in exited {
    status = s
    break
  }
  killer.cancel()
  return ProgramRun(status: status, output: await output, errors: await errors)
}

private func readToEnd(_ handle: FileHandle) async -> String {
  await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in
    Thread.detachNewThread {
      done.resume(returning: String(decoding: handle.readDataToEndOfFile(), as: UTF8.self))
    }
  }
}
