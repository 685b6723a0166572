import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

let inf = Float.infinity
let big = Float.greatestFiniteMagnitude

/// Inputs with their exact expected outputs, written out by hand from the contract.
let specialCases: [(input: [Float], expected: [Float])] = [
  ([], []),
  ([5], [1]),
  ([-inf], [0]),
  ([inf], [1]),
  ([.nan], [.nan]),
  ([-inf, -inf, -inf], [0, 0, 0]),
  ([-inf, 0, -inf], [0, 1, 0]),
  ([inf, 0, -inf, inf], [0.5, 0, 0, 0.5]),
  ([inf, inf, inf, -5], [1 / 3, 1 / 3, 1 / 3, 0]),
  ([inf, .nan], [.nan, .nan]),
  ([-inf, .nan, -inf], [.nan, .nan, .nan]),
  ([1, 2, .nan, 4], [.nan, .nan, .nan, .nan]),
  ([big, big], [0.5, 0.5]),
  ([big, big.nextDown], [1, 0]),
  ([-big, -big], [0.5, 0.5]),
  ([-big, -big.nextDown], [0, 1]),
  ([-big, big], [0, 1]),
  ([big, 0, -big], [1, 0, 0]),
  ([1e30, 1e30, 0], [0.5, 0.5, 0]),
  ([-1e30, -1e30], [0.5, 0.5]),
  ([-1e30, 0], [0, 1]),
  ([3000, 3000], [0.5, 0.5]),
  ([-3000, -3000, -inf], [0.5, 0.5, 0]),
  ([0, -200], [1, 0]),
]

/// Pads a case to a length with tails in every vector position: copies of the row, with the
/// expected output rescaled for the repetition.
func repeated(_ c: (input: [Float], expected: [Float]), times: Int) -> ([Float], [Float]) {
  let x = Array([[Float]](repeating: c.input, count: times).joined())
  let y = Array([[Float]](repeating: c.expected.map { $0 / Float(times) }, count: times).joined())
  return (x, y)
}

@Suite("Special values: one contract for every algorithm")
struct SpecialValueTests {
  @Test("hand-written cases", arguments: SoftmaxAlgorithm.allCases, allISAs)
  func handWritten(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for c in specialCases {
      for times in [1, 7, 40] {
        let (x, expected) = repeated(c, times: times)
        let y = runSoftmax(x, algorithm, offset: times % 3, isa: isa)
        let same = zip(y, expected).allSatisfy { a, b in
          (a.isNaN && b.isNaN) || abs(a - b) <= 2e-7 * max(1, b)
        }
        #expect(same && y.count == expected.count, "\(algorithm)/\(isa) \(c.input)×\(times): \(y)")
      }
    }
  }

  @Test(
    "−inf entries get exactly 0 and the rest are normalized among themselves",
    arguments: SoftmaxAlgorithm.allCases, allISAs)
  func maskedEntries(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for count in [3, 16, 31, 100, 4099] {
      var x = randomInputs(count: count, distribution: .standardNormal, scale: 5, seed: 9)
      for i in stride(from: 0, to: count, by: 3) { x[i] = -inf }
      let y = runSoftmax(x, algorithm, isa: isa)
      for i in stride(from: 0, to: count, by: 3) { #expect(y[i] == 0) }
      expectAccurate(y, for: x, "\(algorithm)/\(isa) n=\(count) with −inf")
    }
  }

  @Test("a NaN anywhere makes every output NaN", arguments: SoftmaxAlgorithm.allCases, allISAs)
  func nanAnywhere(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for count in [1, 2, 15, 16, 17, 64, 65, 5000] {
      for position in Set([0, count / 2, count - 1]) {
        var x = randomInputs(count: count, distribution: .paperUniform, seed: 3)
        x[position] = .nan
        #expect(
          runSoftmax(x, algorithm, isa: isa).allSatisfy { $0.isNaN },
          "n=\(count) NaN at \(position)")
      }
    }
  }

  @Test("fully masked rows of any length give zeros", arguments: SoftmaxAlgorithm.allCases, allISAs)
  func fullyMasked(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for count in [1, 2, 16, 33, 4097] {
      let y = runSoftmax([Float](repeating: -inf, count: count), algorithm, isa: isa)
      #expect(y.allSatisfy { $0 == 0 }, "n=\(count)")
    }
  }

  @Test(
    "huge finite magnitudes give the exact limit, never inf or NaN",
    arguments: SoftmaxAlgorithm.allCases, allISAs)
  func hugeMagnitudes(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    var generator = SeededGenerator(seed: 11)
    for count in [2, 17, 300] {
      for magnitude: Float in [2700, 2800, 1e8, 1e30, 3e38] {
        let x = (0..<count).map { _ in Float.random(in: -1...1, using: &generator) * magnitude }
        let y = runSoftmax(x, algorithm, isa: isa)
        #expect(y.allSatisfy { $0.isFinite }, "\(algorithm)/\(isa) n=\(count) ±\(magnitude)")
        expectAccurate(y, for: x, "\(algorithm)/\(isa) n=\(count) ±\(magnitude)")
      }
    }
  }

  @Test(
    "rows near the edges of the Two-Pass exact range", arguments: SoftmaxAlgorithm.allCases, allISAs
  )
  func twoPassRangeEdges(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    for center: Float in [2700, 2772, 2790, 2800, 2810, -2600, -2668, -2700, -2800, -2900] {
      for spread: Float in [0.5, 20, 150] {
        let x = randomInputs(
          count: 257, distribution: .uniform, scale: spread, shift: center, seed: 4)
        expectAccurate(
          runSoftmax(x, algorithm, isa: isa), for: x, "\(algorithm)/\(isa) \(center)±\(spread)")
        // With −inf entries beside them, clamped at the low edge.
        let masked = x + [-inf, -3000, -1e30]
        expectAccurate(
          runSoftmax(masked, algorithm, isa: isa), for: masked,
          "\(algorithm)/\(isa) \(center) masked")
      }
    }
  }

  @Test(
    "results are never subnormal, whatever the spread of the inputs",
    arguments: SoftmaxAlgorithm.allCases, allISAs)
  func noSubnormals(algorithm: SoftmaxAlgorithm, isa: KernelISA) {
    guard supported(isa) else { return }
    // Gaps that put outputs just around 2^-126.
    for gap: Float in stride(from: 85, through: 90, by: 0.125) {
      let x: [Float] = [0, -gap, -gap - 0.5, -gap + 0.5] + [Float](repeating: -gap, count: 20)
      let y = runSoftmax(x, algorithm, isa: isa)
      #expect(y.allSatisfy { $0 == 0 || $0.isNormal }, "gap \(gap): \(y)")
      expectAccurate(y, for: x, "\(algorithm)/\(isa) gap \(gap)")
    }
  }
}

/// A chunk of NaN and −inf beside finite chunks (here the last chunk, one NaN): the maximum
/// kernel may skip NaN and report −inf, which must not read as an empty chunk.
@Suite("A chunk of NaN in a long row")
struct NaNChunkTests {
  @Test(
    "every algorithm and log-softmax give NaN everywhere", arguments: SoftmaxAlgorithm.allCases)
  func nanChunk(algorithm: SoftmaxAlgorithm) {
    for tail in [[Float.nan], [-.infinity, .nan, -.infinity]] {
      let x =
        randomInputs(count: 2 << 16, distribution: .standardNormal, scale: 3, seed: 5) + tail
      let y = softmax(x, algorithm: algorithm, threads: 2)
      #expect(y.allSatisfy { $0.isNaN }, "\(algorithm): \(y.filter { !$0.isNaN }.count) not NaN")
      #expect(logSoftmax(x, threads: 2).allSatisfy { $0.isNaN })
      #expect(logSoftmax(x, shape: [1, x.count], temperature: 2).allSatisfy { $0.isNaN })
      #expect(logSumExp(x).isNaN)
    }
  }
}
