import Foundation

/// Double references for the training operations, row by row, written from their textbook
/// definitions (max-subtracting softmax, compensated sums). They share no code with the
/// library.
public enum ReferenceTraining {
  /// log Σ e^x (−inf for an empty or all −inf row, +inf with a +inf entry, NaN with a NaN).
  public static func logSumExp(_ x: [Double]) -> Double {
    if x.contains(where: \.isNaN) { return .nan }
    guard let maximum = x.max(), maximum > -.infinity else { return -.infinity }
    if maximum == .infinity { return .infinity }
    return maximum + log(ReferenceSoftmax.compensatedSum(x.map { exp($0 - maximum) }))
  }

  /// softmax(x) in Double (finite rows).
  public static func softmax(_ x: [Double]) -> [Double] {
    let lse = logSumExp(x)
    return x.map { exp($0 - lse) }
  }

  /// dx = y ⊙ (dy − Σ dy ⊙ y).
  public static func softmaxBackward(y: [Double], dy: [Double]) -> [Double] {
    let s = ReferenceSoftmax.compensatedSum(zip(dy, y).map { $0 * $1 })
    return zip(y, dy).map { $0 * ($1 - s) }
  }

  /// dx = dy − e^logY ⊙ Σ dy.
  public static func logSoftmaxBackward(logY: [Double], dy: [Double]) -> [Double] {
    let s = ReferenceSoftmax.compensatedSum(dy)
    return zip(logY, dy).map { $1 - exp($0) * s }
  }

  /// The cross-entropy of one finite row with a label, smoothing ε and z-loss w, and its
  /// gradient: −Σ t_i log p_i + w (log Z)² with t = (1 − ε) one-hot + ε / C.
  public static func crossEntropy(
    _ x: [Double], label: Int, smoothing: Double = 0, zLoss: Double = 0
  ) -> (loss: Double, gradient: [Double]) {
    let n = Double(x.count)
    let lse = logSumExp(x)
    let targets = x.indices.map { (($0 == label) ? 1 - smoothing : 0) + smoothing / n }
    let loss =
      ReferenceSoftmax.compensatedSum(zip(targets, x).map { $0 * (lse - $1) }) + zLoss * lse * lse
    let p = x.map { exp($0 - lse) }
    let gradient = zip(p, targets).map { (1 + 2 * zLoss * lse) * $0 - $1 }
    return (loss, gradient)
  }

  /// The cross-entropy of softmax(x / T) against probabilities q, times T², and its gradient.
  public static func softCrossEntropy(_ x: [Double], targets q: [Double], temperature t: Double)
    -> (loss: Double, gradient: [Double])
  {
    let scaled = x.map { $0 / t }
    let lse = logSumExp(scaled)
    let loss = t * t * ReferenceSoftmax.compensatedSum(zip(q, scaled).map { $0 * (lse - $1) })
    let mass = ReferenceSoftmax.compensatedSum(q)
    let gradient = zip(scaled, q).map { t * (mass * exp($0 - lse) - $1) }
    return (loss, gradient)
  }

  /// StableMax cross-entropy of one row and its gradient, by its definition: p = s(x) / Σ s,
  /// loss −Σ t log p, gradient by the quotient rule.
  public static func stableMaxCrossEntropy(_ x: [Double], label: Int, smoothing: Double = 0)
    -> (loss: Double, gradient: [Double])
  {
    func s(_ v: Double) -> Double { v >= 0 ? v + 1 : 1 / (1 - v) }
    func ds(_ v: Double) -> Double { v >= 0 ? 1 : 1 / ((1 - v) * (1 - v)) }
    let n = Double(x.count)
    let total = ReferenceSoftmax.compensatedSum(x.map(s))
    let targets = x.indices.map { (($0 == label) ? 1 - smoothing : 0) + smoothing / n }
    let loss = ReferenceSoftmax.compensatedSum(zip(targets, x).map { -$0 * log(s($1) / total) })
    // ∂/∂x_i of −Σ_j t_j (log s_j − log S) = −t_i s'_i / s_i + s'_i / S (Σ t = 1).
    let gradient = zip(x, targets).map { ds($0) / total - $1 * ds($0) / s($0) }
    return (loss, gradient)
  }

  /// The multiclass hinge loss of one row and its (sub)gradient.
  public static func hinge(_ x: [Double], label: Int, margin: Double, squared: Bool)
    -> (loss: Double, gradient: [Double])
  {
    let n = Double(x.count)
    var loss = 0.0
    var gradient = [Double](repeating: 0, count: x.count)
    for i in x.indices where i != label {
      let h = margin - x[label] + x[i]
      guard h > 0 else { continue }
      loss += squared ? h * h : h
      let g = (squared ? 2 * h : 1) / n
      gradient[i] += g
      gradient[label] -= g
    }
    return (loss / n, gradient)
  }
}
