// One row of token sampling: the options applied in their documented order (penalties,
// temperature, top-k, top-p, min-p), then a draw, the kept distribution, or the top
// log-probabilities of the whole row. The selection itself is in TokenSelection.swift.

internal import SoftmaxKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

/// What a row keeps after its options.
enum SamplingSelection {
  /// No token has a probability: every logit is −inf or NaN.
  case empty
  /// Some logits are +inf: they share the probability equally; the first `count` of them (by
  /// index) are kept.
  case infinite(count: Int)
  /// The kept tokens listed in selection order: `keys` (logit and index), their weights
  /// e^((x − max)/T) in Double and the weights' running sums.
  case listed(
    keys: UnsafeMutablePointer<UInt64>, cumulative: UnsafeMutablePointer<Double>, count: Int)
  /// A prefix of the row's selection order over the row's exponentials `e`; nil keeps every
  /// entry, whose exponentials sum to `total`.
  case cut(SelectionCut?, e: UnsafePointer<Float>, total: Double)
}

extension TokenSelection {
  /// The row after top-k, top-p and min-p (the temperature is the selection's; penalties were
  /// applied to the row). Greedy rows (T = 0) never come here.
  func select(topK: Int, topP: Float, minP: Float) -> SamplingSelection {
    let m = maximum()
    if m == -.infinity { return .empty }
    if m == .infinity {
      var number = 0
      for i in 0..<count where x[i] == .infinity { number += 1 }
      if topK > 0 { number = Swift.min(number, topK) }
      if topP < 1 {
        // Equal shares: the shortest prefix reaching topP has ⌈topP · n⌉ entries.
        number = Swift.max(1, Swift.min(number, Int((Double(topP) * Double(number)).rounded(.up))))
      }
      return .infinite(count: number)
    }
    let minimum = minP > 0 ? minimumKept(minP, maximum: m) : -.greatestFiniteMagnitude
    if topK > 0 && topK <= Self.filteredTopK {
      return listed(topK: topK, topP: topP, minimum: minimum, maximum: m)
    }
    if topK == 0 && topP == 1 && minP > 0 && fewAtLeast(minimum),
      let selection = listed(atLeast: minimum, maximum: m)
    {
      return selection
    }
    let (e, total) = exponentials(maximum: m)
    var kept: SelectionCut?
    if topK > 0 {
      kept = cut(reachingMass: .infinity, orCount: topK, e: e, total: total)
    }
    if topP < 1 {
      let mass = Double(topP) * (kept?.mass ?? total)
      let byMass = cut(reachingMass: mass, orCount: kept?.count ?? .max, e: e, total: total)
      if kept == nil || byMass.isShorter(than: kept!) { kept = byMass }
    }
    if minP > 0 {
      let byValue = valueCut(minimum, e: e)
      if kept == nil || byValue.isShorter(than: kept!) { kept = byValue }
    }
    return .cut(kept, e: e, total: total)
  }

  /// The smallest Float x with (x − max)/T ≥ ln(minP), computed in Double: min-p keeps the
  /// entries at or above it.
  func minimumKept(_ minP: Float, maximum m: Float) -> Float {
    let bound = Double(m) + Double(temperature) * log(Double(minP))
    if bound <= -Double(Float.greatestFiniteMagnitude) { return -.greatestFiniteMagnitude }
    var value = Float(bound)
    if Double(value) < bound { value = value.nextUp }
    return value
  }

  /// The entries at or above `minimum`, as a cut with their mass and count.
  private func valueCut(_ minimum: Float, e: UnsafePointer<Float>) -> SelectionCut {
    let (mass, number) = kernels.selection.massAbove(x, e, count, minimum)
    return SelectionCut(value: minimum.nextDown, ties: 0, mass: mass, count: number)
  }

  /// Whether a sample of 512 entries says that about 1024 or fewer are at or above `minimum`.
  private func fewAtLeast(_ minimum: Float) -> Bool {
    let samples = Swift.min(count, 512)
    let step = count / samples
    var above = 0
    for k in 0..<samples where x[k * step] >= minimum { above += 1 }
    return above * count <= Self.filteredTopK * samples
  }

  /// Min-p alone: the entries at or above `minimum` listed when there are at most 4096, found
  /// by one read that compares only (no exponentials); nil when there are more.
  private func listed(atLeast minimum: Float, maximum m: Float) -> SamplingSelection? {
    let values = scratch.floats(SelectionScratch.bandValues, count + 16)
    let index = scratch.indices(0, count + 16)
    let found = kernels.selection.gatherBand(
      x, nil, nil, count, minimum, .infinity, values, nil, index)
    guard found <= 4 * Self.filteredTopK else { return nil }
    let keys = scratch.keys(found)
    for i in 0..<found { keys[i] = selectionKey(values[i], index[i]) }
    sortKeys(keys, found)
    let cumulative = scratch.weights(found)
    var sum = 0.0
    var number = 0
    for i in 0..<found {
      let w = weight(selectionKeyValue(keys[i]), maximum: m)
      if w == 0 { break }
      sum += w
      cumulative[i] = sum
      number += 1
    }
    return .listed(keys: keys, cumulative: cumulative, count: number)
  }

  /// Small top-k: the k candidates listed, then top-p and min-p on them.
  private func listed(topK: Int, topP: Float, minimum: Float, maximum m: Float)
    -> SamplingSelection
  {
    let (keys, found) = topCandidates(topK)
    let cumulative = scratch.weights(found)
    var sum = 0.0
    var number = 0
    for i in 0..<found {
      let value = selectionKeyValue(keys[i])
      let w = weight(value, maximum: m)
      // Sorted, so the first zero weight or value below min-p ends the list.
      if w == 0 || value < minimum { break }
      sum += w
      cumulative[i] = sum
      number += 1
    }
    if topP < 1 && number > 0 {
      let target = Double(topP) * sum
      var i = 0
      while i < number - 1 && cumulative[i] < target { i += 1 }
      number = i + 1
    }
    return .listed(keys: keys, cumulative: cumulative, count: number)
  }

  // MARK: Draws

  /// The token that the uniform draw u ∈ [0, 1) picks from a selection.
  func draw(_ selection: SamplingSelection, _ u: Double) -> Int {
    switch selection {
    case .empty:
      return firstNonNaN()
    case .infinite(let number):
      var rank = Swift.min(Int(u * Double(number)), number - 1)
      for i in 0..<count where x[i] == .infinity {
        if rank == 0 { return i }
        rank -= 1
      }
      return 0
    case .listed(let keys, let cumulative, let number):
      let v = u * cumulative[number - 1]
      var i = 0
      while i < number - 1 && cumulative[i] <= v { i += 1 }
      return selectionKeyIndex(keys[i])
    case .cut(let kept, let e, let total):
      guard let kept else { return walk(e, nil, count, u * total) }
      if let threshold = kept.threshold { return walk(above: threshold, e, u * kept.mass) }
      let (_, exps, index, n) = gatherKept(kept, e)
      return walk(UnsafePointer(exps), index, n, u * kept.mass)
    }
  }

  /// The first index whose logit is not NaN (0 for an all-NaN row): the draw of an empty
  /// selection.
  func firstNonNaN() -> Int {
    for i in 0..<count where !x[i].isNaN { return i }
    return 0
  }

  /// The entries of a cut, in index order (values, exponentials, indices, count); ties beyond
  /// the cut's have exponential 0.
  func gatherKept(_ kept: SelectionCut, _ e: UnsafePointer<Float>)
    -> (UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Int32>, Int)
  {
    let values = scratch.floats(SelectionScratch.bandValues, count + 16)
    let exps = scratch.floats(SelectionScratch.bandExps, count + 16)
    let index = scratch.indices(0, count + 16)
    let n = kernels.selection.gatherBand(
      x, e, nil, count, kept.value, .infinity, values, exps, index)
    if n > kept.count {
      // The band included every entry equal to the cut's value; keep the first `ties`.
      var ties = 0
      for i in 0..<n where values[i] == kept.value {
        ties += 1
        if ties > kept.ties { exps[i] = 0 }
      }
    }
    return (values, exps, index, n)
  }

  /// The entry at which the running sum of e first exceeds v (index[i] when given), walking
  /// blocks of 1024 by their sums first; the last entry with e > 0 if rounding leaves v
  /// beyond the total.
  func walk(
    _ e: UnsafePointer<Float>, _ index: UnsafePointer<Int32>?, _ n: Int, _ v: Double
  ) -> Int {
    var sum = 0.0
    var start = 0
    var lastPositive = 0
    while start < n {
      let length = Swift.min(1024, n - start)
      let block = kernels.training.blockSum(e + start, length)
      if sum + block > v {
        for i in start..<(start + length) where e[i] > 0 {
          sum += Double(e[i])
          lastPositive = i
          if sum > v { return index.map { Int($0[i]) } ?? i }
        }
      } else {
        sum += block
        if block > 0 {
          var i = start + length - 1
          while e[i] == 0 { i -= 1 }
          lastPositive = i
        }
      }
      start += length
    }
    return index.map { Int($0[lastPositive]) } ?? lastPositive
  }

  /// The entry with x ≥ threshold at which the running sum of e first exceeds v, walking
  /// blocks of 1024 by their kept mass first (the row is not gathered); the last kept entry
  /// with e > 0 if rounding leaves v beyond the total.
  private func walk(above threshold: Float, _ e: UnsafePointer<Float>, _ v: Double) -> Int {
    var sum = 0.0
    var start = 0
    var lastPositive = 0
    while start < count {
      let length = Swift.min(1024, count - start)
      let block = kernels.selection.massAbove(x + start, e + start, length, threshold).mass
      if sum + block > v {
        for i in start..<(start + length) where x[i] >= threshold && e[i] > 0 {
          sum += Double(e[i])
          lastPositive = i
          if sum > v { return i }
        }
      } else {
        sum += block
        if block > 0 {
          var i = start + length - 1
          while !(x[i] >= threshold && e[i] > 0) { i -= 1 }
          lastPositive = i
        }
      }
      start += length
    }
    return lastPositive
  }

  // MARK: The kept distribution

  /// The kept tokens with their probabilities renormalized over the kept set (in Double,
  /// rounded once), most probable first; none for an empty selection.
  func distribution(_ selection: SamplingSelection) -> [(token: Int, probability: Float)] {
    switch selection {
    case .empty:
      return []
    case .infinite(let number):
      var result: [(token: Int, probability: Float)] = []
      result.reserveCapacity(number)
      for i in 0..<count where x[i] == .infinity && result.count < number {
        result.append((i, Float(1 / Double(number))))
      }
      return result
    case .listed(let keys, let cumulative, let number):
      // Each weight again rather than differences of the running sums, which lose the
      // small ones' digits.
      let total = cumulative[number - 1]
      let m = selectionKeyValue(keys[0])
      return (0..<number).map { i in
        (selectionKeyIndex(keys[i]), Float(weight(selectionKeyValue(keys[i]), maximum: m) / total))
      }
    case .cut(let kept, let e, let total):
      // No cut keeps every finite entry: all x ≥ −Float.greatestFiniteMagnitude, ties
      // included. (`-.greatestFiniteMagnitude.nextDown` was −(that.nextDown), which left out
      // every −greatestFiniteMagnitude, so a row of them kept nothing.)
      let cut =
        kept
        ?? SelectionCut(value: -.greatestFiniteMagnitude, ties: count, mass: total, count: count)
      let (values, _, index, n) = gatherKept(cut, e)
      if n == 0 { return [] }
      let keys = scratch.keys(n)
      for i in 0..<n { keys[i] = selectionKey(values[i], index[i]) }
      sortKeys(keys, n)
      let number = Swift.min(n, cut.count)
      let m = selectionKeyValue(keys[0])
      let weights = scratch.weights(number)
      var sum = CompensatedDouble()
      for i in 0..<number {
        weights[i] = weight(selectionKeyValue(keys[i]), maximum: m)
        sum.add(weights[i])
      }
      let total = sum.value
      var result: [(token: Int, probability: Float)] = []
      result.reserveCapacity(number)
      for i in 0..<number where weights[i] > 0 {
        result.append((selectionKeyIndex(keys[i]), Float(weights[i] / total)))
      }
      return result
    }
  }

  // MARK: Log-probabilities

  /// The `n` most probable tokens of the whole row's distribution at this temperature and
  /// their natural-log probabilities, most probable first.
  func topLogProbabilities(_ n: Int) -> [(token: Int, logProbability: Float)] {
    let m = maximum()
    if m == -.infinity || n == 0 { return [] }
    if m == .infinity {
      let selection = select(topK: n, topP: 1, minP: 0)
      guard case .infinite(let number) = selection else { return [] }
      var shares = 0
      for i in 0..<count where x[i] == .infinity { shares += 1 }
      let logShare = Float(-log(Double(shares)))
      return distribution(.infinite(count: number)).map { ($0.token, logShare) }
    }
    let (_, total) = exponentials(maximum: m)
    let logTotal = log(total)
    let keys: UnsafeMutablePointer<UInt64>
    let found: Int
    if n <= Self.filteredTopK {
      (keys, found) = topCandidates(n)
    } else {
      let e = scratch.floats(SelectionScratch.exps, count)
      let kept = cut(reachingMass: .infinity, orCount: n, e: e, total: total)
      let (values, _, index, gathered) = gatherKept(kept, e)
      keys = scratch.keys(gathered)
      for i in 0..<gathered { keys[i] = selectionKey(values[i], index[i]) }
      sortKeys(keys, gathered)
      found = Swift.min(gathered, n)
    }
    return (0..<found).map { i in
      let value = selectionKeyValue(keys[i])
      let z = (Double(value) - Double(m)) / Double(temperature)
      return (selectionKeyIndex(keys[i]), Float(z - logTotal))
    }
  }
}

/// A Neumaier-compensated running sum.
struct CompensatedDouble {
  private var sum = 0.0
  private var compensation = 0.0

  mutating func add(_ term: Double) {
    let t = sum + term
    compensation += abs(sum) >= abs(term) ? (sum - t) + term : (term - t) + sum
    sum = t
  }

  var value: Double { sum + compensation }
}
