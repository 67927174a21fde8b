/// One measured figure, with its target and (when there is one) the peer's figure in the same run.
struct BenchRow {
  var issue: String
  var name: String
  var value: Double
  var unit: String
  /// e.g. "≥ 50,000"; empty when the issue names no target.
  var target: String = ""
  /// Whether the value meets the target (nil when there is none).
  var meets: Bool? = nil
  var peerName: String? = nil
  var peerValue: Double? = nil
  /// Higher is better (throughput) or lower is better (latency): decides how the ratio reads.
  var higherIsBetter = true
}

enum BenchTable {
  static func format(_ v: Double) -> String {
    if v >= 100 {
      let rounded = Int(v.rounded())
      var s = String(rounded)
      var i = s.count - 3
      while i > 0 {
        s.insert(",", at: s.index(s.startIndex, offsetBy: i))
        i -= 3
      }
      return s
    }
    if v >= 10 { return String(format1(v)) }
    return format2(v)
  }

  static func format1(_ v: Double) -> String { String(Double(Int((v * 10).rounded())) / 10) }
  static func format2(_ v: Double) -> String { String(Double(Int((v * 100).rounded())) / 100) }

  static func markdown(_ rows: [BenchRow]) -> String {
    var out = "| issue | figure | value | target | peer (same run) | ratio |\n|---|---|---|---|---|---|\n"
    for r in rows {
      let value = "\(format(r.value)) \(r.unit)"
      var target = r.target
      if let meets = r.meets { target += meets ? " ✓" : " ✗" }
      var peer = ""
      var ratio = ""
      if let name = r.peerName, let pv = r.peerValue, pv > 0 {
        peer = "\(name): \(format(pv)) \(r.unit)"
        ratio = format2(r.higherIsBetter ? r.value / pv : pv / r.value) + "×"
      } else if let name = r.peerName {
        peer = "\(name): not measured"
      }
      out += "| \(r.issue) | \(r.name) | \(value) | \(target) | \(peer) | \(ratio) |\n"
    }
    return out
  }
}

/// Percentile of already-sorted samples.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
  guard !sorted.isEmpty else { return 0 }
  let rank = min(sorted.count - 1, max(0, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1))
  return sorted[rank]
}
