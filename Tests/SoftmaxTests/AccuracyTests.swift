import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

#if DEBUG
  let largeTestLengths = [1 << 12 + 3, 1 << 16, 100_003]
#else
  let largeTestLengths = [1 << 12 + 3, 1 << 16, 100_003, 1 << 20, 1 << 24]
#endif

/// Scales and shifts of the random inputs: ×1, ×100, ×1e4, and shifts by ±1e30 (where the
/// Float inputs collapse to a few distinct values and the result must still be exact).
let transforms: [(scale: Float, shift: Float)] = [
  (1, 0), (100, 0), (10_000, 0), (1, 1e30), (1, -1e30), (1e4, 1e30),
]

@Suite("Accuracy against the Double reference")
struct AccuracyTests {
  @Test(
    "every length 0…70 (every tail of every vector width), every distribution and scale",
    arguments: SoftmaxAlgorithm.allCases, allISAs)
  func shortLengths(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for count in 0...70 {
      for distribution in InputDistribution.allCases {
        for (t, (scale, shift)) in transforms.enumerated() {
          let x = randomInputs(
            count: count, distribution: distribution, scale: scale, shift: shift,
            seed: UInt64(count * 100 + t))
          let y = runSoftmax(x, algorithm, offset: count % 5, isa: isa)
          expectAccurate(
            y, for: x, "\(algorithm)/\(isa) n=\(count) \(distribution) ×\(scale)+\(shift)")
        }
      }
    }
  }

  /// Rows of several chunks whose outputs straddle the flush threshold 2^-125 (in the chunk of
  /// the maximum, and in chunks whose own maximum is far below it), and rows whose chunks
  /// each allow the reload's scale to skip its compare: exactly 0 below the threshold, never
  /// subnormal, within 1e-5 above it.
  @Test("outputs at the flush threshold in rows of several chunks", arguments: allISAs)
  func flushThresholdInChunks(isa: KernelISA) {
    let count = 140_003
    let nearThreshold = (0..<count).map { i -> Float in
      i == 0 ? 0 : -86.2 - Float(i % 97) / 97 - (i > count / 2 ? Float(i % 5) : 0)
    }
    let narrow = randomInputs(count: count, distribution: .standardNormal, seed: 91)
    for (name, x) in [("near the threshold", nearThreshold), ("narrow", narrow)] {
      for algorithm in [SoftmaxAlgorithm.threePassReload, .auto] {
        let y = runSoftmax(x, algorithm, isa: isa)
        let exact = ReferenceSoftmax.softmax(x)
        var bad = 0
        for (value, e) in zip(y, exact) {
          let ok =
            e < 0x1p-125 * (1 - 1e-5)
            ? value == 0 : e < 0x1p-125 * (1 + 1e-5) || abs(Double(value) - e) <= 1e-5 * e
          if !ok || value.isSubnormal { bad += 1 }
        }
        #expect(bad == 0, "\(isa) \(algorithm) \(name): \(bad) outputs off")
      }
    }
  }

  @Test("large lengths", optimizedRunOnly, arguments: SoftmaxAlgorithm.allCases, allISAs)
  func largeRows(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for (k, count) in largeTestLengths.enumerated() {
      for distribution in [InputDistribution.standardNormal, .paperUniform] {
        let x = randomInputs(count: count, distribution: distribution, seed: UInt64(1000 + k))
        let y = runSoftmax(x, algorithm, offset: 1, isa: isa)
        expectAccurate(y, for: x, "\(algorithm)/\(isa) n=\(count) \(distribution)")
      }
    }
  }

  @Test(
    "unaligned buffers give the same results as aligned ones", arguments: SoftmaxAlgorithm.allCases,
    allISAs)
  func unaligned(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    let x = randomInputs(count: 1000, distribution: .standardNormal, seed: 77)
    let aligned = runSoftmax(x, algorithm, isa: isa)
    for offset in 1..<16 {
      #expect(runSoftmax(x, algorithm, offset: offset, isa: isa) == aligned, "offset \(offset)")
    }
  }

  @Test(
    "in place gives the same result as out of place", arguments: SoftmaxAlgorithm.allCases, allISAs)
  func inPlace(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for count in [1, 17, 33, 1000, 5000] {
      var x = randomInputs(count: count, distribution: .paperUniform, seed: UInt64(count))
      let expected = runSoftmax(x, algorithm, isa: isa)
      x.withUnsafeMutableBufferPointer { buffer in
        let kernels = PassKernels.table(for: isa)!
        RowAlgorithms.run(
          algorithm, buffer.baseAddress!, buffer.baseAddress!, count: count, kernels: kernels)
      }
      #expect(x == expected, "n = \(count)")
    }
  }

  @Test("all algorithms on all kernel sets agree with each other within the tolerance")
  func algorithmsAgree() {
    let paths = SoftmaxAlgorithm.allCases.flatMap { a in
      PassKernels.available.map { (a, $0.isa) }
    }
    for count in [1, 15, 16, 64, 4097, 65_537] {
      let x = randomInputs(count: count, distribution: .standardNormal, scale: 30, seed: 5)
      let results = paths.map { runSoftmax(x, $0.0, isa: $0.1) }
      for other in results.dropFirst() {
        for (a, b) in zip(results[0], other) where max(a, b) >= 0x1p-124 {
          #expect(abs(a - b) <= Float(relativeTolerance) * max(a, b), "n=\(count): \(a) vs \(b)")
        }
      }
    }
  }

  @Test("the largest relative error stays far inside the bound (the README quotes it)")
  func reportMaximumError() {
    var worst = 0.0
    for algorithm in SoftmaxAlgorithm.allCases {
      for (k, count) in largeTestLengths.enumerated() {
        for isa in PassKernels.available.map(\.isa) {
          let x = randomInputs(
            count: count, distribution: .standardNormal, scale: 10, seed: UInt64(k))
          let report = compare(
            runSoftmax(x, algorithm, isa: isa), with: ReferenceSoftmax.softmax(x))
          worst = max(worst, report.maxRelativeError)
        }
      }
    }
    print("maximum relative error over algorithms, kernel sets and large rows: \(worst)")
    #expect(worst <= relativeTolerance)
  }
}
