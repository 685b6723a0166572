import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// Rows of an array beyond a sixteenth of the last-level cache store their exponentials in a
/// stack scratch and stream each output once from it (`AutoPolicy.stagesExponentials`), and
/// log-softmax rows stream their output (`Float.streamedRows`). The
/// staged rows must give the bits of the same rows computed alone (in place, no scratch), in
/// place or not, for every thread count, with the special values in chosen rows.
@Suite("Staged rows of large arrays")
struct StagedRowTests {
  /// Rows of `length`, enough of them for the array to stage its rows on this machine.
  static func rows(length: Int) -> Int {
    AutoPolicy.arrayStreamingThreshold / length + 3
  }

  /// The row lengths a test runs: all of them in the optimized run (`swift test -c release`),
  /// one in debug builds, where each array of a sixteenth of the LLC takes seconds a pass.
  static func lengths(_ all: [Int], debug: Int) -> [Int] { isDebugBuild ? [debug] : all }

  /// The bit patterns, so that NaN entries compare equal and failures print short.
  func bits(_ x: [Float]) -> [UInt32] { x.map { $0.bitPattern } }

  /// A batch with a NaN row, a +inf row, a row of only −inf and a row of huge logits.
  static func batch(rows: Int, length: Int) -> [Float] {
    var x = randomInputs(count: rows * length, distribution: .standardNormal, scale: 5, seed: 31)
    x[1 * length + 7] = .nan
    x[2 * length + length - 1] = .infinity
    for i in 0..<length { x[3 * length + i] = -.infinity }
    for i in 0..<length { x[4 * length + i] = 1e30 + Float(i % 7) * 1e24 }
    return x
  }

  @Test("softmax: staged rows are the rows computed alone, in place or not, any threads")
  func softmaxRows() {
    for length in Self.lengths([256, 1000, 1024, 4096], debug: 1000) {
      #expect(AutoPolicy.stagesExponentials(count: length, arrayStreams: true))
      expectRowsComputedAlone(length: length, logarithm: false)
    }
  }

  @Test("log-softmax: rows of a large array stream, with the bits of the rows computed alone")
  func logSoftmaxRows() {
    // 100: below the rows that stream; 70 000: a row of two chunks.
    for length in Self.lengths([100, 256, 1000, 1024, 4096, 70_000], debug: 1000) {
      expectRowsComputedAlone(length: length, logarithm: true)
    }
  }

  /// A batch of rows of `length`, large enough for its rows to stream, through softmax or
  /// log-softmax: sampled rows (the special ones first) with the bits of the row computed
  /// alone and within the contract against the Double reference; the whole batch the same
  /// bits on two threads and in place.
  func expectRowsComputedAlone(length: Int, logarithm: Bool) {
    let rows = Self.rows(length: length)
    #expect(rows * length >= AutoPolicy.arrayStreamingThreshold)
    let shape = [rows, length]
    func batch(_ x: [Float], threads: Int, inPlace: Bool = false) -> [Float] {
      var y = inPlace ? x : [Float](repeating: .nan, count: x.count)
      x.withUnsafeBufferPointer { input in
        y.withUnsafeMutableBufferPointer { output in
          let source = inPlace ? UnsafeBufferPointer(output) : input
          if logarithm {
            logSoftmax(source, shape: shape, into: output, threads: threads)
          } else {
            softmax(source, shape: shape, into: output, threads: threads)
          }
        }
      }
      return y
    }
    let x = Self.batch(rows: rows, length: length)
    let y = batch(x, threads: 1)
    for r in Array(0..<8) + [rows / 2, rows - 2, rows - 1] {
      let input = row(x, r, length: length)
      let alone = logarithm ? logSoftmax(input) : softmax(input)
      #expect(bits(row(y, r, length: length)) == bits(alone), "n \(length) row \(r)")
    }
    for r in Array(0..<8) + [rows / 2, rows - 1] {
      let (output, input) = (row(y, r, length: length), row(x, r, length: length))
      if logarithm {
        expectAccurateLog(output, for: input, "row \(r)")
      } else {
        expectAccurate(output, for: input, "row \(r)")
      }
    }
    #expect(bits(batch(x, threads: 2)) == bits(y), "n \(length): two threads")
    #expect(bits(batch(x, threads: 2, inPlace: true)) == bits(y), "n \(length): in place")
  }

  @Test("softmax: longer rows whose output streams run Two-Pass under .auto, alone or in a batch")
  func streamedTwoPassRows() {
    // Rows of 2^15 or more in any batch, or of 4096 or more in a large array.
    for (rows, length) in [(5, 40_000), (5, 100_000), (Self.rows(length: 5000), 5000)] {
      #expect(!AutoPolicy.stagesExponentials(count: length, arrayStreams: true))
      let x = Self.batch(rows: rows, length: length)
      var y = [Float](repeating: .nan, count: x.count)
      softmax(x, shape: [rows, length], into: &y, threads: 1)
      var reload = [Float](repeating: .nan, count: x.count)
      softmax(x, shape: [rows, length], into: &reload, algorithm: .threePassReload, threads: 2)
      for r in Array(0..<5) + [rows - 1] {
        let input = row(x, r, length: length)
        let context = "\(rows) × \(length) row \(r)"
        #expect(
          bits(row(y, r, length: length)) == bits(softmax(input, algorithm: .twoPass)), "\(context)"
        )
        // An explicit algorithm is kept.
        #expect(
          bits(row(reload, r, length: length))
            == bits(softmax(input, algorithm: .threePassReload)), "\(context) reload")
        expectAccurate(row(y, r, length: length), for: input, context)
      }
      var two = [Float](repeating: .nan, count: x.count)
      softmax(x, shape: [rows, length], into: &two, threads: 2)
      #expect(bits(two) == bits(y), "\(rows) × \(length): two threads")
    }
  }

  @Test(
    "cross-entropy: staged rows give the loss and gradient of the Double reference, the same bits with or without the gradient, in place, any threads",
    arguments: [(0.0, 0.0), (0.1, 1e-4)])
  func crossEntropyRows(smoothing: Double, zLoss: Double) {
    // Debug builds take the scratch's longest row with smoothing and a short one without.
    for length in Self.lengths([300, 1024, 4096], debug: smoothing == 0 ? 300 : 4096) {
      let rows = Self.rows(length: length)
      var x = randomInputs(count: rows * length, distribution: .standardNormal, scale: 5, seed: 9)
      x[1 * length + 3] = .nan
      var labels = CrossEntropyTests.labels(rows: rows, classes: length, seed: 11)
      labels[2] = -100
      labels[rows - 1] = -100
      let options = CrossEntropyOptions(
        ignoreIndex: -100, labelSmoothing: smoothing, zLossWeight: zLoss)
      let shape = [rows, length]
      var gradient = [Float]()
      let loss = crossEntropy(
        logits: x, shape: shape, labels: labels, reduction: .sum, options: options,
        gradient: &gradient, threads: 1)
      let context = "n \(length) ε \(smoothing) w \(zLoss)"
      // The NaN row makes the loss NaN; its gradient row is NaN and no other row is.
      #expect(loss.isNaN, "\(context)")
      #expect(row(gradient, 1, length: length).allSatisfy { $0.isNaN }, "\(context)")
      #expect(gradient.enumerated().allSatisfy { $0.offset / length == 1 || !$0.element.isNaN })
      #expect(row(gradient, 2, length: length).allSatisfy { $0 == 0 }, "\(context): ignored")
      let losses = crossEntropyLosses(
        logits: x, shape: shape, labels: labels, options: options, threads: 1)
      let lossesTwo = crossEntropyLosses(
        logits: x, shape: shape, labels: labels, options: options, threads: 2)
      #expect(
        losses.map { $0.bitPattern } == lossesTwo.map { $0.bitPattern }, "\(context): threads")
      // Some rows against the reference (a sample keeps the debug run short).
      let sample = [0, 3, 4, rows / 2, rows - 2]
      var sampleX: [Float] = []
      for r in sample { sampleX += row(x, r, length: length) }
      let expected = CrossEntropyTests.reference(
        sampleX, rows: sample.count, labels: sample.map { labels[$0] }, smoothing: smoothing,
        zLoss: zLoss, reduction: .sum)
      var sampleGradient: [Float] = []
      for r in sample { sampleGradient += row(gradient, r, length: length) }
      expectClose(
        sampleGradient, expected.gradient, relative: 1e-5, floors: expected.floors, context)
      expectClose(
        sample.map { losses[$0] }, expected.losses, relative: 1e-6, floor: 1, "\(context) losses")
      // The same rows as a small batch, which computes them in place without a scratch.
      var smallGradient = [Float]()
      _ = crossEntropy(
        logits: sampleX, shape: [sample.count, length], labels: sample.map { labels[$0] },
        reduction: .sum, options: options, gradient: &smallGradient, threads: 1)
      #expect(bits(sampleGradient) == bits(smallGradient), "\(context): small batch")
      let smallLosses = crossEntropyLosses(
        logits: sampleX, shape: [sample.count, length], labels: sample.map { labels[$0] },
        options: options, threads: 1)
      #expect(
        sample.map { losses[$0].bitPattern } == smallLosses.map { $0.bitPattern },
        "\(context): small batch losses")
      // The loss without the gradient, and with it in place over the logits, on two threads.
      var clean = x
      clean[1 * length + 3] = 0
      var cleanGradient = [Float]()
      let withGradient = crossEntropy(
        logits: clean, shape: shape, labels: labels, options: options,
        gradient: &cleanGradient, threads: 1)
      let valueOnly = crossEntropy(
        logits: clean, shape: shape, labels: labels, options: options, threads: 2)
      #expect(withGradient.bitPattern == valueOnly.bitPattern, "\(context): value only")
      var inPlace = clean
      let inPlaceLoss = crossEntropyInPlace(
        logitsToGradient: &inPlace, shape: shape, labels: labels, options: options, threads: 2)
      #expect(inPlaceLoss.bitPattern == withGradient.bitPattern, "\(context): in place loss")
      #expect(bits(inPlace) == bits(cleanGradient), "\(context): in place gradient")
    }
  }
}
