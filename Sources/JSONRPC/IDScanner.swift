import MinionsCore

/// A constant-memory scanner over a JSON text arriving in pieces.
///
/// It finds the top-level `"id"` member of an object (so a refused frame can still be answered to the
/// right request) and tells when a JSON value that began with `{` or `[` has ended (to resynchronise
/// a stream whose framing headers were unusable). It never buffers more than a short id.
public struct IDScanner: Sendable {
  public private(set) var foundID: RequestID?
  /// True once the scanned value started with `{` or `[` and its closing bracket was seen.
  public private(set) var isComplete = false
  /// True when the value is a top-level array (a batch), which has no single id.
  public private(set) var isBatch = false

  private var depth = 0
  private var started = false
  private var inString = false
  private var escaped = false
  private var expectingKey = false
  private var stringIsKey = false
  private var key: [UInt8] = []
  private var keyOverflow = false
  private var idValuePending = false
  private enum Capture { case none, string([UInt8]), number([UInt8]), literal([UInt8]) }
  private var capture: Capture = .none
  private static let maxCapture = 1024

  /// Whether the caller needs `isComplete`; when it does not, scanning stops once the id is found.
  private let tracksCompletion: Bool

  public init(tracksCompletion: Bool = true) {
    self.tracksCompletion = tracksCompletion
  }

  /// True when further bytes can change nothing the caller asked for.
  public var isDone: Bool { isComplete || (!tracksCompletion && (foundID != nil || isBatch)) }

  public mutating func feed(_ bytes: UnsafeRawBufferPointer) {
    for b in bytes {
      if isDone { return }
      feed(byte: b)
    }
  }

  public mutating func feed(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { feed($0) }
  }

  public mutating func feed(byte b: UInt8) {
    if inString {
      if escaped {
        escaped = false
        appendToCapture(b)
        return
      }
      if b == UInt8(ascii: "\\") {
        escaped = true
        appendToCapture(b)
        return
      }
      if b == UInt8(ascii: "\"") {
        inString = false
        if stringIsKey {
          stringIsKey = false
        } else if case .string(let bytes) = capture {
          capture = .none
          finishStringID(bytes)
        }
        return
      }
      if stringIsKey {
        if key.count < 4 { key.append(b) } else { keyOverflow = true }
      } else {
        appendToCapture(b)
      }
      return
    }
    // Outside strings: finish a pending number or literal at its first delimiter.
    switch capture {
    case .number(var digits):
      if (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
        || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
      {
        if digits.count < 32 { digits.append(b) }
        capture = .number(digits)
        return
      }
      capture = .none
      if foundID == nil, let text = Optional(String(decoding: digits, as: UTF8.self)), let i = Int(text) {
        foundID = .int(i)
      }
    case .literal(var letters):
      if b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") {
        if letters.count < 8 { letters.append(b) }
        capture = .literal(letters)
        return
      }
      capture = .none
      if foundID == nil, letters == Array("null".utf8) { foundID = .null }
    default:
      break
    }
    switch b {
    case UInt8(ascii: "{"), UInt8(ascii: "["):
      if !started {
        started = true
        if b == UInt8(ascii: "[") { isBatch = true }
      }
      depth += 1
      idValuePending = false
      if depth == 1 && b == UInt8(ascii: "{") { expectingKey = true }
    case UInt8(ascii: "}"), UInt8(ascii: "]"):
      depth -= 1
      if started && depth <= 0 { isComplete = true }
    case UInt8(ascii: "\""):
      inString = true
      if depth == 1 && expectingKey && !isBatch {
        stringIsKey = true
        key.removeAll(keepingCapacity: true)
        keyOverflow = false
      } else if depth == 1 && idValuePending {
        idValuePending = false
        capture = .string([])
      }
    case UInt8(ascii: ":"):
      if depth == 1 && expectingKey {
        expectingKey = false
        idValuePending = !keyOverflow && key == [UInt8(ascii: "i"), UInt8(ascii: "d")]
      }
    case UInt8(ascii: ","):
      if depth == 1 && !isBatch {
        expectingKey = true
        idValuePending = false
      }
    case 0x20, 0x09, 0x0A, 0x0D:
      break
    default:
      if depth == 1 && idValuePending {
        idValuePending = false
        if b == UInt8(ascii: "-") || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) {
          capture = .number([b])
        } else if b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") {
          capture = .literal([b])
        }
      }
    }
  }

  private mutating func appendToCapture(_ b: UInt8) {
    if case .string(var bytes) = capture {
      if bytes.count >= IDScanner.maxCapture {
        capture = .none  // too long to be a sensible id; give up on it
        return
      }
      bytes.append(b)
      capture = .string(bytes)
    }
  }

  private mutating func finishStringID(_ raw: [UInt8]) {
    guard foundID == nil else { return }
    var quoted: [UInt8] = [UInt8(ascii: "\"")]
    quoted.append(contentsOf: raw)
    quoted.append(UInt8(ascii: "\""))
    if case .string(let s)? = try? JSONParser.parse(quoted) { foundID = .string(s) }
  }
}
