import MinionsCore
import MinionsStore

/// The `database` tool's output: rows as a text table for reading, and as JSON
/// (`{columns, rows, truncated, …}`) for programs.
enum SQLResultFormatter {
  /// A cell longer than this is cut in the text table (never in the JSON).
  static let maxCellCharacters = 200
  /// The most blob bytes shown (as hex) in either form.
  static let maxBlobBytes = 1024

  static func output(for operation: DatabaseTool.Operation, result: SandboxedResult, database: String) -> ToolOutput {
    var structured: [String: JSONValue] = [
      "database": .string(database),
      "columns": .array(result.columns.map { .string($0) }),
      "rows": .array(result.rows.map { .array($0.map(json)) }),
      "rowCount": .int(result.rows.count),
      "truncated": .bool(result.truncated),
    ]
    var text: String
    switch operation {
    case .tables:
      text = result.rows.map { "\($0[1].text ?? "table") \($0[0].text ?? "")" }.joined(separator: "\n")
      if result.rows.isEmpty { text = "(no tables)" }
    case .schema:
      text = result.rows.map { ($0[2].text ?? "") + ";" }.joined(separator: "\n")
      if result.rows.isEmpty { text = "(no schema: the database is empty)" }
    case .query:
      text = table(result)
    case .execute:
      structured["changes"] = .int(result.changes)
      structured["lastInsertRowId"] = .int(Int(result.lastInsertRowID))
      if result.readOnly {
        text = table(result)
      } else {
        text = "OK: \(counted(result.changes, "row")) changed"
        if result.lastInsertRowID > 0 { text += " (last inserted rowid \(result.lastInsertRowID))" }
        if !result.columns.isEmpty { text += "\n" + table(result) }
      }
    }
    if result.truncated && (operation == .tables || operation == .schema) {
      text += "\n[truncated: only the first \(result.rows.count) are shown]"
    }
    return .success(text, structured: .object(structured))
  }

  /// Columns and rows separated by ` | `, and a closing line with the count (and any truncation).
  static func table(_ result: SandboxedResult) -> String {
    guard !result.columns.isEmpty else { return "OK (no rows returned)" }
    var lines = [result.columns.joined(separator: " | ")]
    for row in result.rows { lines.append(row.map(cell).joined(separator: " | ")) }
    let count = result.rows.count
    if result.truncated {
      lines.append(
        "[truncated: showing the first \(counted(count, "row")); raise maxRows or narrow the query]")
    } else {
      lines.append("(\(counted(count, "row")))")
    }
    return lines.joined(separator: "\n")
  }

  private static func cell(_ value: SQLValue) -> String {
    switch value {
    case .null: return "NULL"
    case .int(let i): return String(i)
    case .double(let d): return String(d)
    case .text(let s):
      let flat = s.replacing("\n", with: "\\n")
      return flat.count > maxCellCharacters ? flat.prefix(maxCellCharacters) + "…" : flat
    case .blob(let b): return hex(b)
    }
  }

  private static func json(_ value: SQLValue) -> JSONValue {
    switch value {
    case .null: return .null
    case .int(let i): return Int(exactly: i).map(JSONValue.int) ?? .string(String(i))
    case .double(let d): return d.isFinite ? .double(d) : .string(String(d))
    case .text(let s): return .string(s)
    case .blob(let b): return ["blob": .string(hex(b)), "bytes": .int(b.count)]
    }
  }

  /// `x'0a1b…'`, at most `maxBlobBytes` of it.
  private static func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = Array("x'".utf8)
    for byte in bytes.prefix(maxBlobBytes) {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0F)])
    }
    out.append(UInt8(ascii: "'"))
    let text = String(decoding: out, as: UTF8.self)
    return bytes.count > maxBlobBytes ? text + "… (\(bytes.count) bytes)" : text
  }
}
