internal import SoftmaxKernels

// Each algorithm as a sequence of pass kernels over one contiguous row of count ≥ 1
// elements. `y` is either `x` or does not overlap it.

/// Outside these exponents of the pass-1 total, the Two-Pass pair representation may have
/// clamped an input (|x| > 2800), so the row is finished by the max-subtracting path:
/// above 4000 means some x > 2772; below −3850 means every x < −2668, and then the values
/// clamped at −2800 might no longer be negligible next to the largest.
private let twoPassExponentRange: ClosedRange<Float> = -3850...4000

enum RowAlgorithms {
  static func twoPass(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    let sum = twoPassSum_simd16_acc2(x, count: count)
    guard sum.mantissa.isFinite, twoPassExponentRange.contains(sum.exponent) else {
      threePassRecompute(x, y, count: count)
      return
    }
    twoPassOutput_simd16(x, y, count: count, sum: sum)
  }

  static func threePassRecompute(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
  ) {
    let max = max_simd16_acc4(x, count: count)
    guard max.isFinite else { return nonFiniteRowSoftmax(x, y, count: count) }
    let sum = sumExp_simd16_acc2(x, count: count, shift: max)
    guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
    expScaledOutput_simd16(x, y, count: count, shift: max, inverseSum: Float(1 / sum))
  }

  static func threePassReload(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int
  ) {
    let max = max_simd16_acc4(x, count: count)
    guard max.isFinite else { return nonFiniteRowSoftmax(x, y, count: count) }
    let sum = sumAndStoreExp_simd16_acc2(x, y, count: count, shift: max)
    guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
    scaleInPlace_simd16(y, count: count, inverseSum: Float(1 / sum))
  }

  static func run(
    _ algorithm: SoftmaxAlgorithm, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    count: Int
  ) {
    switch algorithm {
    case .twoPass: twoPass(x, y, count: count)
    case .threePassRecompute: threePassRecompute(x, y, count: count)
    case .threePassReload: threePassReload(x, y, count: count)
    }
  }
}
