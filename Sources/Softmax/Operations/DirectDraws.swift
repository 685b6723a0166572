// Draws that skip the cut search, for the two chains where a token can be tested alone.
//
// Top-p (at least 0.5, alone): rejection from the whole row's distribution. Top-p keeps the
// shortest prefix of the selection order whose mass reaches p · total. A token drawn from the
// whole distribution (one walk of the row's exponentials) is in that prefix exactly when the
// mass before it in the order is below the target, which one read of the row tells (Σ e over
// x ≥ its logit). Accepting only such tokens draws each kept token with probability
// e / (kept mass): the kept distribution, exactly, with at least p of the draws accepted. That
// costs a walk and a read per attempt, where finding the cut costs a read that gathers a
// bracket (compress and store on every vector) and a search. The mass test and the cut search
// sum the same Float exponentials in different orders; a token whose mass before it lies
// within `rejectionTolerance` of the target is decided by the cut itself, so a draw never
// returns a token that `distribution` leaves out.
//
// Min-p alone keeps every x ≥ max + T · ln(min-p) and renormalizes over them: the row's other
// exponentials are never needed. One read gathers the survivors, and only their exponentials
// are computed and walked.

internal import SoftmaxKernels

extension TokenSelection {
  /// Top-p at or above this (with no top-k and no min-p) draws by rejection: at least this
  /// share of the attempts is accepted.
  static let rejectionTopP: Float = 0.5
  /// Attempts before the draw finds the cut and walks it: with at least half accepted, eight
  /// all rejected happen at most once in 256 draws.
  static let rejectionAttempts = 8
  /// The tolerance of the mass test, relative to the row's total: both sums add Float terms
  /// in Float lanes of at most 64 terms (relative error below 4e-6 each), then in Double.
  static let rejectionTolerance = 2e-5

  /// Draws a token of the row with the options' top-k, top-p and min-p from the 64 random
  /// bits `draw`: the first uniform is its top 53 bits; rejection draws further ones from a
  /// SplitMix64 stream seeded by it, so a draw consumes one `UInt64` of the caller's
  /// generator either way. Greedy rows (T = 0) never come here.
  func sample(topK: Int, topP: Float, minP: Float, draw: UInt64) -> Int {
    let u = Double(draw >> 11) * 0x1p-53
    let rejection = topK == 0 && minP == 0 && topP < 1 && topP >= Self.rejectionTopP
    let survivors = topK == 0 && topP == 1 && minP > 0
    guard rejection || survivors else {
      return self.draw(select(topK: topK, topP: topP, minP: minP), u)
    }
    let m = maximum()
    guard m.isFinite else { return self.draw(select(topK: topK, topP: topP, minP: minP), u) }
    if survivors { return drawAtLeast(minimumKept(minP, maximum: m), maximum: m, u) }
    let (e, total) = exponentials(maximum: m)
    let target = Double(topP) * total
    var stream = SplitMix64(seed: draw)
    var uniform = u
    var exact: SelectionCut?
    for _ in 0..<Self.rejectionAttempts {
      let token = walk(UnsafePointer(e), nil, count, uniform * total)
      if isKept(token, target: target, e: e, total: total, exact: &exact) { return token }
      uniform = stream.unit()
    }
    let kept = exact ?? cut(reachingMass: target, orCount: .max, e: e, total: total)
    return self.draw(.cut(kept, e: UnsafePointer(e), total: total), uniform)
  }

  /// Whether `token` lies in the shortest prefix of the selection order whose mass reaches
  /// `target`: whether the mass before it is below the target. Decided by the cut (found once,
  /// kept in `exact`) when the mass is within the tolerance of the target.
  private func isKept(
    _ token: Int, target: Double, e: UnsafePointer<Float>, total: Double,
    exact: inout SelectionCut?
  ) -> Bool {
    let value = x[token]
    let weight = Double(e[token])
    let tolerance = Self.rejectionTolerance * total
    // Σ e over x ≥ value: the token and every tie are in it, so the mass before the token is
    // at most this less its own weight (equal logits have equal exponentials).
    let atLeast = kernels.selection.massAbove(x, e, count, value).mass
    if atLeast - weight < target - tolerance { return true }
    let ties = countEqual(value, count)
    let before = countEqual(value, token)
    let mass = atLeast - Double(ties - before) * weight
    if mass < target - tolerance { return true }
    if mass >= target + tolerance { return false }
    let cut = exact ?? cut(reachingMass: target, orCount: .max, e: e, total: total)
    exact = cut
    return value > cut.value || (value == cut.value && before < cut.ties)
  }

  /// Min-p alone: gathers the entries at or above `minimum` (the maximum is one), computes
  /// their exponentials and walks them.
  private func drawAtLeast(_ minimum: Float, maximum m: Float, _ u: Double) -> Int {
    let values = scratch.floats(SelectionScratch.bandValues, count + 16)
    let index = scratch.indices(0, count + 16)
    let found = kernels.selection.gatherBand(
      x, nil, nil, count, minimum, .infinity, values, nil, index)
    let e = scratch.floats(SelectionScratch.bandExps, found + 16)
    let total = exponentials(of: values, found, into: e, maximum: m)
    return walk(UnsafePointer(e), index, found, u * total)
  }

  /// How many of the first `n` entries equal `value`.
  private func countEqual(_ value: Float, _ n: Int) -> Int {
    let v = SIMD16<Float>(repeating: value)
    var counts = SIMD16<Int32>(repeating: 0)
    var i = 0
    while i + 16 <= n {
      let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
      counts &+= SIMD16(repeating: 0).replacing(with: 1, where: xv .== v)
      i += 16
    }
    var number = Int(counts.wrappedSum())
    for k in i..<n where x[k] == value { number += 1 }
    return number
  }
}
