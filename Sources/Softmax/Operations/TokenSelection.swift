// Token selection for sampling: which tokens of one Float row survive top-k, top-p and min-p,
// and which of them a uniform draw picks, without sorting the row.
//
// Every rule keeps a prefix of one order: larger logit first, lower index first among equal
// logits. Top-k keeps the first k; top-p the shortest prefix whose mass reaches a target; min-p
// every entry above a value. So the kept set is a *cut* of that order, found by:
// - a filter for small k: one read, keeping the entries above a rising k-th largest value;
// - a search for the rest: the mass and count above eight cut points in one read
//   (`SelectionKernels.bandMasses`), then only the band between two cuts is gathered and cut
//   again, until a few entries are left to sort.
// The masses are the row's e^((x − max)/T), computed once (the exact normalizer over the whole
// row, like Two-Pass's pass 1); the probabilities reported are recomputed in Double.

internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// A prefix of the selection order: every entry above `value`, then the first `ties` entries
/// (by index) equal to it. `mass` is Σ e^((x − max)/T) over it, `count` its size.
struct SelectionCut {
  var value: Float
  var ties: Int
  var mass: Double
  var count: Int

  /// Whether `self` keeps no more than `other`.
  func isShorter(than other: SelectionCut) -> Bool {
    value > other.value || (value == other.value && ties <= other.ties)
  }
}

/// A key whose ascending order is the selection order: logit descending, then index
/// ascending. NaN is never keyed (the selection skips it).
@inline(__always)
func selectionKey(_ x: Float, _ index: Int32) -> UInt64 {
  // −0 is 0: equal logits, ordered by index.
  let bits = (x == 0 ? 0 : x).bitPattern
  let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
  return UInt64(~ascending) << 32 | UInt64(UInt32(bitPattern: index))
}

/// Sorts n keys in place, ascending: selection order.
func sortKeys(_ keys: UnsafeMutablePointer<UInt64>, _ n: Int) {
  var buffer = UnsafeMutableBufferPointer(start: keys, count: n)
  buffer.sort()
}

@inline(__always)
func selectionKeyValue(_ key: UInt64) -> Float {
  let ascending = ~UInt32(truncatingIfNeeded: key >> 32)
  return Float(bitPattern: ascending & 0x8000_0000 != 0 ? ascending & 0x7FFF_FFFF : ~ascending)
}

@inline(__always)
func selectionKeyIndex(_ key: UInt64) -> Int {
  Int(UInt32(truncatingIfNeeded: key))
}

/// Reusable scratch of a sampler: grown on demand, never shrunk, never copied (a sampler
/// whose storage is shared makes a new one; scratch has nothing to keep).
final class SelectionScratch: @unchecked Sendable {
  private(set) var floats: [UnsafeMutableBufferPointer<Float>]
  private(set) var indices: [UnsafeMutableBufferPointer<Int32>]
  private(set) var keys: UnsafeMutableBufferPointer<UInt64>
  private(set) var weights: UnsafeMutableBufferPointer<Double>

  /// The float regions: the row as Float (converted or penalized), its exponentials, and two
  /// bands' values and exponentials.
  static let row = 0
  static let exps = 1
  static let bandValues = 2  // and 3
  static let bandExps = 4  // and 5

  init() {
    floats = Array(repeating: UnsafeMutableBufferPointer(start: nil, count: 0), count: 6)
    indices = Array(repeating: UnsafeMutableBufferPointer(start: nil, count: 0), count: 2)
    keys = UnsafeMutableBufferPointer(start: nil, count: 0)
    weights = UnsafeMutableBufferPointer(start: nil, count: 0)
  }

  deinit {
    for buffer in floats { buffer.deallocate() }
    for buffer in indices { buffer.deallocate() }
    keys.deallocate()
    weights.deallocate()
  }

  func floats(_ region: Int, _ count: Int) -> UnsafeMutablePointer<Float> {
    if floats[region].count < Swift.max(count, 1) {
      floats[region].deallocate()
      floats[region] = .allocate(capacity: Swift.max(count, floats[region].count * 2, 64))
    }
    return floats[region].baseAddress!
  }

  func indices(_ region: Int, _ count: Int) -> UnsafeMutablePointer<Int32> {
    if indices[region].count < Swift.max(count, 1) {
      indices[region].deallocate()
      indices[region] = .allocate(capacity: Swift.max(count, indices[region].count * 2, 64))
    }
    return indices[region].baseAddress!
  }

  func weights(_ count: Int) -> UnsafeMutablePointer<Double> {
    if weights.count < Swift.max(count, 1) {
      weights.deallocate()
      weights = .allocate(capacity: Swift.max(count, weights.count * 2, 64))
    }
    return weights.baseAddress!
  }

  func keys(_ count: Int) -> UnsafeMutablePointer<UInt64> {
    if keys.count < Swift.max(count, 1) {
      keys.deallocate()
      keys = .allocate(capacity: Swift.max(count, keys.count * 2, 64))
    }
    return keys.baseAddress!
  }
}

/// One row's selection: the row (Float, NaN-free or not), its length, the temperature, the
/// kernels and the scratch.
struct TokenSelection {
  let x: UnsafePointer<Float>
  let count: Int
  let temperature: Float
  let kernels: PassKernels
  let scratch: SelectionScratch

  /// Rows of at most this many entries for top-k are filtered directly; a larger k is found
  /// by the count search.
  static let filteredTopK = 1024
  /// A band this small is sorted.
  static let sortedBand = 192

  // MARK: The largest entry

  /// The largest non-NaN entry (−inf when there is none).
  func maximum() -> Float {
    let m = kernels.max(x, count)
    if !m.isNaN { return m }
    var largest = -Float.infinity
    for i in 0..<count where x[i] > largest { largest = x[i] }
    return largest
  }

  /// The first index of `value`, which the row holds.
  func firstIndex(of value: Float) -> Int {
    let out = scratch.floats(SelectionScratch.bandValues, 4096 + 16)
    let index = scratch.indices(0, 4096 + 16)
    var start = 0
    while start < count {
      let n = Swift.min(4096, count - start)
      let found = kernels.selection.gatherBand(
        x + start, nil, nil, n, value, value.nextUp, out, nil, index)
      if found > 0 { return start + Int(index[0]) }
      start += n
    }
    return 0
  }

  // MARK: Exponentials

  /// Writes e^((x − maximum)/T) to the scratch (NaN entries give 0) and returns it with its
  /// sum, in Double.
  func exponentials(maximum m: Float) -> (UnsafeMutablePointer<Float>, Double) {
    let e = scratch.floats(SelectionScratch.exps, count)
    var sum: Double
    if temperature == 1 {
      sum = kernels.sumAndStoreExp(x, e, count, m)
    } else {
      // (x − max)/T in Double, rounded once: the library's exact temperatures.
      kernels.effectiveLogits(x, e, count, temperature, m, 0, nil, nil)
      sum = kernels.sumAndStoreExp(UnsafePointer(e), e, count, 0)
    }
    if sum.isNaN {
      for i in 0..<count where e[i].isNaN { e[i] = 0 }
      sum = kernels.training.sum(e, count)
    }
    return (e, sum)
  }

  /// e^((x − maximum)/T) in Double, for the probabilities reported.
  @inline(__always)
  func weight(_ value: Float, maximum m: Float) -> Double {
    let z = (Double(value) - Double(m)) / Double(temperature)
    return z.isNaN ? 0 : exp(z)
  }

  // MARK: Small top-k

  /// The first `k` entries of the selection order (−inf and NaN never), as sorted keys in the
  /// scratch; returns them and how many (fewer when the row has fewer finite entries).
  func topCandidates(_ k: Int) -> (UnsafeMutablePointer<UInt64>, Int) {
    let block = 4096
    // Room for what a trim keeps (k + 256), a block (at most 4096, or 4k first) and the 16
    // lanes a gather may store past its count.
    let capacity = 5 * k + block + 512
    let values = scratch.floats(SelectionScratch.bandValues, capacity)
    let index = scratch.indices(0, capacity)
    let keys = scratch.keys(capacity)
    var kept = 0
    var low = -Float.greatestFiniteMagnitude
    // A short first block sets the threshold cheaply: trimming sorts what was kept.
    var start = 0
    var length = Swift.min(count, Swift.max(4 * k, 256))
    while start < count {
      let found = kernels.selection.gatherBand(
        x + start, nil, nil, length, low, .infinity, values + kept, nil, index + kept)
      if start > 0 {
        for i in kept..<(kept + found) { index[i] += Int32(truncatingIfNeeded: start) }
      }
      kept += found
      start += length
      if kept > k + 256 || (start >= count && kept > k) {
        for i in 0..<kept { keys[i] = selectionKey(values[i], index[i]) }
        sortKeys(keys, kept)
        kept = k
        for i in 0..<kept {
          values[i] = selectionKeyValue(keys[i])
          index[i] = Int32(truncatingIfNeeded: selectionKeyIndex(keys[i]))
        }
        // Later entries equal to the k-th lose its tie: only larger ones can enter.
        low = values[k - 1].nextUp
      }
      length = Swift.min(block, count - start)
    }
    for i in 0..<kept { keys[i] = selectionKey(values[i], index[i]) }
    sortKeys(keys, kept)
    return (keys, kept)
  }

  // MARK: The cut search

  /// The shortest prefix of the selection order whose mass (Σ e) reaches `target` or whose
  /// size reaches `countTarget`, over the finite entries (−inf and NaN are never kept); all
  /// of them when neither is reached. e is the row's exponentials.
  func cut(reachingMass target: Double, orCount countTarget: Int, e: UnsafePointer<Float>)
    -> SelectionCut
  {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { cuts in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: 8) { masses in
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 8) { counts in
          search(
            target, countTarget, e: e, cuts: cuts.baseAddress!, masses: masses.baseAddress!,
            counts: counts.baseAddress!)
        }
      }
    }
  }

  private typealias Band = (
    x: UnsafePointer<Float>, e: UnsafePointer<Float>, index: UnsafePointer<Int32>?, count: Int
  )

  private func search(
    _ target: Double, _ countTarget: Int, e: UnsafePointer<Float>,
    cuts: UnsafeMutablePointer<Float>, masses: UnsafeMutablePointer<Double>,
    counts: UnsafeMutablePointer<Int64>
  ) -> SelectionCut {
    // The band under search holds the entries with low ≤ x < high; the prefix above it (every
    // x ≥ high) has `aboveMass` and `aboveCount` and does not reach the target. It starts as
    // the whole row.
    var high = Float.infinity
    var low = -Float.greatestFiniteMagnitude
    var aboveMass = 0.0
    var aboveCount = 0
    var band: Band = (x, e, nil, count)
    var side = 0
    var first = true
    let m = maximum()
    while true {
      if band.count <= Self.sortedBand || !first && isOneValue(band) {
        return finish(band, high: high, aboveMass, aboveCount, target, countTarget)
      }
      // Eight cuts, descending: below the maximum on a scale of T at first (a softmax's mass
      // lives within a few T of its maximum), then evenly across the band.
      if first {
        let steps: [Float] = [0, 0.25, 0.75, 1.5, 3, 6, 12, 24]
        for j in 0..<8 { cuts[j] = Swift.max(m - steps[j] * temperature, low) }
      } else {
        let (bottom, top) = range(band)
        let span = top - bottom
        for j in 0..<8 { cuts[j] = top - span * Float(j) / 8 }
      }
      kernels.selection.bandMasses(band.x, band.e, band.count, cuts, masses, counts)
      // The first cut whose prefix reaches the target bounds the band from below.
      var j = 0
      while j < 8
        && !(aboveMass + masses[j] >= target || aboveCount + Int(counts[j]) >= countTarget)
      {
        j += 1
      }
      let newHigh = j == 0 ? high : cuts[j - 1]
      let newLow = j == 8 ? low : cuts[j]
      if newHigh <= newLow || (newHigh == high && newLow == low) {
        // The cuts did not narrow the band (values closer than a cut step): sort it.
        return finish(band, high: high, aboveMass, aboveCount, target, countTarget)
      }
      if j > 0 {
        aboveMass += masses[j - 1]
        aboveCount += Int(counts[j - 1])
      }
      (high, low) = (newHigh, newLow)
      // Gather the band into the free side's buffers.
      let capacity = band.count + 16
      let outX = scratch.floats(SelectionScratch.bandValues + side, capacity)
      let outE = scratch.floats(SelectionScratch.bandExps + side, capacity)
      let outIndex = scratch.indices(side, capacity)
      let kept = kernels.selection.gatherBand(
        band.x, band.e, band.index, band.count, low, high, outX, outE, outIndex)
      band = (UnsafePointer(outX), UnsafePointer(outE), UnsafePointer(outIndex), kept)
      side = 1 - side
      first = false
    }
  }

  /// Whether every entry of a band has the same value.
  private func isOneValue(_ band: Band) -> Bool {
    let first = band.x[0]
    for i in 1..<band.count where band.x[i] != first { return false }
    return true
  }

  /// The smallest and largest entries of a band (finite, no NaN).
  private func range(_ band: Band) -> (Float, Float) {
    var low = Float.infinity
    var high = -Float.infinity
    for i in 0..<band.count {
      low = Swift.min(low, band.x[i])
      high = Swift.max(high, band.x[i])
    }
    return (low, high)
  }

  /// Sorts the band's finite entries and walks them in selection order until the prefix
  /// reaches the target; all of them if it never does.
  private func finish(
    _ band: Band, high: Float, _ aboveMass: Double, _ aboveCount: Int, _ target: Double,
    _ countTarget: Int
  ) -> SelectionCut {
    // Keyed by position: a band keeps the row's order, so positions order ties as indices do.
    let keys = scratch.keys(band.count)
    var n = 0
    for i in 0..<band.count where band.x[i] >= -.greatestFiniteMagnitude {
      keys[n] = selectionKey(band.x[i], Int32(truncatingIfNeeded: i))
      n += 1
    }
    sortKeys(keys, n)
    var cut = SelectionCut(value: high.nextDown, ties: 0, mass: aboveMass, count: aboveCount)
    for k in 0..<n {
      let position = selectionKeyIndex(keys[k])
      let value = band.x[position]
      cut.ties = value == cut.value ? cut.ties + 1 : 1
      cut.value = value
      cut.mass += Double(band.e[position])
      cut.count += 1
      if cut.mass >= target || cut.count >= countTarget { break }
    }
    return cut
  }
}
