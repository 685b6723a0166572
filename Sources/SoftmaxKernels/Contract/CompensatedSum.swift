/// A sum that carries its own rounding error: Σ e^(x − max) of every Double line, whether a
/// row's block sums (`Double`) or the columns of an inner axis, one per vector lane
/// (`SIMD8<Double>`), or chunks of a stream.
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
package struct CompensatedSum<Value: CompensatedSummable>: Sendable {
  /// The rounded running sum.
  package var sum: Value
  /// The accumulated rounding errors of the additions into `sum`.
  package var compensation: Value

  package static var zero: Self { Self(sum: .zeroSum, compensation: .zeroSum) }

  package init(sum: Value, compensation: Value) {
    self.sum = sum
    self.compensation = compensation
  }

  /// The best value for the sum.
  @_transparent
  package var value: Value { sum + compensation }

  /// Adds one term; its rounding error goes exactly into `compensation`.
  @_transparent
  package mutating func add(_ term: Value) {
    let total = sum + term
    let termPart = total - sum
    let sumPart = total - termPart
    compensation += (sum - sumPart) + (term - termPart)
    sum = total
  }

  /// Adds another compensated sum (a later chunk's): its sum as a term, its compensation to
  /// ours.
  @_transparent
  package mutating func add(_ other: Self) {
    add(other.sum)
    compensation += other.compensation
  }

  /// Multiplies both parts (a rescaling to a larger maximum, by a factor ≤ 1).
  @_transparent
  package mutating func scale(by factor: Value) {
    sum = sum * factor
    compensation = compensation * factor
  }
}

extension CompensatedSum: Equatable where Value: Equatable {}

/// What a compensated sum adds: Double, or Double vectors lane by lane.
package protocol CompensatedSummable: Sendable {
  static var zeroSum: Self { get }
  static func + (a: Self, b: Self) -> Self
  static func - (a: Self, b: Self) -> Self
  static func * (a: Self, b: Self) -> Self
  static func += (a: inout Self, b: Self)
}

extension Double: CompensatedSummable {
  package static var zeroSum: Double { 0 }
}

extension SIMD8: CompensatedSummable where Scalar == Double {
  package static var zeroSum: SIMD8<Double> { SIMD8(repeating: 0) }
}
