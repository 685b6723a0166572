/// A sum of exponentials held as mantissa · 2^exponent, so that it neither overflows nor
/// underflows: the value that pass 1 of the Two-Pass algorithm produces.
///
/// Two sums merge by rescaling the one with the smaller exponent, an exact operation on powers
/// of two, so partial sums of chunks combine in any order (up to the rounding of the final
/// addition). The mantissa is a Double: block sums computed in Float vectors are added here,
/// which keeps the long-row summation error near that of a pairwise sum.
package struct ScaledExpSum: Sendable, Equatable {
  package var mantissa: Double
  /// An integer-valued Float; −inf for the empty sum.
  package var exponent: Float

  package static let zero = ScaledExpSum(mantissa: 0, exponent: -.infinity)

  /// Exponents of a row's total inside which the pair representation is exact. Outside, an
  /// input may have been clamped (|x| > 2800): above 4000 means some x > 2772; below −3850
  /// means every x < −2668, and then the values clamped at −2800 might no longer be negligible
  /// next to the largest. Such rows must be summed again by subtracting their maximum.
  package static let exactExponentRange: ClosedRange<Float> = -3850...4000

  /// Whether the sum is finite and exact (no NaN input, no clamped input).
  package var isExact: Bool {
    mantissa.isFinite && Self.exactExponentRange.contains(exponent)
  }

  package init(mantissa: Double, exponent: Float) {
    self.mantissa = mantissa
    self.exponent = exponent
  }

  /// The constants of pass 2: 1/M = mi · 2^ei with mi ∈ [1, 2), so that
  /// y = (m · mi) · 2^(n − (N − ei)). There m · mi < 2.83 and the exponent is ≤ 0, because
  /// M ≥ √½ (the largest term alone contributes that much), so one flush rule on the
  /// exponent keeps every output normal or zero.
  package var outputParameters: (inverseMantissa: Float, exponentBias: Float) {
    let inverse = 1 / mantissa
    return (Float(inverse.significand), exponent - Float(inverse.exponent))
  }

  package func merged(with other: ScaledExpSum) -> ScaledExpSum {
    let e = Swift.max(exponent, other.exponent)
    guard e > -.infinity else {
      // Both empty, or NaN: NaN must survive the merge.
      return ScaledExpSum(mantissa: mantissa + other.mantissa, exponent: e)
    }
    return ScaledExpSum(
      mantissa: mantissa * exp2Clamped(exponent - e) + other.mantissa
        * exp2Clamped(other.exponent - e),
      exponent: e)
  }
}

/// 2^d in Double for integer-valued d ≤ 0 (−inf gives 0).
@inline(__always)
func exp2Clamped(_ d: Float) -> Double {
  d < -1100 ? 0 : Double(sign: .plus, exponent: Int(d), significand: 1)
}
