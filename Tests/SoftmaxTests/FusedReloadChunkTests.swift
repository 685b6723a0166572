import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

// Regression (found by the kernel fuzzer, Fuzz/corpus/kernels/regression-reload-chunks-
// temperature): a temperature on a Three-Pass reload row of several chunks ran the classic
// row-maximum method after the fused pass 1, while the plain row runs the chunked method, so
// the result was not bitwise the softmax of the effective logits as documented: the last bits
// of entries in a chunk whose maximum is below the row's differed. Temperatures now take the
// shifted path (ShiftedRows.swift); masks at T = 1 still run the fused pass 1, checked here.

@Suite("Masks on Three-Pass reload rows of several chunks")
struct FusedReloadChunkTests {
  /// Rows longer than one chunk (2^16 elements) whose chunks have different maxima: the
  /// fuzzer's row (a last chunk of one element) and a random one.
  static let rows: [[Float]] = [
    (0..<(1 << 16) + 1).map { i in
      let pattern: [Float] = (-30...6).map(Float.init) + (23...29).map(Float.init)
      return pattern[i % pattern.count]
    },
    randomInputs(count: (1 << 17) + 5, distribution: .standardNormal, scale: 6, seed: 77),
  ]

  @Test(
    "softmax(x, mask: .additive(b)) is bitwise softmax(x + b)",
    arguments: [SoftmaxAlgorithm.threePassReload, .auto], allISAs)
  func bitwiseEffectiveLogits(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for (r, x) in Self.rows.enumerated() {
      for scale: Float in [0.5, 0.7] {
        let bias = x.indices.map { Float($0 % 7) * scale }
        let masked = run(x, algorithm, kernels, mask: .additive(bias))
        let plain = run(zip(x, bias).map { $0 + $1 }, algorithm, kernels, mask: .none)
        let differ = zip(masked, plain).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differ == 0, "\(algorithm)/\(isa) row \(r) bias ×\(scale): \(differ) differ")
      }
    }
  }

  private func run(
    _ x: [Float], _ algorithm: SoftmaxAlgorithm, _ kernels: PassKernels, mask: SoftmaxMask
  ) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { x in
      y.withUnsafeMutableBufferPointer { y in
        shapedSoftmax(
          x, shape: [1, x.count], into: y, algorithm: algorithm, threads: 1, mask: mask,
          kernels: kernels)
      }
    }
    return y
  }
}
