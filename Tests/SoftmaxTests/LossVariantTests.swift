import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("soft-target cross-entropy, StableMax and the multiclass hinge")
struct LossVariantTests {
  /// Rows of target probabilities: the softmax of seeded logits at temperature `t`.
  static func targets(rows: Int, length: Int, temperature t: Float, seed: UInt64) -> [Float] {
    let teacher = randomInputs(
      count: rows * length, distribution: .standardNormal, scale: 3, seed: seed)
    return softmax(teacher, shape: [rows, length], temperature: t)
  }

  @Test(
    "soft targets at temperatures 1, 2 and 0.5 against the Double reference",
    arguments: [1.0, 2.0, 0.5])
  func softTargets(temperature: Double) {
    for length in [1, 3, 33, 1000, 70_000] {
      let rows = length > 1000 ? 2 : 4
      let x = randomInputs(
        count: rows * length, distribution: .standardNormal, scale: 4, seed: UInt64(length))
      let q = Self.targets(rows: rows, length: length, temperature: Float(temperature), seed: 3)
      var gradient = [Float]()
      let loss = crossEntropy(
        logits: x, shape: [rows, length], targets: q, temperature: Float(temperature),
        reduction: .sum, gradient: &gradient)
      var expectedLoss = 0.0
      var expectedGradient: [Double] = []
      var floors: [Double] = []
      for r in 0..<rows {
        // The logits divided exactly (the library rounds (x − max) / T once, from Double).
        let xr = row(x, r, length: length).map { Double($0) / temperature }
        let qr = row(q, r, length: length).map(Double.init)
        let (l, g) = ReferenceTraining.softCrossEntropy(xr, targets: qr, temperature: 1)
        expectedLoss += l * temperature * temperature
        expectedGradient += g.map { $0 * temperature }
        let p = ReferenceTraining.softmax(xr)
        // p − q checked against (p + q) / 2 where it cancels more: the Float reduction
        // x − m of logits around ±40 errs by up to 2.4e-6 relative in e^(x − m).
        floors += zip(p, qr).map { 0.5 * temperature * ($0 + $1) }
      }
      let context = "n \(length) T \(temperature)"
      #expect(abs(Double(loss) - expectedLoss) <= 1e-5 * max(1, expectedLoss), "\(context)")
      expectClose(gradient, expectedGradient, relative: 1e-5, floors: floors, context)
      let lossOnly = crossEntropy(
        logits: x, shape: [rows, length], targets: q, temperature: Float(temperature),
        reduction: .sum)
      #expect(lossOnly.bitPattern == loss.bitPattern, "\(context)")
    }
  }

  /// Logits at the ends of the Float range, where x / T overflowed, and +inf logits that hold
  /// all of the target mass (probability 1 / count each, as for a label on them).
  @Test("soft targets at the ends of the range and on +inf logits")
  func softTargetEdges() {
    let big = Float.greatestFiniteMagnitude
    let finite: [([Float], [Float], Float)] = [
      ([-big], [1], 0.5), ([3e38, 3e38], [0.5, 0.5], 0.5), ([big, 0], [0.5, 0.5], 0.5),
      ([-big, 1, big], [0.25, 0.25, 0.5], 0.25), ([1e30, 0, -1e30], [0.2, 0.3, 0.5], 2),
    ]
    for (x, q, t) in finite {
      var gradient = [Float]()
      let loss = crossEntropy(
        logits: x, shape: [x.count], targets: q, temperature: t, gradient: &gradient)
      // Shifted by the maximum (the loss and gradient do not change), so that the Double
      // reference keeps the differences of logits near 1e38.
      let (exactLoss, exactGradient) = ReferenceTraining.softCrossEntropy(
        x.map { Double($0) - Double(x.max()!) }, targets: q.map(Double.init),
        temperature: Double(t))
      #expect(
        abs(Double(loss) - exactLoss) <= 1e-6 * max(1, exactLoss), "\(x) T \(t): \(loss)")
      expectClose(gradient, exactGradient, relative: 1e-6, floor: 1e-6, "\(x) T \(t)")
    }
    let infinite: [([Float], [Float], Float)] = [
      ([.infinity], [1], 0), ([.infinity, .infinity], [0.5, 0.5], Float(log(2.0))),
      ([.infinity, 0], [1, 0], 0), ([.infinity, 0], [0.5, 0.5], .infinity),
      ([.infinity, .infinity, 0], [0.25, 0.25, 0], Float(0.5 * log(2.0))),
    ]
    for (x, q, expected) in infinite {
      for t: Float in [1, 0.5] {
        let loss = crossEntropy(logits: x, shape: [x.count], targets: q, temperature: t)
        let scaled = expected * t * t
        #expect(
          loss == scaled || abs(loss - scaled) <= 1e-6 * scaled, "\(x) \(q) T \(t): \(loss)")
      }
    }
    // Double logits at both ends of the range: each term q (log Z − x) is ≥ 0, so the loss is
    // +inf (the exact 1.8e308 is beyond Double), never NaN.
    let huge = Double.greatestFiniteMagnitude
    let loss = crossEntropy(logits: [-huge, huge], shape: [2], targets: [0.5, 0.5])
    #expect(loss == .infinity, "\(loss)")
  }

  @Test("soft targets: finite differences in Double, and one-hot targets equal labels")
  func softTargetIdentities() {
    let n = 6
    let x = randomInputs(count: n, distribution: .standardNormal, scale: 2, seed: 51).map(
      Double.init)
    let q = Self.targets(rows: 1, length: n, temperature: 1, seed: 52).map(Double.init)
    var gradient = [Double]()
    _ = crossEntropy(logits: x, shape: [n], targets: q, temperature: 2, gradient: &gradient)
    let h = 1e-6
    for i in 0..<n {
      var plus = x
      var minus = x
      plus[i] += h
      minus[i] -= h
      let numeric =
        (crossEntropy(logits: plus, shape: [n], targets: q, temperature: 2)
          - crossEntropy(logits: minus, shape: [n], targets: q, temperature: 2)) / (2 * h)
      #expect(abs(gradient[i] - numeric) < 1e-8, "\(i): \(gradient[i]) vs \(numeric)")
    }
    let logits: [Float] = [0.5, -1, 2, 0]
    let oneHot: [Float] = [0, 0, 1, 0]
    let withLabel = crossEntropy(logits: logits, shape: [4], labels: [2])
    let withTargets = crossEntropy(logits: logits, shape: [4], targets: oneHot)
    #expect(abs(withLabel - withTargets) <= withLabel.ulp)
    // A target of 0 on a logit of −inf contributes nothing.
    let masked: [Float] = [-.infinity, 1, 2]
    let maskedTargets: [Float] = [0, 0.5, 0.5]
    let expected = ReferenceTraining.softCrossEntropy([1, 2], targets: [0.5, 0.5], temperature: 1)
    let value = crossEntropy(logits: masked, shape: [3], targets: maskedTargets)
    #expect(abs(Double(value) - expected.loss) < 1e-6)
  }

  @Test("StableMax cross-entropy against its definition, with label smoothing")
  func stableMax() {
    for smoothing in [0.0, 0.1] {
      for length in [1, 2, 9, 1000] {
        let rows = 3
        let x = randomInputs(
          count: rows * length, distribution: .standardNormal, scale: 5, seed: UInt64(length))
        let labels = CrossEntropyTests.labels(rows: rows, classes: length, seed: 8)
        let options = CrossEntropyOptions(labelSmoothing: smoothing, probabilities: .stableMax)
        var gradient = [Float]()
        let loss = crossEntropy(
          logits: x, shape: [rows, length], labels: labels, reduction: .sum, options: options,
          gradient: &gradient)
        var expectedLoss = 0.0
        var expectedGradient: [Double] = []
        for r in 0..<rows {
          let (l, g) = ReferenceTraining.stableMaxCrossEntropy(
            row(x, r, length: length).map(Double.init), label: Int(labels[r]), smoothing: smoothing)
          expectedLoss += l
          expectedGradient += g
        }
        let context = "n \(length) ε \(smoothing)"
        #expect(abs(Double(loss) - expectedLoss) <= 1e-6 * max(1, expectedLoss), "\(context)")
        expectClose(gradient, expectedGradient, relative: 1e-5, floor: 1e-6, context)
      }
    }
    // Finite differences in Double.
    let x = randomInputs(count: 5, distribution: .standardNormal, scale: 2, seed: 61).map(
      Double.init)
    let options = CrossEntropyOptions(labelSmoothing: 0.2, probabilities: .stableMax)
    var gradient = [Double]()
    _ = crossEntropy(logits: x, shape: [5], labels: [3], options: options, gradient: &gradient)
    for i in 0..<5 {
      var plus = x
      var minus = x
      plus[i] += 1e-6
      minus[i] -= 1e-6
      let numeric =
        (crossEntropy(logits: plus, shape: [5], labels: [3], options: options)
          - crossEntropy(logits: minus, shape: [5], labels: [3], options: options)) / 2e-6
      #expect(abs(gradient[i] - numeric) < 1e-7, "\(i): \(gradient[i]) vs \(numeric)")
    }
  }

  /// Double logits near greatestFiniteMagnitude: S = Σ s(x) overflows although every term is
  /// finite. StableMax of [h, h] is [1/2, 1/2] for any h; of [h, h, −1] nearly so.
  @Test("StableMax in Double where the sum of s(x) overflows")
  func stableMaxHugeDouble() {
    let options = CrossEntropyOptions(probabilities: .stableMax)
    for h in [1e308, Double.greatestFiniteMagnitude] {
      for (x, label) in [([h, h], 0), ([h, h, -1], 1), ([h, h, -1], 2)] {
        var gradient = [Double]()
        let loss = crossEntropy(
          logits: x, shape: [x.count], labels: [Int32(label)], reduction: .sum, options: options,
          gradient: &gradient)
        // s(h) = h + 1 = h in Double, s(−1) = 1/2: S = 2h + 1/2, exactly 2h in Double terms.
        let values = x.map { $0 >= 0 ? $0 + 1 : 1 / (1 - $0) }
        let slopes = x.map { $0 >= 0 ? 1 : 1 / ((1 - $0) * (1 - $0)) }
        let logTotal = log(2.0) + log(h)
        let exactLoss = logTotal - log(values[label])
        #expect(abs(loss - exactLoss) <= 1e-12 * max(1, abs(exactLoss)), "\(x) \(label): \(loss)")
        // s'_i / S − [i = label] s'_i / s_i, with 1 / S = 1 / (2h) (the −1's s is negligible).
        let expected = x.indices.map {
          slopes[$0] * (0.5 / h) - ($0 == label ? slopes[$0] / values[$0] : 0)
        }
        expectClose(gradient, expected, relative: 1e-12, floor: 0, "\(x) \(label)")
      }
    }
  }

  @Test("multiclass hinge, plain and squared, against the reference and with an ignore index")
  func hinge() {
    for squared in [false, true] {
      for length in [2, 5, 100] {
        let rows = 4
        let x = randomInputs(
          count: rows * length, distribution: .standardNormal, seed: UInt64(length))
        var labels = CrossEntropyTests.labels(rows: rows, classes: length, seed: 9)
        labels[2] = -1
        var gradient = [Float]()
        let loss = multiclassHingeLoss(
          logits: x, shape: [rows, length], labels: labels, margin: 0.5, squared: squared,
          ignoreIndex: -1, gradient: &gradient)
        var total = 0.0
        var expectedGradient: [Double] = []
        for r in 0..<rows {
          if r == 2 {
            expectedGradient += [Double](repeating: 0, count: length)
            continue
          }
          let (l, g) = ReferenceTraining.hinge(
            row(x, r, length: length).map(Double.init), label: Int(labels[r]), margin: 0.5,
            squared: squared)
          total += l
          expectedGradient += g.map { $0 / 3 }
        }
        let context = "n \(length) squared \(squared)"
        #expect(abs(Double(loss) - total / 3) <= 1e-6 * max(1, total), "\(context)")
        expectClose(gradient, expectedGradient, relative: 1e-6, floor: 1e-7, context)
      }
    }
    let nanRow: [Float] = [1, .nan, 0, 0, 1, 2]
    var gradient = [Float]()
    let losses = [Float](repeating: 0, count: 2)
    _ = losses
    let loss = multiclassHingeLoss(
      logits: nanRow, shape: [2, 3], labels: [0, 2], reduction: .sum, gradient: &gradient)
    #expect(loss.isNaN)
    #expect(row(gradient, 1, length: 3) == [0, 0, 0])
  }

  @Test("StableMax with a z-loss weight traps with a message")
  func stableMaxZLoss() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = crossEntropy(
        logits: [Float](repeating: 0, count: 4), shape: [4], labels: [1],
        options: CrossEntropyOptions(zLossWeight: 1e-4, probabilities: .stableMax))
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("zLossWeight applies to softmax probabilities, not StableMax"), "\(message)")
  }
}
