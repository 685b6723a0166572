import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// Expects every output within 1e-5 · max(1, |reference|) of the Double log-softmax, with the
/// special values exactly as the reference has them.
func expectAccurateLog(
  _ y: [Float], for x: [Float], _ context: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  let reference = ReferenceSoftmax.logSoftmax(x)
  var worst = 0.0
  var problems: [String] = []
  for (i, (value, exact)) in zip(y, reference).enumerated() {
    // Beyond ±Float.greatestFiniteMagnitude the correctly rounded result is ±inf.
    if exact.isNaN || Float(exact).isInfinite {
      let same = (exact.isNaN && value.isNaN) || value == Float(exact)
      if !same { problems.append("[\(i)] expected \(exact), got \(value)") }
      continue
    }
    let error = abs(Double(value) - exact) / max(1, abs(exact))
    worst = max(worst, error)
    if error > 1e-5 { problems.append("[\(i)] expected \(exact), got \(value)") }
  }
  #expect(
    problems.isEmpty, "\(context): worst \(worst), \(problems.prefix(4))",
    sourceLocation: sourceLocation)
}

@Suite("Log-softmax")
struct LogSoftmaxTests {
  @Test("random rows of every length 0…70 and large ones, every scale and shift")
  func randomRows() {
    for count in Array(0...70) + [1000, 4097, 100_003] {
      for distribution in InputDistribution.allCases {
        for (scale, shift): (Float, Float) in [(1, 0), (100, 0), (1e4, 0), (1, 1e30), (1, -1e30)] {
          let x = randomInputs(
            count: count, distribution: distribution, scale: scale, shift: shift, seed: 7)
          expectAccurateLog(logSoftmax(x), for: x, "n=\(count) \(distribution) ×\(scale)+\(shift)")
        }
      }
    }
  }

  @Test("logits of magnitude 1e8 with gaps of 100, and other large-magnitude rows")
  func largeMagnitudes() {
    let rows: [[Float]] = [
      [1e8, 1e8 - 128, 1e8 - 256, 0],
      [1e8, 1e8, 1e8 - 104],
      [-1e8, -1e8 - 128],
      [100, 0, 0, 0],
      [0, -100, -100],
      [3e38, 3e38, -3e38],
      [2700, 2800, 2900, 2600],
      [-2700, -2800, -2900],
      [1e30, 1e30 * 0.999_999],
    ]
    for x in rows {
      for times in [1, 17] {
        let repeated = Array([[Float]](repeating: x, count: times).joined())
        expectAccurateLog(logSoftmax(repeated), for: repeated, "\(x) ×\(times)")
      }
    }
    var generator = SeededGenerator(seed: 3)
    for magnitude: Float in [1e3, 1e6, 1e8, 1e20] {
      let x = (0..<333).map { _ in Float.random(in: -1...1, using: &generator) * magnitude }
      expectAccurateLog(logSoftmax(x), for: x, "±\(magnitude)")
    }
  }

  @Test("special values")
  func specialValues() {
    let inf = Float.infinity
    let cases: [[Float]] = [
      [], [5], [-inf], [inf], [.nan], [-inf, -inf], [-inf, 0, -inf], [inf, 0, -inf, inf],
      [inf, .nan], [1, 2, .nan],
    ]
    for x in cases {
      expectAccurateLog(logSoftmax(x), for: x, "\(x)")
    }
  }

  @Test("in place, inout and threads give the same result")
  func forms() {
    let x = randomInputs(count: (1 << 18) + 9, distribution: .paperUniform, seed: 4)
    let expected = logSoftmax(x, threads: 1)
    #expect(logSoftmax(x, threads: 2) == expected)
    #expect(logSoftmax(x) == expected)
    var y = [Float](repeating: 0, count: x.count)
    logSoftmax(x, into: &y)
    #expect(y == expected)
    var z = x
    z.withUnsafeMutableBufferPointer { logSoftmax(UnsafeBufferPointer($0), into: $0) }
    #expect(z == expected)
    expectAccurateLog(expected, for: x, "2^18+9")
  }

  @Test("exp of the log-softmax is the softmax")
  func consistentWithSoftmax() {
    let x = randomInputs(count: 999, distribution: .standardNormal, scale: 3, seed: 5)
    let p = softmax(x)
    for (a, b) in zip(logSoftmax(x), p) where b > 1e-30 {
      // Both are within 1e-5 of the exact values (relative, and absolute in the log).
      #expect(abs(Foundation.exp(Double(a)) - Double(b)) <= 1e-5 * Double(b))
    }
  }
}

/// Issue 17, defect 11: log Σ is taken after the maximum, whose own term is exactly 1.
@Suite("Log-softmax: never positive, exactly 0 for a lone element")
struct LoneElementLogSoftmaxTests {
  static let values: [Float] = [
    0, 1, -1, 0.3, 1e-8, 3e38, -3e38, 88.7, -103, 12345.678, 0x1p-140, 2800.5, -2900,
  ]

  @Test("one element, or one kept, gives 0 on every path and element type")
  func loneElement() {
    for v in Self.values {
      #expect(logSoftmax([v]) == [0], "\(v)")
      #expect(logSoftmax([v, v, v], shape: [3, 1]) == [0, 0, 0], "rows of one: \(v)")
      #expect(logSoftmax([v, v], shape: [1, 2], axis: 0) == [0, 0], "columns of one: \(v)")
      #expect(logSoftmax([v, 5], shape: [1, 2], mask: .keep([true, false])) == [0, -.infinity])
      #expect(logSoftmax([v, 5], shape: [1, 2], mask: .causal()) == [0, -.infinity], "\(v)")
      #expect(logSoftmax([v], shape: [1, 1], temperature: 0.7) == [0], "T = 0.7: \(v)")
      #expect(logSoftmax([Double(v)]) == [0], "Double \(v)")
      #expect(logSoftmax([Double(v)], shape: [1, 1], temperature: 3) == [0], "Double \(v)")
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      for v: Float16 in [0, 1, -1, 0.3, 60000, -60000] {
        #expect(logSoftmax([v]) == [0], "Float16 \(v)")
        #expect(logSoftmax([v], shape: [1, 1]) == [0], "Float16 \(v)")
      }
    #endif
  }

  @Test("softmax of one element is exactly 1 for every algorithm (0 for −inf, NaN for NaN)")
  func loneProbability() {
    for algorithm in SoftmaxAlgorithm.allCases {
      for v in Self.values + [.infinity] {
        #expect(softmax([v], algorithm: algorithm) == [1], "\(algorithm) \(v)")
        #expect(softmax([v, v], shape: [2, 1], algorithm: algorithm) == [1, 1], "\(v)")
      }
      #expect(softmax([-Float.infinity], algorithm: algorithm) == [0])
      #expect(softmax([Float.nan], algorithm: algorithm)[0].isNaN)
    }
    #if !((os(macOS) || targetEnvironment(macCatalyst)) && arch(x86_64))
      #expect(softmax([Float16(3)]) == [1])
    #endif
  }

  @Test("rows dominated by one element: no positive output, the largest within 1e-7 of exact")
  func dominated() {
    for seed: UInt64 in 1...40 {
      let count = Int(seed % 9) + 2
      var x = randomInputs(count: count, distribution: .standardNormal, scale: 3, seed: seed)
      let top = Int(seed) % count
      x[top] = Float(seed) * 37 - 700
      for j in x.indices where j != top { x[j] = x[top] - 18 - abs(x[j]) }
      let exact = ReferenceSoftmax.logSoftmax(x)
      for (name, y) in [
        ("1-D", logSoftmax(x)), ("shaped", logSoftmax(x, shape: [1, count])),
        ("masked", logSoftmax(x, shape: [1, count], mask: .additive(x.map { _ in 0 }))),
      ] {
        #expect(y.allSatisfy { $0 <= 0 }, "\(name) seed \(seed): \(y)")
        #expect(abs(Double(y[top]) - exact[top]) <= 1e-7, "\(name): \(y[top]) vs \(exact[top])")
      }
    }
  }
}
