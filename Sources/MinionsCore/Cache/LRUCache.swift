import Synchronization

/// A thread-safe in-process cache with least-recently-used eviction, a time to live per entry, a size
/// limit and statistics.
///
/// Every operation takes one lock around a dense node buffer, an intrusive recency list and a dictionary
/// from key to node (see `LRUStorage`), so a get is one hash lookup, a few index writes and, only for an
/// entry that can expire, one clock read. Nothing is allocated per operation once the cache has filled.
///
/// Expired entries are dropped lazily: when a `get` finds one, when one is the least recently used entry
/// a `set` would evict, or by `removeExpired()`. Settings apply live: `resize(maxEntries:)` evicts down to
/// a smaller size, and `setTTL(_:)` changes the lifetime of every entry written without its own, counted
/// from when it was written.
///
/// With `.tinyLFU` admission a full cache stores a new key only if a frequency sketch estimates it more
/// popular than the entry it would evict (see `CacheAdmission`). `maxEntries == 0` turns caching off:
/// every get misses and sets store nothing.
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
  @usableFromInline let storage: Mutex<LRUStorage<Key, Value>>
  /// Nanoseconds from a monotonic origin; injectable so tests control time.
  @usableFromInline let clock: @Sendable () -> UInt64
  /// The admission policy the cache was made with.
  public let admission: CacheAdmission

  /// - Parameters:
  ///   - maxEntries: the most entries held; 0 disables caching.
  ///   - ttlSeconds: how long an entry lives unless `set` gives its own; nil for no limit.
  ///   - clock: monotonic nanoseconds, read on each set and on each get of an entry that can expire.
  ///   - admission: whether a full cache admits every new key (`.lru`) or only popular ones (`.tinyLFU`).
  public init(
    maxEntries: Int, ttlSeconds: Double?, clock: @escaping @Sendable () -> UInt64 = MonotonicClock.nanoseconds,
    admission: CacheAdmission = .lru
  ) {
    storage = Mutex(
      LRUStorage(maxEntries: maxEntries, defaultLifetime: Self.lifetime(seconds: ttlSeconds), admission: admission))
    self.clock = clock
    self.admission = admission
  }

  /// Nanoseconds for a lifetime in seconds: nil and +∞ never end, ≤ 0 ends at once.
  @usableFromInline
  static func lifetime(seconds: Double?) -> UInt64 {
    guard let seconds else { return LRUStorage<Key, Value>.never }
    precondition(!seconds.isNaN, "a time to live must be a number")
    if seconds <= 0 { return 0 }
    let nanoseconds = seconds * 1e9
    // Beyond ~584 years there is no difference from never; keep clear of the two sentinels.
    return nanoseconds >= 1.8e19 ? LRUStorage<Key, Value>.never : UInt64(nanoseconds)
  }

  /// The value for `key`, or nil on a miss. A hit makes the entry the most recently used; an expired
  /// entry is a miss, is removed and counts as an expiration.
  @inlinable
  public func get(_ key: Key) -> Value? {
    storage.withLock { $0.value(for: key, clock: clock) }
  }

  /// Stores `value` for `key` as the most recently used entry, replacing any entry for `key`. When the
  /// cache is full the least recently used entry is evicted (with TinyLFU admission, only if `key` is
  /// estimated more popular; otherwise nothing is stored).
  ///
  /// - Parameter ttlSeconds: this entry's time to live, overriding the cache's; nil follows the cache's
  ///   (including later `setTTL` changes), `.infinity` never expires.
  @inlinable
  public func set(_ key: Key, _ value: Value, ttlSeconds: Double? = nil) {
    let lifetime = ttlSeconds == nil ? LRUStorage<Key, Value>.followsDefault : Self.lifetime(seconds: ttlSeconds)
    let now = clock()
    storage.withLock { $0.store(value, for: key, lifetime: lifetime, now: now) }
  }

  /// Removes `key`'s entry; returns its value (even if expired), or nil when there was none.
  @inlinable
  @discardableResult
  public func remove(_ key: Key) -> Value? {
    storage.withLock { $0.removeValue(for: key) }
  }

  /// Removes every entry (counted in `stats.clears`, not as evictions). Counters are kept.
  public func removeAll() {
    storage.withLock { $0.removeAll() }
  }

  /// Removes every expired entry now instead of when it is next touched; returns how many. Walks the
  /// whole cache under the lock, so call it from housekeeping, not per request.
  @discardableResult
  public func removeExpired() -> Int {
    let now = clock()
    return storage.withLock { $0.removeExpired(now: now) }
  }

  /// Entries held, including expired ones not yet dropped.
  public var count: Int { storage.withLock { $0.count } }

  /// The most entries the cache holds.
  public var maxEntries: Int { storage.withLock { $0.maxEntries } }

  /// The default time to live in seconds, nil for none.
  public var ttlSeconds: Double? {
    let lifetime = storage.withLock { $0.defaultLifetime }
    return lifetime == LRUStorage<Key, Value>.never ? nil : Double(lifetime) / 1e9
  }

  /// Changes the capacity now (the `cache.maxEntries` setting). Shrinking evicts least recently used
  /// entries until the rest fit (counted as evictions); 0 empties the cache and disables it.
  public func resize(maxEntries: Int) {
    storage.withLock { $0.resize(maxEntries: maxEntries) }
  }

  /// Changes the default time to live now (the `cache.ttlSeconds` setting): it applies to every entry
  /// written without its own, counted from when that entry was written. Nil: such entries never expire.
  public func setTTL(_ ttlSeconds: Double?) {
    let lifetime = Self.lifetime(seconds: ttlSeconds)
    storage.withLock { $0.defaultLifetime = lifetime }
  }

  /// The current size and counters.
  public var stats: CacheStats {
    storage.withLock { s in
      CacheStats(
        entries: s.count, capacity: s.maxEntries, hits: s.hits, misses: s.misses, evictions: s.evictions,
        expirations: s.expirations, admissionRejections: s.rejections, clears: s.clears)
    }
  }

  /// Whether the cache's internal structure is intact (see `LRUStorage.isConsistent`); for tests.
  var isConsistent: Bool { storage.withLock { $0.isConsistent() } }

  /// Zeroes the counters (hits, misses, evictions, expirations, rejections, clears); entries stay.
  public func resetStats() {
    storage.withLock { s in
      s.hits = 0
      s.misses = 0
      s.evictions = 0
      s.expirations = 0
      s.rejections = 0
      s.clears = 0
    }
  }
}
