import Foundation
import MinionsCore
import MinionsTestSupport
import Testing

/// An MCP host — the official MCP Python SDK's client — starts `minions serve` and uses its tools.
@Suite struct MCPHostTests {
  @Test func theMCPPythonSDKUsesMinionsTools() async throws {
    let python = try #require(
      ProcessInfo.processInfo.environment["MINIONS_TEST_PYTHON"],
      "needs MINIONS_TEST_PYTHON (a Python with the mcp package): run `make test`")
    let workspace = try temporaryDirectory(prefix: "minions-mcp-ws")
    try "hello from the workspace\n".write(toFile: workspace + "/hello.txt", atomically: true, encoding: .utf8)
    let data = try temporaryDirectory(prefix: "minions-mcp-data")
    let run = try await runProgram(
      python,
      [
        repositoryRootPath + "/Tests/EndToEndTests/Fixtures/mcp_sdk_client.py", EngineProcess.binaryPath, workspace,
        data,
      ],
      environment: ["PATH": "/usr/bin:/bin", "HOME": data])
    #expect(run.status == 0, "\(run.errors)")
    let result = try JSONParser.parse(run.output.trimmed())
    #expect(result["protocolVersion"]?.stringValue?.count == 10)
    #expect(result["serverName"] == "minions" && result["hasTools"] == true)
    #expect(result["tools"] == ["database", "file_operations", "http_request"])
    #expect(result["fileSchemaType"] == "object")
    #expect(result["read"]?["isError"] == false)
    #expect(result["read"]?["text"]?.stringValue?.contains("hello from the workspace") == true)
    #expect(result["escape"]?["isError"] == true)
    #expect(result["unknown"] == -32602)
    #expect(result["ping"] == true)
  }
}
