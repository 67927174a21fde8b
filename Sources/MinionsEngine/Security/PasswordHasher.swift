import MinionsCore
import MinionsCrypto
import Synchronization

/// bcrypt hashing and verification on threads of their own (a hash at cost 12 takes ~180 ms of CPU,
/// which must never sit on Swift's cooperative pool).
public final class PasswordHasher: Sendable {
  private let workers = WorkerThreads(name: "bcrypt", maxThreads: 2)
  private let costSource: @Sendable () -> Int
  private let dummyHashes = DummyHashes()
  private let operationCount = Atomic<Int>(0)

  /// bcrypt operations (hashes and verifications) done so far: lets tests prove that a refused
  /// password was never hashed, and that an unknown user costs the same work as a wrong password.
  public var operations: Int { operationCount.load(ordering: .relaxed) }

  /// `cost` is read at each hash, so a settings change applies to the next password set.
  init(cost: @escaping @Sendable () -> Int) {
    self.costSource = cost
  }

  public var cost: Int { max(10, costSource()) }

  public func hash(_ password: String) async throws -> String {
    operationCount.add(1, ordering: .relaxed)
    let cost = self.cost
    return try await workers.run { try BCrypt.hash(password, cost: cost) }
  }

  /// Hashes on the calling thread (the command line has no event loop to protect).
  public func hashBlocking(_ password: String) throws -> String {
    operationCount.add(1, ordering: .relaxed)
    return try BCrypt.hash(password, cost: cost)
  }

  public func verify(_ password: String, hash: String) async -> Bool {
    operationCount.add(1, ordering: .relaxed)
    return await workers.run { BCrypt.verify(password, hash: hash) }
  }

  /// True when `hash` was made at a lower cost than the current one.
  public func needsRehash(_ hash: String) -> Bool { (BCrypt.cost(of: hash) ?? 0) < cost }

  /// Spends the same time as verifying a real password at the current cost, so an unknown username
  /// answers no faster than a wrong password.
  public func verifyAgainstDummy(_ password: String) async {
    let cost = self.cost
    let dummy: String
    if let known = dummyHashes.get(cost) {
      dummy = known
    } else {
      dummy = (try? await workers.run { try BCrypt.hash(Crypto.hex(Crypto.randomBytes(16)), cost: cost) }) ?? ""
      dummyHashes.set(cost, dummy)
    }
    _ = await verify(password, hash: dummy)
  }

  /// Computes the dummy hash ahead of the first login (in the background).
  func warmUp() {
    let cost = self.cost
    let hashes = dummyHashes
    workers.submit {
      if hashes.get(cost) == nil, let hash = try? BCrypt.hash(Crypto.hex(Crypto.randomBytes(16)), cost: cost) {
        hashes.set(cost, hash)
      }
    }
  }
}

/// A hash of a random password per cost, to verify against when the user does not exist.
final class DummyHashes: Sendable {
  private let byCost = Mutex<[Int: String]>([:])
  func get(_ cost: Int) -> String? { byCost.withLock { $0[cost] } }
  func set(_ cost: Int, _ hash: String) { byCost.withLock { if $0[cost] == nil { $0[cost] = hash } } }
}
