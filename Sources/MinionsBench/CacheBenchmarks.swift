import Foundation
import MinionsCore
import MinionsTestSupport
import Synchronization

/// Issue 6's cache figures: gets and sets per second on one thread (cachetools' TTLCache in the same run),
/// gets per second from two threads, and the hit rates of LRU and TinyLFU admission on a skewed and on
/// recency-heavy workloads.
enum CacheBenchmarks {
  /// Entries in the throughput caches; the engine's default `cache.maxEntries`.
  static let capacity = 10_000
  /// Requests in each hit-rate trace (the first fifth warms the cache and is not counted).
  static let traceLength = 2_000_000

  static func run(peerPython: String?) throws -> [BenchRow] {
    var rng = SplitMix64(seed: 6)
    // Gets: every key present, read in a shuffled order. Sets: keys cycle over twice the capacity, so
    // every set inserts a new key and evicts the least recently used one.
    let getOrder = Array(0..<capacity).shuffled(using: &rng)
    let setOrder = Array(0..<(2 * capacity))
    let stringKeys = (0..<(2 * capacity)).map { hexKey($0) }

    let intCache = LRUCache<Int, Int>(maxEntries: capacity, ttlSeconds: 3600)
    for key in getOrder { intCache.set(key, key) }
    let intGets = gets(intCache, keys: getOrder)
    let intSets = sets(LRUCache<Int, Int>(maxEntries: capacity, ttlSeconds: 3600), keys: setOrder)
    let stringCache = LRUCache<String, Int>(maxEntries: capacity, ttlSeconds: 3600)
    let stringGetOrder = getOrder.map { stringKeys[$0] }
    for (i, key) in stringGetOrder.enumerated() { stringCache.set(key, i) }
    let stringGets = gets(stringCache, keys: stringGetOrder)
    let stringSets = sets(LRUCache<String, Int>(maxEntries: capacity, ttlSeconds: 3600), keys: stringKeys)
    let twoThreadGets = threadedGets(intCache, keys: getOrder, threads: 2)

    let peer = peerPython.flatMap { cachetools(python: $0) }
    let peerName = peerPython == nil ? nil : "cachetools TTLCache"
    var rows = [
      BenchRow(
        issue: "#6", name: "cache get/s, Int keys, one thread (all hits, TTL on)", value: intGets, unit: "ops/s",
        target: "≥ 10,000,000", meets: intGets >= 10_000_000, peerName: peerName, peerValue: peer?.intGets),
      BenchRow(
        issue: "#6", name: "cache set/s, Int keys, one thread (each set evicts)", value: intSets, unit: "ops/s",
        target: "≥ 3,000,000", meets: intSets >= 3_000_000, peerName: peerName, peerValue: peer?.intSets),
      BenchRow(
        issue: "#6", name: "cache get/s, 64-character String keys, one thread", value: stringGets, unit: "ops/s",
        peerName: peerName, peerValue: peer?.stringGets),
      BenchRow(
        issue: "#6", name: "cache set/s, 64-character String keys, one thread", value: stringSets, unit: "ops/s",
        peerName: peerName, peerValue: peer?.stringSets),
      BenchRow(issue: "#6", name: "cache get/s, Int keys, 2 threads (total)", value: twoThreadGets, unit: "ops/s"),
    ]
    rows += hitRateRows()
    return rows
  }

  // MARK: Throughput

  /// Runs `body` (which performs `batch` operations starting at a position) until `seconds` pass or
  /// `maxOps` are done; returns operations per second.
  static func opsPerSecond(
    seconds: Double = 1.5, batch: Int = 4096, maxOps: Int = 100_000_000, _ body: (_ start: Int) -> Void
  ) -> Double {
    let start = MonotonicClock.nanoseconds()
    var done = 0
    while done < maxOps {
      body(done)
      done += batch
      if Double(MonotonicClock.nanoseconds() - start) / 1e9 >= seconds { break }
    }
    return Double(done) / (Double(MonotonicClock.nanoseconds() - start) / 1e9)
  }

  static func gets<Key>(_ cache: LRUCache<Key, Int>, keys: [Key]) -> Double {
    var found = 0
    let rate = opsPerSecond { start in
      var i = start % keys.count
      for _ in 0..<4096 {
        found &+= cache.get(keys[i]) ?? 0
        i += 1
        if i == keys.count { i = 0 }
      }
    }
    if found == 42 { print("") }  // keeps the gets from being optimized away
    return rate
  }

  static func sets<Key>(_ cache: LRUCache<Key, Int>, keys: [Key]) -> Double {
    opsPerSecond { start in
      var i = start % keys.count
      for n in 0..<4096 {
        cache.set(keys[i], n)
        i += 1
        if i == keys.count { i = 0 }
      }
    }
  }

  /// Total gets per second of `threads` threads sharing `cache`, each reading all keys from its own offset.
  static func threadedGets(_ cache: LRUCache<Int, Int>, keys: [Int], threads: Int) -> Double {
    final class Shared: Sendable {
      let ready = Atomic<Int>(0)
      let rates = Mutex<[Double]>([])
    }
    let shared = Shared()
    let finished = (0..<threads).map { _ in OneShotEvent() }
    for t in 0..<threads {
      let done = finished[t]
      spawnThread(name: "cache-bench-\(t)") {
        // Start together: each thread announces itself and spins (bounded) until all have.
        shared.ready.add(1, ordering: .acquiringAndReleasing)
        var spins = 0
        while shared.ready.load(ordering: .acquiring) < threads && spins < 100_000_000 { spins += 1 }
        let rate = opsPerSecond { start in
          var i = (start + t * keys.count / threads) % keys.count
          var found = 0
          for _ in 0..<4096 {
            found &+= cache.get(keys[i]) ?? 0
            i += 1
            if i == keys.count { i = 0 }
          }
          if found == 42 { print("") }
        }
        shared.rates.withLock { $0.append(rate) }
        done.signal()
      }
    }
    for event in finished { event.wait(timeout: 60) }
    return shared.rates.withLock { $0.reduce(0, +) }
  }

  /// A 64-character hexadecimal key, the shape of the response cache's SHA-256 keys.
  static func hexKey(_ n: Int) -> String {
    var mixer = SplitMix64(seed: UInt64(n))
    var key = ""
    for _ in 0..<4 {
      let word = String(mixer.next(), radix: 16)
      key += String(repeating: "0", count: 16 - word.count) + word
    }
    return key
  }

  // MARK: The peer

  struct PeerFigures {
    var intGets: Double
    var intSets: Double
    var stringGets: Double
    var stringSets: Double
  }

  /// cachetools' TTLCache measured by Peers/cachetools_bench.py on the same key patterns.
  static func cachetools(python: String) -> PeerFigures? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: python)
    p.arguments = [benchSourceDirectory + "/Peers/cachetools_bench.py", String(capacity)]
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard let v = try? JSONParser.parse(Array(data)), let ig = v["intGets"]?.doubleValue,
      let isets = v["intSets"]?.doubleValue, let sg = v["stringGets"]?.doubleValue,
      let ss = v["stringSets"]?.doubleValue
    else { return nil }
    return PeerFigures(intGets: ig, intSets: isets, stringGets: sg, stringSets: ss)
  }

  // MARK: Hit rates

  /// LRU and TinyLFU hit rates, in percent, on the same traces; the cache is filled on each miss (get,
  /// then set when it missed), the way the response cache is used.
  static func hitRateRows() -> [BenchRow] {
    var rows: [BenchRow] = []
    func add(_ workload: String, _ cacheSize: Int, _ trace: [Int]) {
      for admission in [CacheAdmission.lru, .tinyLFU] {
        let rate = hitRate(trace, cacheSize: cacheSize, admission: admission)
        let name = "hit rate, \(workload), cache \(BenchTable.format(Double(cacheSize))): \(admission)"
        rows.append(BenchRow(issue: "#6", name: name, value: rate * 100, unit: "%"))
      }
    }
    let zipf = zipfTrace(keys: 100_000, exponent: 0.99, count: traceLength, seed: 1)
    add("Zipf 0.99 over 100,000 keys", 1_000, zipf)
    add("Zipf 0.99 over 100,000 keys", 10_000, zipf)
    add("sliding working set", 1_000, slidingTrace(window: 500, step: 4, count: traceLength, seed: 2))
    add("sliding working set", 10_000, slidingTrace(window: 5_000, step: 4, count: traceLength, seed: 3))
    add("scan mixed with repeats", 1_000, scanTrace(hot: 500, count: traceLength, seed: 4))
    return rows
  }

  static func hitRate(_ trace: [Int], cacheSize: Int, admission: CacheAdmission) -> Double {
    let cache = LRUCache<Int, Int>(maxEntries: cacheSize, ttlSeconds: nil, admission: admission)
    let warmUp = trace.count / 5
    for (i, key) in trace.enumerated() {
      if i == warmUp { cache.resetStats() }
      if cache.get(key) == nil { cache.set(key, key) }
    }
    return cache.stats.hitRate
  }

  /// Keys 0 ..< keys drawn with probability ∝ 1 / (rank + 1)^exponent.
  static func zipfTrace(keys: Int, exponent: Double, count: Int, seed: UInt64) -> [Int] {
    var cumulative = [Double](repeating: 0, count: keys)
    var total = 0.0
    for rank in 0..<keys {
      total += 1 / pow(Double(rank + 1), exponent)
      cumulative[rank] = total
    }
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
      let u = rng.nextDouble() * total
      var low = 0
      var high = keys - 1
      while low < high {
        let mid = (low + high) / 2
        if cumulative[mid] < u { low = mid + 1 } else { high = mid }
      }
      return low
    }
  }

  /// Recency-heavy: each request picks uniformly from a window of `window` consecutive keys that moves
  /// forward one key every `step` requests, so keys are popular for a while and then never again.
  static func slidingTrace(window: Int, step: Int, count: Int, seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { i in i / step + Int(rng.next() % UInt64(window)) }
  }

  /// Half the requests go uniformly to `hot` keys, the other half scan keys never seen before.
  static func scanTrace(hot: Int, count: Int, seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    var scanned = hot
    return (0..<count).map { _ in
      if rng.next() & 1 == 0 { return Int(rng.next() % UInt64(hot)) }
      scanned += 1
      return scanned
    }
  }
}
