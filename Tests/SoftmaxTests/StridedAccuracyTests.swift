import Softmax
import Testing
import _SoftmaxTestSupport

/// Float columns of an inner axis held to the row path's documented bounds where the strided
/// kernel once fell short of them (a hostile-input harness found both).
@Suite("Inner-axis Float accuracy: huge logits and long columns")
struct StridedAccuracyTests {
  /// The largest |ℓ − exact| / max(1, |exact|) of `logSoftmax` along axis 0, with its index.
  func logError(_ x: [Float], shape: [Int], threads: Int?) -> (error: Double, index: Int) {
    let y = logSoftmax(x, shape: shape, axis: 0, threads: threads)
    let reference = referenceAlongAxis(x, shape: shape, axis: 0, logarithm: true)
    var worst = (error: 0.0, index: -1)
    for (i, (value, exact)) in zip(y, reference).enumerated() {
      let error = abs(Double(value) - exact) / max(1, abs(exact))
      if !(error <= worst.error) { worst = (error, i) }
    }
    return worst
  }

  @Test("log-softmax of huge logits along axis 0: the cases the harness found")
  func hugeLogitCases() {
    // Two equal logits of 1e30 (or ±greatestFiniteMagnitude): −ln 2 each, not 0.
    let half = Float(-0.693_147_180_559_945_3)
    let big = Float.greatestFiniteMagnitude
    for value in [1e30, -1e30, 3000, big, -big] as [Float] {
      for threads in [nil, 2] as [Int?] {
        let y = logSoftmax([value, 0, value, 0], shape: [2, 2], axis: 0, threads: threads)
        #expect(y == [half, half, half, half], "\(value), threads \(String(describing: threads))")
      }
    }
    // Close but unequal large logits: x − max is exact, log Σ is small.
    let x: [Float] = [10000.6035, 0, 9998.97949, 0]
    let worst = logError(x, shape: [2, 2], threads: nil)
    #expect(worst.error <= 1e-5, "\(worst)")
  }

  @Test(
    "log-softmax of columns far from 0, every length class, full and partial groups",
    arguments: [3000, 1e4, -1e4, 1e8, 1e30, -1e30] as [Float])
  func hugeLogitColumns(offset: Float) {
    // 18 columns: a group of 16 and one of 2. Spread by 4 around the offset (those of 1e8
    // and beyond round to a few values, or to the offset itself: equal logits).
    for (s, length) in [2, 3, 17, 70, 1000].enumerated() {
      let shape = [length, 18]
      let x = randomInputs(
        count: length * 18, distribution: .standardNormal, scale: 4, shift: offset,
        seed: UInt64(100 + s))
      for threads in [nil, 2] as [Int?] {
        let worst = logError(x, shape: shape, threads: threads)
        #expect(worst.error <= 1e-5, "offset \(offset) shape \(shape): \(worst)")
      }
    }
  }

  @Test(
    "long columns: softmax within 1e-5 relative, columns sum to 1, log-softmax within 1e-5",
    arguments: [[70_000, 2], [65_536, 3]])
  func longColumns(shape: [Int]) {
    // Uniform in [−9, 9]: tens of thousands of terms of similar size per column, where a
    // Float running sum drifts by 6e-5.
    let x = randomInputs(count: shape[0] * shape[1], distribution: .uniform, scale: 9, seed: 7)
    let y = softmax(x, shape: shape, axis: 0)
    let reference = referenceAlongAxis(x, shape: shape, axis: 0, logarithm: false)
    let report = compare(y, with: reference)
    #expect(report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "\(shape): \(report)")
    for column in 0..<shape[1] {
      let sum = stride(from: column, to: y.count, by: shape[1]).reduce(0.0) { $0 + Double(y[$1]) }
      #expect(abs(sum - 1) <= 1e-5, "\(shape) column \(column): Σ = \(sum)")
    }
    let worst = logError(x, shape: shape, threads: nil)
    #expect(worst.error <= 1e-5, "log \(shape): \(worst)")
  }
}
