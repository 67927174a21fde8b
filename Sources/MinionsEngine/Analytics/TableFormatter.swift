import MinionsCore

/// Renders rows of `JSONValue` cells under named columns as CSV, JSON, NDJSON or a Markdown table.
///
/// Cells map to text the same way in every format: null is an empty field, booleans `true`/`false`,
/// integers as written, arrays and objects as compact JSON. Doubles are exact in CSV and JSON (the
/// shortest text that reads back as the same value, without exponents for ordinary magnitudes) and
/// rounded to `significantDigits` in Markdown. A row shorter than the columns is padded with nulls and
/// a longer one is cut. Column names should be unique: JSON objects repeat a duplicated key as given.
///
/// The `append…` methods write one record at a time, so `ExportWriter` streams the same bytes that
/// the whole-table methods return.
public struct TableFormatter: Sendable {
  public let columns: [String]
  /// Longest text a Markdown cell shows; longer text is cut and ends in `…`.
  public var maxCellCharacters: Int
  /// Significant digits of doubles in Markdown.
  public var significantDigits: Int
  /// Each column's name as a JSON string followed by `:`, ready to copy into an object.
  private let jsonKeys: [[UInt8]]

  public init(columns: [String], maxCellCharacters: Int = 60, significantDigits: Int = 6) {
    self.columns = columns
    self.maxCellCharacters = max(2, maxCellCharacters)
    self.significantDigits = significantDigits
    jsonKeys = columns.map { name in
      var key: [UInt8] = []
      JSONWriter.writeString(name, into: &key)
      key.append(UInt8(ascii: ":"))
      return key
    }
  }

  /// The whole table in `format`.
  public func render(_ rows: [[JSONValue]], as format: TabularFormat) -> String {
    switch format {
    case .csv: return csv(rows)
    case .json: return json(rows)
    case .ndjson: return ndjson(rows)
    case .markdown: return markdown(rows)
    }
  }

  // MARK: CSV

  /// RFC 4180: a header record, then one record per row, each ended by CRLF. A field is quoted when it
  /// holds a comma, a quote, CR or LF (quotes inside doubled), or when it is the only field and empty
  /// (so the record is not a blank line).
  public func csv(_ rows: [[JSONValue]]) -> String {
    var out: [UInt8] = []
    appendCSVHeader(into: &out)
    for row in rows { appendCSVRecord(row, into: &out) }
    return String(decoding: out, as: UTF8.self)
  }

  /// The CSV header record.
  public func appendCSVHeader(into out: inout [UInt8]) {
    for (index, name) in columns.enumerated() {
      if index > 0 { out.append(UInt8(ascii: ",")) }
      appendCSVField(name, into: &out)
    }
    out.append(contentsOf: [0x0D, 0x0A])
  }

  /// One CSV record.
  public func appendCSVRecord(_ row: [JSONValue], into out: inout [UInt8]) {
    for index in columns.indices {
      if index > 0 { out.append(UInt8(ascii: ",")) }
      appendCSVField(index < row.count ? plainText(row[index]) : "", into: &out)
    }
    out.append(contentsOf: [0x0D, 0x0A])
  }

  private func appendCSVField(_ text: String, into out: inout [UInt8]) {
    let needsQuotes =
      (text.isEmpty && columns.count == 1)
      || text.utf8.contains { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0D || $0 == 0x0A }
    guard needsQuotes else {
      out.append(contentsOf: text.utf8)
      return
    }
    out.append(UInt8(ascii: "\""))
    for byte in text.utf8 {
      if byte == UInt8(ascii: "\"") { out.append(byte) }
      out.append(byte)
    }
    out.append(UInt8(ascii: "\""))
  }

  /// A cell as CSV text: exact numbers, JSON for arrays and objects, empty for null and for doubles
  /// JSON cannot carry (NaN, infinities).
  private func plainText(_ value: JSONValue) -> String {
    switch value {
    case .null: return ""
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d): return NumberText.exact(d) ?? ""
    case .string(let s): return s
    case .array, .object: return JSONWriter.string(value)
    }
  }

  // MARK: JSON and NDJSON

  /// A JSON array with one object per line: `[\n{…},\n{…}\n]\n`, or `[]\n` without rows. Members
  /// follow the column order.
  public func json(_ rows: [[JSONValue]]) -> String {
    var out: [UInt8] = []
    for (index, row) in rows.enumerated() {
      out.append(contentsOf: index == 0 ? [UInt8(ascii: "["), 0x0A] : [UInt8(ascii: ","), 0x0A])
      appendJSONObject(row, into: &out)
    }
    out.append(
      contentsOf: rows.isEmpty ? [UInt8(ascii: "["), UInt8(ascii: "]"), 0x0A] : [0x0A, UInt8(ascii: "]"), 0x0A])
    return String(decoding: out, as: UTF8.self)
  }

  /// One object per line, each ended by LF.
  public func ndjson(_ rows: [[JSONValue]]) -> String {
    var out: [UInt8] = []
    for row in rows {
      appendJSONObject(row, into: &out)
      out.append(0x0A)
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// One row as a compact JSON object, members in column order (not sorted, unlike `JSONWriter`).
  public func appendJSONObject(_ row: [JSONValue], into out: inout [UInt8]) {
    out.append(UInt8(ascii: "{"))
    for index in columns.indices {
      if index > 0 { out.append(UInt8(ascii: ",")) }
      out.append(contentsOf: jsonKeys[index])
      JSONWriter.write(index < row.count ? row[index] : .null, into: &out)
    }
    out.append(UInt8(ascii: "}"))
  }

  // MARK: Markdown

  /// A GitHub table padded so its columns line up in a monospaced editor: numeric columns (every
  /// non-null cell a number) right-aligned, the rest left-aligned. In cells `|` becomes `\|` and line
  /// ends `<br>`; text past `maxCellCharacters` is cut with `…`. Widths count characters, so wide
  /// (East Asian) characters can misalign the padding, not the table. Empty without columns.
  public func markdown(_ rows: [[JSONValue]]) -> String {
    guard !columns.isEmpty else { return "" }
    let header = columns.map { markdownEscaped($0, limit: nil) }
    var cells: [[String]] = []
    cells.reserveCapacity(rows.count)
    var numeric = [Bool](repeating: false, count: columns.count)
    var hasText = [Bool](repeating: false, count: columns.count)
    for row in rows {
      var line: [String] = []
      line.reserveCapacity(columns.count)
      for index in columns.indices {
        let value = index < row.count ? row[index] : .null
        switch value {
        case .int, .double: numeric[index] = true
        case .null: break
        default: hasText[index] = true
        }
        line.append(markdownText(value))
      }
      cells.append(line)
    }
    let rightAligned = columns.indices.map { numeric[$0] && !hasText[$0] }
    var widths = header.map { max(3, $0.count) }
    for line in cells {
      for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) }
    }

    var out = ""
    func appendLine(_ line: [String]) {
      out += "|"
      for (index, cell) in line.enumerated() {
        let padding = String(repeating: " ", count: widths[index] - cell.count)
        out += rightAligned[index] ? " \(padding)\(cell) |" : " \(cell)\(padding) |"
      }
      out += "\n"
    }
    appendLine(header)
    out += "|"
    for index in columns.indices {
      out +=
        rightAligned[index]
        ? " \(String(repeating: "-", count: widths[index] - 1)): |"
        : " \(String(repeating: "-", count: widths[index])) |"
    }
    out += "\n"
    for line in cells { appendLine(line) }
    return out
  }

  private func markdownText(_ value: JSONValue) -> String {
    switch value {
    case .null: return ""
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d): return NumberText.rounded(d, significantDigits: significantDigits) ?? ""
    case .string(let s): return markdownEscaped(s, limit: maxCellCharacters)
    case .array, .object: return markdownEscaped(JSONWriter.string(value), limit: maxCellCharacters)
    }
  }

  /// `text` with `|` escaped and line ends as `<br>`, cut to at most `limit` characters (the last one
  /// `…`) without splitting an escape.
  private func markdownEscaped(_ text: String, limit: Int?) -> String {
    var out = ""
    var length = 0
    var characters = text.makeIterator()
    while let character = characters.next() {
      let piece: String
      switch character {
      case "|": piece = "\\|"
      case "\r\n", "\n", "\r": piece = "<br>"
      case "\t": piece = " "
      default: piece = String(character)
      }
      if let limit, length + piece.count > limit - 1 {
        // Room for `…` only if nothing else follows; otherwise cut here.
        var rest = characters
        if length + piece.count <= limit && rest.next() == nil {
          out += piece
        } else {
          out += "…"
        }
        return out
      }
      out += piece
      length += piece.count
    }
    return out
  }
}
