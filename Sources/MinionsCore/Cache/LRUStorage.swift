/// The state of an `LRUCache`: its entries, their recency order and its counters. Not thread-safe:
/// `LRUCache` keeps it in a `Mutex` and every access goes through that lock.
///
/// Entries live in one buffer of nodes, slots `0 ..< count` all initialized (no free list to walk and no
/// per-slot liveness flag). The nodes form a doubly linked list by `Int32` slot index, most recently
/// used at `head`, least at `tail`. `slots` maps a key to its node's slot. Eviction reuses the tail's
/// slot in place; removing an entry moves the last node into the hole (one more dictionary update), so
/// the buffer stays dense. Nothing is allocated per operation once the buffer and dictionary have grown.
@usableFromInline
struct LRUStorage<Key: Hashable, Value>: ~Copyable {
  /// One entry with its links; its fields share a cache line for small keys and values.
  @usableFromInline
  struct Node {
    @usableFromInline var key: Key
    @usableFromInline var value: Value
    /// When the entry was written, in clock nanoseconds.
    @usableFromInline var storedAt: UInt64
    /// The entry's own lifetime in nanoseconds, `LRUStorage.never`, or `LRUStorage.followsDefault`.
    @usableFromInline var lifetime: UInt64
    /// Slot of the next more recently used node, or -1 at the head.
    @usableFromInline var newer: Int32
    /// Slot of the next less recently used node, or -1 at the tail.
    @usableFromInline var older: Int32

    @inlinable
    init(key: Key, value: Value, storedAt: UInt64, lifetime: UInt64) {
      self.key = key
      self.value = value
      self.storedAt = storedAt
      self.lifetime = lifetime
      newer = -1
      older = -1
    }
  }

  /// A lifetime that never ends.
  @usableFromInline static var never: UInt64 { .max }
  /// A node lifetime meaning "the cache's default lifetime, whatever it is when the entry is read".
  @usableFromInline static var followsDefault: UInt64 { .max - 1 }
  /// The largest node buffer: slots are `Int32`.
  @usableFromInline static var slotLimit: Int { Int(Int32.max) }

  @usableFromInline var nodes: UnsafeMutablePointer<Node>
  /// Slots allocated in `nodes`; grows by doubling up to `maxEntries`.
  @usableFromInline var allocated: Int
  /// Initialized slots, `0 ..< count`.
  @usableFromInline var count = 0
  @usableFromInline var head: Int32 = -1
  @usableFromInline var tail: Int32 = -1
  @usableFromInline var slots: [Key: Int32] = [:]
  @usableFromInline var maxEntries: Int
  /// Lifetime of entries written without their own, in nanoseconds, or `never`.
  @usableFromInline var defaultLifetime: UInt64
  @usableFromInline let admission: CacheAdmission
  /// Present when admission is TinyLFU and the cache can hold entries.
  @usableFromInline var sketch: FrequencySketch?

  @usableFromInline var hits = 0
  @usableFromInline var misses = 0
  @usableFromInline var evictions = 0
  @usableFromInline var expirations = 0
  @usableFromInline var rejections = 0
  @usableFromInline var clears = 0

  @usableFromInline
  init(maxEntries: Int, defaultLifetime: UInt64, admission: CacheAdmission) {
    precondition(maxEntries >= 0, "maxEntries must not be negative")
    self.maxEntries = min(maxEntries, Self.slotLimit)
    self.defaultLifetime = defaultLifetime
    self.admission = admission
    allocated = min(self.maxEntries, 64)
    nodes = .allocate(capacity: max(allocated, 1))
    sketch = admission == .tinyLFU && maxEntries > 0 ? FrequencySketch(capacity: maxEntries) : nil
  }

  deinit {
    nodes.deinitialize(count: count)
    nodes.deallocate()
  }

  // MARK: Reading

  /// The lifetime that applies to the node in `slot`.
  @inlinable
  func lifetime(ofSlot slot: Int) -> UInt64 {
    let own = nodes[slot].lifetime
    return own == Self.followsDefault ? defaultLifetime : own
  }

  @inlinable
  func isExpired(slot: Int, now: UInt64) -> Bool {
    let lifetime = lifetime(ofSlot: slot)
    let storedAt = nodes[slot].storedAt
    return lifetime != Self.never && now >= storedAt && now - storedAt >= lifetime
  }

  /// The value for `key`, counting a hit or a miss; a hit becomes the most recently used entry and an
  /// expired entry is removed. `clock` is read only when the entry can expire.
  @inlinable
  mutating func value(for key: Key, clock: () -> UInt64) -> Value? {
    if sketch != nil { sketch!.increment(hash: key.hashValue) }
    guard let index = slots.index(forKey: key) else {
      misses += 1
      return nil
    }
    let slot = Int(slots[index].value)
    if lifetime(ofSlot: slot) != Self.never && isExpired(slot: slot, now: clock()) {
      slots.remove(at: index)
      removeNode(slot: slot)
      expirations += 1
      misses += 1
      return nil
    }
    hits += 1
    makeMostRecent(slot: slot)
    return nodes[slot].value
  }

  // MARK: Writing

  /// Stores `value` for `key` as the most recently used entry. When the cache is full the least recently
  /// used entry makes room (an expiration if it had expired, else an eviction) — unless TinyLFU judges
  /// the new key less popular than that entry, in which case nothing is stored and a rejection is counted.
  @inlinable
  mutating func store(_ value: Value, for key: Key, lifetime: UInt64, now: UInt64) {
    guard maxEntries > 0 else { return }
    let hash = sketch == nil ? 0 : key.hashValue
    if sketch != nil { sketch!.increment(hash: hash) }
    let full = count >= maxEntries
    // One hash for the key: take its slot, or claim one (a fresh slot, or the tail's when full).
    let claimed: Int32 = full ? tail : Int32(count)
    var existing: Int32 = -1
    modifySlot(for: key) { slot in
      if slot < 0 { slot = claimed } else { existing = slot }
    }
    if existing >= 0 {
      let slot = Int(existing)
      nodes[slot].value = value
      nodes[slot].storedAt = now
      nodes[slot].lifetime = lifetime
      makeMostRecent(slot: slot)
      return
    }
    guard full else {
      if count == allocated { grow() }
      (nodes + count).initialize(to: Node(key: key, value: value, storedAt: now, lifetime: lifetime))
      count += 1
      linkAsMostRecent(slot: Int(claimed))
      return
    }
    let victim = Int(claimed)
    let victimExpired = isExpired(slot: victim, now: now)
    if !victimExpired, let sketch, sketch.estimate(hash: hash) <= sketch.estimate(hash: nodes[victim].key.hashValue) {
      slots.removeValue(forKey: key)
      rejections += 1
      return
    }
    if victimExpired { expirations += 1 } else { evictions += 1 }
    slots.removeValue(forKey: nodes[victim].key)
    nodes[victim].key = key
    nodes[victim].value = value
    nodes[victim].storedAt = now
    nodes[victim].lifetime = lifetime
    makeMostRecent(slot: victim)
  }

  /// Gives `body` the slot stored for `key`, or -1 when there is none, and stores what `body` leaves
  /// there; with one lookup. Leaving -1 for a new key is not allowed.
  @inlinable
  mutating func modifySlot(for key: Key, _ body: (inout Int32) -> Void) {
    body(&slots[key, default: -1])
  }

  /// Removes `key`'s entry and returns its value.
  @inlinable
  mutating func removeValue(for key: Key) -> Value? {
    guard let slot = slots.removeValue(forKey: key) else { return nil }
    let value = nodes[Int(slot)].value
    removeNode(slot: Int(slot))
    return value
  }

  /// Empties the cache, keeping its buffers for refilling.
  @usableFromInline
  mutating func removeAll() {
    nodes.deinitialize(count: count)
    count = 0
    head = -1
    tail = -1
    slots.removeAll(keepingCapacity: true)
    clears += 1
  }

  /// Removes every expired entry; returns how many. Walks all entries.
  @usableFromInline
  mutating func removeExpired(now: UInt64) -> Int {
    var removed = 0
    var slot = Int(tail)
    while slot >= 0 {
      let newer = Int(nodes[slot].newer)
      if isExpired(slot: slot, now: now) {
        // The last node moves into `slot`; if it was `newer`, the walk continues from its new place.
        let last = count - 1
        slots.removeValue(forKey: nodes[slot].key)
        removeNode(slot: slot)
        removed += 1
        slot = newer == last ? slot : newer
      } else {
        slot = newer
      }
    }
    expirations += removed
    return removed
  }

  /// Sets the capacity; when it shrinks, least recently used entries are evicted to fit.
  @usableFromInline
  mutating func resize(maxEntries newMax: Int) {
    precondition(newMax >= 0, "maxEntries must not be negative")
    let newMax = min(newMax, Self.slotLimit)
    while count > newMax {
      let victim = Int(tail)
      slots.removeValue(forKey: nodes[victim].key)
      removeNode(slot: victim)
      evictions += 1
    }
    // Give back memory a much larger capacity took.
    if allocated > max(newMax, 64) { reallocate(to: newMax) }
    if slots.capacity > 2 * newMax + 64 {
      var smaller = [Key: Int32](minimumCapacity: count)
      for (key, slot) in slots { smaller[key] = slot }
      slots = smaller
    }
    if admission == .tinyLFU, newMax != maxEntries { sketch = newMax > 0 ? FrequencySketch(capacity: newMax) : nil }
    maxEntries = newMax
  }

  // MARK: The list

  /// Moves the node in `slot` to the head.
  @inlinable
  mutating func makeMostRecent(slot: Int) {
    let s = Int32(truncatingIfNeeded: slot)
    guard head != s else { return }
    unlink(slot: slot)
    linkAsMostRecent(slot: slot)
  }

  @inlinable
  mutating func linkAsMostRecent(slot: Int) {
    let s = Int32(truncatingIfNeeded: slot)
    nodes[slot].newer = -1
    nodes[slot].older = head
    if head >= 0 { nodes[Int(head)].newer = s } else { tail = s }
    head = s
  }

  @inlinable
  mutating func unlink(slot: Int) {
    let newer = nodes[slot].newer
    let older = nodes[slot].older
    if newer >= 0 { nodes[Int(newer)].older = older } else { head = older }
    if older >= 0 { nodes[Int(older)].newer = newer } else { tail = newer }
  }

  /// Unlinks and destroys the node in `slot` (whose key the caller has taken out of `slots`), then moves
  /// the last node into the hole.
  @inlinable
  mutating func removeNode(slot: Int) {
    unlink(slot: slot)
    let last = count - 1
    (nodes + slot).deinitialize(count: 1)
    count -= 1
    guard slot != last else { return }
    (nodes + slot).moveInitialize(from: nodes + last, count: 1)
    let s = Int32(truncatingIfNeeded: slot)
    let newer = nodes[slot].newer
    let older = nodes[slot].older
    if newer >= 0 { nodes[Int(newer)].older = s } else { head = s }
    if older >= 0 { nodes[Int(older)].newer = s } else { tail = s }
    slots[nodes[slot].key] = s
  }

  /// Whether the list, the dictionary and the counts agree: every slot is on the list once, in both
  /// directions, and `slots` maps each node's key to its slot. For tests; walks everything.
  func isConsistent() -> Bool {
    guard count <= maxEntries, count <= allocated, slots.count == count else { return false }
    var seen = 0
    var slot = head
    var newer: Int32 = -1
    while slot >= 0 {
      guard seen < count, Int(slot) < count, nodes[Int(slot)].newer == newer,
        slots[nodes[Int(slot)].key] == slot
      else { return false }
      seen += 1
      newer = slot
      slot = nodes[Int(slot)].older
    }
    return seen == count && tail == newer
  }

  @usableFromInline
  mutating func grow() {
    reallocate(to: min(max(allocated * 2, 64), maxEntries))
  }

  @usableFromInline
  mutating func reallocate(to capacity: Int) {
    precondition(capacity >= count)
    let fresh = UnsafeMutablePointer<Node>.allocate(capacity: max(capacity, 1))
    fresh.moveInitialize(from: nodes, count: count)
    nodes.deallocate()
    nodes = fresh
    allocated = capacity
  }
}
