import Softmax
import Testing
import _SoftmaxTestSupport

/// The training operations along an inner axis gather up to 16 adjacent columns at once into
/// rows of a scratch, run them (together where the operation pipelines rows), and scatter the
/// outputs back: each result must be the last-axis result of the same rows, bit for bit, at
/// any thread count, with several column groups, a partial last group and several outer
/// blocks, and in place.
@Suite("Training operations along inner axes")
struct InnerAxisTrainingTests {
  /// [outer, length, inner] layouts: full and partial groups of 16 columns, columns longer
  /// than a scratch on the stack, one outer block and several.
  static let layouts: [(outer: Int, length: Int, inner: Int)] = [
    (2, 300, 37), (1, 1000, 40), (3, 17, 5), (1, 64, 16),
  ]

  /// Row r = (o, j) of the [outer · inner, length] array as the column j of block o.
  static func moved(_ v: [Float], _ l: (outer: Int, length: Int, inner: Int)) -> [Float] {
    var out = [Float](repeating: 0, count: v.count)
    for o in 0..<l.outer {
      for j in 0..<l.inner {
        for c in 0..<l.length {
          out[(o * l.length + c) * l.inner + j] = v[(o * l.inner + j) * l.length + c]
        }
      }
    }
    return out
  }

  @Test("backward passes", arguments: layouts.indices)
  func backward(layout index: Int) {
    let l = Self.layouts[index]
    let rows = l.outer * l.inner
    let x = randomInputs(count: rows * l.length, distribution: .standardNormal, scale: 3, seed: 5)
    let dy = randomInputs(count: x.count, distribution: .standardNormal, seed: 6)
    let y = softmax(x, shape: [rows, l.length])
    let logY = logSoftmax(x, shape: [rows, l.length])
    let last = softmaxBackward(output: y, outputGradient: dy, shape: [rows, l.length])
    let lastLog = logSoftmaxBackward(output: logY, outputGradient: dy, shape: [rows, l.length])
    let shape = [l.outer, l.length, l.inner]
    let (my, mlogY, mdy) = (Self.moved(y, l), Self.moved(logY, l), Self.moved(dy, l))
    for threads in [1, 2, 3] {
      let inner = softmaxBackward(
        output: my, outputGradient: mdy, shape: shape, axis: 1, threads: threads)
      #expect(inner == Self.moved(last, l), "\(l) threads \(threads)")
      let innerLog = logSoftmaxBackward(
        output: mlogY, outputGradient: mdy, shape: shape, axis: 1, threads: threads)
      #expect(innerLog == Self.moved(lastLog, l), "log \(l) threads \(threads)")
    }
    // In place over dy.
    var inPlace = mdy
    inPlace.withUnsafeMutableBufferPointer { d in
      my.withUnsafeBufferPointer { yb in
        softmaxBackward(
          output: yb, outputGradient: UnsafeBufferPointer(d), shape: shape, axis: 1, into: d)
      }
    }
    #expect(inPlace == Self.moved(last, l), "in place \(l)")
  }

  @Test("cross-entropy with labels, and log-sum-exp", arguments: layouts.indices)
  func crossEntropyAndLogSumExp(layout index: Int) {
    let l = Self.layouts[index]
    let rows = l.outer * l.inner
    let x = randomInputs(count: rows * l.length, distribution: .standardNormal, scale: 4, seed: 7)
    var generator = SeededGenerator(seed: 8)
    let labels = (0..<rows).map { _ in Int32.random(in: 0..<Int32(l.length), using: &generator) }
    var lastGradient = [Float]()
    let last = crossEntropy(
      logits: x, shape: [rows, l.length], labels: labels, gradient: &lastGradient)
    let lastSums = logSumExp(x, shape: [rows, l.length])
    let mx = Self.moved(x, l)
    let shape = [l.outer, l.length, l.inner]
    for threads in [1, 2, 3] {
      var gradient = [Float]()
      let loss = crossEntropy(
        logits: mx, shape: shape, axis: 1, labels: labels, gradient: &gradient,
        threads: threads)
      #expect(loss.bitPattern == last.bitPattern, "\(l) threads \(threads)")
      #expect(gradient == Self.moved(lastGradient, l), "gradient \(l) threads \(threads)")
      let valueOnly = crossEntropy(
        logits: mx, shape: shape, axis: 1, labels: labels, threads: threads)
      #expect(valueOnly.bitPattern == last.bitPattern, "value only \(l) threads \(threads)")
      let sums = logSumExp(mx, shape: shape, axis: 1, threads: threads)
      #expect(sums == lastSums, "log-sum-exp \(l) threads \(threads)")
    }
    // The gradient written over the logits.
    var inPlace = mx
    let inPlaceLoss = crossEntropyInPlace(
      logitsToGradient: &inPlace, shape: shape, axis: 1, labels: labels)
    #expect(inPlaceLoss.bitPattern == last.bitPattern, "in place \(l)")
    #expect(inPlace == Self.moved(lastGradient, l), "in-place gradient \(l)")
  }
}
