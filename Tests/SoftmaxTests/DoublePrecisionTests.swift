import Foundation
import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The Double reference: max-subtracting, with Neumaier sums (the same contract).
func doubleReference(_ x: [Double]) -> [Double] {
  if x.contains(where: \.isNaN) { return x.map { _ in .nan } }
  let infinities = x.filter { $0 == .infinity }.count
  if infinities > 0 { return x.map { $0 == .infinity ? 1 / Double(infinities) : 0 } }
  guard let maximum = x.max(), maximum > -.infinity else { return x.map { _ in 0 } }
  let terms = x.map { Foundation.exp($0 - maximum) }
  let total = ReferenceSoftmax.compensatedSum(terms)
  return terms.map { $0 / total }
}

@Suite("Double rows")
struct DoublePrecisionTests {
  @Test("the Double exp is within 2 ulp of libm's over [−707, 0]")
  func exponential() {
    var generator = SeededGenerator(seed: 4)
    #if DEBUG
      let points = 100_000
    #else
      let points = 4_000_000
    #endif
    var worst = 0.0
    var i = 0
    while i < points {
      var v = SIMD8<Double>()
      for lane in 0..<8 { v[lane] = Double.random(in: -707...0, using: &generator) }
      let e = vectorExpOfNonPositiveDouble(v)
      for lane in 0..<8 {
        let exact = Foundation.exp(v[lane])
        worst = max(worst, abs(e[lane] - exact) / exact.ulp)
      }
      i += 8
    }
    #expect(worst <= 2, "worst \(worst) ulp")
    let special = vectorExpOfNonPositiveDouble(
      SIMD8(-.infinity, -1e300, -708, -707.5, 0, -0.0, .nan, -1))
    #expect(special[0] == 0 && special[1] == 0 && special[2] == 0 && special[3] == 0)
    #expect(special[4] == 1 && special[5] == 1 && special[6].isNaN)
  }

  @Test("random rows of every length 0…40 and large ones, every scale, against the reference")
  func accuracy() {
    for count in Array(0...40) + [1000, 100_003] {
      for scale in [1.0, 100, 1e4, 1e300] {
        var generator = SeededGenerator(seed: UInt64(count))
        let x = (0..<count).map { _ in Double.random(in: -1...1, using: &generator) * scale }
        let y = softmax(x)
        let reference = doubleReference(x)
        for (value, exact) in zip(y, reference) where exact >= 1e-300 {
          #expect(abs(value - exact) <= 1e-13 * exact, "n=\(count) ×\(scale): \(value) vs \(exact)")
        }
        #expect(y.allSatisfy { $0 == 0 || $0.isNormal })
        let logY = logSoftmax(x)
        for (value, exact) in zip(logY, reference) where exact >= 1e-300 {
          #expect(abs(value - Foundation.log(exact)) <= 1e-12 * max(1, abs(value)))
        }
      }
    }
  }

  @Test("special values and in place")
  func specialValues() {
    let inf = Double.infinity
    #expect(softmax([-inf, 0, inf, inf] as [Double]) == [0, 0, 0.5, 0.5])
    #expect(softmax([-inf, -inf] as [Double]) == [0, 0])
    #expect(softmax([1, .nan] as [Double]).allSatisfy { $0.isNaN })
    #expect(softmax([Double.greatestFiniteMagnitude, -Double.greatestFiniteMagnitude]) == [1, 0])
    #expect(logSoftmax([0, -inf] as [Double]) == [0, -inf])
    #expect(softmax([] as [Double]).isEmpty)
    var x: [Double] = [1, 2, 3]
    let expected = softmax(x)
    x.withUnsafeMutableBufferPointer { softmax(UnsafeBufferPointer($0), into: $0) }
    #expect(x == expected)
  }
}
