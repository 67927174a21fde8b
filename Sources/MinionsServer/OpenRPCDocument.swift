import JSONRPC
import MinionsCore

/// Builds the OpenRPC 1.3 document from the method table (`rpc.discover`, `minions protocol openrpc`,
/// and `protocol/openrpc.json`, which a test keeps equal to it).
public enum OpenRPCDocument {
  public static func build(from table: MethodTable) -> JSONValue {
    var methods: [JSONValue] = []
    for name in table.methodNames {
      let m = table.methods[name]!
      methods.append(describe(m, includeAccess: true))
    }
    let clientNotifications = table.clientNotifications.keys.sorted().map { name -> JSONValue in
      let n = table.clientNotifications[name]!
      return [
        "name": .string(n.name), "summary": .string(n.summary), "params": paramDescriptors(n.paramsSchema()),
        "paramStructure": "by-name",
      ]
    }
    let serverNotifications = table.serverNotifications.keys.sorted().map { name -> JSONValue in
      let n = table.serverNotifications[name]!
      return [
        "name": .string(n.name), "summary": .string(n.summary), "params": paramDescriptors(n.paramsSchema()),
        "paramStructure": "by-name",
      ]
    }
    let serverRequests = table.serverRequests.keys.sorted().map {
      describe(table.serverRequests[$0]!, includeAccess: false)
    }
    let errors = ErrorCode.all.map { code -> JSONValue in
      ["code": .int(code.rawValue), "message": .string(code.name), "data": ["description": .string(code.meaning)]]
    }
    return [
      "openrpc": "1.3.2",
      "info": [
        "title": "Minions",
        "version": .string(MinionsVersion.current),
        "description":
          "A multi-agent AI engine speaking JSON-RPC 2.0 over stdio (LSP Content-Length or newline-delimited framing) and TCP. Protocol version \(MinionsVersion.protocolVersion).",
      ],
      "methods": .array(methods),
      "x-client-notifications": .array(clientNotifications),
      "x-server-notifications": .array(serverNotifications),
      "x-server-requests": .array(serverRequests),
      "components": ["errors": .array(errors)],
    ]
  }

  static func describe(_ m: MethodDescriptor, includeAccess: Bool) -> JSONValue {
    var method: [String: JSONValue] = [
      "name": .string(m.name),
      "summary": .string(m.summary),
      "paramStructure": "by-name",
      "params": paramDescriptors(m.paramsSchema()),
      "result": ["name": "result", "schema": m.resultSchema()],
    ]
    if let d = m.description { method["description"] = .string(d) }
    if includeAccess {
      method["x-access"] = .string(m.access.description)
      method["errors"] = .array(m.allErrors.map { ["code": .int($0.rawValue), "message": .string($0.name)] })
    }
    return .object(method)
  }

  /// OpenRPC lists by-name params as content descriptors, one per property.
  static func paramDescriptors(_ schema: JSONValue) -> JSONValue {
    guard case .object(let properties)? = schema["properties"] else { return [] }
    let required = Set(schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
    return .array(
      properties.keys.sorted().map { key -> JSONValue in
        var descriptor: [String: JSONValue] = ["name": .string(key), "required": .bool(required.contains(key))]
        var propertySchema = properties[key]!
        if case .object(var members) = propertySchema, let d = members.removeValue(forKey: "description") {
          descriptor["description"] = d
          propertySchema = .object(members)
        }
        descriptor["schema"] = propertySchema
        return .object(descriptor)
      })
  }
}
