#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// StableMax (Prieto et al. 2025): s(x) = x + 1 for x ≥ 0, 1 / (1 − x) below, and
// StableMax_i = s(x_i) / Σ s(x_j). s grows linearly, so nothing overflows and no maximum is
// needed; its cross-entropy avoids the softmax collapse that the paper links to grokking.

/// s(x) and s'(x) in Double.
@inline(__always)
private func stable(_ x: Double) -> (value: Double, slope: Double) {
  if x >= 0 { return (x + 1, 1) }
  let r = 1 / (1 - x)
  return (r, r * r)
}

/// The cross-entropy of StableMax with labels (label smoothing ε):
/// L = log S − (1 − ε) log s(x_label) − (ε / C) Σ log s(x_i), S = Σ s(x_i); gradient
/// s'(x_i) / S − t_i s'(x_i) / s(x_i) with t = (1 − ε) one-hot + ε / C, times `weight`.
/// Sums in Double, scalar loops: about 1-3 ns per element.
struct StableMaxCrossEntropyRow<Compute: TrainingCompute>: TrainingRow {
  let labels: RowLabels
  let smoothing: Double
  let weight: Double
  let losses: UnsafeMutablePointer<Double>

  var rewritesInput: Bool { false }

  func row(
    _ a: UnsafePointer<Compute>, _ b: UnsafePointer<Compute>?,
    _ out: UnsafeMutablePointer<Compute>?,
    count n: Int, index: Int, threads: Int
  ) {
    guard let label = labels.label(ofRow: index, losses: losses, gradient: out, count: n)
    else { return }
    let xl = Double(a[label])
    var total = 0.0
    var logs = 0.0
    var infinities = 0
    for i in 0..<n {
      let x = Double(a[i])
      if x == .infinity { infinities += 1 }
      let s = stable(x).value
      total += s
      if smoothing > 0 { logs += log(s) }
    }
    // Finite Double logits near greatestFiniteMagnitude overflow S: sum them again scaled by
    // 2^-64 (S = total · 2^64), which no count of finite values can overflow.
    var scaled = false
    if total == .infinity && infinities == 0 {
      total = 0
      for i in 0..<n { total += stable(Double(a[i])).value * 0x1p-64 }
      scaled = true
    }
    let (sl, slopeL) = stable(xl)
    let loss: Double
    if total.isNaN {
      loss = .nan
    } else if infinities > 0 {
      loss = xl == .infinity && smoothing == 0 ? log(Double(infinities)) : .infinity
    } else if total == 0 {
      loss = .infinity
    } else {
      let logTotal = log(total) + (scaled ? 64 * 0.693_147_180_559_945_309 : 0)
      loss = logTotal - (1 - smoothing) * log(sl) - smoothing / Double(n) * logs
    }
    losses[index] = loss
    guard let out else { return }
    if total.isNaN { return out.update(repeating: .nan, count: n) }
    // 1 / S is 0 with +inf entries (each gets 0 in the limit) and +inf for an empty row,
    // where the limit is undefined: such rows get a zero gradient.
    let inverse = total > 0 ? (scaled ? 1 / total * 0x1p-64 : 1 / total) : 0
    let spread = smoothing / Double(n)
    for i in 0..<n {
      let (s, slope) = stable(Double(a[i]))
      let own = spread > 0 && s > 0 ? spread * slope / s : 0
      out[i] = Compute(weight * (slope * inverse - own))
    }
    let labelTerm = sl > 0 ? (1 - smoothing) * slopeL / sl : 0
    out[label] -= Compute(weight * labelTerm)
  }
}
