import Foundation
import MinionsTestSupport
import Testing

/// `make run`'s scripted session (clients/shell/tour.sh) against the built engine: it must keep working
/// on a fresh machine with nothing but the built-in offline model.
@Suite struct TourTests {
  @Test func theTourChatsWithTheOfflineModelAndEndsCleanly() async throws {
    let dir = try temporaryDirectory(prefix: "minions-tour")
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = [repositoryRootPath + "/clients/shell/tour.sh", EngineProcess.binaryPath]
    p.environment = [
      "PATH": "/usr/bin:/bin", "MINIONS_DATA_DIR": dir, "HOME": dir,
    ]
    let output = Pipe()
    p.standardOutput = output
    p.standardError = output
    let exited = AsyncStream<Int32> { continuation in
      p.terminationHandler = { continuation.yield($0.terminationStatus) }
    }
    try p.run()
    // Read on a thread of its own, so the cooperative pool never blocks.
    let text = await withCheckedContinuation { (done: CheckedContinuation<String, Never>) in
      Thread.detachNewThread {
        done.resume(returning: String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
      }
    }
    var status: Int32?
    for await s in exited {
      status = s
      break
    }
    #expect(status == 0, "\(text)")
    #expect(text.contains(#"<- {"jsonrpc":"2.0","id":3,"result":{"candidates":[{"excluded":null,"model":"local""#))
    #expect(text.contains(#""kind":"token""#))
    #expect(text.contains(#"<- {"jsonrpc":"2.0","id":4,"result":{"agent":"assistant""#))
    #expect(text.contains(#""code":-32601"#))
    #expect(text.contains(#"<- {"jsonrpc":"2.0","id":6,"result":null}"#))
  }
}
