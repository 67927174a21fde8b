/// Parsers for the `/proc` files the system monitor reads. Each takes the file's text (bytes as read,
/// or a `String` for tests) and returns its figures, or throws `ProcFileError.malformed` naming what
/// was wrong. They never trap on odd input: missing fields, junk and huge numbers are all errors.
public enum ProcFiles {
  /// `/proc/stat`: the aggregate `cpu` line (`user nice system idle [iowait irq softirq steal …]`,
  /// at least the first four) and the number of `cpuN` lines after it. Other lines are ignored, so a
  /// read cut short after the `cpu` lines still parses.
  public static func parseStat(_ bytes: UnsafeRawBufferPointer) throws(ProcFileError) -> CPUTimes {
    var scanner = ProcTextScanner(bytes)
    var aggregate: CPUTimes?
    var cpuCount = 0
    while !scanner.isAtEnd {
      if scanner.consume("cpu") {
        if scanner.isAtDigit {
          cpuCount += 1
        } else if aggregate == nil && scanner.isAtBlank {
          aggregate = try cpuLine(&scanner)
        }
      } else if aggregate != nil {
        break  // The cpu lines come together at the top; what follows (intr, ctxt, …) is not needed.
      }
      scanner.skipLine()
    }
    guard var times = aggregate else { throw malformed("/proc/stat", "no aggregate \"cpu\" line") }
    times.cpuCount = cpuCount
    return times
  }

  private static func cpuLine(_ scanner: inout ProcTextScanner) throws(ProcFileError) -> CPUTimes {
    var times = CPUTimes(user: 0, nice: 0, system: 0, idle: 0)
    var count = 0
    while true {
      scanner.skipBlanks()
      if scanner.isAtLineEnd { break }
      guard let value = scanner.unsigned() else {
        throw malformed("/proc/stat", "counter \(count + 1) of the cpu line is not an unsigned integer")
      }
      switch count {
      case 0: times.user = value
      case 1: times.nice = value
      case 2: times.system = value
      case 3: times.idle = value
      case 4: times.iowait = value
      case 5: times.irq = value
      case 6: times.softirq = value
      case 7: times.steal = value
      default: break  // guest and guest_nice are already part of user and nice
      }
      count += 1
    }
    guard count >= 4 else {
      throw malformed("/proc/stat", "the cpu line has \(count) counters; at least 4 expected")
    }
    return times
  }

  /// `/proc/meminfo`: `MemTotal` and `MemAvailable`, or `MemFree + Buffers + Cached` when the kernel
  /// predates `MemAvailable`. `MemTotal` must be present and above zero.
  public static func parseMeminfo(_ bytes: UnsafeRawBufferPointer) throws(ProcFileError) -> MemoryInfo {
    var scanner = ProcTextScanner(bytes)
    var total: Int?
    var available: Int?
    var free: Int?
    var buffers: Int?
    var cached: Int?
    while !scanner.isAtEnd && (total == nil || available == nil) {
      if scanner.consume("MemTotal:") {
        total = try kilobytes(&scanner, "MemTotal")
      } else if scanner.consume("MemAvailable:") {
        available = try kilobytes(&scanner, "MemAvailable")
      } else if scanner.consume("MemFree:") {
        free = try kilobytes(&scanner, "MemFree")
      } else if scanner.consume("Buffers:") {
        buffers = try kilobytes(&scanner, "Buffers")
      } else if scanner.consume("Cached:") {
        cached = try kilobytes(&scanner, "Cached")
      }
      scanner.skipLine()
    }
    guard let total else { throw malformed("/proc/meminfo", "no MemTotal line") }
    guard total > 0 else { throw malformed("/proc/meminfo", "MemTotal is 0") }
    if let available { return MemoryInfo(totalBytes: total, availableBytes: available) }
    guard let free else { throw malformed("/proc/meminfo", "neither MemAvailable nor MemFree is present") }
    let (partial, overflow1) = free.addingReportingOverflow(buffers ?? 0)
    let (sum, overflow2) = partial.addingReportingOverflow(cached ?? 0)
    guard !overflow1 && !overflow2 else {
      throw malformed("/proc/meminfo", "MemFree + Buffers + Cached is out of range")
    }
    return MemoryInfo(totalBytes: total, availableBytes: sum, availableIsEstimated: true)
  }

  /// The value of a `Key:  123 kB` line, in bytes (a value without the `kB` unit is taken as bytes).
  private static func kilobytes(_ scanner: inout ProcTextScanner, _ key: String) throws(ProcFileError) -> Int {
    guard let value = scanner.unsigned() else {
      throw malformed("/proc/meminfo", "\(key) is not an unsigned integer")
    }
    scanner.skipBlanks()
    let unit: UInt64 = scanner.consume("kB") ? 1024 : 1
    let (bytes, overflow) = value.multipliedReportingOverflow(by: unit)
    guard !overflow, bytes <= UInt64(Int.max) else { throw malformed("/proc/meminfo", "\(key) is out of range") }
    return Int(bytes)
  }

  /// `/proc/loadavg`: the first three fields (`0.52 0.58 0.59 1/467 12345`).
  public static func parseLoadavg(_ bytes: UnsafeRawBufferPointer) throws(ProcFileError) -> LoadAverage {
    var scanner = ProcTextScanner(bytes)
    guard let one = scanner.decimal(), let five = scanner.decimal(), let fifteen = scanner.decimal() else {
      throw malformed("/proc/loadavg", "expected three decimal load averages")
    }
    return LoadAverage(one: one, five: five, fifteen: fifteen)
  }

  /// `/proc/[pid]/stat`. The command name sits in parentheses and may itself hold spaces and `)`, so
  /// the numbered fields are counted from the last `)` in the text.
  public static func parseProcessStat(_ bytes: UnsafeRawBufferPointer) throws(ProcFileError) -> ProcessStat {
    guard let open = bytes.firstIndex(of: UInt8(ascii: "(")), let close = bytes.lastIndex(of: UInt8(ascii: ")")),
      open < close
    else { throw malformed("/proc/self/stat", "no command name in parentheses") }
    let command = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(open + 1)..<close]), as: UTF8.self)
    var scanner = ProcTextScanner(bytes, from: close + 1)
    var userTicks: UInt64 = 0
    var systemTicks: UInt64 = 0
    var threads: UInt64 = 0
    var startTicks: UInt64 = 0
    var residentPages: UInt64 = 0
    // Field 3 (state) is the first after the name; utime is field 14, stime 15, num_threads 20,
    // starttime 22 and rss 24 (proc(5)).
    for field in 3...24 {
      let value: UInt64
      switch field {
      case 14, 15, 20, 22, 24:
        guard let number = scanner.unsigned() else {
          throw malformed("/proc/self/stat", "field \(field) is missing or not an unsigned integer")
        }
        value = number
      default:
        guard scanner.skipToken() else { throw malformed("/proc/self/stat", "field \(field) is missing") }
        continue
      }
      switch field {
      case 14: userTicks = value
      case 15: systemTicks = value
      case 20: threads = value
      case 22: startTicks = value
      default: residentPages = value
      }
    }
    guard threads <= UInt64(Int.max), residentPages <= UInt64(Int.max) else {
      throw malformed("/proc/self/stat", "num_threads or rss is out of range")
    }
    return ProcessStat(
      command: command, userTicks: userTicks, systemTicks: systemTicks, threads: Int(threads),
      startTicks: startTicks, residentPages: Int(residentPages))
  }

  /// `/proc/[pid]/status`: `VmRSS` (kB) and `Threads`; both must be present.
  public static func parseProcessStatus(_ bytes: UnsafeRawBufferPointer) throws(ProcFileError) -> ProcessStatus {
    var scanner = ProcTextScanner(bytes)
    var resident: Int?
    var threads: UInt64?
    while !scanner.isAtEnd && (resident == nil || threads == nil) {
      if scanner.consume("VmRSS:") {
        guard let kB = scanner.unsigned(), kB <= UInt64(Int.max / 1024) else {
          throw malformed("/proc/self/status", "VmRSS is not an unsigned integer in range")
        }
        resident = Int(kB) * 1024
      } else if scanner.consume("Threads:") {
        guard let count = scanner.unsigned(), count <= UInt64(Int.max) else {
          throw malformed("/proc/self/status", "Threads is not an unsigned integer in range")
        }
        threads = count
      }
      scanner.skipLine()
    }
    guard let resident else { throw malformed("/proc/self/status", "no VmRSS line") }
    guard let threads else { throw malformed("/proc/self/status", "no Threads line") }
    return ProcessStatus(residentBytes: resident, threads: Int(threads))
  }

  /// `/proc/uptime`: seconds since boot (the first field).
  public static func parseUptime(_ bytes: UnsafeRawBufferPointer) throws(ProcFileError) -> Double {
    var scanner = ProcTextScanner(bytes)
    guard let seconds = scanner.decimal() else { throw malformed("/proc/uptime", "expected a decimal number") }
    return seconds
  }

  private static func malformed(_ file: String, _ reason: String) -> ProcFileError {
    .malformed(file: file, reason: reason)
  }
}

// The same parsers over text, for fixtures and callers that already hold a `String`.
extension ProcFiles {
  public static func parseStat(_ text: String) throws(ProcFileError) -> CPUTimes {
    try withBytes(of: text) { bytes throws(ProcFileError) in try parseStat(bytes) }
  }

  public static func parseMeminfo(_ text: String) throws(ProcFileError) -> MemoryInfo {
    try withBytes(of: text) { bytes throws(ProcFileError) in try parseMeminfo(bytes) }
  }

  public static func parseLoadavg(_ text: String) throws(ProcFileError) -> LoadAverage {
    try withBytes(of: text) { bytes throws(ProcFileError) in try parseLoadavg(bytes) }
  }

  public static func parseProcessStat(_ text: String) throws(ProcFileError) -> ProcessStat {
    try withBytes(of: text) { bytes throws(ProcFileError) in try parseProcessStat(bytes) }
  }

  public static func parseProcessStatus(_ text: String) throws(ProcFileError) -> ProcessStatus {
    try withBytes(of: text) { bytes throws(ProcFileError) in try parseProcessStatus(bytes) }
  }

  public static func parseUptime(_ text: String) throws(ProcFileError) -> Double {
    try withBytes(of: text) { bytes throws(ProcFileError) in try parseUptime(bytes) }
  }

  private static func withBytes<Result>(
    of text: String, _ body: (UnsafeRawBufferPointer) throws(ProcFileError) -> Result
  ) throws(ProcFileError) -> Result {
    var text = text
    let outcome = text.withUTF8 { utf8 in
      Swift.Result { () throws(ProcFileError) -> Result in try body(UnsafeRawBufferPointer(utf8)) }
    }
    return try outcome.get()
  }
}
