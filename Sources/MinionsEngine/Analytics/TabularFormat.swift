/// How a table is written out: for reading (`markdown`) or for programs and spreadsheets (the rest).
public enum TabularFormat: String, Sendable, Hashable, CaseIterable, Codable {
  /// RFC 4180 comma-separated values with a header record and CRLF line ends.
  case csv
  /// One JSON array of objects keyed by column name, one object per line.
  case json
  /// Newline-delimited JSON: one object per line, no enclosing array.
  case ndjson
  /// A GitHub table with aligned columns, for people.
  case markdown

  /// The file name extension, without the dot.
  public var fileExtension: String {
    switch self {
    case .csv: return "csv"
    case .json: return "json"
    case .ndjson: return "ndjson"
    case .markdown: return "md"
    }
  }

  /// The media type a download of this format carries.
  public var mediaType: String {
    switch self {
    case .csv: return "text/csv; charset=utf-8"
    case .json: return "application/json"
    case .ndjson: return "application/x-ndjson"
    case .markdown: return "text/markdown; charset=utf-8"
    }
  }
}
