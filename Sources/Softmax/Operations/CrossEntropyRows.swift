internal import SoftmaxKernels
internal import _SoftmaxCKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Fused cross-entropy: pass 1 of the softmax gives log Z = log Σ e^x (the Two-Pass pair sum
// for Float, so no maximum is needed), the loss follows from log Z and the label's logit, and
// pass 2 writes the gradient scale · softmax(x) − target directly. Nothing else is stored.

/// What the loss of one row is measured against.
enum CrossEntropyTargets {
  /// One class per row, rows equal to the ignore index count for nothing.
  case labels(RowLabels)
  /// A probability row per row: the engine's second input.
  case probabilities
}

/// The cross-entropy of each row with its gradient:
/// - labels: L = (1 − ε)(log Z − x_label) + ε (log Z − mean x) + w (log Z)², gradient
///   (1 + 2w log Z) softmax(x) − ((1 − ε) one-hot + ε / C);
/// - probabilities q at temperature T: L = T² (Σ q_i (log Z' − x_i / T) + w (log Z')²) with
///   Z' = Σ e^(x / T), gradient T ((Σ q + 2w log Z') softmax(x / T) − q).
/// The gradient is multiplied by `weight` (1 / rows kept for a mean).
struct CrossEntropyRow<Compute: TrainingCompute>: TrainingRow {
  let targets: CrossEntropyTargets
  let smoothing: Double
  let zLoss: Double
  let temperature: Double
  let weight: Double
  let losses: UnsafeMutablePointer<Double>
  let logSums: UnsafeMutablePointer<Double>?
  /// Whether the gradient streams whatever the row length (the whole array is large).
  var streamAlways = false

  var rewritesInput: Bool { temperature != 1 }

  func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count n: Int, index: Int, threads: Int
  ) {
    row(a, b, out, count: n, index: index, threads: threads, staging: nil)
  }

  /// Consecutive label rows with one scratch for their exponentials, where reload stages them
  /// (`AutoPolicy.stagesExponentials`): decided by the row length and the array alone, never
  /// by whether there is a gradient, so the loss stays the same bits without one.
  func rows(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?, count n: Int, indices: Range<Int>
  ) -> Bool {
    guard case .labels = targets, Compute.self == Float.self,
      AutoPolicy.stagesExponentials(count: n, arrayStreams: streamAlways)
    else { return false }
    RowScratch<Compute>.with(count: n) { scratch in
      for index in indices {
        let offset = (index - indices.lowerBound) * n
        let target = out.map { UnsafeRawPointer($0 + offset) } ?? UnsafeRawPointer(a + offset)
        row(
          a + offset, b.map { $0 + offset }, out.map { $0 + offset }, count: n, index: index,
          threads: 1,
          staging: Staging(
            exponentials: scratch.aligned(like: target),
            next: index + 1 < indices.upperBound ? a + offset + n : nil))
      }
    }
    // The staged rows' streaming stores, before the pool reports the task done.
    PassKernels.selected.storeFence()
    return true
  }

  private func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count n: Int, index: Int, threads: Int, staging: Staging<Compute>?
  ) {
    switch targets {
    case .labels(let labels):
      if let logSums, labels.isIgnored(index) {
        // Before the gradient, which may be the logits, is zeroed.
        logSums[index] = Compute.normalizer(a, count: n, threads: threads).logSum
      }
      guard let label = labels.label(ofRow: index, losses: losses, gradient: out, count: n)
      else { return }
      labelRow(
        a, out, count: n, label: label, index: index, threads: threads, staging: staging)
    case .probabilities:
      guard temperature != 1 else {
        return probabilityRow(a, b!, out, count: n, index: index, threads: threads)
      }
      // The input is scratch here (`rewritesInput`): x' = (x − m) / T in place, m the
      // largest logit (0 if that is not finite), in Double and rounded once, and Σ q x' from
      // the Double values. x / T in Float overflowed beyond T · Float.greatestFiniteMagnitude
      // (−FLT_MAX at T = 0.5 became −inf: a loss of +inf for 0), and so does x' where it is
      // below −FLT_MAX: such an entry's probability is 0 either way, but its Σ q x' term is
      // finite and T² brings the loss back into range. Loss and gradient see x / T only
      // through its differences; m / T returns in log Z'.
      let (x, q) = (UnsafeMutablePointer(mutating: a), b!)
      var m = -Double.infinity
      for i in 0..<n where Double(x[i]) > m { m = Double(x[i]) }
      if !m.isFinite { m = 0 }
      var centered = 0.0
      for i in 0..<n {
        let scaled = (Double(x[i]) - m) / temperature
        // A target of 0 on a logit of −inf contributes 0 (0 · log 0 = 0), not NaN.
        if q[i] != 0 { centered += Double(q[i]) * scaled }
        x[i] = Compute(scaled)
      }
      probabilityRow(
        a, q, out, count: n, index: index, threads: threads,
        shifted: (by: m / temperature, centered: centered))
    }
  }

  private func labelRow(
    _ x: UnsafePointer<Compute>, _ out: UnsafeMutablePointer<Compute>?, count n: Int, label: Int,
    index: Int, threads: Int, staging: Staging<Compute>?
  ) {
    // Read before pass 1, which may write to the gradient, which may be the logits; staged
    // rows write only their scratch before pass 2, so they read it after pass 1, when the row
    // is in L1, instead of waiting for that one element first.
    let early = staging == nil ? Double(x[label]) : 0
    let mean =
      smoothing > 0
      ? RowPlan(x: x, y: UnsafeMutablePointer(mutating: x), count: n, threads: threads).sum()
        / Double(n) : 0
    Compute.gradientPasses(
      x, out, count: n, threads: threads, streamAlways: streamAlways, streamable: true,
      staging: staging, entry: label
    ) { total in
      let xl = staging == nil ? early : Double(x[label])
      guard total.isFiniteSum else {
        logSums?[index] = total.logSum
        losses[index] = specialLoss(total, labelIsInfinite: xl == .infinity)
        if let out {
          special(total, x, out, count: n, targets: nil, scale: weight)
          out[label] -= Compute(weight * (1 - smoothing))
        }
        return nil
      }
      // log Z − v = (shift − v) + rest: exact where log Z and v are huge and close.
      let rest = total.exponent * ln2 + log(total.mantissa)
      let lse = total.shift + rest
      logSums?[index] = lse
      losses[index] =
        (1 - smoothing) * ((total.shift - xl) + rest)
        + (smoothing > 0 ? smoothing * ((total.shift - mean) + rest) : 0) + zLoss * lse * lse
      let factor = 1 + 2 * zLoss * lse
      // x_label − log Z, from the parts (exact where both are huge and close).
      let labelExponent = (xl - total.shift) - rest
      return GradientOutput(
        scale: weight * factor, offset: weight * smoothing / Double(n),
        entry: labelEntry(label, factor: factor, labelExponent: labelExponent, count: n))
    }
  }

  /// The label's entry of the gradient, weight · (factor · p − (1 − ε) − ε / C), in the form
  /// that keeps it accurate.
  private func labelEntry(_ label: Int, factor: Double, labelExponent: Double, count n: Int)
    -> GradientEntry
  {
    // With a z-loss, factor = 1 + 2w log Z can be huge (log Z = 1e20 with w = 1e-4: 2e16), and
    // factor − 1 then cancels against factor · (1 − p) below: 1e20 logits gave −1.4e8 for an
    // entry of −1. Where p < 1/2, factor · p − 1 is the better form: its terms do not cancel
    // (factor · p − 1 ≈ 0 only when factor · p ≈ 1, leaving p's absolute error). Without a
    // z-loss (factor 1) the forms below have nothing huge to cancel and stay as they were.
    if factor != 1 && labelExponent < -ln2 {
      let entry = factor * exp(labelExponent) - (1 - smoothing) - smoothing / Double(n)
      return GradientEntry(index: label, value: weight * entry, lessOthers: false)
    }
    if smoothing > 0 {
      // factor · p − (1 − ε) − ε / C, with p − 1 from expm1: the entry is at least about ε
      // unless p is near 1 − ε, so an absolute error of about 1e-7 (log Z's) is what it can
      // have. The sum of the others would carry the rounding of C offsets ε / C summed in
      // Float lanes: 1.3e-6 at 9000 classes.
      let pMinusOne = expm1(labelExponent)
      let entry = factor * pMinusOne + (factor - 1) + smoothing - smoothing / Double(n)
      return GradientEntry(index: label, value: weight * entry, lessOthers: false)
    }
    // The gradient sums to weight · (factor − 1): the entry is that less the others
    // (`GradientEntry`).
    return GradientEntry(index: label, value: weight * (factor - 1), lessOthers: true)
  }

  /// The soft-target row. `shifted`: x holds (logits − m) / T, m / T is `by` (log Z' = log Σ
  /// e^x + by), and `centered` is Σ q x from the unrounded values.
  private func probabilityRow(
    _ x: UnsafePointer<Compute>, _ q: UnsafePointer<Compute>, _ out: UnsafeMutablePointer<Compute>?,
    count n: Int, index: Int, threads: Int, shifted: (by: Double, centered: Double)? = nil
  ) {
    // Σ q and Σ q (x − r) before pass 1 (which may overwrite the logits), with r = x_0 when
    // the logits are huge, so that Σ q (log Z − x) = Σ q · (log Z − r) − Σ q (x − r) keeps
    // their small differences.
    let qRow = RowPlan(x: q, y: UnsafeMutablePointer(mutating: q), count: n, threads: threads)
    let mass = qRow.sum()
    let first = Double(x[0])
    let reference = shifted == nil && first.isFinite && Swift.abs(first) > 1e6 ? first : 0
    var centered = 0.0
    if let shifted {
      centered = shifted.centered
    } else if reference != 0 {
      for i in 0..<n where q[i] != 0 { centered += Double(q[i]) * (Double(x[i]) - reference) }
    } else {
      centered = qRow.sum(times: x)
    }
    if centered.isNaN && !mass.isNaN && shifted == nil {
      // A target of 0 on a logit of −inf contributes 0 (0 · log 0 = 0), not NaN.
      centered = 0
      for i in 0..<n where q[i] != 0 { centered += Double(q[i]) * (Double(x[i]) - reference) }
    }
    let shift = shifted?.by ?? 0
    let t2 = temperature * temperature
    Compute.gradientPasses(
      x, out, count: n, threads: threads, streamAlways: streamAlways, streamable: false,
      staging: nil, entry: nil
    ) { total in
      let lse = total.logSum + shift
      logSums?[index] = lse
      guard total.isFiniteSum else {
        losses[index] = mass.isNaN ? .nan : t2 * specialLoss(total, x, q, count: n)
        if let out { special(total, x, out, count: n, targets: q, scale: weight * temperature) }
        return nil
      }
      var loss = mass * total.logSum(minus: reference) - centered
      if loss.isNaN && !centered.isNaN {
        // inf − inf: logits at both ends of the range ([−max, max] in Double), whose terms
        // q (log Z − x) are each ≥ 0 and some +inf. Summed term by term they give +inf.
        loss = 0
        for i in 0..<n where q[i] != 0 { loss += Double(q[i]) * total.logSum(minus: Double(x[i])) }
      }
      losses[index] = t2 * (loss + zLoss * lse * lse)
      // ∂/∂x of Σ q (log Z − x): (Σ q) softmax − q, so targets that do not sum exactly to 1
      // (rounded probabilities) still get the gradient of the loss returned.
      return GradientOutput(
        scale: weight * temperature * (mass + 2 * zLoss * lse), targets: q,
        weight: weight * temperature)
    }
  }

  /// The loss of a row whose sum is NaN, infinite or empty: NaN, log(count of +inf) when the
  /// label is one of the +inf entries and nothing else is added, else +inf.
  private func specialLoss(_ total: SoftmaxNormalizer, labelIsInfinite: Bool) -> Double {
    if total.mantissa.isNaN { return .nan }
    if total.infinityCount > 0 && labelIsInfinite && smoothing == 0 && zLoss == 0 {
      return log(Double(total.infinityCount))
    }
    return .infinity
  }

  /// The soft-target loss of a row whose sum is NaN, infinite or empty, before the T² factor:
  /// NaN; Σ q log(count of +inf) when all of the target mass is on +inf entries (each has
  /// probability 1 / count: as `specialLoss` has it for a label) and there is no z-loss; else
  /// +inf.
  private func specialLoss(
    _ total: SoftmaxNormalizer, _ x: UnsafePointer<Compute>, _ q: UnsafePointer<Compute>,
    count n: Int
  ) -> Double {
    if total.mantissa.isNaN { return .nan }
    guard total.infinityCount > 0 && zLoss == 0 else { return .infinity }
    var mass = 0.0
    for i in 0..<n where q[i] != 0 {
      guard x[i] == .infinity else { return .infinity }
      mass += Double(q[i])
    }
    return mass * log(Double(total.infinityCount))
  }

  /// The gradient of a row whose sum is NaN (NaN everywhere), infinite (the +inf entries
  /// share the probability) or empty (no probability anywhere): scale · (p − ε / C − t).
  private func special(
    _ total: SoftmaxNormalizer, _ x: UnsafePointer<Compute>, _ out: UnsafeMutablePointer<Compute>,
    count n: Int, targets q: UnsafePointer<Compute>?, scale: Double
  ) {
    if total.mantissa.isNaN { return out.update(repeating: .nan, count: n) }
    let share = total.infinityCount > 0 ? 1 / Double(total.infinityCount) : 0
    let offset = q == nil ? smoothing / Double(n) : 0
    for i in 0..<n {
      let p = x[i] == .infinity ? share : 0
      out[i] = Compute(scale * (p - offset - (q.map { Double($0[i]) } ?? 0)))
    }
  }
}

extension SoftmaxNormalizer {
  /// Whether the sum is a finite, non-zero number (no NaN, no +inf entry, not empty).
  var isFiniteSum: Bool { !mantissa.isNaN && infinityCount == 0 && mantissa > 0 }

  /// log Σ − value for a finite sum, as (shift − value) + the rest: the first difference is
  /// exact when value is close to the shift (the maximum), so huge logits keep their
  /// small differences.
  func logSum(minus value: Double) -> Double {
    (shift - value) + (exponent * ln2 + log(mantissa))
  }
}
