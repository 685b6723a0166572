import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// How many points the accuracy sweeps check: at least 10^7 in an optimized test build
/// (`swift test -c release`, run by CI), fewer in a debug build where SIMD code is slow.
#if DEBUG
  let sweepPoints = 200_000
#else
  let sweepPoints = 12_000_000
#endif

/// Applies a vector function to every element of `xs`, 16 at a time.
func mapVectors(_ xs: [Float], _ f: (SIMD16<Float>) -> SIMD16<Float>) -> [Float] {
  var out = [Float](repeating: 0, count: xs.count)
  var i = 0
  while i < xs.count {
    var v = SIMD16<Float>(repeating: 0)
    let n = min(16, xs.count - i)
    for lane in 0..<n { v[lane] = xs[i + lane] }
    let r = f(v)
    for lane in 0..<n { out[i + lane] = r[lane] }
    i += 16
  }
  return out
}

/// Evenly spaced points over [low, high] plus random ones, `count` in all.
func sweep(_ low: Float, _ high: Float, count: Int, seed: UInt64) -> [Float] {
  var generator = SeededGenerator(seed: seed)
  let half = count / 2
  let even = (0..<half).map { low + (high - low) * Float($0) / Float(half - 1) }
  let random = (0..<(count - half)).map { _ in Float.random(in: low...high, using: &generator) }
  return even + random
}

/// Inputs where range reduction and rounding are most delicate: around every (k + ½)·ln 2,
/// where n changes, around the underflow and overflow thresholds, and special values.
func edgeInputs(low: Float, high: Float) -> [Float] {
  var xs: [Float] = [0, -0.0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1, -1]
  var k = (Double(low) / log(2.0)).rounded(.down)
  while k * log(2.0) <= Double(high) {
    var x = Float((k + 0.5) * log(2.0))
    for _ in 0..<3 {
      xs += [x, x.nextUp, x.nextDown]
      x = x.nextUp.nextUp
    }
    k += 1
  }
  return xs.filter { $0 >= low && $0 <= high }
}

@Suite("Vector exp")
struct VectorExpTests {
  @Test("exp is within 2 ulp of the correctly rounded e^x for every normal result")
  func expAccuracy() {
    let xs =
      sweep(-87.3, 88.7, count: sweepPoints, seed: 1)
      + edgeInputs(low: -87.33, high: 88.72)
      + sweep(-87.33, -87.3, count: 2_000, seed: 2) + sweep(88.7, 88.7228, count: 2_000, seed: 3)
    let ys = mapVectors(xs, VectorMath.exp)
    var worst: (ulps: Int64, x: Float) = (0, 0)
    for (x, y) in zip(xs, ys) {
      let exact = Float(Foundation.exp(Double(x)))
      guard exact.isNormal else { continue }
      let d = ulpDistance(y, exact)
      if d > worst.ulps { worst = (d, x) }
    }
    #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at x = \(worst.x)")
  }

  @Test("exp: underflow gives 0 (never subnormal), overflow +inf, NaN stays NaN")
  func expSpecialValues() {
    let xs: [Float] = [
      -87.34, -88, -100, -1e30, -.greatestFiniteMagnitude, -.infinity,
      88.73, 89, 1e30, .greatestFiniteMagnitude, .infinity, .nan,
    ]
    let ys = mapVectors(xs, VectorMath.exp)
    for (x, y) in zip(xs.prefix(6), ys.prefix(6)) { #expect(y == 0, "exp(\(x)) = \(y)") }
    for (x, y) in zip(xs[6..<11], ys[6..<11]) { #expect(y == .infinity, "exp(\(x)) = \(y)") }
    #expect(ys[11].isNaN)
    // Every result of a dense sweep across the underflow threshold is 0 or normal.
    for y in mapVectors(sweep(-88, -87, count: 20_000, seed: 4), VectorMath.exp) {
      #expect(y == 0 || y.isNormal)
    }
  }

  /// Its own reduction (two ln 2 parts, see `expOfNonPositive`), so it is held to the
  /// correctly rounded e^x rather than to `exp`'s bits, and to `exp`'s cut: 0 below −87.33.
  @Test("expOfNonPositive: within 2 ulp of e^x down to −87.33, 0 below, −inf → 0, NaN stays")
  func expOfNonPositive() {
    let xs =
      sweep(-90, 0, count: sweepPoints, seed: 5) + edgeInputs(low: -87.5, high: 0)
      + sweep(-87.5, -87.3, count: 2_000, seed: 6) + [-.infinity, -0.0, .nan]
    let ys = mapVectors(xs, VectorMath.expOfNonPositive)
    var worst: (ulps: Int64, x: Float) = (0, 0)
    for (x, y) in zip(xs, ys) where !x.isNaN {
      if x < -87.33 {
        #expect(y == 0, "x = \(x): \(y), not 0")
      } else {
        let d = ulpDistance(y, Float(Foundation.exp(Double(x))))
        if d > worst.ulps { worst = (d, x) }
      }
    }
    #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at x = \(worst.x)")
    #expect(ys[ys.count - 3] == 0 && ys[ys.count - 2] == 1 && ys.last!.isNaN)
  }

  @Test("extendedExp: m · 2^n within 2 ulp of e^x over the whole domain [−2800, 2800]")
  func extendedExpAccuracy() {
    let domain = VectorMath.extendedDomain
    let xs =
      sweep(-domain, domain, count: sweepPoints, seed: 6)
      + sweep(-87.3, 88.7, count: sweepPoints / 4, seed: 7)
      + edgeInputs(low: -domain, high: domain)
    let (ms, ns) = mapPairs(xs)
    var worst: (ulps: Int64, x: Float) = (0, 0)
    for (x, (m, n)) in zip(xs, zip(ms, ns)) {
      // e^x / 2^n = e^(x − n ln 2), computed in Double where x − n ln 2 is nearly exact.
      let exact = Float(Foundation.exp(Double(x) - Double(n) * log(2.0)))
      let d = ulpDistance(m, exact)
      if d > worst.ulps { worst = (d, x) }
      #expect(n == n.rounded(), "n must be an integer")
    }
    #expect(worst.ulps <= 2, "worst \(worst.ulps) ulp at x = \(worst.x)")
  }

  @Test("extendedExp never overflows or underflows: m ∈ [√½, √2], n finite, for any input")
  func extendedExpRange() {
    let xs: [Float] =
      [
        .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, 1e30, -1e30,
        3000, -3000, 2800, -2800, 100, -100, 88.8, -104, 0, .leastNonzeroMagnitude,
      ] + sweep(-1e6, 1e6, count: 10_000, seed: 8)
    let (ms, ns) = mapPairs(xs)
    for (x, (m, n)) in zip(xs, zip(ms, ns)) {
      #expect(m >= 0.7071 && m <= 1.4143, "x = \(x): m = \(m)")
      #expect(n.isFinite && abs(n) <= 4040, "x = \(x): n = \(n)")
    }
    // Beyond the domain the argument is clamped, so the pair equals that of ±2800.
    #expect(ms[0] == ms[8] && ns[0] == ns[8])
    #expect(ms[1] == ms[9] && ns[1] == ns[9])
    let (nanM, _) = mapPairs([.nan])
    #expect(nanM[0].isNaN)
  }

  func mapPairs(_ xs: [Float]) -> ([Float], [Float]) {
    var exponents: [Float] = []
    exponents.reserveCapacity(xs.count)
    let ms = mapVectors(xs) { v in
      let (m, n) = VectorMath.extendedExp(v)
      for lane in 0..<16 { exponents.append(n[lane]) }
      return m
    }
    // mapVectors pads the last vector: drop the exponents of the padding lanes.
    return (ms, Array(exponents.prefix(xs.count)))
  }
}
