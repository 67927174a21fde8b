import MinionsCore
import MinionsStore

/// Writes a dataset (metrics, events, model calls or the audit log) between two times to a new file in
/// the data directory's `exports/` folder, streamed row by row from a read-only snapshot of the
/// database, so memory stays constant and the engine's own queries never wait for it.
public struct Exporter: Sendable {
  /// What can be exported.
  public enum Dataset: String, Sendable, CaseIterable {
    case metrics, events, requests, audit
  }

  /// How a stored column becomes a cell.
  enum Cell {
    /// Milliseconds since the epoch, written as an RFC 3339 time.
    case time
    case value
    /// 0 or 1 as false or true.
    case boolean
    /// JSON text, written as the value it holds.
    case json
  }

  public let database: Database
  public let metrics: MetricsStore
  public let dataDirectory: String

  public init(database: Database, metrics: MetricsStore, dataDirectory: String) {
    self.database = database
    self.metrics = metrics
    self.dataDirectory = dataDirectory
  }

  /// The columns of a dataset: the name in the file, the stored column, and how it is written.
  static func columns(_ dataset: Dataset) -> (table: String, columns: [(String, String, Cell)]) {
    switch dataset {
    case .metrics:
      return (
        "metrics", [("at", "at", .time), ("name", "name", .value), ("value", "value", .value), ("tags", "tags", .json)]
      )
    case .events:
      return (
        "events",
        [
          ("at", "at", .time), ("kind", "kind", .value), ("username", "username", .value),
          ("target", "target", .value), ("details", "details", .json),
        ]
      )
    case .audit:
      return (
        "audit",
        [
          ("at", "at", .time), ("username", "username", .value), ("action", "action", .value),
          ("target", "target", .value), ("outcome", "outcome", .value), ("details", "details", .json),
        ]
      )
    case .requests:
      return (
        "model_calls",
        [
          ("at", "at", .time), ("model", "model", .value), ("provider", "provider", .value),
          ("status", "status", .value), ("errorKind", "error_kind", .value), ("httpStatus", "http_status", .value),
          ("ttftMs", "ttft_ms", .value), ("totalMs", "total_ms", .value), ("loadMs", "load_ms", .value),
          ("promptTokens", "prompt_tokens", .value), ("completionTokens", "completion_tokens", .value),
          ("tokensPerSecond", "tokens_per_second", .value), ("cost", "cost", .value),
          ("estimated", "estimated", .boolean), ("attempt", "attempt", .value),
          ("fallbackFrom", "fallback_from", .value), ("username", "username", .value),
          ("sessionId", "session_id", .value),
        ]
      )
    }
  }

  /// Exports the rows with `since <= at < until` (either end open when nil), oldest first. Buffered
  /// metrics are written to the database first so the export includes them.
  public func export(
    _ dataset: Dataset, since: Timestamp?, until: Timestamp?, format: TabularFormat, now: Timestamp
  ) async throws -> (path: String, rows: Int) {
    if dataset == .metrics || dataset == .events { try await metrics.flush() }
    let directory = ExportWriter.exportsDirectory(dataDirectory: dataDirectory)
    let path = directory + "/" + ExportFileName.make(dataset: dataset.rawValue, at: now, format: format)
    let database = self.database
    let (table, columns) = Self.columns(dataset)
    let sql =
      "SELECT " + columns.map(\.1).joined(separator: ", ") + " FROM \(table) WHERE at >= ? AND at < ? ORDER BY at, id"
    let bounds: [SQLValue] = [
      .int(since?.millisecondsSinceEpoch ?? Int64.min), .int(until?.millisecondsSinceEpoch ?? Int64.max),
    ]
    let result: Result<Int, any Error> = await WorkerThreads.blocking.run {
      do {
        let writer = try ExportWriter(path: path, format: format, columns: columns.map(\.0))
        try database.withSnapshotReader { c in
          var cells: [JSONValue] = []
          cells.reserveCapacity(columns.count)
          try c.forEachRow(sql, bounds) { row in
            cells.removeAll(keepingCapacity: true)
            for (i, column) in columns.enumerated() { cells.append(Self.cell(row[i], column.2)) }
            try writer.write(row: cells)
          }
        }
        return .success(try writer.finish().rows)
      } catch {
        return .failure(error)
      }
    }
    return (path, try result.get())
  }

  static func cell(_ value: SQLValue, _ kind: Cell) -> JSONValue {
    switch (kind, value) {
    case (_, .null): return .null
    case (.time, .int(let ms)): return .string(Timestamp(millisecondsSinceEpoch: ms).iso8601(milliseconds: true))
    case (.boolean, .int(let i)): return .bool(i != 0)
    case (.json, .text(let text)): return (try? JSONParser.parse(text)) ?? .string(text)
    case (_, .int(let i)): return .int(Int(i))
    case (_, .double(let d)): return .double(d)
    case (_, .text(let t)): return .string(t)
    case (_, .blob(let b)): return .string(String(decoding: b, as: UTF8.self))
    }
  }
}
