#if canImport(Glibc)
  import Glibc
#endif

/// Wall-clock time in milliseconds since the Unix epoch, with ISO-8601 UTC formatting as the
/// protocol uses for every time field.
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
  public var millisecondsSinceEpoch: Int64

  public init(millisecondsSinceEpoch: Int64) { self.millisecondsSinceEpoch = millisecondsSinceEpoch }

  public static func now() -> Timestamp {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
  }

  public var secondsSinceEpoch: Int64 { millisecondsSinceEpoch / 1000 }

  public static func < (a: Timestamp, b: Timestamp) -> Bool { a.millisecondsSinceEpoch < b.millisecondsSinceEpoch }

  public func adding(milliseconds: Int64) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: millisecondsSinceEpoch + milliseconds)
  }

  /// "2026-11-25T18:40:00Z", or with ".123" milliseconds.
  public func iso8601(milliseconds: Bool = false) -> String {
    var seconds = time_t(millisecondsSinceEpoch.floorDiv(1000))
    var parts = tm()
    gmtime_r(&seconds, &parts)
    func pad(_ v: Int32, _ width: Int) -> String {
      let s = String(v)
      return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
    var out = "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))"
    out += "T\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
    if milliseconds { out += "." + pad(Int32(millisecondsSinceEpoch.floorMod(1000)), 3) }
    return out + "Z"
  }

  /// Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]" or a bare date "YYYY-MM-DD" (midnight UTC).
  public init?(iso8601 text: String) {
    let b = Array(text.utf8)
    func num(_ start: Int, _ len: Int) -> Int? {
      guard start + len <= b.count else { return nil }
      var v = 0
      for i in start..<(start + len) {
        guard b[i] >= 48 && b[i] <= 57 else { return nil }
        v = v * 10 + Int(b[i] - 48)
      }
      return v
    }
    guard b.count >= 10, let year = num(0, 4), b[4] == 45, let month = num(5, 2), b[7] == 45, let day = num(8, 2),
      (1...12).contains(month), (1...31).contains(day)
    else { return nil }
    var hour = 0, minute = 0, second = 0, millis = 0, offsetMinutes = 0
    var i = 10
    if b.count > 10 {
      guard b[10] == 84 || b[10] == 116 || b[10] == 32, let h = num(11, 2), b.count > 13, b[13] == 58,
        let m = num(14, 2)
      else { return nil }
      hour = h
      minute = m
      i = 16
      if i < b.count, b[i] == 58 {
        guard let s = num(i + 1, 2) else { return nil }
        second = s
        i += 3
      }
      if i < b.count, b[i] == 46 {
        i += 1
        var digits = 0
        var frac = 0
        while i < b.count, b[i] >= 48, b[i] <= 57 {
          if digits < 3 {
            frac = frac * 10 + Int(b[i] - 48)
            digits += 1
          }
          i += 1
        }
        guard digits > 0 else { return nil }
        while digits < 3 {
          frac *= 10
          digits += 1
        }
        millis = frac
      }
      if i < b.count {
        if b[i] == 90 || b[i] == 122 {
          i += 1
        } else if b[i] == 43 || b[i] == 45 {
          guard let oh = num(i + 1, 2), i + 3 < b.count, b[i + 3] == 58, let om = num(i + 4, 2) else { return nil }
          offsetMinutes = (oh * 60 + om) * (b[i] == 43 ? 1 : -1)
          i += 6
        } else {
          return nil
        }
      }
      guard i == b.count, hour < 24, minute < 60, second < 61 else { return nil }
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = month <= 2 ? year - 1 : year
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146097 + doe - 719468
    let seconds = Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second) - Int64(offsetMinutes * 60)
    self.millisecondsSinceEpoch = seconds * 1000 + Int64(millis)
  }

  public init(from decoder: any Decoder) throws {
    let c = try decoder.singleValueContainer()
    let s = try c.decode(String.self)
    guard let t = Timestamp(iso8601: s) else {
      throw DecodingError.dataCorrupted(
        .init(
          codingPath: decoder.codingPath,
          debugDescription: "expected an ISO-8601 time such as 2026-01-31T12:00:00Z, got \"\(s)\""))
    }
    self = t
  }

  public func encode(to encoder: any Encoder) throws {
    var c = encoder.singleValueContainer()
    try c.encode(iso8601(milliseconds: millisecondsSinceEpoch % 1000 != 0))
  }
}

extension Timestamp: JSONSchemaDescribing {
  public static var jsonSchema: JSONValue { ["type": "string", "format": "date-time"] }
  public static var schemaSample: Timestamp { Timestamp(millisecondsSinceEpoch: 0) }
}

extension Int64 {
  @inlinable func floorDiv(_ d: Int64) -> Int64 { self >= 0 ? self / d : (self - d + 1) / d }
  @inlinable func floorMod(_ d: Int64) -> Int64 { self - floorDiv(d) * d }
}

/// Monotonic time for measuring durations (never goes backwards, unaffected by clock changes).
public enum MonotonicClock {
  @inlinable public static func nanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
  }

  @inlinable public static func milliseconds(since start: UInt64) -> Double {
    Double(nanoseconds() &- start) / 1_000_000
  }
}
