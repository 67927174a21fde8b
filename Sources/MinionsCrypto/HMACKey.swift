import CCrypto
import Synchronization

/// An HMAC-SHA256 key kept in ready OpenSSL contexts, so each MAC costs only its hashing: OpenSSL 3's
/// one-shot `HMAC()` looks the algorithm up on every call (4 µs), which dominated token verification;
/// a keyed context re-initialised with the same key costs a fraction. Contexts are pooled (each is used
/// by one thread at a time).
public final class HMACKey: Sendable {
  private let key: [UInt8]
  private let pool = Mutex<[ContextBox]>([])

  public init(_ key: [UInt8]) { self.key = key }

  deinit {
    pool.withLock { boxes in boxes.removeAll() }
  }

  /// HMAC-SHA256 of `data`.
  public func mac(_ data: UnsafeRawBufferPointer) -> [UInt8] {
    let box = pool.withLock { $0.popLast() } ?? ContextBox(key: key)
    var out = [UInt8](repeating: 0, count: 32)
    let ok = ccrypto_hmac_ctx_compute(
      box.context, data.baseAddress?.assumingMemoryBound(to: UInt8.self), data.count, &out)
    precondition(ok == 1, "HMAC-SHA256 failed in libcrypto")
    pool.withLock { if $0.count < 64 { $0.append(box) } }
    return out
  }

  public func mac(_ data: some ContiguousBytesView) -> [UInt8] { data.withBytes { mac($0) } }
}

/// Owns one HMAC_CTX; used by one thread at a time (taken from and returned to the pool).
final class ContextBox: @unchecked Sendable {
  let context: OpaquePointer

  init(key: [UInt8]) {
    guard let ctx = key.withUnsafeBufferPointer({ ccrypto_hmac_ctx_new($0.baseAddress, Int32($0.count)) }) else {
      preconditionFailure("libcrypto could not make an HMAC-SHA256 context")
    }
    context = ctx
  }

  deinit { ccrypto_hmac_ctx_free(context) }
}
