import Foundation

/// The reference that `softmax check` measures against: softmax and log-softmax in Double, far
/// more precise than the Float (or Float16) results it judges, and accurate to a few Double
/// ulps for Double inputs. It shares no code with the library: the maximum is subtracted
/// exactly (the rounding error of x − max is carried as a second Double), the sum is
/// compensated (Neumaier), and the special-value contract is written out case by case.
package struct ExactSoftmax {
  /// The probabilities (NaN for a row with NaN).
  package var probabilities: [Double]
  /// The log-probabilities (−inf for probability 0 from −inf entries or an all −inf row).
  package var logProbabilities: [Double]

  /// The reference for `x`, given in Double (Float and Float16 inputs convert exactly).
  package init(_ x: [Double]) {
    let count = x.count
    if count == 0 {
      self.init(probabilities: [], logProbabilities: [])
    } else if x.contains(where: \.isNaN) {
      self.init(constant: .nan, log: .nan, count: count)
    } else if let infinities = Self.positiveInfinities(x) {
      // The limit as those logits grow together: they share the mass, the rest get nothing.
      let share = 1 / Double(infinities)
      self.init(
        probabilities: x.map { $0 == .infinity ? share : 0 },
        logProbabilities: x.map {
          $0 == .infinity ? -Foundation.log(Double(infinities)) : -.infinity
        }
      )
    } else if let maximum = x.max(), maximum > -.infinity {
      self.init(finiteMaximum: maximum, x)
    } else {
      // Only −inf: the row attends to nothing.
      self.init(constant: 0, log: -.infinity, count: count)
    }
  }

  private init(probabilities: [Double], logProbabilities: [Double]) {
    self.probabilities = probabilities
    self.logProbabilities = logProbabilities
  }

  private init(constant: Double, log: Double, count: Int) {
    self.init(
      probabilities: Array(repeating: constant, count: count),
      logProbabilities: Array(repeating: log, count: count))
  }

  /// The number of +inf entries, or nil for none.
  private static func positiveInfinities(_ x: [Double]) -> Int? {
    let count = x.lazy.filter { $0 == .infinity }.count
    return count > 0 ? count : nil
  }

  /// The finite-maximum case: x − max as an exact pair (hi, lo), e^(hi + lo) ≈ e^hi · (1 + lo).
  private init(finiteMaximum maximum: Double, _ x: [Double]) {
    var high = [Double](repeating: 0, count: x.count)
    var low = [Double](repeating: 0, count: x.count)
    var terms = [Double](repeating: 0, count: x.count)
    for (i, value) in x.enumerated() {
      let (h, l) = Self.exactDifference(value, maximum)
      high[i] = h
      low[i] = l
      terms[i] = h.isFinite ? Foundation.exp(h) * (1 + l) : 0
    }
    // The maximum's own term is 1, so the sum is at least 1 and its logarithm finite.
    let total = Self.compensatedSum(terms)
    let logTotal = Foundation.log(total)
    self.init(
      probabilities: terms.map { $0 / total },
      logProbabilities: zip(high, low).map { h, l in h.isFinite ? (h - logTotal) + l : h })
  }

  /// a − b as hi + lo exactly (Knuth's TwoSum); lo is 0 when hi is not finite.
  package static func exactDifference(_ a: Double, _ b: Double) -> (Double, Double) {
    let high = a - b
    guard high.isFinite else { return (high, 0) }
    let bPart = high - a
    let aPart = high - bPart
    let low = (a - aPart) + (-b - bPart)
    return (high, low)
  }

  /// Σ values with Neumaier's compensation: the error stays about an ulp of the result for
  /// any count, so rows of 2^20 terms are summed as precisely as rows of 7.
  static func compensatedSum<S: Sequence>(_ values: S) -> Double where S.Element == Double {
    var sum = 0.0
    var compensation = 0.0
    for value in values {
      let next = sum + value
      if abs(sum) >= abs(value) {
        compensation += (sum - next) + value
      } else {
        compensation += (value - next) + sum
      }
      sum = next
    }
    return sum + compensation
  }
}
