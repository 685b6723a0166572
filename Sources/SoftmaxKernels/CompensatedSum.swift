/// A Double sum that carries its own rounding error: the Double rows' Σ e^(x − max).
///
/// Every addition goes through Knuth's TwoSum, which gives the rounded sum and its rounding
/// error exactly (six additions, no branch, no FMA), and the errors accumulate in
/// `compensation` (the Kahan–Babuška / Neumaier scheme). For nonnegative terms the value is
/// then within a relative 2u + n · u² of the exact sum of the n added terms (u = 2^-53), where
/// a plain running sum drifts by up to n · u: rows of 2^22 elements summed in 16 running
/// vector lanes reached 2.3e-13, more than the Double rows' bound of 1e-13.
///
/// The kernels add block sums here (blocks short enough that the vector lanes' own error is
/// bounded by the block, not the row), and chunk totals merge pair by pair in chunk order, so
/// results do not depend on the thread count. NaN terms make the value NaN.
package struct CompensatedSum: Sendable, Equatable {
  /// The rounded running sum.
  package var sum: Double
  /// The accumulated rounding errors of the additions into `sum`.
  package var compensation: Double

  package static let zero = CompensatedSum(sum: 0, compensation: 0)

  package init(sum: Double, compensation: Double) {
    self.sum = sum
    self.compensation = compensation
  }

  /// The best Double for the sum.
  package var value: Double { sum + compensation }

  /// Adds one term; its rounding error goes exactly into `compensation`.
  @_transparent
  package mutating func add(_ term: Double) {
    let total = sum + term
    let termPart = total - sum
    let sumPart = total - termPart
    compensation += (sum - sumPart) + (term - termPart)
    sum = total
  }

  /// Adds another compensated sum (a later chunk's): its sum as a term, its compensation to
  /// ours.
  @_transparent
  package mutating func add(_ other: CompensatedSum) {
    add(other.sum)
    compensation += other.compensation
  }
}
