import CXCrypt
import MinionsCore

/// bcrypt (`$2b$`) through libxcrypt: `crypt_gensalt_rn` for salts, `crypt_r` with a zeroed
/// heap-allocated `crypt_data` for hashing.
public enum BCrypt {
  public enum Failure: Error, Equatable {
    case invalidCost(Int)
    case saltGenerationFailed
    case hashingFailed
    /// bcrypt reads at most 72 bytes; longer input would be silently truncated, so it is refused.
    case tooLong(Int)
  }

  public static let maxPasswordBytes = 72

  /// Hashes `password` with a fresh salt at `cost` (4…31; the engine uses ≥ 10).
  public static func hash(_ password: String, cost: Int) throws -> String {
    guard (4...31).contains(cost) else { throw Failure.invalidCost(cost) }
    let bytes = password.utf8.count
    guard bytes <= maxPasswordBytes else { throw Failure.tooLong(bytes) }
    let entropy = Crypto.randomBytes(16)
    var setting = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
    let salt = entropy.withUnsafeBufferPointer { e -> UnsafeMutablePointer<CChar>? in
      crypt_gensalt_rn(
        "$2b$", UInt(cost), UnsafeRawPointer(e.baseAddress!).assumingMemoryBound(to: CChar.self),
        Int32(e.count), &setting, Int32(setting.count))
    }
    guard salt != nil else { throw Failure.saltGenerationFailed }
    let settingString = String(decoding: setting.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    guard let result = crypt(password, setting: settingString), result.hasPrefix("$2b$") else {
      throw Failure.hashingFailed
    }
    return result
  }

  /// Checks `password` against a stored bcrypt hash, comparing in constant time.
  public static func verify(_ password: String, hash: String) -> Bool {
    guard password.utf8.count <= maxPasswordBytes, hash.hasPrefix("$2") else { return false }
    guard let computed = crypt(password, setting: hash) else { return false }
    return Crypto.constantTimeEquals(Array(computed.utf8), Array(hash.utf8))
  }

  /// The cost a stored hash was made with (the two digits after `$2b$`), or nil.
  public static func cost(of hash: String) -> Int? {
    let parts = hash.split(separator: "$", omittingEmptySubsequences: true)
    guard parts.count >= 2, parts[0].hasPrefix("2") else { return nil }
    return Int(parts[1])
  }

  /// `crypt_r`, whose failure is NULL or a string starting with `*`.
  private static func crypt(_ password: String, setting: String) -> String? {
    let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
    let raw = UnsafeMutableRawPointer(data)
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
    defer {
      // The state holds key material: wipe it before freeing.
      raw.initializeMemory(as: UInt8.self, repeating: 0, count: MemoryLayout<crypt_data>.size)
      data.deallocate()
    }
    guard let out = crypt_r(password, setting, data) else { return nil }
    let result = String(cString: out)
    if result.hasPrefix("*") { return nil }
    return result
  }
}
