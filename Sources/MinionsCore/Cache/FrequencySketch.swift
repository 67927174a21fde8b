/// A count-min sketch of 4-bit counters that estimates how often keys were seen recently: the frequency
/// filter of TinyLFU admission.
///
/// Four rows of `width` counters (a power of two), sixteen counters to a 64-bit word. A key's counter in
/// each row is picked from its hash by multiplying with a different odd constant and taking the top bits;
/// the estimate is the smallest of its four counters (collisions only ever add). Counters saturate at 15.
/// After `sampleSize` increments every counter is halved ("aging") so the sketch follows what is popular
/// now rather than what was popular once.
@usableFromInline
struct FrequencySketch {
  /// Row `r` is words `r * wordsPerRow ..< (r + 1) * wordsPerRow`.
  @usableFromInline var table: [UInt64]
  @usableFromInline let wordsPerRow: Int
  /// `64 - log2(width)`: shifting a 64-bit product right by it leaves a counter index below `width`.
  @usableFromInline let indexShift: UInt64
  /// Increments between two agings.
  @usableFromInline let sampleSize: Int
  /// Increments since the last aging, halved at each aging like the counters.
  @usableFromInline var additions = 0
  /// How many times the counters were halved.
  @usableFromInline var agings = 0

  /// A sketch sized for a cache of `capacity` entries: width is `capacity` rounded up to a power of two
  /// (at least 16) and aging comes after `10 × capacity` increments.
  @usableFromInline
  init(capacity: Int) {
    self.init(width: capacity, sampleSize: 10 * max(1, capacity))
  }

  /// `width` is rounded up to a power of two of at least 16.
  @usableFromInline
  init(width: Int, sampleSize: Int) {
    var rounded = 16
    while rounded < width { rounded <<= 1 }
    wordsPerRow = rounded / 16
    indexShift = UInt64(64 - rounded.trailingZeroBitCount)
    table = Array(repeating: 0, count: 4 * wordsPerRow)
    self.sampleSize = max(1, sampleSize)
  }

  /// Odd multipliers, one per row, from the 64-bit golden ratio and other well-mixing constants.
  @inlinable
  static func multiplier(row: Int) -> UInt64 {
    switch row {
    case 0: return 0x9E37_79B9_7F4A_7C15
    case 1: return 0xC2B2_AE3D_27D4_EB4F
    case 2: return 0x1656_67B1_9E37_79F9
    default: return 0xD6E8_FEB8_6659_FD93
    }
  }

  /// The word and bit shift of `hash`'s counter in `row`.
  @inlinable
  func position(row: Int, hash: Int) -> (word: Int, shift: UInt64) {
    let mixed = UInt64(bitPattern: Int64(hash)) &* Self.multiplier(row: row)
    let counter = Int(truncatingIfNeeded: mixed >> indexShift)
    return (row * wordsPerRow + counter >> 4, UInt64(counter & 15) << 2)
  }

  /// Counts one sighting of the key with this hash; ages the sketch when the sample is full.
  @inlinable
  mutating func increment(hash: Int) {
    var added = false
    for row in 0..<4 {
      let (word, shift) = position(row: row, hash: hash)
      if (table[word] >> shift) & 0xF < 15 {
        table[word] &+= 1 << shift
        added = true
      }
    }
    guard added else { return }
    additions += 1
    if additions >= sampleSize { age() }
  }

  /// The estimated number of recent sightings of the key with this hash (0…15).
  @inlinable
  func estimate(hash: Int) -> Int {
    var least: UInt64 = 15
    for row in 0..<4 {
      let (word, shift) = position(row: row, hash: hash)
      least = min(least, (table[word] >> shift) & 0xF)
    }
    return Int(least)
  }

  /// Halves every counter (and the count of additions), forgetting old popularity by half.
  @usableFromInline
  mutating func age() {
    for i in table.indices { table[i] = (table[i] >> 1) & 0x7777_7777_7777_7777 }
    additions /= 2
    agings += 1
  }
}
