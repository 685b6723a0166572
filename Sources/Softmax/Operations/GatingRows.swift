internal import SoftmaxKernels

// Mixture-of-experts gating on the worker pool: tokens (rows of `experts` logits) are spread
// over the threads in blocks of consecutive tokens, each token computed whole by one thread,
// so the results do not depend on the thread count. Per token:
//
//   softmax methods: one read of the logits keeps the k largest (a sorted list of k, entered
//       only by a logit above its last: no sort of the row), then k exponentials in Double;
//       plain softmax top-k adds the table's Σ e^(x − max) over the row;
//   sigmoid grouped: the scores of the row in Double (rounded to the compute type), the
//       group scores, the kept groups, the k best biased scores among them, k weights.
//
// Then the k (weight, id) pairs are put in the documented order (weight descending, id
// ascending) and written. The per-expert counts are the histogram of the ids, taken after
// all the rows, in one pass.

/// The compute types of gating: Float (for Float and Float16 logits) and Double.
protocol GatingCompute: BinaryFloatingPoint {
  /// Σ e^(x_i − shift) over a row, by the kernel table.
  static func sumExp(_ x: UnsafePointer<Self>, count: Int, shift: Self) -> Double
  /// e^(x_i − shift) of `count` values ≤ shift into `terms` (as Double), `scratch` (count
  /// values) used on the way; returns their sum in order.
  static func exponentials(
    _ x: UnsafePointer<Self>, count: Int, shift: Self, into terms: UnsafeMutablePointer<Double>,
    scratch: UnsafeMutablePointer<Self>
  ) -> Double
}

extension Float: GatingCompute {
  static func sumExp(_ x: UnsafePointer<Float>, count: Int, shift: Float) -> Double {
    PassKernels.selected.sumExp(x, count, shift)
  }

  /// The table's exponential kernel (AVX-512: within 4.1e-7 relative): one call for the k
  /// terms costs less than k scalar exponentials in Double. The sum is the terms' own sum.
  static func exponentials(
    _ x: UnsafePointer<Float>, count: Int, shift: Float, into terms: UnsafeMutablePointer<Double>,
    scratch: UnsafeMutablePointer<Float>
  ) -> Double {
    _ = PassKernels.selected.sumAndStoreExp(x, scratch, count, shift)
    var sum = 0.0
    for j in 0..<count {
      terms[j] = Double(scratch[j])
      sum += terms[j]
    }
    return sum
  }
}

extension Double: GatingCompute {
  static func sumExp(_ x: UnsafePointer<Double>, count: Int, shift: Double) -> Double {
    PassKernels.selected.double.sumExp(x, nil, count, shift).value
  }

  /// The Double kernels' exponential, 8 at a time (within about 2 ulp).
  static func exponentials(
    _ x: UnsafePointer<Double>, count: Int, shift: Double,
    into terms: UnsafeMutablePointer<Double>, scratch: UnsafeMutablePointer<Double>
  ) -> Double {
    var sum = 0.0
    var j = 0
    while j < count {
      let lanes = Swift.min(8, count - j)
      var t = SIMD8<Double>(repeating: -.infinity)
      for lane in 0..<lanes { t[lane] = x[j + lane] - shift }
      let e = vectorExpOfNonPositiveDouble(t)
      for lane in 0..<lanes {
        terms[j + lane] = e[lane]
        sum += e[lane]
      }
      j += 8
    }
    return sum
  }
}

/// A method, decoded once per call.
struct GatingPlan {
  enum Kind { case softmax, sigmoid }
  let kind: Kind
  /// Softmax: the k weights sum to 1 (renormalized, or top-k then softmax).
  let overSelected: Bool
  let bias: UnsafePointer<Float>?
  let groups: Int
  let topGroups: Int
  let normalize: Bool
  let scale: Double
}

extension _GatingCall {
  /// Checks the call and runs it with `Compute` arithmetic.
  func run<Compute: GatingCompute>(computingIn _: Compute.Type) {
    let (tokens, threads) = validated()
    let ids = expertIDs.baseAddress
    let counts = tokensPerExpert.baseAddress!
    counts.update(repeating: 0, count: experts)
    guard tokens > 0, let x = logits.baseAddress, let w = weights.baseAddress, let ids else {
      return
    }
    switch method {
    case .softmaxTopK(let renormalize):
      let plan = GatingPlan(
        kind: .softmax, overSelected: renormalize, bias: nil, groups: 1, topGroups: 1,
        normalize: false, scale: 1)
      perform(Compute.self, plan, x, w, ids, tokens: tokens, threads: threads)
    case .topKSoftmax:
      let plan = GatingPlan(
        kind: .softmax, overSelected: true, bias: nil, groups: 1, topGroups: 1,
        normalize: false, scale: 1)
      perform(Compute.self, plan, x, w, ids, tokens: tokens, threads: threads)
    case .sigmoidGrouped(let bias, let groups, let topGroups, let normalize, let scale):
      func go(_ bias: UnsafePointer<Float>?) {
        let plan = GatingPlan(
          kind: .sigmoid, overSelected: false, bias: bias, groups: groups, topGroups: topGroups,
          normalize: normalize, scale: Double(scale))
        perform(Compute.self, plan, x, w, ids, tokens: tokens, threads: threads)
      }
      if let bias {
        bias.withUnsafeBufferPointer { go($0.baseAddress) }
      } else {
        go(nil)
      }
    }
    // The histogram of the ids, in one pass after every row.
    for i in 0..<(tokens * k) { counts[Int(ids[i])] += 1 }
  }

  private func perform<Compute: GatingCompute>(
    _: Compute.Type, _ plan: GatingPlan, _ x: UnsafePointer<Element>,
    _ w: UnsafeMutablePointer<Element>, _ ids: UnsafeMutablePointer<Int32>, tokens: Int,
    threads: Int
  ) {
    let job = GatingJob<Element, Compute>(
      x: x, weights: w, ids: ids, experts: experts, k: k, tokens: tokens, plan: plan,
      tokensPerTask: AxisEngine.itemsPerTask(items: tokens, threads: threads))
    WorkerPool.shared.perform(job, tasks: job.tasks, threads: threads)
  }
}

/// Blocks of consecutive tokens for the pool; one scratch per task.
struct GatingJob<Element: SoftmaxElement, Compute: GatingCompute>: PoolJob {
  let x: UnsafePointer<Element>
  let weights: UnsafeMutablePointer<Element>
  let ids: UnsafeMutablePointer<Int32>
  let experts: Int
  let k: Int
  let tokens: Int
  let plan: GatingPlan
  let tokensPerTask: Int

  var tasks: Int { (tokens + tokensPerTask - 1) / tokensPerTask }

  /// Whether rows are computed where they are (else widened into the scratch first).
  private var direct: Bool { Element.self == Compute.self }

  func run(task: Int) {
    let first = task * tokensPerTask
    let end = Swift.min(tokens, first + tokensPerTask)
    let n = experts
    let sigmoid = plan.kind == .sigmoid
    // Doubles: k weights rounded up to whole vectors. Compute values: k selected, the row
    // when widened, and for the sigmoid router the scores, biased scores and group scores.
    let vectors = (k + 7) / 8 * 8
    let computeCount = 2 * k + (direct ? 0 : n) + (sigmoid ? 2 * n + plan.groups : 0)
    let computeSlots = (computeCount * MemoryLayout<Compute>.stride + 7) / 8
    let idSlots = (k + plan.groups + 1) / 2
    // The 16-row kernel (AVX-512): Float rows in place, softmax routers, k ≤ 8.
    // The 16-row kernel (AVX-512) for the softmax routers with k ≤ 8: Float rows in place,
    // Float16 rows widened 16 at a time while that fits the stack scratch.
    let widenBlocks = !direct && 16 * n <= 2048
    let blocks =
      (direct || widenBlocks) && Compute.self == Float.self && plan.kind == .softmax && k <= 8
        && n <= GatingKernels.topRowsLimit ? GatingKernels.selected : nil
    // Its maxima (16), terms (8 × 16) and ids (8 × 16), in Floats and Int32s, and the
    // widened rows.
    let blockSlots = blocks == nil ? 0 : (16 + 2 * 8 * 16 + (direct ? 0 : 16 * n)) / 2
    withScratch(of: Double.self, count: vectors + computeSlots + idSlots + blockSlots) {
      scratch in
      let raw = UnsafeMutableRawPointer(scratch)
      let terms = scratch
      let computeBase = (raw + 8 * vectors).bindMemory(to: Compute.self, capacity: computeCount)
      let idBase = (raw + 8 * (vectors + computeSlots)).bindMemory(
        to: Int32.self, capacity: k + plan.groups)
      let row = GatingRow<Compute>(
        n: n, k: k, plan: plan, terms: terms, values: computeBase, chosen: idBase,
        kept: idBase + k,
        scores: computeBase + 2 * k + (direct ? 0 : n),
        groupScores: computeBase + 2 * k + (direct ? 0 : n) + 2 * n)
      let widened = computeBase + 2 * k
      func gate(_ token: Int) {
        let input: UnsafePointer<Compute>
        if direct {
          input = UnsafeRawPointer(x + token * n).assumingMemoryBound(to: Compute.self)
        } else {
          widen(x + token * n, into: widened, count: n)
          input = UnsafePointer(widened)
        }
        row.gate(input)
        let out = weights + token * k
        let outIDs = ids + token * k
        for j in 0..<k {
          out[j] = Element(terms[j])
          outIDs[j] = row.chosen[j]
        }
        orderByWeight(out, outIDs)
      }
      guard let blocks else {
        for token in first..<end { gate(token) }
        return
      }
      let block = (raw + 8 * (vectors + computeSlots + idSlots)).bindMemory(
        to: Float.self, capacity: 16 + 8 * 16)
      let blockIDs = (raw + 8 * (vectors + computeSlots + idSlots) + 4 * (16 + 8 * 16))
        .bindMemory(to: Int32.self, capacity: 8 * 16)
      let widenedRows = UnsafeMutableRawPointer(blockIDs + 8 * 16).bindMemory(
        to: Float.self, capacity: direct ? 0 : 16 * n)
      var token = first
      while token < end {
        let rows = Swift.min(16, end - token)
        let rowBlock: UnsafePointer<Float>
        if direct {
          rowBlock = UnsafeRawPointer(x + token * n).assumingMemoryBound(to: Float.self)
        } else {
          widen(
            x + token * n,
            into: UnsafeMutableRawPointer(widenedRows).assumingMemoryBound(
              to: Compute.self), count: rows * n)
          rowBlock = UnsafePointer(widenedRows)
        }
        let unusable = blocks(rowBlock, rows, n, k, block, block + 16, blockIDs)
        for r in 0..<rows {
          if unusable & (1 << r) != 0 {
            gate(token + r)
          } else {
            blockRow(
              token + r, row: rowBlock + r * n, maximum: block[r], terms: block + 16 + r,
              ids: blockIDs + r)
          }
        }
        token += rows
      }
    }
  }

  /// The weights of a row the 16-row kernel finished: its terms (slot j at j · 16) over
  /// their sum, or over the row's Σ e^(x − max). The same arithmetic as
  /// `GatingRow.softmaxGate` (the same exponential of the same differences, summed in the
  /// same order), so a row's results do not depend on which path took it.
  private func blockRow(
    _ token: Int, row: UnsafePointer<Float>, maximum: Float, terms: UnsafePointer<Float>,
    ids: UnsafePointer<Int32>
  ) {
    var sum = 0.0
    for j in 0..<k { sum += Double(terms[16 * j]) }
    let total =
      plan.overSelected
      ? sum : Float.sumExp(row, count: experts, shift: maximum)
    let inverse = 1 / total
    let out = weights + token * k
    let outIDs = self.ids + token * k
    for j in 0..<k {
      out[j] = Element(Double(terms[16 * j]) * inverse)
      outIDs[j] = ids[16 * j]
    }
    orderByWeight(out, outIDs)
  }

  /// Weights descending, then ids ascending, by the weights as returned: rounding can make
  /// distinct weights equal. Insertion: the softmax routers come sorted already but for
  /// equal weights. NaN rows (all NaN) stay as they are.
  private func orderByWeight(
    _ weights: UnsafeMutablePointer<Element>, _ ids: UnsafeMutablePointer<Int32>
  ) {
    for j in 1..<Swift.max(1, k) {
      let w = weights[j]
      let id = ids[j]
      var p = j
      while p > 0 && (weights[p - 1] < w || (weights[p - 1] == w && ids[p - 1] > id)) {
        weights[p] = weights[p - 1]
        ids[p] = ids[p - 1]
        p -= 1
      }
      weights[p] = w
      ids[p] = id
    }
  }

  private func widen(
    _ x: UnsafePointer<Element>, into y: UnsafeMutablePointer<Compute>, count: Int
  ) {
    #if !(os(macOS) && arch(x86_64))
      if Element.self == Float16.self && Compute.self == Float.self {
        return HalfConversion.widen(
          UnsafeRawPointer(x).assumingMemoryBound(to: Float16.self),
          into: UnsafeMutableBufferPointer(
            start: UnsafeMutableRawPointer(y).assumingMemoryBound(to: Float.self), count: count))
      }
    #endif
    for i in 0..<count { y[i] = Compute(x[i]) }
  }
}

/// One token at a time, on scratch that the task owns. After `gate`, `terms[0..<k]` holds
/// the weights (in Double) and `chosen[0..<k]` the expert ids, in selection order.
struct GatingRow<Compute: GatingCompute> {
  let n: Int
  let k: Int
  let plan: GatingPlan
  /// k weights (whole vectors of 8).
  let terms: UnsafeMutablePointer<Double>
  /// The k largest values kept, descending, then k more of scratch.
  let values: UnsafeMutablePointer<Compute>
  /// Their expert ids.
  let chosen: UnsafeMutablePointer<Int32>
  /// Flags of the kept groups (sigmoid router).
  let kept: UnsafeMutablePointer<Int32>
  /// Scores, then biased scores (n each), then group scores (sigmoid router).
  let scores: UnsafeMutablePointer<Compute>
  let groupScores: UnsafeMutablePointer<Compute>

  init(
    n: Int, k: Int, plan: GatingPlan, terms: UnsafeMutablePointer<Double>,
    values: UnsafeMutablePointer<Compute>, chosen: UnsafeMutablePointer<Int32>,
    kept: UnsafeMutablePointer<Int32>, scores: UnsafeMutablePointer<Compute>,
    groupScores: UnsafeMutablePointer<Compute>
  ) {
    (self.n, self.k, self.plan, self.terms) = (n, k, plan, terms)
    (self.values, self.chosen, self.kept) = (values, chosen, kept)
    (self.scores, self.groupScores) = (scores, groupScores)
  }

  func gate(_ x: UnsafePointer<Compute>) {
    switch plan.kind {
    case .softmax: softmaxGate(x)
    case .sigmoid: sigmoidGate(x)
    }
  }

  // MARK: Softmax routers

  private func softmaxGate(_ x: UnsafePointer<Compute>) {
    guard selectLargest(x) else { return nanRow() }
    let top = values[0]
    if top == -.infinity {
      // Every logit is −inf: probability 0 each, never 0/0.
      for j in 0..<k { terms[j] = 0 }
    } else if top == .infinity {
      // +inf logits share the mass: among the selected, or among the whole row.
      var infinite = 0
      if plan.overSelected {
        for j in 0..<k where values[j] == .infinity { infinite += 1 }
      } else {
        for i in 0..<n where x[i] == .infinity { infinite += 1 }
      }
      let share = 1 / Double(infinite)
      for j in 0..<k { terms[j] = values[j] == .infinity ? share : 0 }
    } else {
      let sum = Compute.exponentials(
        values, count: k, shift: top, into: terms, scratch: values + k)
      let total = plan.overSelected ? sum : Compute.sumExp(x, count: n, shift: top)
      let inverse = 1 / total
      for j in 0..<k { terms[j] *= inverse }
    }
  }

  /// Keeps the k largest of the row in `values`/`chosen`, descending, ties to the lower
  /// index. Returns false when the row holds a NaN.
  private func selectLargest(_ x: UnsafePointer<Compute>) -> Bool {
    var filled = 0
    var i = 0
    while filled < k {
      let v = x[i]
      if v.isNaN { return false }
      insert(v, Int32(truncatingIfNeeded: i), at: filled)
      filled += 1
      i += 1
    }
    var threshold = values[k - 1]
    while i < n {
      let v = x[i]
      // Greater than the last kept, or NaN (an equal value loses to the lower index).
      if !(v <= threshold) {
        if v.isNaN { return false }
        insert(v, Int32(truncatingIfNeeded: i), at: k - 1)
        threshold = values[k - 1]
      }
      i += 1
    }
    return true
  }

  /// Puts (v, id) into the descending list whose free (or dropped) slot is `slot`, after
  /// every value ≥ v: equal values keep their order, the lower index first.
  @inline(__always)
  private func insert(_ v: Compute, _ id: Int32, at slot: Int) {
    var p = slot
    while p > 0 && values[p - 1] < v {
      values[p] = values[p - 1]
      chosen[p] = chosen[p - 1]
      p -= 1
    }
    values[p] = v
    chosen[p] = id
  }

  private func nanRow() {
    for j in 0..<k {
      terms[j] = .nan
      chosen[j] = Int32(truncatingIfNeeded: j)
    }
  }

  // MARK: The sigmoid router (DeepSeek-V3)

  private func sigmoidGate(_ x: UnsafePointer<Compute>) {
    let biased = scores + n
    // Scores in Double, rounded to the compute type; a NaN logit makes the row NaN.
    var i = 0
    var nan = false
    while i < n {
      let count = Swift.min(8, n - i)
      var t = SIMD8<Double>()
      for lane in 0..<count { t[lane] = Double(x[i + lane]) }
      let s = sigmoid(t)
      for lane in 0..<count {
        let score = Compute(s[lane])
        nan = nan || score.isNaN
        scores[i + lane] = score
      }
      i += 8
    }
    if nan { return nanRow() }
    if let bias = plan.bias {
      for i in 0..<n { biased[i] = scores[i] + Compute(bias[i]) }
    } else {
      biased.update(from: scores, count: n)
    }
    // The kept groups, flagged; one group keeps everything.
    let groups = plan.groups
    let size = n / groups
    if groups > 1 {
      for g in 0..<groups {
        let group = biased + g * size
        var first = -Compute.infinity
        var second = -Compute.infinity
        for e in 0..<size {
          let v = group[e]
          if v > first {
            second = first
            first = v
          } else if v > second {
            second = v
          }
        }
        groupScores[g] = plan.bias == nil ? first : (size > 1 ? first + second : first)
      }
      // The best groups by the same selection as the experts: into values/chosen (k ≥ the
      // kept groups is not required, so select in place over the group scores).
      for g in 0..<groups { kept[g] = 0 }
      for _ in 0..<plan.topGroups {
        var best = -1
        for g in 0..<groups where kept[g] == 0 {
          if best < 0 || groupScores[g] > groupScores[best] { best = g }
        }
        kept[best] = 1
      }
    }
    // The k best biased scores among the kept groups, in ascending id order.
    var filled = 0
    for g in 0..<groups where groups == 1 || kept[g] != 0 {
      for e in (g * size)..<((g + 1) * size) {
        let v = biased[e]
        if filled < k {
          insert(v, Int32(truncatingIfNeeded: e), at: filled)
          filled += 1
        } else if v > values[k - 1] {
          insert(v, Int32(truncatingIfNeeded: e), at: k - 1)
        }
      }
    }
    // Weights from the unbiased scores, in Double.
    var j = 0
    var sum = 0.0
    while j < k {
      let count = Swift.min(8, k - j)
      var t = SIMD8<Double>()
      for lane in 0..<count { t[lane] = Double(x[Int(chosen[j + lane])]) }
      let s = sigmoid(t)
      for lane in 0..<count {
        terms[j + lane] = s[lane]
        sum += s[lane]
      }
      j += 8
    }
    let factor = plan.normalize ? (sum > 0 ? plan.scale / sum : 0) : plan.scale
    for j in 0..<k { terms[j] *= factor }
  }

  /// 1 / (1 + e^−t) from one exponential of −|t|: no overflow, NaN stays NaN.
  private func sigmoid(_ t: SIMD8<Double>) -> SIMD8<Double> {
    let magnitude = t.replacing(with: -t, where: t .< 0)
    let e = vectorExpOfNonPositiveDouble(-magnitude)
    let r = 1 / (1 + e)
    return r.replacing(with: e * r, where: t .< 0)
  }
}
