/// A snapshot of a cache's size and counters, as `LRUCache.stats` returns it.
///
/// Counters run from the cache's creation or its last `resetStats()`. Only `get` counts hits and
/// misses; an expired entry found by `get` is a miss and an expiration.
public struct CacheStats: Sendable, Hashable {
  /// Entries held now (expired entries not yet found or swept included).
  public var entries: Int
  /// The most entries the cache holds (`maxEntries`).
  public var capacity: Int
  public var hits: Int
  public var misses: Int
  /// Entries dropped to make room: by a `set` into a full cache or by `resize` shrinking it.
  public var evictions: Int
  /// Entries dropped because their time to live had passed.
  public var expirations: Int
  /// New keys TinyLFU admission declined to store because they were less popular than the entry they
  /// would have evicted (always 0 with LRU admission).
  public var admissionRejections: Int
  /// Calls to `removeAll()`.
  public var clears: Int

  public init(
    entries: Int = 0, capacity: Int = 0, hits: Int = 0, misses: Int = 0, evictions: Int = 0, expirations: Int = 0,
    admissionRejections: Int = 0, clears: Int = 0
  ) {
    self.entries = entries
    self.capacity = capacity
    self.hits = hits
    self.misses = misses
    self.evictions = evictions
    self.expirations = expirations
    self.admissionRejections = admissionRejections
    self.clears = clears
  }

  /// Gets counted: `hits + misses`.
  public var lookups: Int { hits + misses }

  /// Hits per lookup, 0…1 (0 before any lookup).
  public var hitRate: Double { lookups == 0 ? 0 : Double(hits) / Double(lookups) }
}
