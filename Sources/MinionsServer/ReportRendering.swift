import MinionsCore
import MinionsEngine

/// Reports as text: Markdown a person reads in an editor buffer, CSV for spreadsheets.
enum ReportRendering {
  static func markdown(_ r: Report) -> String {
    let title = r.type.rawValue.prefix(1).uppercased() + r.type.rawValue.dropFirst()
    var out = "# \(title) report\n\n\(r.from.iso8601()) to \(r.until.iso8601())\n\n"
    for (k, v) in r.summary { out += "- **\(k)**: \(JSONWriter.string(v))\n" }
    for t in r.tables {
      out += "\n## \(t.title)\n\n"
      out += t.rows.isEmpty ? "_No data in this period._\n" : TableFormatter(columns: t.columns).markdown(t.rows)
    }
    return out
  }

  /// Each table as a CSV section: a line naming the table, its header and records, then a blank line.
  static func csv(_ r: Report) -> String {
    r.tables.map { "# \($0.name)\r\n" + TableFormatter(columns: $0.columns).csv($0.rows) }.joined(separator: "\r\n")
  }
}
