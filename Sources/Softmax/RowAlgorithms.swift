package import SoftmaxKernels

// Each algorithm as a sequence of pass kernels over one contiguous row of count ≥ 1
// elements. `y` is either `x` or does not overlap it.

/// Outside these exponents of the pass-1 total, the Two-Pass pair representation may have
/// clamped an input (|x| > 2800), so the row is finished by the max-subtracting path:
/// above 4000 means some x > 2772; below −3850 means every x < −2668, and then the values
/// clamped at −2800 might no longer be negligible next to the largest.
private let twoPassExponentRange: ClosedRange<Float> = -3850...4000

package enum RowAlgorithms {
  /// Outputs of at least this many elements are written with non-temporal stores, which skip
  /// the caches: above the last-level cache size the output would be evicted before the caller
  /// reads it anyway, and streaming halves the write traffic (no read for ownership).
  package static var streamingThreshold: Int { CacheInfo.lastLevelBytes / MemoryLayout<Float>.size }

  package static func twoPass(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, kernels: PassKernels
  ) {
    let sum = kernels.twoPassSum(x, count)
    guard sum.mantissa.isFinite, twoPassExponentRange.contains(sum.exponent) else {
      threePassRecompute(x, y, count: count, kernels: kernels)
      return
    }
    let (mi, bias) = sum.outputParameters
    kernels.twoPassOutput(x, y, count, mi, bias, count >= streamingThreshold)
  }

  package static func threePassRecompute(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, kernels: PassKernels
  ) {
    let max = kernels.max(x, count)
    guard max.isFinite else { return nonFiniteRowSoftmax(x, y, count: count) }
    let sum = kernels.sumExp(x, count, max)
    guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
    let scale = Float(1 / sum)
    kernels.expScaledOutput(
      x, y, count, max, scale, flushThreshold(inverseSum: scale), count >= streamingThreshold)
  }

  package static func threePassReload(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int, kernels: PassKernels
  ) {
    let max = kernels.max(x, count)
    guard max.isFinite else { return nonFiniteRowSoftmax(x, y, count: count) }
    let sum = kernels.sumAndStoreExp(x, y, count, max)
    guard !sum.isNaN else { return y.update(repeating: .nan, count: count) }
    let scale = Float(1 / sum)
    kernels.scaleInPlace(
      y, count, scale, flushThreshold(inverseSum: scale), count >= streamingThreshold)
  }

  package static func run(
    _ algorithm: SoftmaxAlgorithm, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
    count: Int, kernels: PassKernels = .selected
  ) {
    switch algorithm {
    case .twoPass: twoPass(x, y, count: count, kernels: kernels)
    case .threePassRecompute: threePassRecompute(x, y, count: count, kernels: kernels)
    case .threePassReload: threePassReload(x, y, count: count, kernels: kernels)
    }
  }
}
