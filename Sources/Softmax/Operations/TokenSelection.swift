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
/// (by index) equal to it. `mass` is Σ e^((x − max)/T) over it, `count` its size; `allTies`
/// says that no entry equal to `value` is left out, so the prefix is every x ≥ ``threshold``.
struct SelectionCut {
  var value: Float
  var ties: Int
  var mass: Double
  var count: Int
  var allTies = true

  /// The prefix as x ≥ threshold, when it keeps every entry equal to `value` or none.
  var threshold: Float? {
    allTies ? (ties > 0 ? value : value.nextUp) : nil
  }

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

/// Sorts n keys in place, ascending: selection order. A quicksort (median of three,
/// insertion sort below 24 keys, the larger side pushed so the stack stays logarithmic):
/// Swift's `sort` is a merge sort that allocates its buffer on every call.
func sortKeys(_ keys: UnsafeMutablePointer<UInt64>, _ n: Int) {
  var low = 0
  var high = n - 1
  withUnsafeTemporaryAllocation(of: (Int, Int).self, capacity: 64) { stack in
    var depth = 0
    while true {
      while high - low >= 24 {
        let (j, i) = partition(keys, low, high)
        // Push the larger side, go on with the smaller one.
        if j - low < high - i {
          stack[depth] = (i, high)
          high = j
        } else {
          stack[depth] = (low, j)
          low = i
        }
        depth += 1
      }
      if low < high {
        for a in (low + 1)...high {
          let key = keys[a]
          var b = a - 1
          while b >= low && keys[b] > key {
            keys[b + 1] = keys[b]
            b -= 1
          }
          keys[b + 1] = key
        }
      }
      if depth == 0 { return }
      depth -= 1
      (low, high) = stack[depth]
    }
  }
}

/// Hoare's partition of keys[low...high] around the median of the first, middle and last
/// (which it sorts in place): returns (j, i) with keys[low...j] ≤ pivot ≤ keys[i...high] and
/// j < i; between them, if anything, the pivot.
private func partition(_ keys: UnsafeMutablePointer<UInt64>, _ low: Int, _ high: Int) -> (Int, Int)
{
  let middle = low + (high - low) / 2
  if keys[middle] < keys[low] { keys.swapAt(middle, low) }
  if keys[high] < keys[low] { keys.swapAt(high, low) }
  if keys[high] < keys[middle] { keys.swapAt(high, middle) }
  let pivot = keys[middle]
  var i = low
  var j = high
  while i <= j {
    while keys[i] < pivot { i += 1 }
    while keys[j] > pivot { j -= 1 }
    if i <= j {
      keys.swapAt(i, j)
      i += 1
      j -= 1
    }
  }
  return (j, i)
}

/// Reorders n keys so that the k smallest come first (in no order): quickselect, median of
/// three, linear on average.
func selectSmallest(_ keys: UnsafeMutablePointer<UInt64>, _ n: Int, _ k: Int) {
  var low = 0
  var high = n - 1
  while low < high {
    let (j, i) = partition(keys, low, high)
    if k - 1 <= j {
      high = j
    } else if k - 1 >= i {
      low = i
    } else {
      return
    }
  }
}

extension UnsafeMutablePointer where Pointee == UInt64 {
  @inline(__always)
  fileprivate func swapAt(_ a: Int, _ b: Int) {
    let t = self[a]
    self[a] = self[b]
    self[b] = t
  }
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

  /// The first index of `value`, which the row holds (+inf included).
  func firstIndex(of value: Float) -> Int {
    if value == .infinity {
      // The gather's band [value, value.nextUp) is empty at +inf, whose nextUp is itself.
      for i in 0..<count where x[i] == value { return i }
      return 0
    }
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
    return (e, exponentials(of: x, count, into: e, maximum: m))
  }

  /// Writes e^((v − maximum)/T) of n values to `e` (NaN values give 0) and returns their sum,
  /// in Double.
  func exponentials(
    of v: UnsafePointer<Float>, _ n: Int, into e: UnsafeMutablePointer<Float>, maximum m: Float
  ) -> Double {
    var sum: Double
    if temperature == 1 {
      sum = kernels.sumAndStoreExp(v, e, n, m)
    } else if temperature >= 0x1p-126 && temperature < 0x1p120 {
      // (x − max)/T as exact as in Double, in one read. x − max overflows Float where it is
      // below −3.4e38 (x = −3.4e38, max = 3.4e38); below T = 2^120 the quotient is then
      // below −87.3, whose exponential is under 2^-126 and counts as 0 anyway.
      sum = kernels.selection.temperedExps(v, e, n, m, temperature)
    } else {
      // (x − max)/T in Double, rounded once: the library's exact temperatures (tiny ones,
      // and huge ones, whose moderate quotients the one-read kernel lost as −inf/T = −inf).
      kernels.effectiveLogits(v, e, n, temperature, m, 0, nil, nil)
      sum = kernels.sumAndStoreExp(UnsafePointer(e), e, n, 0)
    }
    if sum.isNaN {
      for i in 0..<n where e[i].isNaN { e[i] = 0 }
      sum = kernels.training.sum(e, n)
    }
    return sum
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
    // Room for what a trim keeps (k + slack), a block (at most 4096, or 4k first) and the 16
    // lanes a gather may store past its count.
    let slack = Swift.max(k, 256)
    let first = Swift.min(count, Swift.max(4 * k, 256))
    let capacity = k + slack + Swift.max(block, first) + 16
    let values = scratch.floats(SelectionScratch.bandValues, capacity)
    let index = scratch.indices(0, capacity)
    let keys = scratch.keys(capacity)
    var kept = 0
    var low = -Float.greatestFiniteMagnitude
    // A short first block sets the threshold; later blocks add only entries above it, and a
    // trim (a selection, not a sort) raises it when they pile up.
    var start = 0
    var length = first
    while start < count {
      let found = kernels.selection.gatherBand(
        x + start, nil, nil, length, low, .infinity, values + kept, nil, index + kept)
      for i in kept..<(kept + found) {
        keys[i] = selectionKey(values[i], index[i] + Int32(truncatingIfNeeded: start))
      }
      kept += found
      start += length
      length = Swift.min(block, count - start)
      if kept > k && (start == first || kept > k + slack) {
        selectSmallest(keys, kept, k)
        kept = k
        var largest: UInt64 = 0
        for i in 0..<k { largest = Swift.max(largest, keys[i]) }
        // Later entries equal to the k-th lose its tie: only larger ones can enter.
        low = selectionKeyValue(largest).nextUp
      }
    }
    if kept > k {
      selectSmallest(keys, kept, k)
      kept = k
    }
    sortKeys(keys, kept)
    return (keys, kept)
  }

  // MARK: The cut search

  /// The shortest prefix of the selection order whose mass (Σ e) reaches `target` or whose
  /// size reaches `countTarget`, over the finite entries (−inf and NaN are never kept); all
  /// of them when neither is reached. e is the row's exponentials.
  func cut(
    reachingMass target: Double, orCount countTarget: Int, e: UnsafePointer<Float>,
    total: Double
  ) -> SelectionCut {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 8) { cuts in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: 8) { masses in
        withUnsafeTemporaryAllocation(of: Int64.self, capacity: 8) { counts in
          search(
            target, countTarget, e: e, total: total, cuts: cuts.baseAddress!,
            masses: masses.baseAddress!,
            counts: counts.baseAddress!)
        }
      }
    }
  }

  private typealias Band = (
    x: UnsafePointer<Float>, e: UnsafePointer<Float>, index: UnsafePointer<Int32>?, count: Int
  )

  private func search(
    _ target: Double, _ countTarget: Int, e: UnsafePointer<Float>, total: Double,
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
    if count > Self.sortedBand {
      // One read brackets the target from a sample's estimate and gathers the bracket.
      (band, high, low, aboveMass, aboveCount) = firstBracket(
        target, countTarget, e: e, total: total)
      side = 1
    }
    while true {
      if band.count <= Self.sortedBand || isOneValue(band) {
        return finish(band, high: high, aboveMass, aboveCount, target, countTarget)
      }
      // Eight cuts, descending, evenly across the band, placed in Double: a band's span can
      // exceed Float's range (−3.4e38 to 3.4e38 is 6.8e38), and in Float it became inf, so
      // the cuts were −inf and NaN, the next band was empty and the row kept nothing.
      if high.isFinite && low > -.greatestFiniteMagnitude {
        let span = Double(high) - Double(low)
        for j in 0..<8 { cuts[j] = Float(Double(high) - span * Double(j + 1) / 9) }
      } else {
        let (bottom, top) = range(band)
        let span = Double(top) - Double(bottom)
        for j in 0..<8 { cuts[j] = Float(Double(top) - span * Double(j) / 8) }
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
    }
  }

  /// The first band of a search, in one read of the row: a sample of 512 entries, spread
  /// evenly over the row and sorted, stands for the row (each for count/512 entries); the
  /// bracket runs from a few sample ranks above the one where the sample's estimate reaches
  /// the target to a few more below (mass estimates err downwards), and `bracketBand`
  /// gathers it while summing what lies above. A bracket that misses moves outward, four
  /// times as far each time, until it reaches the maximum or the row's end.
  ///
  /// The mass the sample misses (the row's total minus the sample's estimate of it) sits
  /// above the largest sample: a peaked row's few large entries are rarely sampled. When that
  /// alone reaches the target, the bracket is everything above the largest sample.
  private func firstBracket(
    _ target: Double, _ countTarget: Int, e: UnsafePointer<Float>, total: Double
  ) -> (Band, high: Float, low: Float, aboveMass: Double, aboveCount: Int) {
    let samples = Swift.min(count, 512)
    let step = count / samples
    let weight = Double(count) / Double(samples)
    return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: samples) { keys in
      var n = 0
      for k in 0..<samples {
        let i = k * step
        if x[i] >= -.greatestFiniteMagnitude {
          keys[n] = selectionKey(x[i], Int32(truncatingIfNeeded: i))
          n += 1
        }
      }
      sortKeys(keys.baseAddress!, n)
      var estimate = 0.0
      for k in 0..<n { estimate += Double(e[selectionKeyIndex(keys[k])]) * weight }
      // A sample that overestimates the total is scaled down to it; one that falls short
      // leaves the rest to the entries above its largest.
      var mass = Swift.max(0, total - estimate)
      let scale = estimate > total ? total / estimate * weight : weight
      // Ranks of the bracket's ends in the sample; nil: +inf above, the row's end below.
      var upper: Int?
      var lower: Int?
      var up = 8
      var down = 16
      if n == 0 || (mass >= target && Double(countTarget) > weight) {
        lower = n > 0 ? 0 : nil
      } else {
        var r = 0
        while r < n - 1 {
          mass += Double(e[selectionKeyIndex(keys[r])]) * scale
          if mass >= target || Double(r + 1) * weight >= Double(countTarget) { break }
          r += 1
        }
        upper = r - up >= 0 ? r - up : nil
        lower = r + down < n ? r + down : nil
      }
      let capacity = count + 16
      let outX = scratch.floats(SelectionScratch.bandValues, capacity)
      let outE = scratch.floats(SelectionScratch.bandExps, capacity)
      let outIndex = scratch.indices(0, capacity)
      while true {
        let high = upper.map { selectionKeyValue(keys[$0]) } ?? .infinity
        let low = lower.map { selectionKeyValue(keys[$0]) } ?? -.greatestFiniteMagnitude
        let found = kernels.selection.bracketBand(x, e, count, low, high, outX, outE, outIndex)
        if let u = upper, found.aboveMass >= target || found.aboveCount >= countTarget {
          // The target lies above the bracket.
          lower = u
          up *= 4
          upper = u - up >= 0 ? u - up : nil
          continue
        }
        if let l = lower,
          !(found.aboveMass + found.bandMass >= target
            || found.aboveCount + found.count >= countTarget)
        {
          // The target lies below it.
          upper = l
          down *= 4
          lower = l + down < n ? l + down : nil
          continue
        }
        let band: Band = (
          UnsafePointer(outX), UnsafePointer(outE), UnsafePointer(outIndex), found.count
        )
        return (band, high, low, found.aboveMass, found.aboveCount)
      }
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
    var lows = SIMD16<Float>(repeating: .infinity)
    var highs = SIMD16<Float>(repeating: -.infinity)
    var i = 0
    while i + 16 <= band.count {
      let v = UnsafeRawPointer(band.x + i).loadUnaligned(as: SIMD16<Float>.self)
      // Compare and blend: pointwiseMin/Max keep NaN semantics lane by lane, in scalar code.
      lows.replace(with: v, where: v .< lows)
      highs.replace(with: v, where: v .> highs)
      i += 16
    }
    for k in i..<band.count {
      low = Swift.min(low, band.x[k])
      high = Swift.max(high, band.x[k])
    }
    return (Swift.min(low, lows.min()), Swift.max(high, highs.max()))
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
    // Entries equal to the value that the walk did not reach are left out.
    var equal = 0
    for i in 0..<n where selectionKeyValue(keys[i]) == cut.value { equal += 1 }
    cut.allTies = cut.ties == 0 || equal == cut.ties
    return cut
  }
}
