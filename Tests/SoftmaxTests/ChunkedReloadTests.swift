import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// Three-Pass reload works chunk by chunk (each chunk's own maximum, then a rescale by
/// e^(m_c − M)); these rows span several chunks, with the special values in chosen chunks, in
/// place and not, on every kernel set and thread count.
@Suite struct ChunkedReloadTests {
  static let chunk = RowChunks(rowLength: 4 << 16).length
  static let count = 3 * chunk + 4097

  /// A row whose chunks have very different maximums: chunk 1 is 60 below chunk 0, chunk 2 is
  /// 200 below (its outputs underflow), chunk 3 holds the row maximum.
  static func spreadRow() -> [Float] {
    var generator = SeededGenerator(seed: 17)
    let offsets: [Float] = [0, -60, -200, 5]
    return (0..<count).map { i in
      offsets[min(i / chunk, 3)] + Float.random(in: -4...4, using: &generator)
    }
  }

  @Test(arguments: allISAs)
  func chunksWithDifferentMaximums(isa: KernelISA) {
    guard supported(isa) else { return }
    let x = Self.spreadRow()
    for threads in [1, 2] {
      expectAccurate(runSoftmax(x, .threePassReload, isa: isa, threads: threads), for: x, "\(isa)")
    }
    #expect(
      runSoftmax(x, .threePassReload, isa: isa, threads: 1)
        == runSoftmax(x, .threePassReload, isa: isa, threads: 2))
  }

  @Test(arguments: allISAs)
  func specialValuesInSomeChunks(isa: KernelISA) {
    guard supported(isa) else { return }
    let kernels = PassKernels.table(for: isa)!
    var cases: [(String, [Float], [Float]?)] = []
    var infinity = Self.spreadRow()
    infinity[2 * Self.chunk + 3] = .infinity
    infinity[3 * Self.chunk + 9] = .infinity
    var expected = [Float](repeating: 0, count: Self.count)
    expected[2 * Self.chunk + 3] = 0.5
    expected[3 * Self.chunk + 9] = 0.5
    cases.append(("+inf in chunks 2 and 3", infinity, expected))
    var nanLate = Self.spreadRow()
    nanLate[Self.count - 1] = .nan
    cases.append(("NaN in the last chunk", nanLate, [Float](repeating: .nan, count: Self.count)))
    var nanWithInfinity = infinity
    nanWithInfinity[2 * Self.chunk + 4] = .nan
    cases.append(("NaN beside +inf", nanWithInfinity, [Float](repeating: .nan, count: Self.count)))
    var maskedChunk = Self.spreadRow()
    for i in Self.chunk..<(2 * Self.chunk) { maskedChunk[i] = -.infinity }
    cases.append(("a chunk of only -inf", maskedChunk, nil))
    let allMasked = [Float](repeating: -.infinity, count: Self.count)
    cases.append(("only -inf", allMasked, [Float](repeating: 0, count: Self.count)))
    for (name, x, exact) in cases {
      for inPlace in [false, true] {
        var y = [Float](repeating: 7, count: x.count)
        if inPlace {
          y = x
          y.withUnsafeMutableBufferPointer { b in
            RowAlgorithms.run(
              .threePassReload, b.baseAddress!, b.baseAddress!, count: b.count, threads: 2,
              kernels: kernels)
          }
        } else {
          x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { output in
              RowAlgorithms.run(
                .threePassReload, input.baseAddress!, output.baseAddress!, count: x.count,
                threads: 2, kernels: kernels)
            }
          }
        }
        if let exact {
          let same = zip(y, exact).allSatisfy { $0.isNaN ? $1.isNaN : $0 == $1 }
          #expect(same, "\(isa) \(name) in place: \(inPlace)")
        } else {
          expectAccurate(y, for: x, "\(isa) \(name) in place: \(inPlace)")
        }
      }
    }
  }
}
