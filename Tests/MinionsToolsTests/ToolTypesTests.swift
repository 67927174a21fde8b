import MinionsCore
import MinionsEngine
import Testing

@Suite struct ToolTypesTests {
  @Test func aDefinitionOffersItsSchemaToModels() {
    let d = ToolDefinition(
      name: "echo", description: "Echoes", category: "custom", inputSchema: ["type": "object"], requiresApproval: false)
    #expect(d.spec == ToolSpec(name: "echo", description: "Echoes", parameters: ["type": "object"]))
    #expect(ToolOutput.failure("no").isError && !ToolOutput.success("yes").isError)
  }
}
