import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("fused cross-entropy with labels")
struct CrossEntropyTests {
  static func labels(rows: Int, classes: Int, seed: UInt64) -> [Int32] {
    var generator = SeededGenerator(seed: seed)
    return (0..<rows).map { _ in Int32.random(in: 0..<Int32(classes), using: &generator) }
  }

  /// The Double reference of a batch: the reduced loss and the gradient of it.
  static func reference(
    _ x: [Float], rows: Int, labels: [Int32], smoothing: Double, zLoss: Double,
    reduction: LossReduction, ignoreIndex: Int32? = nil
  ) -> (loss: Double, gradient: [Double], losses: [Double], floors: [Double]) {
    let n = x.count / rows
    let kept = labels.filter { $0 != ignoreIndex }.count
    let weight = reduction == .mean ? 1 / Double(max(kept, 1)) : 1
    var losses: [Double] = []
    var gradient: [Double] = []
    var floors: [Double] = []
    for r in 0..<rows {
      if labels[r] == ignoreIndex {
        losses.append(0)
        gradient += [Double](repeating: 0, count: n)
        floors += [Double](repeating: 0, count: n)
        continue
      }
      let logits = row(x, r, length: n).map(Double.init)
      let label = Int(labels[r])
      let (loss, g) = ReferenceTraining.crossEntropy(
        logits, label: label, smoothing: smoothing, zLoss: zLoss)
      losses.append(loss)
      gradient += g.map { $0 * weight }
      // Tiny: below a tenth of the terms that the entry subtracts, a · p_i and ε / C (at the
      // label: a (1 − p), a − 1 and ε, as 1 − p is what the entry measures there).
      let a = 1 + 2 * zLoss * ReferenceTraining.logSumExp(logits)
      let p = ReferenceTraining.softmax(logits)
      floors += p.indices.map { i in
        0.1 * weight
          * (i == label
            ? a * (1 - p[i]) + abs(a - 1) + smoothing : a * p[i] + smoothing / Double(n))
      }
    }
    let total = ReferenceSoftmax.compensatedSum(losses)
    let reduced = reduction == .mean ? (kept > 0 ? total / Double(kept) : 0) : total
    return (reduced, gradient, losses, floors)
  }

  @Test(
    "loss, per-row losses and gradient against the Double reference, with each option",
    arguments: [(0.0, 0.0), (0.1, 0.0), (0.0, 1e-4), (0.2, 0.01)])
  func againstReference(smoothing: Double, zLoss: Double) {
    for length in [1, 2, 3, 17, 64, 1000, 70_000] {
      let rows = length > 1000 ? 2 : 6
      let x = randomInputs(
        count: rows * length, distribution: .standardNormal, scale: 5, seed: UInt64(length))
      let labels = Self.labels(rows: rows, classes: length, seed: UInt64(length) + 7)
      let options = CrossEntropyOptions(labelSmoothing: smoothing, zLossWeight: zLoss)
      for reduction in [LossReduction.mean, .sum] {
        var gradient = [Float]()
        let loss = crossEntropy(
          logits: x, shape: [rows, length], labels: labels, reduction: reduction,
          options: options, gradient: &gradient)
        let expected = Self.reference(
          x, rows: rows, labels: labels, smoothing: smoothing, zLoss: zLoss, reduction: reduction)
        let context = "n \(length) ε \(smoothing) w \(zLoss) \(reduction)"
        #expect(
          abs(Double(loss) - expected.loss) <= 1e-6 * max(1, abs(expected.loss)), "\(context)")
        expectClose(gradient, expected.gradient, relative: 1e-5, floors: expected.floors, context)
      }
      let losses = crossEntropyLosses(
        logits: x, shape: [rows, length], labels: labels, options: options)
      let expected = Self.reference(
        x, rows: rows, labels: labels, smoothing: smoothing, zLoss: zLoss, reduction: .none)
      expectClose(losses, expected.losses, relative: 1e-6, floor: 1, "per-row n \(length)")
    }
  }

  @Test(
    "with label smoothing every gradient entry, the label's included, within 2e-7 absolute",
    arguments: [(9000, Float(20)), (9000, 1e4), (70_000, 20)])
  func smoothedGradientAbsolute(classes: Int, scale: Float) {
    // The label's entry once came from the sum of the others, whose C offsets ε / C summed
    // in Float lanes rounded alike: 1.3e-6 off at 9000 classes.
    let x = randomInputs(
      count: 2 * classes, distribution: .uniform, scale: scale, seed: UInt64(classes))
    let labels = Self.labels(rows: 2, classes: classes, seed: 5)
    var gradient = [Float]()
    _ = crossEntropy(
      logits: x, shape: [2, classes], labels: labels, reduction: .sum,
      options: CrossEntropyOptions(labelSmoothing: 0.1), gradient: &gradient)
    for r in 0..<2 {
      let expected = ReferenceTraining.crossEntropy(
        row(x, r, length: classes).map(Double.init), label: Int(labels[r]), smoothing: 0.1)
      let worst = (0..<classes).map {
        abs(Double(gradient[r * classes + $0]) - expected.gradient[$0])
      }.max()!
      #expect(worst <= 2e-7, "row \(r), label \(labels[r]): \(worst)")
    }
  }

  @Test("exact for logits of 1e8 and 1e30, where log(softmax) in Float loses everything")
  func hugeLogits() {
    let x: [Float] = [1e8, 0, -1e8, 1e30, 1e30, -1e30]
    let losses = crossEntropyLosses(logits: x, shape: [2, 3], labels: [0, 1])
    #expect(losses == [0, Float(log(2.0))])
    #expect(crossEntropyLosses(logits: x, shape: [2, 3], labels: [2, 2]) == [2e8, 2e30])
    var gradient = [Float]()
    _ = crossEntropy(
      logits: x, shape: [2, 3], labels: [1, 0], reduction: .sum, gradient: &gradient)
    #expect(gradient == [1, -1, 0, -0.5, 0.5, 0])
    // The naive route: the probability of class 2 underflows, its log is −inf.
    let naive = softmax(Array(x[0..<3]), shape: [3])
    #expect(-log(naive[2]) == .infinity)
  }

  @Test("ignored rows count for nothing: loss, mean, gradient; none kept gives 0")
  func ignoreIndex() {
    let length = 300
    let x = randomInputs(count: 5 * length, distribution: .paperUniform, seed: 21)
    let labels: [Int32] = [3, -100, 7, -100, 299]
    let options = CrossEntropyOptions(ignoreIndex: -100)
    var gradient = [Float]()
    let sum = crossEntropy(
      logits: x, shape: [5, length], labels: labels, reduction: .sum, options: options,
      gradient: &gradient)
    let keptRows = [0, 2, 4]
    let kept = keptRows.flatMap { row(x, $0, length: length) }
    var keptGradient = [Float]()
    let keptSum = crossEntropy(
      logits: kept, shape: [3, length], labels: [3, 7, 299], reduction: .sum,
      gradient: &keptGradient)
    #expect(sum.bitPattern == keptSum.bitPattern)
    #expect(row(gradient, 1, length: length).allSatisfy { $0 == 0 && $0.sign == .plus })
    #expect(row(gradient, 3, length: length).allSatisfy { $0 == 0 })
    #expect(
      keptRows.enumerated().allSatisfy { k, r in
        row(gradient, r, length: length) == row(keptGradient, k, length: length)
      })
    let mean = crossEntropy(
      logits: x, shape: [5, length], labels: labels, reduction: .mean, options: options)
    #expect(mean == Float(Double(keptSum) / 3) || abs(mean - keptSum / 3) <= keptSum.ulp)
    var none = [Float]()
    let allIgnored = crossEntropy(
      logits: x, shape: [5, length], labels: [Int32](repeating: -100, count: 5), options: options,
      gradient: &none)
    #expect(allIgnored == 0)
    #expect(none.allSatisfy { $0 == 0 })
  }

  @Test(
    "the loss is bitwise the same with or without the gradient, in place, and on 1 or 2 threads")
  func bitwise() {
    for (rows, length) in [(3, 300_000), (700, 100)] {
      let x = randomInputs(count: rows * length, distribution: .paperUniform, seed: UInt64(rows))
      let labels = Self.labels(rows: rows, classes: length, seed: 5)
      let options = CrossEntropyOptions(labelSmoothing: 0.1, zLossWeight: 1e-4)
      let shape = [rows, length]
      let lossOnly = crossEntropy(
        logits: x, shape: shape, labels: labels, options: options, threads: 1)
      var gradient = [Float]()
      let loss = crossEntropy(
        logits: x, shape: shape, labels: labels, options: options, gradient: &gradient, threads: 1)
      #expect(loss.bitPattern == lossOnly.bitPattern)
      var gradient2 = [Float]()
      let loss2 = crossEntropy(
        logits: x, shape: shape, labels: labels, options: options, gradient: &gradient2, threads: 2)
      #expect(loss2.bitPattern == loss.bitPattern)
      let d2 = (0..<gradient.count).filter { gradient2[$0] != gradient[$0] }
      #expect(
        d2.isEmpty,
        "\(rows)x\(length): \(d2.count) differ, first \(d2.prefix(4).map { ($0, gradient2[$0], gradient[$0]) })"
      )
      var inPlace = x
      let loss3 = crossEntropyInPlace(
        logitsToGradient: &inPlace, shape: shape, labels: labels, options: options, threads: 2)
      #expect(loss3.bitPattern == loss.bitPattern)
      let d3 = (0..<gradient.count).filter { inPlace[$0] != gradient[$0] }
      #expect(
        d3.isEmpty,
        "in place \(rows)x\(length): \(d3.count) differ, first \(d3.prefix(4).map { ($0, inPlace[$0], gradient[$0]) })"
      )
    }
  }

  /// A z-loss on huge logits makes factor = 1 + 2w log Z huge: the label's entry, often −1,
  /// must not come from cancelling factor − 1 against the others' sum (it was −1.4e8).
  @Test("z-loss on huge logits: every gradient entry against the Double reference")
  func zLossOnHugeLogits() {
    for logits in [[1e20, 0], [0, 1e20], [1e30, -5, 1e30 - 1e24, 3], [40, 0, 1e8]] as [[Double]] {
      for label in logits.indices {
        for smoothing in [0, 0.1] {
          let options = CrossEntropyOptions(labelSmoothing: smoothing, zLossWeight: 1e-4)
          let exact = ReferenceTraining.crossEntropy(
            logits, label: label, smoothing: smoothing, zLoss: 1e-4)
          let context = "\(logits) label \(label) ε \(smoothing)"
          let shape = [1, logits.count]
          var double = [Double]()
          let doubleLoss = crossEntropy(
            logits: logits, shape: shape, labels: [Int32(label)], reduction: .sum,
            options: options, gradient: &double)
          expectClose(double, exact.gradient, relative: 1e-9, floor: 1e-9, "Double \(context)")
          #expect(abs(doubleLoss - exact.loss) <= 1e-12 * exact.loss, "Double loss \(context)")
          var float = [Float]()
          _ = crossEntropy(
            logits: logits.map { Float($0) }, shape: shape, labels: [Int32(label)],
            reduction: .sum, options: options, gradient: &float)
          let floatExact = ReferenceTraining.crossEntropy(
            logits.map { Double(Float($0)) }, label: label, smoothing: smoothing, zLoss: 1e-4)
          expectClose(float, floatExact.gradient, relative: 1e-5, floor: 1e-6, "Float \(context)")
        }
      }
    }
  }

  @Test("finite differences in Double: the gradient of the loss with smoothing and z-loss")
  func finiteDifferences() {
    let n = 7
    let x = randomInputs(count: 2 * n, distribution: .standardNormal, scale: 2, seed: 31)
      .map(Double.init)
    let labels: [Int32] = [4, 0]
    let options = CrossEntropyOptions(labelSmoothing: 0.15, zLossWeight: 0.01)
    var gradient = [Double]()
    _ = crossEntropy(
      logits: x, shape: [2, n], labels: labels, options: options, gradient: &gradient)
    let h = 1e-6
    for i in 0..<(2 * n) {
      var plus = x
      var minus = x
      plus[i] += h
      minus[i] -= h
      let numeric =
        (crossEntropy(logits: plus, shape: [2, n], labels: labels, options: options)
          - crossEntropy(logits: minus, shape: [2, n], labels: labels, options: options)) / (2 * h)
      #expect(abs(gradient[i] - numeric) < 1e-8, "\(i): \(gradient[i]) vs \(numeric)")
    }
  }

  @Test("special values stay in their row: NaN, +inf, a label on −inf, rows of only −inf")
  func specialValues() {
    let x: [Float] = [
      1, .nan, 2,
      .infinity, 0, .infinity,
      .infinity, 0, 1,
      -.infinity, 0, 1,
      -.infinity, -.infinity, -.infinity,
      0, 1, 2,
    ]
    let labels: [Int32] = [0, 0, 1, 0, 2, 2]
    let losses = crossEntropyLosses(logits: x, shape: [6, 3], labels: labels)
    #expect(losses[0].isNaN)
    #expect(losses[1] == Float(log(2.0)))
    #expect(losses[2] == .infinity)
    #expect(losses[3] == .infinity)
    #expect(losses[4] == .infinity)
    let expected = ReferenceTraining.crossEntropy([0, 1, 2], label: 2).loss
    #expect(abs(Double(losses[5]) - expected) < 1e-6)
    var gradient = [Float]()
    _ = crossEntropy(
      logits: x, shape: [6, 3], labels: labels, reduction: .sum, gradient: &gradient)
    #expect(row(gradient, 0, length: 3).allSatisfy { $0.isNaN })
    #expect(row(gradient, 1, length: 3) == [-0.5, 0, 0.5])
    #expect(row(gradient, 2, length: 3) == [1, -1, 0])
    #expect(row(gradient, 4, length: 3) == [0, 0, -1])
    #expect(row(gradient, 5, length: 3).allSatisfy { $0.isFinite })
  }

  @Test("an inner class axis, Double and Float16 agree with the last-axis Float result")
  func axesAndTypes() {
    let (rows, classes) = (6, 40)
    let x = randomInputs(count: rows * classes, distribution: .standardNormal, scale: 4, seed: 41)
    let labels = Self.labels(rows: rows, classes: classes, seed: 42)
    var lastGradient = [Float]()
    let last = crossEntropy(
      logits: x, shape: [rows, classes], labels: labels, gradient: &lastGradient)
    // The classes of each row along axis 1 of a [2, classes, 3] array: row r = (r / 3, r % 3).
    var moved = [Float](repeating: 0, count: x.count)
    for r in 0..<rows {
      for c in 0..<classes { moved[(r / 3) * classes * 3 + c * 3 + r % 3] = x[r * classes + c] }
    }
    var movedGradient = [Float]()
    let inner = crossEntropy(
      logits: moved, shape: [2, classes, 3], axis: 1, labels: labels, gradient: &movedGradient)
    #expect(inner.bitPattern == last.bitPattern)
    for r in 0..<rows {
      for c in 0..<classes {
        #expect(
          movedGradient[(r / 3) * classes * 3 + c * 3 + r % 3] == lastGradient[r * classes + c])
      }
    }
    var doubleGradient = [Double]()
    let double = crossEntropy(
      logits: x.map(Double.init), shape: [rows, classes], labels: labels, gradient: &doubleGradient)
    #expect(abs(Double(last) - double) < 1e-6 * max(1, double))
    expectClose(lastGradient, doubleGradient, relative: 1e-5, floor: 1e-8, "Double")
    #if !(os(macOS) && arch(x86_64))
      let half = x.map { Float16($0) }
      var halfGradient = [Float16]()
      let halfLoss = crossEntropy(
        logits: half, shape: [rows, classes], labels: labels, gradient: &halfGradient)
      var widenedGradient = [Float]()
      let widened = crossEntropy(
        logits: half.map { Float($0) }, shape: [rows, classes], labels: labels,
        gradient: &widenedGradient)
      #expect(halfLoss == Float16(widened))
      #expect(halfGradient == widenedGradient.map { Float16($0) })
    #endif
  }

  @Test("a label out of range traps with a message that names it")
  func labelOutOfRange() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = crossEntropy(
        logits: [Float](repeating: 0, count: 8), shape: [2, 4], labels: [1, 4],
        options: CrossEntropyOptions(ignoreIndex: -100))
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains(
        "crossEntropy: label 4 of row 1 is out of range for 4 classes (0..<4, or the ignore index -100)"
      ),
      "\(message)")
  }

  @Test("one label per row is required")
  func labelCount() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = crossEntropy(logits: [Float](repeating: 0, count: 8), shape: [2, 4], labels: [1])
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("crossEntropy: 1 labels for 2 rows; pass one label per row"), "\(message)")
  }
}
