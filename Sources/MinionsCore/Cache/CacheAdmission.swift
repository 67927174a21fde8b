/// How a full cache decides whether a new key may evict its least recently used entry.
public enum CacheAdmission: Sendable, Hashable {
  /// Always: the new key replaces the least recently used entry (plain LRU).
  case lru
  /// Only when a frequency sketch of recent gets and sets estimates the new key more popular than the
  /// entry it would evict (TinyLFU). Protects frequently used entries from one-time keys and scans, at the
  /// cost of an extra hash per operation and slower adoption of a new working set.
  case tinyLFU
}
