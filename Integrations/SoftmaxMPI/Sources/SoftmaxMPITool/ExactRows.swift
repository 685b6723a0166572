#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif

/// The exact values of a batch's rows, in Double, independent of the library: the row's
/// maximum, Σ e^(x − max) with Neumaier's compensation, log Z = max + log Σ. Rows with a
/// non-finite logit have none (`isFinite` false); the library's results check those.
struct ExactRows {
  let batch: CheckBatch
  let isFinite: [Bool]
  /// log Z = maximum + logOfSum, kept apart so that x − log Z keeps the small differences of
  /// huge logits.
  let maximum: [Double]
  let logOfSum: [Double]
  var logSum: [Double] { zip(maximum, logOfSum).map { $0 + $1 } }
  /// Σ x per row (compensated), for label smoothing.
  let sum: [Double]

  init(_ batch: CheckBatch) {
    self.batch = batch
    var finite = [Bool]()
    var maximum = [Double]()
    var logOfSum = [Double]()
    var sums = [Double]()
    for r in 0..<batch.rows {
      let x = batch.row(r).map { Double($0) }
      let ok = x.allSatisfy(\.isFinite)
      finite.append(ok)
      guard ok else {
        maximum.append(.nan)
        logOfSum.append(.nan)
        sums.append(.nan)
        continue
      }
      let m = x.max()!
      maximum.append(m)
      logOfSum.append(log(neumaier(x.map { exp($0 - m) })))
      sums.append(neumaier(x))
    }
    self.isFinite = finite
    self.maximum = maximum
    self.logOfSum = logOfSum
    self.sum = sums
  }

  func x(_ r: Int, _ c: Int) -> Double { Double(batch.logits[r * batch.classes + c]) }

  /// log Z − v, as (maximum − v) + log Σ.
  func logSum(_ r: Int, minus v: Double) -> Double { (maximum[r] - v) + logOfSum[r] }

  func probability(_ r: Int, _ c: Int) -> Double { exp(-logSum(r, minus: x(r, c))) }

  func logProbability(_ r: Int, _ c: Int) -> Double { -logSum(r, minus: x(r, c)) }

  /// (1 − ε)(log Z − x_label) + ε(log Z − mean x).
  func loss(_ r: Int, label: Int, _ epsilon: Double) -> Double {
    (1 - epsilon) * logSum(r, minus: x(r, label))
      + epsilon * logSum(r, minus: sum[r] / Double(batch.classes))
  }

  /// p − (1 − ε) one-hot − ε / C, the label's entry through expm1.
  func gradient(_ r: Int, _ c: Int, label: Int, _ epsilon: Double) -> Double {
    let uniform = epsilon / Double(batch.classes)
    if c == label { return expm1(-logSum(r, minus: x(r, c))) + epsilon - uniform }
    return probability(r, c) - uniform
  }
}

/// Σ values with Neumaier's compensation.
func neumaier(_ values: [Double]) -> Double {
  var sum = 0.0
  var compensation = 0.0
  for v in values {
    let t = sum + v
    compensation += abs(sum) >= abs(v) ? (sum - t) + v : (v - t) + sum
    sum = t
  }
  return sum + compensation
}
