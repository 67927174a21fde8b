import MinionsCore
import MinionsEngine

/// Reports as text: Markdown a person reads in an editor buffer, CSV for spreadsheets.
enum ReportRendering {
  static func markdown(_ r: Report) -> String {
    let title = r.type.rawValue.prefix(1).uppercased() + r.type.rawValue.dropFirst()
    var out = "# \(title) report\n\n\(r.from.iso8601()) to \(r.until.iso8601())\n\n"
    for (k, v) in r.summary { out += "- **\(k)**: \(JSONWriter.string(v))\n" }
    for t in r.tables { out += "\n## \(t.title)\n\n" + TableText.markdown(t.columns, t.rows) }
    return out
  }

  static func csv(_ r: Report) -> String {
    r.tables.map { "\($0.name)\n" + TableText.csv($0.columns, $0.rows) }.joined(separator: "\n")
  }
}

/// Placeholder until the shared table formatter lands.
enum TableText {
  static func markdown(_ columns: [String], _ rows: [[JSONValue]]) -> String {
    "| " + columns.joined(separator: " | ") + " |\n"
  }
  static func csv(_ columns: [String], _ rows: [[JSONValue]]) -> String { columns.joined(separator: ",") + "\n" }
}
