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
}
