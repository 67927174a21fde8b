import MinionsTestSupport
import Synchronization
import Testing

@testable import MinionsCore

/// A clock the test moves by hand, in nanoseconds.
final class ManualClock: Sendable {
  private let nanoseconds = Atomic<UInt64>(0)

  func advance(seconds: Double) { nanoseconds.add(UInt64(seconds * 1e9), ordering: .relaxed) }

  var read: @Sendable () -> UInt64 { { self.nanoseconds.load(ordering: .relaxed) } }
}

@Suite struct LRUCacheTests {
  // MARK: LRU order and replacement

  @Test func evictsTheLeastRecentlyUsedEntryFirst() {
    let cache = LRUCache<String, Int>(maxEntries: 3, ttlSeconds: nil)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("c", 3)
    cache.set("d", 4)  // evicts a
    #expect(cache.get("a") == nil)
    #expect(cache.get("b") == 2)  // b is now the most recent; c the least
    cache.set("e", 5)  // evicts c
    #expect(cache.get("c") == nil)
    #expect(cache.get("b") == 2)
    #expect(cache.get("d") == 4)
    #expect(cache.get("e") == 5)
    #expect(cache.count == 3)
    #expect(cache.stats.evictions == 2)
    #expect(cache.isConsistent)
  }

  @Test func replacingAKeyKeepsOneEntryAndMakesItMostRecent() {
    let cache = LRUCache<String, Int>(maxEntries: 2, ttlSeconds: nil)
    cache.set("a", 1)
    cache.set("b", 2)
    cache.set("a", 10)  // replaces; a is now the most recent
    #expect(cache.count == 2)
    #expect(cache.stats.evictions == 0)
    cache.set("c", 3)  // evicts b, not a
    #expect(cache.get("a") == 10)
    #expect(cache.get("b") == nil)
    #expect(cache.get("c") == 3)
  }

  @Test func removeDropsOnlyThatEntry() {
    let cache = LRUCache<Int, String>(maxEntries: 4, ttlSeconds: nil)
    for k in 0..<4 { cache.set(k, "v\(k)") }
    #expect(cache.remove(1) == "v1")
    #expect(cache.remove(1) == nil)
    #expect(cache.count == 3)
    #expect(cache.get(1) == nil)
    for k in [0, 2, 3] { #expect(cache.get(k) == "v\(k)") }
    // The freed place is reused without evicting anything.
    cache.set(9, "v9")
    #expect(cache.count == 4)
    #expect(cache.stats.evictions == 0)
    #expect(cache.isConsistent)
  }

  // MARK: Time to live

  @Test func entriesExpireAfterTheDefaultTTL() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 10, ttlSeconds: 10, clock: clock.read)
    cache.set("a", 1)
    clock.advance(seconds: 9.5)
    #expect(cache.get("a") == 1)
    clock.advance(seconds: 0.5)  // exactly 10 s after it was written
    #expect(cache.get("a") == nil)
    let stats = cache.stats
    #expect(stats.expirations == 1)
    #expect(stats.hits == 1)
    #expect(stats.misses == 1)
    #expect(stats.entries == 0)
    #expect(cache.count == 0)
  }

  @Test func aPerEntryTTLOverridesTheDefault() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 10, ttlSeconds: 10, clock: clock.read)
    cache.set("short", 1, ttlSeconds: 2)
    cache.set("forever", 2, ttlSeconds: .infinity)
    cache.set("default", 3)
    cache.set("gone", 4, ttlSeconds: 0)
    #expect(cache.get("gone") == nil)
    clock.advance(seconds: 5)
    #expect(cache.get("short") == nil)
    #expect(cache.get("forever") == 2)
    #expect(cache.get("default") == 3)
    clock.advance(seconds: 1000)
    #expect(cache.get("forever") == 2)
    #expect(cache.get("default") == nil)
    #expect(cache.stats.expirations == 3)
  }

  @Test func rewritingAnEntryRestartsItsTTL() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 10, ttlSeconds: 10, clock: clock.read)
    cache.set("a", 1)
    clock.advance(seconds: 8)
    cache.set("a", 2)
    clock.advance(seconds: 8)
    #expect(cache.get("a") == 2)
  }

  @Test func changingTheDefaultTTLAppliesToEntriesWrittenWithoutTheirOwn() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 10, ttlSeconds: nil, clock: clock.read)
    cache.set("default", 1)
    cache.set("own", 2, ttlSeconds: 100)
    clock.advance(seconds: 30)
    #expect(cache.get("default") == 1)
    cache.setTTL(20)  // "default" was written 30 s ago: expired now
    #expect(cache.ttlSeconds == 20)
    #expect(cache.get("default") == nil)
    #expect(cache.get("own") == 2)
    cache.setTTL(nil)
    #expect(cache.ttlSeconds == nil)
    clock.advance(seconds: 100)
    #expect(cache.get("own") == nil)
  }

  @Test func aFullCacheEvictingAnExpiredEntryCountsAnExpiration() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 2, ttlSeconds: 5, clock: clock.read)
    cache.set("old", 1)
    clock.advance(seconds: 4)
    cache.set("new", 2)
    clock.advance(seconds: 2)  // "old" has expired, "new" has not
    cache.set("newest", 3)
    let stats = cache.stats
    #expect(stats.expirations == 1)
    #expect(stats.evictions == 0)
    #expect(cache.get("new") == 2)
    #expect(cache.get("newest") == 3)
  }

  @Test func removeExpiredSweepsEveryExpiredEntry() {
    let clock = ManualClock()
    let cache = LRUCache<Int, Int>(maxEntries: 100, ttlSeconds: 10, clock: clock.read)
    for k in 0..<100 { cache.set(k, k, ttlSeconds: k % 3 == 0 ? 1 : nil) }
    clock.advance(seconds: 2)
    #expect(cache.removeExpired() == 34)
    #expect(cache.count == 66)
    #expect(cache.stats.expirations == 34)
    #expect(cache.isConsistent)
    for k in 0..<100 { #expect((cache.get(k) == nil) == (k % 3 == 0)) }
  }

  // MARK: Statistics, clearing, resizing

  @Test func statsCountEveryOutcome() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 2, ttlSeconds: 60, clock: clock.read)
    #expect(cache.stats.hitRate == 0)
    cache.set("a", 1)
    cache.set("b", 2)
    _ = cache.get("a")  // hit
    _ = cache.get("a")  // hit
    _ = cache.get("x")  // miss
    cache.set("c", 3)  // evicts b
    _ = cache.get("b")  // miss
    clock.advance(seconds: 61)
    _ = cache.get("c")  // expired: miss
    let stats = cache.stats
    #expect(stats.hits == 2)
    #expect(stats.misses == 3)
    #expect(stats.lookups == 5)
    #expect(stats.hitRate == 0.4)
    #expect(stats.evictions == 1)
    #expect(stats.expirations == 1)
    #expect(stats.entries == 1)
    #expect(stats.capacity == 2)
    #expect(stats.admissionRejections == 0)

    cache.resetStats()
    let reset = cache.stats
    #expect(reset == CacheStats(entries: 1, capacity: 2))
  }

  @Test func removeAllEmptiesTheCacheAndCountsAClear() {
    let cache = LRUCache<Int, Int>(maxEntries: 10, ttlSeconds: nil)
    for k in 0..<10 { cache.set(k, k) }
    cache.removeAll()
    #expect(cache.count == 0)
    #expect(cache.get(3) == nil)
    let stats = cache.stats
    #expect(stats.clears == 1)
    #expect(stats.evictions == 0)
    for k in 0..<10 { cache.set(k, k + 1) }
    #expect(cache.get(3) == 4)
    #expect(cache.isConsistent)
  }

  @Test func shrinkingEvictsTheLeastRecentlyUsedEntries() {
    let cache = LRUCache<Int, Int>(maxEntries: 5, ttlSeconds: nil)
    for k in 1...5 { cache.set(k, k) }
    _ = cache.get(1)  // recency, most recent first: 1 5 4 3 2
    cache.resize(maxEntries: 2)
    #expect(cache.maxEntries == 2)
    #expect(cache.count == 2)
    #expect(cache.stats.evictions == 3)
    #expect(cache.get(1) == 1)
    #expect(cache.get(5) == 5)
    for k in 2...4 { #expect(cache.get(k) == nil) }
    cache.resize(maxEntries: 4)
    for k in 6...7 { cache.set(k, k) }
    #expect(cache.count == 4)
    #expect(cache.stats.evictions == 3)
    #expect(cache.isConsistent)
  }

  @Test func growingPastTheFirstAllocationKeepsEveryEntry() {
    let cache = LRUCache<Int, Int>(maxEntries: 1000, ttlSeconds: nil)
    for k in 0..<1000 { cache.set(k, -k) }
    #expect(cache.count == 1000)
    for k in 0..<1000 { #expect(cache.get(k) == -k) }
    cache.resize(maxEntries: 10)  // gives memory back
    #expect(cache.count == 10)
    for k in 990..<1000 { #expect(cache.get(k) == -k) }
    #expect(cache.isConsistent)
  }

  @Test func zeroEntriesDisablesCaching() {
    let cache = LRUCache<String, Int>(maxEntries: 0, ttlSeconds: 60)
    cache.set("a", 1)
    #expect(cache.get("a") == nil)
    #expect(cache.count == 0)
    #expect(cache.stats.misses == 1)
    #expect(cache.stats.evictions == 0)

    let running = LRUCache<String, Int>(maxEntries: 3, ttlSeconds: 60)
    running.set("a", 1)
    running.resize(maxEntries: 0)  // the setting turned off live
    #expect(running.get("a") == nil)
    running.set("b", 2)
    #expect(running.count == 0)
    running.resize(maxEntries: 3)  // and on again
    running.set("b", 2)
    #expect(running.get("b") == 2)
  }

  // MARK: Against a reference

  /// An obviously correct LRU cache with lifetimes (linear scans of an array), to compare against.
  struct ReferenceCache {
    struct Entry {
      var key: Int
      var value: Int
      var storedAt: UInt64
      /// Nanoseconds, nil to follow the default.
      var ownLifetime: UInt64?
    }
    /// Least recently used first.
    var entries: [Entry] = []
    var capacity: Int
    var defaultLifetime: UInt64?

    func isExpired(_ e: Entry, now: UInt64) -> Bool {
      guard let lifetime = e.ownLifetime ?? defaultLifetime else { return false }
      return now - e.storedAt >= lifetime
    }

    mutating func get(_ key: Int, now: UInt64) -> Int? {
      guard let i = entries.firstIndex(where: { $0.key == key }) else { return nil }
      let e = entries.remove(at: i)
      if isExpired(e, now: now) { return nil }
      entries.append(e)
      return e.value
    }

    mutating func set(_ key: Int, _ value: Int, ownLifetime: UInt64?, now: UInt64) {
      guard capacity > 0 else { return }
      entries.removeAll { $0.key == key }
      if entries.count == capacity { entries.removeFirst() }
      entries.append(Entry(key: key, value: value, storedAt: now, ownLifetime: ownLifetime))
    }
  }

  @Test(arguments: [1, 2, 3])
  func behavesLikeAReferenceLRUUnderRandomOperations(seed: UInt64) {
    let clock = ManualClock()
    let cache = LRUCache<Int, Int>(maxEntries: 16, ttlSeconds: 20, clock: clock.read)
    var reference = ReferenceCache(capacity: 16, defaultLifetime: 20_000_000_000)
    var rng = SplitMix64(seed: seed)
    var gets = 0
    var hits = 0
    for step in 0..<20_000 {
      let key = Int(rng.next(below: 40))
      let now = clock.read()
      switch rng.next(below: 100) {
      case 0..<50:
        let expected = reference.get(key, now: now)
        #expect(cache.get(key) == expected, "step \(step): get \(key)")
        gets += 1
        if expected != nil { hits += 1 }
      case 50..<90:
        let choice = rng.next(below: 4)
        let ttl: Double? = [nil, 5, 50, .infinity][Int(choice)]
        let own: UInt64? = ttl.map { $0 == .infinity ? .max : UInt64($0 * 1e9) }
        cache.set(key, step, ttlSeconds: ttl)
        reference.set(key, step, ownLifetime: own, now: now)
      case 90..<97:
        let expected = reference.entries.firstIndex { $0.key == key }.map { reference.entries.remove(at: $0).value }
        #expect(cache.remove(key) == expected, "step \(step): remove \(key)")
      case 97:
        let size = Int(rng.next(below: 24))
        cache.resize(maxEntries: size)
        reference.capacity = size
        if reference.entries.count > size { reference.entries.removeFirst(reference.entries.count - size) }
      case 98:
        let ttl: Double? = rng.next(below: 3) == 0 ? nil : Double(5 + rng.next(below: 30))
        cache.setTTL(ttl)
        reference.defaultLifetime = ttl.map { UInt64($0 * 1e9) }
      default:
        cache.removeExpired()
        let model = reference
        reference.entries.removeAll { model.isExpired($0, now: now) }
      }
      #expect(cache.count == reference.entries.count, "step \(step)")
      clock.advance(seconds: Double(rng.next(below: 1000)) / 1000)
    }
    #expect(cache.isConsistent)
    let stats = cache.stats
    #expect(stats.lookups == gets)
    #expect(stats.hits == hits)
    #expect(hits > 1000)  // the run exercised hits, not only misses
  }

  // MARK: TinyLFU admission

  @Test func tinyLFUKeepsAFrequentEntryAgainstAOneHitWonder() {
    let cache = LRUCache<String, Int>(maxEntries: 2, ttlSeconds: nil, admission: .tinyLFU)
    cache.set("hot1", 1)
    cache.set("hot2", 2)
    for _ in 0..<5 {
      _ = cache.get("hot1")
      _ = cache.get("hot2")
    }
    cache.set("once", 3)  // less popular than hot1, the least recently used: not admitted
    #expect(cache.get("hot1") == 1)
    #expect(cache.get("hot2") == 2)
    #expect(cache.get("once") == nil)
    let stats = cache.stats
    #expect(stats.admissionRejections == 1)
    #expect(stats.evictions == 0)

    // Plain LRU admits it, evicting hot1.
    let lru = LRUCache<String, Int>(maxEntries: 2, ttlSeconds: nil)
    lru.set("hot1", 1)
    lru.set("hot2", 2)
    for _ in 0..<5 {
      _ = lru.get("hot1")
      _ = lru.get("hot2")
    }
    lru.set("once", 3)
    #expect(lru.get("hot1") == nil)
    #expect(lru.get("once") == 3)
  }

  @Test func tinyLFUAdmitsAKeyMorePopularThanTheVictim() {
    let cache = LRUCache<String, Int>(maxEntries: 2, ttlSeconds: nil, admission: .tinyLFU)
    cache.set("a", 1)
    cache.set("b", 2)
    for _ in 0..<6 { #expect(cache.get("rising") == nil) }  // each miss is seen by the sketch
    cache.set("rising", 3)
    #expect(cache.get("rising") == 3)
    #expect(cache.get("a") == nil)  // the least recently used made room
    #expect(cache.stats.evictions == 1)
    #expect(cache.stats.admissionRejections == 0)
  }

  @Test func tinyLFUAlwaysReplacesAnExpiredVictim() {
    let clock = ManualClock()
    let cache = LRUCache<String, Int>(maxEntries: 1, ttlSeconds: 10, clock: clock.read, admission: .tinyLFU)
    cache.set("hot", 1)
    for _ in 0..<5 { _ = cache.get("hot") }
    clock.advance(seconds: 11)
    cache.set("new", 2)
    #expect(cache.get("new") == 2)
    #expect(cache.stats.expirations == 1)
    #expect(cache.stats.admissionRejections == 0)
  }

  @Test func sketchIsSizedFromTheCapacity() {
    let sketch = FrequencySketch(capacity: 1000)
    #expect(sketch.wordsPerRow * 16 == 1024)
    #expect(sketch.sampleSize == 10_000)
    #expect(FrequencySketch(capacity: 1).wordsPerRow == 1)
  }

  @Test func sketchCountsAndSaturates() {
    var sketch = FrequencySketch(width: 1024, sampleSize: 1_000_000)
    let key = "key".hashValue
    #expect(sketch.estimate(hash: key) == 0)
    for n in 1...15 {
      sketch.increment(hash: key)
      #expect(sketch.estimate(hash: key) == n)
    }
    sketch.increment(hash: key)
    #expect(sketch.estimate(hash: key) == 15)
    #expect(sketch.additions == 15)  // a sighting that raised no counter is not an addition
  }

  @Test func agingHalvesEveryCountWhenTheSampleIsFull() {
    var sketch = FrequencySketch(width: 1024, sampleSize: 20)
    let x = "x".hashValue
    let y = "y".hashValue
    for _ in 0..<12 { sketch.increment(hash: x) }
    for _ in 0..<7 { sketch.increment(hash: y) }
    #expect(sketch.estimate(hash: x) == 12)
    #expect(sketch.estimate(hash: y) == 7)
    #expect(sketch.agings == 0)
    sketch.increment(hash: y)  // the 20th addition
    #expect(sketch.agings == 1)
    #expect(sketch.estimate(hash: x) == 6)
    #expect(sketch.estimate(hash: y) == 4)
    #expect(sketch.additions == 10)
  }

  @Test func aCacheAgesItsSketchAfterTenTimesItsCapacity() {
    // Capacity 16: width 16, aging after 160 additions.
    let cache = LRUCache<Int, Int>(maxEntries: 16, ttlSeconds: nil, admission: .tinyLFU)
    func sketch() -> FrequencySketch { cache.storage.withLock { $0.sketch! } }
    #expect(sketch().sampleSize == 160)
    for _ in 0..<12 { _ = cache.get(0) }
    // Other keys until the sketch ages, noting key 0's estimate just before the get that ages it.
    var before = 0
    var key = 1
    while sketch().agings == 0 && key < 10_000 {
      before = sketch().estimate(hash: 0.hashValue)
      _ = cache.get(key)
      key += 1
    }
    #expect(sketch().agings == 1)
    #expect(sketch().additions == 80)
    #expect(before >= 12)
    // Halved; the aging get itself may have raised one of key 0's counters first.
    let after = sketch().estimate(hash: 0.hashValue)
    #expect(after >= before / 2)
    #expect(after <= (before + 1) / 2)
  }

  // MARK: Threads

  @Test(arguments: [CacheAdmission.lru, .tinyLFU])
  func staysConsistentUnderConcurrentUse(admission: CacheAdmission) async {
    let clock = ManualClock()
    let cache = LRUCache<Int, Int>(maxEntries: 64, ttlSeconds: 0.05, clock: clock.read, admission: admission)
    let gets = Tally()
    let wrongValues = Tally()
    let threads = 4
    await onThreads(threads) { t in
      var rng = SplitMix64(seed: UInt64(t) + 100)
      var myGets = 0
      for step in 0..<25_000 {
        let key = Int(rng.next(below: 200))
        switch rng.next(below: 100) {
        case 0..<55:
          if let v = cache.get(key), v / 1000 != key { wrongValues.add(1) }
          myGets += 1
        case 55..<90: cache.set(key, key * 1000 + t, ttlSeconds: step % 7 == 0 ? 0.01 : nil)
        case 90..<97: cache.remove(key)
        case 97: cache.resize(maxEntries: 32 + Int(rng.next(below: 64)))
        case 98: clock.advance(seconds: 0.001)
        default: cache.removeExpired()
        }
        if t == 0 && step == 12_345 { cache.removeAll() }
      }
      gets.add(myGets)
    }
    let stats = cache.stats
    #expect(wrongValues.value == 0)
    #expect(stats.lookups == gets.value)
    #expect(stats.clears == 1)
    #expect(stats.entries <= stats.capacity)
    #expect(stats.entries == cache.count)
    #expect(stats.hits > 0)
    #expect(cache.isConsistent)
    // How many entries expired during the run depends on how the threads interleaved; past every
    // lifetime, all that are left expire, and are counted.
    clock.advance(seconds: 1)
    let swept = cache.removeExpired()
    #expect(swept == stats.entries && cache.count == 0)
    #expect(cache.stats.expirations == stats.expirations + swept)
    #expect(cache.isConsistent)
  }
}

/// Runs `body(index)` on `count` OS threads at once and returns when all have finished, suspending
/// (not blocking) the calling task meanwhile.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) async {
  final class Countdown: Sendable {
    let left: Atomic<Int>
    let continuation: CheckedContinuation<Void, Never>
    init(_ count: Int, _ continuation: CheckedContinuation<Void, Never>) {
      left = Atomic(count)
      self.continuation = continuation
    }
    func countDown() {
      if left.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 { continuation.resume() }
    }
  }
  await withCheckedContinuation { continuation in
    let countdown = Countdown(count, continuation)
    for index in 0..<count {
      spawnThread(name: "test-\(index)") {
        body(index)
        countdown.countDown()
      }
    }
  }
}

/// A counter threads add to.
final class Tally: Sendable {
  private let count = Atomic<Int>(0)
  func add(_ n: Int) { count.add(n, ordering: .relaxed) }
  var value: Int { count.load(ordering: .relaxed) }
}
