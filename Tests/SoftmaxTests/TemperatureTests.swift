import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("Temperature")
struct TemperatureTests {
  @Test("softmax(x / T) against the reference of the exact quotients")
  func temperatures() {
    let x = randomInputs(count: 3 * 200, distribution: .standardNormal, scale: 5, seed: 1)
    for t: Float in [1e-6, 0.01, 0.5, 0.7, 2, 100, 1e6] {
      let quotients = x.map { Double($0) / Double(t) }
      let y = softmax(x, shape: [3, 200], temperature: t)
      let logY = logSoftmax(x, shape: [3, 200], temperature: t)
      for row in 0..<3 {
        let range = (row * 200)..<((row + 1) * 200)
        let slice = Array(quotients[range])
        let report = compare(Array(y[range]), with: ReferenceSoftmax.softmax(ofLogits: slice))
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "T = \(t): \(report)")
        for (value, exact) in zip(logY[range], ReferenceSoftmax.logSoftmax(ofLogits: slice)) {
          let ok =
            exact.isFinite
            ? abs(Double(value) - exact) <= 1e-5 * max(1, abs(exact)) : value == Float(exact)
          #expect(ok, "log T = \(t): \(value) vs \(exact)")
        }
      }
    }
  }

  @Test("T = 0 is the argmax: ties share, masks and sinks count, NaN spreads")
  func zero() {
    #expect(softmax([1, 3, 2, 3] as [Float], shape: [1, 4], temperature: 0) == [0, 0.5, 0, 0.5])
    #expect(softmax([1, 3, 2] as [Float], shape: [1, 3], temperature: 0) == [0, 1, 0])
    #expect(
      logSoftmax([1, 3, 2] as [Float], shape: [1, 3], temperature: 0) == [
        -.infinity, 0, -.infinity,
      ])
    #expect(softmax([1, 3, 2] as [Float], shape: [1, 3], sink: 3, temperature: 0) == [0, 0.5, 0])
    #expect(softmax([1, 3, 2] as [Float], shape: [1, 3], sink: 5, temperature: 0) == [0, 0, 0])
    #expect(
      softmax([1, .nan, 2] as [Float], shape: [1, 3], temperature: 0).allSatisfy { $0.isNaN })
    #expect(
      softmax([-.infinity, -.infinity] as [Float], shape: [1, 2], temperature: 0) == [0, 0])
    let causal = softmax(
      [4, 9, 1, 2, 5, 5, 7, 0, 0] as [Float], shape: [3, 3], mask: .causal(), temperature: 0)
    #expect(causal == [1, 0, 0, 0, 1, 0, 1, 0, 0])
  }

  @Test("the sink is a logit: it is divided by the temperature too")
  func sinkIsDivided() {
    let x: [Float] = [1, 2, 3]
    let y = softmax(x, shape: [1, 3], sink: 4, temperature: 2)
    let reference = Array(ReferenceSoftmax.softmax([0.5, 1, 1.5, 2]).dropLast())
    let report = compare(y, with: reference)
    #expect(report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "\(report)")
  }

  @Test("a negative or NaN temperature traps with a message")
  func invalid() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([1, 2] as [Float], shape: [2], temperature: -1)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("temperature must be finite and ≥ 0, not -1.0"), "\(message)")
  }
}

/// Issue 17, defects 5 and 6: a temperature divides exactly, however large x / T is.
@Suite("Temperature: exact quotients and the argmax limit")
struct ExactQuotientTests {
  /// Logits of magnitude about 15 (the largest placed in the last chunk) and their quotients
  /// by `t` in Double: the logits the reference normalizes.
  static func logits(count: Int, t: Float, seed: UInt64) -> (x: [Float], q: [Double]) {
    var x = randomInputs(count: count, distribution: .standardNormal, scale: 5, seed: seed)
    if count > 2 { x[count - 2] = 16 }
    return (x, x.map { Double($0) / Double(t) })
  }

  /// Relative error of probabilities against the reference (entries ≥ the flush bound), and
  /// absolute error of log-probabilities scaled by max(1, |exact|).
  static func check(
    _ y: [Float], _ logY: [Float], against q: [Double], _ context: String
  ) {
    let report = compare(y, with: ReferenceSoftmax.softmax(ofLogits: q))
    #expect(
      report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "\(context): \(report)")
    var worst = 0.0
    for (value, exact) in zip(logY, ReferenceSoftmax.logSoftmax(ofLogits: q)) where exact > -80 {
      worst = max(worst, abs(Double(value) - exact) / max(1, abs(exact)))
    }
    #expect(worst <= 1e-5, "\(context): log-softmax error \(worst)")
  }

  @Test(
    "x / T near ±1500: every algorithm as accurate as the softmax of the exact quotients",
    arguments: SoftmaxAlgorithm.allCases)
  func largeQuotients(algorithm: SoftmaxAlgorithm) {
    for t: Float in [0.01, 0.003, 1e-5] {
      for count in [2, 33, 1000, 4099] {
        let (x, q) = Self.logits(count: count, t: t, seed: UInt64(count))
        let y = softmax(x, shape: [1, count], algorithm: algorithm, temperature: t)
        let logY = logSoftmax(x, shape: [1, count], temperature: t)
        Self.check(y, logY, against: q, "\(algorithm) T=\(t) n=\(count)")
      }
    }
  }

  @Test("rows of several chunks, threads bitwise equal; masks, sinks and Double, Float16")
  func chunksMasksAndTypes() {
    let count = (1 << 17) + 5
    let t: Float = 0.01
    let (x, q) = Self.logits(count: count, t: t, seed: 7)
    let one = softmax(x, shape: [1, count], threads: 1, temperature: t)
    let two = softmax(x, shape: [1, count], threads: 2, temperature: t)
    #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
    Self.check(
      one, logSoftmax(x, shape: [1, count], threads: 2, temperature: t), against: q, "long")

    let n = 500
    let (short, shortQ) = Self.logits(count: n, t: t, seed: 8)
    let keep = (0..<n).map { $0 % 3 != 1 }
    let kept = shortQ.indices.map { keep[$0] ? shortQ[$0] : -.infinity }
    Self.check(
      softmax(short, shape: [1, n], mask: .keep(keep), temperature: t),
      logSoftmax(short, shape: [1, n], mask: .keep(keep), temperature: t), against: kept, "keep")
    let bias = (0..<n).map { Float($0 % 5) - 2 }
    let biased = shortQ.indices.map { shortQ[$0] + Double(bias[$0]) }
    Self.check(
      softmax(short, shape: [1, n], mask: .additive(bias), temperature: t),
      logSoftmax(short, shape: [1, n], mask: .additive(bias), temperature: t), against: biased,
      "additive")
    // A sink at the largest logit takes as much as the largest entry.
    let withSink = softmax(short, shape: [1, n], sink: 16, temperature: t)
    let sinkReference = ReferenceSoftmax.softmax(ofLogits: shortQ + [1600])
    let report = compare(withSink, with: Array(sinkReference.dropLast()))
    #expect(report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "sink: \(report)")

    // Double: the quotients themselves are exact enough; Float16 inputs go through Float rows.
    let doubles = short.map(Double.init)
    let yDouble = softmax(doubles, shape: [1, n], temperature: 0.01)
    let reference = ReferenceSoftmax.softmax(ofLogits: doubles.map { $0 / 0.01 })
    for (value, exact) in zip(yDouble, reference) where exact > 1e-300 {
      #expect(abs(value - exact) <= 1e-12 * exact, "Double: \(value) vs \(exact)")
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      let halves = short.map { Float16($0) }
      let yHalf = softmax(halves, shape: [1, n], temperature: 0.01)
      let halfReference = ReferenceSoftmax.softmax(
        ofLogits: halves.map { Double(Float($0)) / Double(Float16(0.01)) })
      for (value, exact) in zip(yHalf, halfReference) where exact >= 1e-4 {
        #expect(abs(Double(value) - exact) <= (0x1p-11 + 1e-5) * exact, "Float16: \(value)")
      }
    #endif
  }

  @Test("inner axes: each column as exact as the softmax of its exact quotients")
  func innerAxes() {
    let (rows, columns) = (300, 5)
    let (x, q) = Self.logits(count: rows * columns, t: 0.01, seed: 9)
    for axis in [0, 1] {
      let y = softmax(x, shape: [rows, columns], axis: axis, temperature: 0.01)
      let logY = logSoftmax(x, shape: [rows, columns], axis: axis, temperature: 0.01)
      let lines = axis == 0 ? columns : rows
      for line in 0..<lines {
        let indices = (0..<(axis == 0 ? rows : columns)).map {
          axis == 0 ? $0 * columns + line : line * columns + $0
        }
        Self.check(
          indices.map { y[$0] }, indices.map { logY[$0] }, against: indices.map { q[$0] },
          "axis \(axis) line \(line)")
      }
    }
    let tiny = softmax(
      [1, 5, 3e38, 2, 5, -3e38] as [Float], shape: [3, 2], axis: 0, temperature: 1e-30)
    #expect(tiny == [0, 1, 1, 0, 0, 0])
    #expect(
      softmax([1e300, 1, 2e300, 2] as [Double], shape: [2, 2], axis: 0, temperature: 1e-20)
        == [0, 0, 1, 1])
  }

  @Test("as T shrinks past the overflow of x / T, the softmax tends to the argmax")
  func argmaxLimit() {
    let x: [Float] = [1, 2, 3, 2.5, -4]
    var previous: Float = 0
    for t: Float in [1, 0.1, 1e-3, 1e-10, 1e-30, 1e-38, .leastNonzeroMagnitude] {
      let y = softmax(x, shape: [1, 5], temperature: t)
      #expect(y[2] >= previous && abs(y.reduce(0, +) - 1) <= 1e-6, "T = \(t): \(y)")
      previous = y[2]
    }
    let tiny = Float.leastNonzeroMagnitude
    #expect(softmax(x, shape: [1, 5], temperature: tiny) == [0, 0, 1, 0, 0])
    #expect(logSoftmax(x, shape: [1, 5], temperature: tiny)[2] == 0)
    #expect(softmax([3, 1, 3] as [Float], shape: [1, 3], temperature: 0x1p-133) == [0.5, 0, 0.5])
    #expect(
      softmax([1e38, 3e38, -3e38] as [Float], shape: [1, 3], temperature: 1e-3) == [0, 1, 0])
    let keep = [true, true, false, true, true]
    #expect(softmax(x, shape: [1, 5], mask: .keep(keep), temperature: tiny) == [0, 0, 0, 1, 0])
    #expect(softmax(x, shape: [1, 5], sink: 3, temperature: tiny) == [0, 0, 0.5, 0, 0])
    // The argmax in the last of several chunks.
    var long = [Float](repeating: 1, count: (1 << 17) + 3)
    long[long.count - 1] = 1.000001
    let y = softmax(long, shape: [1, long.count], threads: 2, temperature: 1e-38)
    #expect(y.last == 1 && y.dropLast().allSatisfy { $0 == 0 })
    // Double: quotients beyond 1.8e308.
    #expect(
      softmax([1e300, 2e300, -1e300] as [Double], shape: [1, 3], temperature: 1e-10) == [0, 1, 0])
    #expect(
      logSoftmax([1e300, 2e300] as [Double], shape: [1, 2], temperature: 1e-10) == [-.infinity, 0])
  }

  @Test("+inf beside finite logits whose quotient overflows: only the +inf entries share")
  func infinityBesideHugeQuotients() {
    // The kernel fuzzer's input (Fuzz/corpus/kernels/regression-inf-beside-huge-quotients):
    // 2.5e17 / 1e-30 is beyond Float, but it is finite and gets 0 beside +inf.
    // The fuzzer's 8.5e-39 as a Float is a subnormal; its bits, as a literal of it would warn.
    let x: [Float] = [
      6e-36, 0, 2.481e17, 2.481e17, Float(bitPattern: 0x005C_8E8B), 0, .infinity, 0, -.infinity,
      -0.0,
    ]
    var expected = [Float](repeating: 0, count: x.count)
    expected[6] = 1
    for algorithm in SoftmaxAlgorithm.allCases {
      #expect(
        softmax(x, shape: [1, x.count], algorithm: algorithm, temperature: 1e-30) == expected,
        "\(algorithm)")
    }
    let logarithms = logSoftmax(x, shape: [1, x.count], temperature: 1e-30)
    #expect(
      logarithms[6] == 0
        && logarithms.enumerated().allSatisfy { $0.offset == 6 || $0.element == -.infinity })
    // Two +inf entries share; a keep mask that drops one leaves the other alone.
    var two = x
    two[0] = .infinity
    let shared = softmax(two, shape: [1, x.count], temperature: 1e-30)
    #expect(shared[0] == 0.5 && shared[6] == 0.5 && shared.reduce(0, +) == 1)
    var keep = [Bool](repeating: true, count: x.count)
    keep[0] = false
    #expect(softmax(two, shape: [1, x.count], mask: .keep(keep), temperature: 1e-30) == expected)
    // Rows of several chunks: the +inf in one chunk, the huge logits in another.
    var long = [Float](repeating: 0, count: (1 << 17) + 5)
    long[3] = 3e37
    long[long.count - 2] = .infinity
    let y = softmax(long, shape: [1, long.count], threads: 2, temperature: 1e-30)
    #expect(y[long.count - 2] == 1 && y.reduce(0, +) == 1, "several chunks")
    // Double: 1e290 / 1e-30 is beyond Double.
    #expect(
      softmax([1e290, .infinity, -1] as [Double], shape: [1, 3], temperature: 1e-30) == [0, 1, 0])
  }

  @Test("additive masks beyond the pair range, in place too")
  func hugeBiases() {
    let x: [Float] = [1, 2, 3, 4]
    let reference = ReferenceSoftmax.softmax(ofLogits: x.map { Double($0) / 0.5 })
    for b: Float in [3000, -3000, 1e30] {
      var y = x
      y.withUnsafeMutableBufferPointer { buffer in
        softmax(
          UnsafeBufferPointer(buffer), shape: [1, 4], into: buffer,
          mask: .additive([Float](repeating: b, count: 4)), temperature: 0.5)
      }
      let report = compare(y, with: reference)
      #expect(report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "bias \(b): \(report)")
    }
    #expect(
      softmax(x, shape: [1, 4], mask: .additive([0, .infinity, 0, .infinity]), temperature: 0.5)
        == [0, 0.5, 0, 0.5])
    #expect(
      softmax([1, .nan, 2] as [Float], shape: [1, 3], temperature: 0.5).allSatisfy { $0.isNaN })
    #expect(softmax([1, .infinity, 2] as [Float], shape: [1, 3], temperature: 0.5) == [0, 1, 0])
  }
}
