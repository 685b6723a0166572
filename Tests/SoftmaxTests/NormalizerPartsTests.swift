import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("SoftmaxNormalizer rebuilt from its fields")
struct NormalizerPartsTests {
  static func rebuilt(_ n: SoftmaxNormalizer) -> SoftmaxNormalizer? {
    SoftmaxNormalizer(
      reassemblingShift: n.shift, mantissa: n.mantissa, exponent: n.exponent,
      infinityCount: n.infinityCount)
  }

  static func bits(_ n: SoftmaxNormalizer) -> [UInt64] {
    [n.shift.bitPattern, n.mantissa.bitPattern, n.exponent.bitPattern, UInt64(n.infinityCount)]
  }

  @Test("every kind of normalizer survives the round trip bitwise, and merges as the original")
  func roundTrip() throws {
    let rows: [[Float]] = [
      randomInputs(count: 5000, distribution: .standardNormal, scale: 5, seed: 21),
      randomInputs(count: 300, distribution: .uniform, scale: 1, shift: 1e30, seed: 22),
      randomInputs(count: 300, distribution: .uniform, scale: 40, shift: -2790, seed: 23),
      [.infinity, 1, .infinity], [-.infinity, -.infinity], [], [.nan, 1],
    ]
    let doubles: [[Double]] = [[1e300, -1e300, 3], [-5000, -5001]]
    let normalizers =
      rows.map { SoftmaxNormalizer(accumulating: $0) }
      + doubles.map { SoftmaxNormalizer(accumulating: $0) }
    for (i, n) in normalizers.enumerated() {
      let r = try #require(Self.rebuilt(n), "normalizer \(i)")
      #expect(Self.bits(r) == Self.bits(n), "normalizer \(i)")
      for (j, other) in normalizers.enumerated() {
        let o = try #require(Self.rebuilt(other))
        #expect(Self.bits(r.merging(o)) == Self.bits(n.merging(other)), "\(i) with \(j)")
      }
    }
    // A merged normalizer in shift form with a non-zero exponent, as merging makes them.
    let mixed = normalizers[0].merging(normalizers[1])
    let back = try #require(Self.rebuilt(mixed))
    #expect(Self.bits(back) == Self.bits(mixed))
    let x = rows[0]
    #expect(back.normalize(x) == mixed.normalize(x))
  }

  @Test("fields no normalizer holds give nil")
  func invalidFields() {
    let invalid: [(Double, Double, Double, Int)] = [
      (0, 1, 0, -1), (.infinity, 1, 0, 0), (-.infinity, 1, 0, 0), (.nan, 1, 0, 0),
      (0, -1, 0, 0), (0, .infinity, 0, 0), (0, 1, 0.5, 0), (0, 1, .infinity, 0),
      (0, 1, .nan, 0), (0, 1, 0x1p40, 0),
    ]
    for (s, m, e, c) in invalid {
      #expect(
        SoftmaxNormalizer(reassemblingShift: s, mantissa: m, exponent: e, infinityCount: c)
          == nil, "\(s) \(m) \(e) \(c)")
    }
    let nan = SoftmaxNormalizer(reassemblingShift: 7, mantissa: .nan, exponent: 3, infinityCount: 2)
    #expect(nan?.mantissa.isNaN == true)
    #expect(nan?.logSum.isNaN == true)
  }
}
