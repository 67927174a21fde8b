import Synchronization

#if canImport(Glibc)
  import Glibc
#endif

/// A small value-type logger writing one line per message to stderr.
///
/// stdout belongs to the protocol in stdio mode, so nothing here ever touches it. Libraries accept a
/// `Logger` from their caller (the executable makes the root one from `--log-level` / `MINIONS_LOG`)
/// and derive labelled children with `with(label:)`.
public struct Logger: Sendable {
  public enum Level: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, notice, warning, error, off

    public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

    public init?(name: String) {
      switch name.lowercased() {
      case "trace": self = .trace
      case "debug": self = .debug
      case "info": self = .info
      case "notice": self = .notice
      case "warning", "warn": self = .warning
      case "error": self = .error
      case "off", "none", "quiet": self = .off
      default: return nil
      }
    }

    public var name: String {
      switch self {
      case .trace: return "trace"
      case .debug: return "debug"
      case .info: return "info"
      case .notice: return "notice"
      case .warning: return "warning"
      case .error: return "error"
      case .off: return "off"
      }
    }
  }

  public var label: String
  public var level: Level
  private let sink: LogSink

  /// A logger writing to `fd` (stderr by default) at and above `level`.
  public init(label: String, level: Level = .info, fileDescriptor: Int32 = 2) {
    self.label = label
    self.level = level
    self.sink = LogSink(fd: fileDescriptor)
  }

  /// A logger that discards everything; for tests and benchmarks.
  public static var disabled: Logger { Logger(label: "", level: .off) }

  public func with(label: String) -> Logger {
    var copy = self
    copy.label = label
    return copy
  }

  @inlinable public func isEnabled(_ l: Level) -> Bool { l >= level && level != .off }

  public func log(_ l: Level, _ message: @autoclosure () -> String) {
    guard isEnabled(l) else { return }
    sink.write(level: l, label: label, message: message())
  }

  public func trace(_ m: @autoclosure () -> String) { log(.trace, m()) }
  public func debug(_ m: @autoclosure () -> String) { log(.debug, m()) }
  public func info(_ m: @autoclosure () -> String) { log(.info, m()) }
  public func notice(_ m: @autoclosure () -> String) { log(.notice, m()) }
  public func warning(_ m: @autoclosure () -> String) { log(.warning, m()) }
  public func error(_ m: @autoclosure () -> String) { log(.error, m()) }
}

/// Serializes log lines so concurrent writers never interleave within a line.
final class LogSink: Sendable {
  let fd: Int32
  private let lock = Mutex<Void>(())

  init(fd: Int32) { self.fd = fd }

  func write(level: Logger.Level, label: String, message: String) {
    var line = Timestamp.now().iso8601(milliseconds: true)
    line += " "
    line += level.name
    if !label.isEmpty { line += " [\(label)]" }
    line += " "
    // One line per message: control characters are escaped so a log can't be forged line by line.
    for scalar in message.unicodeScalars {
      switch scalar {
      case "\n": line += "\\n"
      case "\r": line += "\\r"
      case "\t": line += "\t"
      default:
        if scalar.value < 0x20 || scalar.value == 0x7F {
          line += "\\u{\(String(scalar.value, radix: 16))}"
        } else {
          line.unicodeScalars.append(scalar)
        }
      }
    }
    line += "\n"
    lock.withLock { _ in
      var line = line
      line.withUTF8 { buf in
        var offset = 0
        while offset < buf.count {
          let n = Glibc.write(fd, buf.baseAddress! + offset, buf.count - offset)
          if n < 0 {
            if errno == EINTR { continue }
            return
          }
          offset += n
        }
      }
    }
  }
}
