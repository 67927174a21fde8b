import Foundation
import MinionsTestSupport
import Testing

/// `make run`'s scripted session (clients/shell/tour.sh) against the built engine: it must keep working
/// on a fresh machine with nothing but the built-in offline model.
@Suite struct TourTests {
  @Test func theTourChatsWithTheOfflineModelAndEndsCleanly() async throws {
    let dir = try temporaryDirectory(prefix: "minions-tour")
    let run = try await runProgram(
      "/bin/sh", [repositoryRootPath + "/clients/shell/tour.sh", EngineProcess.binaryPath],
      environment: ["PATH": "/usr/bin:/bin", "MINIONS_DATA_DIR": dir, "HOME": dir])
    let (status, text) = (run.status, run.output + run.errors)
    #expect(status == 0, "\(text)")
    #expect(text.contains(#"<- {"jsonrpc":"2.0","id":3,"result":{"candidates":[{"excluded":null,"model":"local""#))
    #expect(text.contains(#""kind":"token""#))
    #expect(text.contains(#"<- {"jsonrpc":"2.0","id":4,"result":{"agent":"assistant""#))
    #expect(text.contains(#""code":-32601"#))
    #expect(text.contains(#"<- {"jsonrpc":"2.0","id":7,"result":null}"#))
    #expect(
      text.contains(
        #"<- {"jsonrpc":"2.0","id":5,"result":{"nextCursor":null,"tools":[{"cacheable":false,"category":"files""#))
    #expect(text.contains("file_operations returned"))  // minions chat listed the files
  }
}
