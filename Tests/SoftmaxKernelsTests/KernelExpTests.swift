import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The exponentials inside every kernel set, swept through the pass kernels that store them:
/// the Three-Pass exp through `sumAndStoreExp` (shift 0, so the stored terms are e^x), the
/// extended exp of Two-Pass through `twoPassOutput` (inverse mantissa 1, so each output is
/// e^x · 2^−bias). The bounds are those of exp_constants.h and VectorExp.swift.
@Suite("Exponentials of every kernel set")
struct KernelExpTests {
  /// Relative error bound of the Three-Pass exp on [−87.33, 0] per kernel set.
  static func threePassBound(_ isa: KernelISA) -> Double {
    isa == .portable ? 3e-7 : 4.1e-7
  }

  /// Points where the reductions change branch: around every (j + ½)/32 · ln 2 (the AVX-512
  /// table index changes there) and (k + ½) · ln 2 (the AVX2 and portable n changes), in
  /// [low, high].
  func reductionEdges(low: Float, high: Float) -> [Float] {
    var xs: [Float] = []
    var j = (Double(low) * 32 / log(2.0)).rounded(.down)
    while j * log(2.0) / 32 <= Double(high) {
      let x = Float((j + 0.5) * log(2.0) / 32)
      xs += [x.nextDown, x, x.nextUp]
      j += 1
    }
    return xs.filter { $0 >= low && $0 <= high }
  }

  @Test(
    "Three-Pass exp: within its bound on [−87.33, 0], 1 at 0, 0 below",
    arguments: KernelISA.allCases)
  func threePassExp(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    let xs =
      sweep(-87.33, 0, count: sweepPoints, seed: 21) + reductionEdges(low: -87.33, high: 0)
      + [0, -0.0, -.leastNonzeroMagnitude, -1e-30, -87.33]
    var terms = [Float](repeating: .nan, count: xs.count)
    let sum = xs.withUnsafeBufferPointer { x in
      terms.withUnsafeMutableBufferPointer { y in
        kernels.sumAndStoreExp(x.baseAddress!, y.baseAddress!, xs.count, 0)
      }
    }
    var worst: (error: Double, x: Float) = (0, 0)
    for (x, e) in zip(xs, terms) {
      let exact = exp(Double(x))
      let error = abs(Double(e) - exact) / exact
      if error > worst.error { worst = (error, x) }
    }
    #expect(
      worst.error <= Self.threePassBound(isa), "\(isa): \(worst.error) relative at x = \(worst.x)")
    #expect(terms[xs.count - 5] == 1 && terms[xs.count - 4] == 1, "\(isa): e^0 must be exactly 1")
    let reference = ReferenceSoftmax.compensatedSum(xs.map { exp(Double($0)) })
    #expect(abs(sum - reference) <= 1e-6 * reference, "\(isa): sum \(sum) vs \(reference)")

    let below: [Float] = [-87.35, -88, -100, -1e6, -.greatestFiniteMagnitude, -.infinity]
    var zeros = [Float](repeating: .nan, count: below.count)
    below.withUnsafeBufferPointer { x in
      zeros.withUnsafeMutableBufferPointer { y in
        _ = kernels.sumAndStoreExp(x.baseAddress!, y.baseAddress!, below.count, 0)
      }
    }
    #expect(zeros.allSatisfy { $0 == 0 }, "\(isa): below the cut \(zeros)")
    var nan: [Float] = [0]
    let nanSum = [Float.nan].withUnsafeBufferPointer { x in
      nan.withUnsafeMutableBufferPointer {
        kernels.sumAndStoreExp(x.baseAddress!, $0.baseAddress!, 1, 0)
      }
    }
    #expect(nan[0].isNaN && nanSum.isNaN, "\(isa): NaN must stay NaN")
  }

  @Test(
    "Two-Pass output: e^x · 2^−bias within 2 ulp over [−2800, 2800]", arguments: KernelISA.allCases)
  func extendedExp(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    // Windows of width 50, each with its own bias so that every output is normal.
    let windows = Array(stride(from: -2800 as Float, to: 2800, by: 50))
    let perWindow = max(64, sweepPoints / 8 / windows.count)
    var worst: (ulps: Int64, x: Float) = (0, 0)
    for (index, low) in windows.enumerated() {
      let high = low + 50
      let xs =
        sweep(low, high, count: perWindow, seed: UInt64(index))
        + reductionEdges(low: low, high: high)
      let bias = Float((Double(high) / log(2.0)).rounded(.up))
      var y = [Float](repeating: .nan, count: xs.count)
      xs.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer {
          kernels.twoPassOutput(x.baseAddress!, $0.baseAddress!, xs.count, 1, bias, false)
        }
      }
      for (x, value) in zip(xs, y) {
        let exact = Float(exp(Double(x) - Double(bias) * log(2.0)))
        let distance = ulpDistance(value, exact)
        if distance > worst.ulps { worst = (distance, x) }
      }
    }
    #expect(worst.ulps <= 2, "\(isa): \(worst.ulps) ulp at x = \(worst.x)")
  }
}
