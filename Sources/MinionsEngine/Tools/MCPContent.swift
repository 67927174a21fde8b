import MinionsCore

/// MCP's content parts (`[{type: "text", text}, {type: "image", data, mimeType}, …]`) as one text.
///
/// Text parts are joined with newlines; other parts are described in brackets (`[image image/png,
/// 1234 bytes]`) so a model knows they exist without receiving base64 it cannot use.
enum MCPContent {
  static func text(of parts: [JSONValue]) -> String {
    parts.map(describe).joined(separator: "\n")
  }

  static func describe(_ part: JSONValue) -> String {
    let type = part["type"]?.stringValue ?? "unknown"
    switch type {
    case "text":
      return part["text"]?.stringValue ?? ""
    case "image", "audio":
      let mime = part["mimeType"]?.stringValue ?? "unknown type"
      return "[\(type) \(mime), \(decodedSize(ofBase64: part["data"]?.stringValue ?? "")) bytes]"
    case "resource_link":
      let name = part["name"]?.stringValue ?? part["title"]?.stringValue ?? "resource"
      return "[resource link \(name): \(part["uri"]?.stringValue ?? "no uri")]"
    case "resource":
      let resource = part["resource"] ?? [:]
      let uri = resource["uri"]?.stringValue ?? "no uri"
      if let text = resource["text"]?.stringValue { return "[resource \(uri)]\n\(text)" }
      let mime = resource["mimeType"]?.stringValue ?? "unknown type"
      return "[resource \(uri) \(mime), \(decodedSize(ofBase64: resource["blob"]?.stringValue ?? "")) bytes]"
    default:
      return "[\(type) content]"
    }
  }

  /// The number of bytes a base64 text decodes to (padding and whitespace do not count).
  static func decodedSize(ofBase64 text: String) -> Int {
    var characters = 0
    for byte in text.utf8 where byte != 61 && byte > 32 { characters += 1 }
    return characters * 3 / 4
  }
}
