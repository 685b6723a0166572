import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

// moeGating against an independent Double reference written here: sort-based, straight from
// the documented rules (DeepSeek-V3's grouped sigmoid router included), for random shapes,
// ties, ±1e30, ±inf, NaN, every element type and thread counts 1 and 2.

/// One token's routing by the reference: weights (Double, unrounded) and ids, in the
/// documented order.
private struct ReferenceRoute {
  var weights: [Double]
  var ids: [Int]
}

/// How the reference rounds the sigmoid router's selection scores: Float logits are scored in
/// Float (the score rounded once from Double, s + b and the group sums as Float additions).
private enum ScoreRounding { case float, double }

private func referenceSigmoid(_ x: Double) -> Double {
  x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
}

/// The reference router for one token.
private func referenceRoute(
  _ x: [Double], k: Int, method: MoEGating.Method, rounding: ScoreRounding
) -> ReferenceRoute {
  let n = x.count
  if x.contains(where: \.isNaN) {
    return ReferenceRoute(weights: Array(repeating: .nan, count: k), ids: Array(0..<k))
  }
  var weights: [Double]
  var ids: [Int]
  switch method {
  case .softmaxTopK, .topKSoftmax:
    var overSelected = true
    if case .softmaxTopK(let renormalize) = method { overSelected = renormalize }
    let order = (0..<n).sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }
    ids = Array(order.prefix(k))
    let top = x[order[0]]
    if top == -.infinity {
      weights = Array(repeating: 0, count: k)
    } else if top == .infinity {
      let pool = overSelected ? ids.map { x[$0] } : x
      let share = 1 / Double(pool.filter { $0 == .infinity }.count)
      weights = ids.map { x[$0] == .infinity ? share : 0 }
    } else {
      let terms = x.map { Foundation.exp($0 - top) }
      let total = overSelected ? ids.reduce(0) { $0 + terms[$1] } : terms.reduce(0, +)
      weights = ids.map { terms[$0] / total }
    }
  case .sigmoidGrouped(let bias, let groups, let topGroups, let normalize, let scale):
    let s = x.map(referenceSigmoid)
    let biased: [Double] = (0..<n).map { i in
      let b = Double(bias?[i] ?? 0)
      switch rounding {
      case .float: return Double(Float(s[i]) + Float(b))
      case .double: return s[i] + b
      }
    }
    let size = n / groups
    let groupScores: [Double] = (0..<groups).map { g in
      let members = biased[(g * size)..<((g + 1) * size)].sorted(by: >)
      if bias == nil || size == 1 { return members[0] }
      switch rounding {
      case .float: return Double(Float(members[0]) + Float(members[1]))
      case .double: return members[0] + members[1]
      }
    }
    let keptGroups = (0..<groups).sorted {
      groupScores[$0] > groupScores[$1] || (groupScores[$0] == groupScores[$1] && $0 < $1)
    }.prefix(topGroups)
    let candidates = (0..<n).filter { keptGroups.contains($0 / size) }
    ids = Array(
      candidates.sorted {
        biased[$0] > biased[$1] || (biased[$0] == biased[$1] && $0 < $1)
      }.prefix(k))
    let total = ids.reduce(0) { $0 + s[$1] }
    weights = ids.map { s[$0] }
    if normalize { weights = weights.map { total > 0 ? $0 / total : 0 } }
    weights = weights.map { $0 * Double(scale) }
  }
  let order = (0..<k).sorted {
    weights[$0] > weights[$1] || (weights[$0] == weights[$1] && ids[$0] < ids[$1])
  }
  return ReferenceRoute(weights: order.map { weights[$0] }, ids: order.map { ids[$0] })
}

/// Checks a result against the reference, token by token: the same set of experts, each
/// weight within `relative` of the reference's (or `absolute` near 0), listed by descending
/// weight then ascending id, and the counts are the histogram of the ids.
private func expectMatches<Element: SoftmaxElement>(
  _ result: MoEGatingResult<Element>, logits: [Double], experts: Int, k: Int,
  method: MoEGating.Method, rounding: ScoreRounding, relative: Double, absolute: Double,
  _ context: String, sourceLocation: SourceLocation = #_sourceLocation
) {
  let tokens = logits.count / experts
  #expect(result.tokens == tokens && result.k == k, "\(context)", sourceLocation: sourceLocation)
  #expect(result.weights.count == tokens * k && result.expertIDs.count == tokens * k)
  var histogram = [Int](repeating: 0, count: experts)
  for token in 0..<tokens {
    let row = Array(logits[(token * experts)..<((token + 1) * experts)])
    let reference = referenceRoute(row, k: k, method: method, rounding: rounding)
    let ids = (0..<k).map { Int(result.expertIDs[token * k + $0]) }
    let weights = (0..<k).map { Double(result.weights[token * k + $0]) }
    for id in ids where (0..<experts).contains(id) { histogram[id] += 1 }
    let place = "\(context), token \(token) of \(row.prefix(12))…"
    if reference.weights.first?.isNaN == true {
      #expect(ids == Array(0..<k), "\(place)", sourceLocation: sourceLocation)
      #expect(weights.allSatisfy { $0.isNaN }, "\(place)", sourceLocation: sourceLocation)
      continue
    }
    guard Set(ids) == Set(reference.ids), ids.count == Set(ids).count else {
      Issue.record(
        "\(place): experts \(ids), reference \(reference.ids)", sourceLocation: sourceLocation)
      continue
    }
    for (j, id) in ids.enumerated() {
      let expected = reference.weights[reference.ids.firstIndex(of: id)!]
      let error = abs(weights[j] - expected)
      #expect(
        error <= relative * abs(expected) + absolute,
        "\(place): expert \(id) weight \(weights[j]), reference \(expected)",
        sourceLocation: sourceLocation)
    }
    for j in 1..<k {
      let ordered =
        weights[j - 1] > weights[j] || (weights[j - 1] == weights[j] && ids[j - 1] < ids[j])
      #expect(ordered, "\(place): order \(ids) \(weights)", sourceLocation: sourceLocation)
    }
  }
  #expect(result.tokensPerExpert == histogram, "\(context)", sourceLocation: sourceLocation)
}

/// Random logits of one kind, for `tokens × experts`.
private func gatingLogits(
  kind: Int, tokens: Int, experts: Int, generator: inout SeededGenerator
) -> [Double] {
  (0..<(tokens * experts)).map { _ in
    let u = generator.unit()
    switch kind {
    case 0: return 3 * generator.normal()
    // Ties: a few small integers.
    case 1: return Double(Int(generator.next() % 4)) - 1
    // Huge magnitudes and −inf.
    case 2: return u < 0.3 ? 1e30 : (u < 0.6 ? -1e30 : (u < 0.8 ? -.infinity : generator.normal()))
    // −inf rows and some +inf.
    case 3: return u < 0.7 ? -.infinity : (u < 0.75 ? .infinity : generator.normal())
    // A rare NaN.
    default: return u < 0.02 ? .nan : generator.normal()
    }
  }
}

private func randomMethod(experts: Int, k: Int, generator: inout SeededGenerator)
  -> MoEGating.Method
{
  switch generator.next() % 4 {
  case 0: return .softmaxTopK(renormalize: true)
  case 1: return .softmaxTopK(renormalize: false)
  case 2: return .topKSoftmax
  default:
    let divisors = (1...experts).filter { experts % $0 == 0 }
    let groups = divisors[Int(generator.next() % UInt64(divisors.count))]
    let size = experts / groups
    let least = (k + size - 1) / size
    let topGroups = least + Int(generator.next() % UInt64(groups - least + 1))
    var bias: [Float]? = nil
    if generator.next() % 3 != 0 {
      // Half the time values on a grid, so that biased scores tie too.
      let grid = generator.next() % 2 == 0
      bias = (0..<experts).map { _ in
        grid ? Float(Int(generator.next() % 3)) * 0.25 : Float(0.1 * generator.normal())
      }
    }
    return .sigmoidGrouped(
      bias: bias, groups: groups, topGroups: topGroups, normalize: generator.next() % 4 != 0,
      scale: generator.next() % 2 == 0 ? 1 : 2.5)
  }
}

@Suite("MoE gating")
struct MoEGatingTests {
  @Test("every method against the Double reference: random shapes, ties, ±1e30, ±inf, NaN")
  func randomAgainstReference() {
    var generator = SeededGenerator(seed: 0x6a7e)
    let expertCounts = [1, 2, 3, 6, 8, 16, 37, 64, 160, 256]
    for round in 0..<120 {
      let experts = expertCounts[Int(generator.next() % UInt64(expertCounts.count))]
      let k = 1 + Int(generator.next() % UInt64(Swift.min(experts, 9)))
      let tokens = Int(generator.next() % 12)
      let kind = round % 5
      let method = randomMethod(experts: experts, k: k, generator: &generator)
      let logits = gatingLogits(
        kind: kind, tokens: tokens, experts: experts, generator: &generator)
      let context = "round \(round): \(tokens)×\(experts), k \(k), \(method)"
      let float = moeGating(
        logits.map { Float($0) }, shape: [tokens, experts], k: k, method: method)
      expectMatches(
        float, logits: logits.map { Double(Float($0)) }, experts: experts, k: k, method: method,
        rounding: .float, relative: 2e-6, absolute: 1e-30, "Float " + context)
      let double = moeGating(logits, shape: [tokens, experts], k: k, method: method)
      expectMatches(
        double, logits: logits, experts: experts, k: k, method: method, rounding: .double,
        relative: 1e-12, absolute: 1e-300, "Double " + context)
      #if !(os(macOS) && arch(x86_64))
        let halves = logits.map { Float16($0) }
        let half = moeGating(halves, shape: [tokens, experts], k: k, method: method)
        expectMatches(
          half, logits: halves.map { Double($0) }, experts: experts, k: k, method: method,
          rounding: .float, relative: 1e-3, absolute: 6e-8, "Float16 " + context)
      #endif
    }
  }

  @Test("plain softmax top-k weights are the softmax probabilities; renormalized ones sum to 1")
  func softmaxWeights() {
    var generator = SeededGenerator(seed: 7)
    let logits = (0..<(5 * 64)).map { _ in Float(2 * generator.normal()) }
    let plain = moeGating(logits, shape: [5, 64], k: 8, method: .softmaxTopK(renormalize: false))
    let probabilities = softmax(logits, shape: [5, 64])
    for i in 0..<(5 * 8) {
      let token = i / 8
      let p = probabilities[token * 64 + Int(plain.expertIDs[i])]
      #expect(abs(plain.weights[i] - p) <= 1e-5 * p, "\(i)")
    }
    let renormalized = moeGating(
      logits, shape: [5, 64], k: 8, method: .softmaxTopK(renormalize: true))
    let topK = moeGating(logits, shape: [5, 64], k: 8, method: .topKSoftmax)
    #expect(renormalized.weights == topK.weights && renormalized.expertIDs == topK.expertIDs)
    #expect(renormalized.expertIDs == plain.expertIDs)
    for token in 0..<5 {
      let sum = renormalized.weights[(token * 8)..<(token * 8 + 8)].reduce(0, +)
      #expect(abs(sum - 1) <= 1e-6)
    }
  }

  @Test("special rows: all −inf, +inf, NaN, ±1e30, ties")
  func specialRows() {
    let inf = Float.infinity
    let nan = Float.nan
    let rows: [Float] = [
      -inf, -inf, -inf, -inf,  // all −inf: experts 0, 1, weights 0
      nan, 1, 2, 3,  // NaN: experts 0, 1, weights NaN
      1, inf, 0, inf,  // two +inf: both chosen, 0.5 each
      1e30, -1e30, 1e30, 0,  // ±1e30: the two 1e30 at 0.5 each
      2, 2, 2, 2,  // ties: the lower indices
      -inf, 5, -inf, -inf,  // one finite: it has weight 1, then expert 0 with 0
    ]
    let routed = moeGating(rows, shape: [6, 4], k: 2, method: .softmaxTopK(renormalize: true))
    #expect(routed.expertIDs == [0, 1, 0, 1, 1, 3, 0, 2, 0, 1, 1, 0])
    let w = routed.weights
    #expect(w[0] == 0 && w[1] == 0)
    #expect(w[2].isNaN && w[3].isNaN)
    #expect(Array(w[4...9]) == [0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    #expect(w[10] == 1 && w[11] == 0)
    #expect(routed.tokensPerExpert == [5, 5, 1, 1])
    // Plain softmax: three +inf share the row's mass even when k keeps two.
    let plain = moeGating(
      [inf, 0, inf, inf] as [Float], shape: [1, 4], k: 2, method: .softmaxTopK(renormalize: false))
    #expect(plain.expertIDs == [0, 2])
    #expect(plain.weights == [1 / 3, 1 / 3] as [Float])
    // Sigmoid: NaN rows and scores of 0 (normalized: zeros, never 0/0).
    let sigmoid = moeGating(
      [nan, 0, 0, 0, -inf, -inf, -inf, -inf] as [Float], shape: [2, 4], k: 2,
      method: .sigmoidGrouped(bias: nil, groups: 2, topGroups: 1, normalize: true, scale: 1))
    #expect(sigmoid.expertIDs == [0, 1, 0, 1])
    #expect(sigmoid.weights[0].isNaN && sigmoid.weights[1].isNaN)
    #expect(sigmoid.weights[2] == 0 && sigmoid.weights[3] == 0)
    // All −inf with a bias: scores 0, the bias chooses; weights 0 normalized, never 0/0.
    let biased = moeGating(
      [-inf, -inf, -inf, -inf] as [Float], shape: [1, 4], k: 2,
      method: .sigmoidGrouped(
        bias: [0, 0.5, 0, 0.25], groups: 1, topGroups: 1, normalize: true, scale: 2.5))
    #expect(biased.expertIDs == [1, 3] && biased.weights == [0, 0])
  }

  @Test("DeepSeek-V3 grouping: groups by the sum of their top two biased scores")
  func groupedSelection() {
    // 8 experts, 4 groups of 2. Unbiased, group 0 holds the single best expert; group 3
    // has the best pair. With a bias, groups score top-2 sums: groups 3 and 1 win although
    // expert 0 has the largest score; without, the group maximum decides (groups 0, 3).
    let logits: [Float] = [4, -4, 1, 1, -4, -4, 2, 2]
    let bias: [Float] = [0, 0, 0, 0, 0, 0, 0, 0]
    let withBias = moeGating(
      logits, shape: [1, 8], k: 2,
      method: .sigmoidGrouped(bias: bias, groups: 4, topGroups: 2, normalize: true, scale: 1))
    #expect(withBias.expertIDs == [6, 7])
    let withoutBias = moeGating(
      logits, shape: [1, 8], k: 2,
      method: .sigmoidGrouped(bias: nil, groups: 4, topGroups: 2, normalize: true, scale: 1))
    #expect(withoutBias.expertIDs == [0, 6])
    // The bias steers selection only: expert 2 chosen by its bias, weighted by its score.
    let steered = moeGating(
      logits, shape: [1, 8], k: 1,
      method: .sigmoidGrouped(
        bias: [0, 0, 5, 0, 0, 0, 0, 0], groups: 1, topGroups: 1, normalize: false, scale: 2.5))
    #expect(steered.expertIDs == [2])
    #expect(abs(Double(steered.weights[0]) - 2.5 / (1 + Foundation.exp(-1.0))) <= 1e-6)
  }

  @Test("the documentation examples")
  func documentationExamples() {
    let logits: [Float] = [0, 1, 2, 3, 4, 5, 6, 7, 7, 6, 5, 4, 3, 2, 1, 0]
    let routed = moeGating(logits, shape: [2, 8], k: 2, method: .softmaxTopK(renormalize: true))
    #expect(routed.expertIDs == [7, 6, 0, 1])
    #expect(routed.tokensPerExpert == [1, 1, 0, 0, 0, 0, 1, 1])
    let p = Float(1 / (1 + Foundation.exp(-1.0)))
    for (w, e) in zip(routed.weights, [p, 1 - p, p, 1 - p]) { #expect(abs(w - e) <= 1e-6) }
    #expect(routed.experts(ofToken: 1).map(\.expert) == [0, 1])
    let sigmoid = moeGating(
      [0.1, 2, -1, 0.5, 3, 0.2, -2, 1] as [Float], shape: [1, 8], k: 2,
      method: .sigmoidGrouped(bias: nil, groups: 4, topGroups: 2, normalize: true, scale: 1))
    #expect(sigmoid.expertIDs == [4, 1])
    let (s3, s2) = (1 / (1 + Foundation.exp(-3.0)), 1 / (1 + Foundation.exp(-2.0)))
    #expect(abs(Double(sigmoid.weights[0]) - s3 / (s3 + s2)) <= 1e-6)
    #expect(abs(Double(sigmoid.weights[1]) - s2 / (s3 + s2)) <= 1e-6)
    #expect(
      MoEGating.Method.deepSeekV3(bias: nil)
        == .sigmoidGrouped(bias: nil, groups: 8, topGroups: 4, normalize: true, scale: 2.5))
  }

  @Test("1 and 2 threads give bitwise the same results, through every form")
  func threadsAndForms() {
    var generator = SeededGenerator(seed: 99)
    let tokens = 300
    let experts = 64
    let logits = (0..<(tokens * experts)).map { _ in Float(generator.normal()) }
    let bias = (0..<experts).map { _ in Float(0.05 * generator.normal()) }
    for method: MoEGating.Method in [
      .softmaxTopK(renormalize: false), .topKSoftmax,
      .sigmoidGrouped(bias: bias, groups: 8, topGroups: 3, normalize: true, scale: 2.5),
    ] {
      let one = moeGating(logits, shape: [tokens, experts], k: 6, method: method, threads: 1)
      let two = moeGating(logits, shape: [tokens, experts], k: 6, method: method, threads: 2)
      #expect(one.weights.map(\.bitPattern) == two.weights.map(\.bitPattern), "\(method)")
      #expect(one.expertIDs == two.expertIDs && one.tokensPerExpert == two.tokensPerExpert)
      // The span form into longer buffers: the tails are left alone.
      var weights = [Float](repeating: -7, count: tokens * 6 + 3)
      var ids = [Int32](repeating: -7, count: tokens * 6 + 3)
      var counts = [Int](repeating: -7, count: experts + 2)
      var w = weights.mutableSpan
      var i = ids.mutableSpan
      var c = counts.mutableSpan
      moeGating(
        logits.span, experts: experts, k: 6, method: method, weights: &w, expertIDs: &i,
        tokensPerExpert: &c, threads: 2)
      #expect(Array(weights.prefix(tokens * 6)) == one.weights)
      #expect(Array(ids.prefix(tokens * 6)) == one.expertIDs)
      #expect(Array(counts.prefix(experts)) == one.tokensPerExpert)
      #expect(weights.suffix(3) == [-7, -7, -7] && ids.suffix(3) == [-7, -7, -7])
      #expect(counts.suffix(2) == [-7, -7])
      #expect(one.tokensPerExpert.reduce(0, +) == tokens * 6)
      // Double and Float16 rows too.
      let doubles = logits.map(Double.init)
      let doubleOne = moeGating(
        doubles, shape: [tokens, experts], k: 6, method: method, threads: 1)
      let doubleTwo = moeGating(
        doubles, shape: [tokens, experts], k: 6, method: method, threads: 2)
      #expect(doubleOne.weights.map(\.bitPattern) == doubleTwo.weights.map(\.bitPattern))
      #expect(doubleOne.expertIDs == doubleTwo.expertIDs)
      #if !(os(macOS) && arch(x86_64))
        let halves = logits.map { Float16($0) }
        let halfOne = moeGating(halves, shape: [tokens, experts], k: 6, method: method, threads: 1)
        let halfTwo = moeGating(halves, shape: [tokens, experts], k: 6, method: method, threads: 2)
        #expect(halfOne.weights.map(\.bitPattern) == halfTwo.weights.map(\.bitPattern))
        #expect(halfOne.expertIDs == halfTwo.expertIDs)
      #endif
    }
  }

  @Test("no tokens: empty results and zero counts")
  func empty() {
    let routed = moeGating([Float](), shape: [0, 16], k: 4, method: .topKSoftmax)
    #expect(routed.tokens == 0 && routed.weights.isEmpty && routed.expertIDs.isEmpty)
    #expect(routed.tokensPerExpert == [Int](repeating: 0, count: 16))
  }
}

/// Runs one bad call, by number, in an exit test's child process.
private func badGatingCall(_ number: Int) {
  let logits = [Float](repeating: 0, count: 24)
  var weights = [Float](repeating: 0, count: 48)
  var ids = [Int32](repeating: 0, count: 48)
  var counts = [Int](repeating: 0, count: 24)
  func grouped(_ bias: [Float]?, _ groups: Int, _ top: Int, _ scale: Float = 1)
    -> MoEGating.Method
  {
    .sigmoidGrouped(bias: bias, groups: groups, topGroups: top, normalize: true, scale: scale)
  }
  func into(
    experts: Int, k: Int, method: MoEGating.Method, weightCount: Int = 48, idCount: Int = 48,
    countCount: Int = 24
  ) {
    logits.withUnsafeBufferPointer { x in
      weights.withUnsafeMutableBufferPointer { w in
        ids.withUnsafeMutableBufferPointer { i in
          counts.withUnsafeMutableBufferPointer { c in
            moeGating(
              x, experts: experts, k: k, method: method,
              weights: UnsafeMutableBufferPointer(rebasing: w[0..<weightCount]),
              expertIDs: UnsafeMutableBufferPointer(rebasing: i[0..<idCount]),
              tokensPerExpert: UnsafeMutableBufferPointer(rebasing: c[0..<countCount]))
          }
        }
      }
    }
  }
  switch number {
  case 0: _ = moeGating(logits, shape: [3, 8], k: 0, method: .topKSoftmax)
  case 1: _ = moeGating(logits, shape: [3, 8], k: 9, method: .topKSoftmax)
  case 2: _ = moeGating(logits, shape: [4, 8], k: 2, method: .topKSoftmax)
  case 3: _ = moeGating(logits, shape: [24], k: 2, method: .topKSoftmax)
  case 4: _ = moeGating(logits, shape: [3, 8], k: 2, method: grouped(nil, 3, 1))
  case 5: _ = moeGating(logits, shape: [3, 8], k: 2, method: grouped(nil, 4, 5))
  case 6: _ = moeGating(logits, shape: [3, 8], k: 3, method: grouped(nil, 4, 1))
  case 7: _ = moeGating(logits, shape: [3, 8], k: 2, method: grouped([0, 0, 0], 4, 2))
  case 8:
    _ = moeGating(logits, shape: [3, 8], k: 2, method: grouped([0, 0, .nan, 0, 0, 0, 0, 0], 4, 2))
  case 9: _ = moeGating(logits, shape: [3, 8], k: 2, method: grouped(nil, 4, 2, -1))
  case 10: _ = moeGating(logits, shape: [3, 8], k: 2, method: grouped(nil, 4, 2, .nan))
  case 11: into(experts: 8, k: 2, method: .topKSoftmax, weightCount: 5)
  case 12: into(experts: 8, k: 2, method: .topKSoftmax, idCount: 5)
  case 13: into(experts: 8, k: 2, method: .topKSoftmax, countCount: 7)
  case 14: into(experts: 0, k: 1, method: .topKSoftmax)
  case 15: into(experts: 5, k: 1, method: .topKSoftmax)
  default:
    // The weights overlap the logits.
    var storage = [Float](repeating: 0, count: 40)
    storage.withUnsafeMutableBufferPointer { s in
      var i = [Int32](repeating: 0, count: 6)
      var c = [Int](repeating: 0, count: 8)
      i.withUnsafeMutableBufferPointer { ib in
        c.withUnsafeMutableBufferPointer { cb in
          moeGating(
            UnsafeBufferPointer(rebasing: s[0..<24]), experts: 8, k: 2, method: .topKSoftmax,
            weights: UnsafeMutableBufferPointer(rebasing: s[20..<26]), expertIDs: ib,
            tokensPerExpert: cb)
        }
      }
    }
  }
}

@Suite("MoE gating traps")
struct MoEGatingTrapTests {
  private func expectTrap(
    _ result: ExitTest.Result, _ message: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let text = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(text.contains(message), "\(text)", sourceLocation: sourceLocation)
  }

  @Test("k outside 1...experts") func k() async throws {
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(0)
      }, "moeGating: k must be in 1...8 (the experts), not 0")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(1)
      }, "moeGating: k must be in 1...8 (the experts), not 9")
  }

  @Test("shapes that do not match the logits") func shapes() async throws {
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(2)
      }, "moeGating: shape [4, 8] has 32 elements but the buffers have 24")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(3)
      }, "moeGating: the shape must be [tokens, experts], not [24] (rank 1)")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(14)
      }, "moeGating: experts must be at least 1, not 0")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(15)
      }, "moeGating: 24 logits are not a whole number of tokens of 5 experts")
  }

  @Test("groups, topGroups, bias and scale") func grouping() async throws {
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(4)
      }, "moeGating: 8 experts do not split into 3 equal groups")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(5)
      }, "moeGating: topGroups must be in 1...4 (the groups), not 5")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(6)
      }, "moeGating: topGroups × experts per group = 1 × 2 = 2 experts are kept, fewer than k = 3")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(7)
      }, "moeGating: the bias has 3 values; it needs one per expert (8)")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(8)
      }, "moeGating: the bias of expert 2 is nan; it must be finite")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(9)
      }, "moeGating: scale must be finite and ≥ 0, not -1.0")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(10)
      }, "moeGating: scale must be finite and ≥ 0, not nan")
  }

  @Test("buffers too small or overlapping") func buffers() async throws {
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(11)
      }, "moeGating: weights has 5 elements; it needs tokens × k = 3 × 2 = 6")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(12)
      }, "moeGating: expertIDs has 5 elements; it needs tokens × k = 3 × 2 = 6")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(13)
      }, "moeGating: tokensPerExpert has 7 elements; it needs one per expert (8)")
    expectTrap(
      try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
        badGatingCall(16)
      }, "moeGating: the logits and weights overlap; they must be disjoint")
  }
}
