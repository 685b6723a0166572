import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// The forms every element type shares: spans (from arrays, slices and contiguous arrays),
/// and the normalizer of Double and Float16 values, against the array forms and the Double
/// reference.
@Suite("Spans and normalizers for every element type")
struct GenericAPITests {
  /// The softmax and log-softmax of `x` through spans, bitwise those of the array forms.
  func expectSpansMatchArrays<T: SoftmaxElement>(_ x: [T], shape: [Int], _ context: String) {
    var y = [T](repeating: 0, count: x.count)
    var span = y.mutableSpan
    softmax(x.span, into: &span)
    #expect(y == softmax(x), "\(context) one row")
    var log = y.mutableSpan
    logSoftmax(x.span, into: &log)
    #expect(y == logSoftmax(x), "\(context) one row, log")
    var shaped = y.mutableSpan
    softmax(x.span, shape: shape, axis: 0, into: &shaped, threads: 2)
    #expect(y == softmax(x, shape: shape, axis: 0, threads: 1), "\(context) axis 0")
    var shapedLog = y.mutableSpan
    logSoftmax(x.span, shape: shape, into: &shapedLog, temperature: 2)
    #expect(y == logSoftmax(x, shape: shape, temperature: 2), "\(context) log, T = 2")
  }

  @Test("span forms give bitwise the array forms for Float, Double and Float16")
  func spansMatchArrays() {
    let floats = randomInputs(count: 3 * 700, distribution: .standardNormal, scale: 4, seed: 21)
    expectSpansMatchArrays(floats, shape: [3, 700], "Float")
    expectSpansMatchArrays(floats.map { Double($0) * 1e3 }, shape: [3, 700], "Double")
    #if !(os(macOS) && arch(x86_64))
      expectSpansMatchArrays(floats.map { Float16($0) }, shape: [3, 700], "Float16")
    #endif
  }

  @Test("slices and contiguous arrays go in through spans without a copy")
  func slicesAndContiguousArrays() {
    let row = randomInputs(count: 1000, distribution: .standardNormal, scale: 3, seed: 22)
    let slice = row[100..<900]
    var y = [Float](repeating: 0, count: slice.count)
    var span = y.mutableSpan
    softmax(slice.span, into: &span, algorithm: .threePassReload)
    expectAccurate(y, for: Array(slice), "slice")
    let contiguous = ContiguousArray(row)
    var z = [Float](repeating: 0, count: row.count)
    var zSpan = z.mutableSpan
    softmax(contiguous.span, into: &zSpan, algorithm: .twoPass)
    expectAccurate(z, for: row, "contiguous array")
  }

  @Test("Double normalizers in chunks: logits beyond the Float range, merged in any order")
  func doubleNormalizer() {
    var generator = SeededGenerator(seed: 23)
    let rows: [[Double]] = [
      randomDoubles(count: 5_000, scale: 30, seed: 1),
      randomDoubles(count: 3_000, scale: 1, shift: 1e17, seed: 2),
      randomDoubles(count: 2_000, scale: 1e3, shift: -1e300, seed: 3),
      [1e17, 1e17],
    ]
    for (r, x) in rows.enumerated() {
      let cuts = (0..<3).map { _ in Int.random(in: 0..<x.count, using: &generator) }.sorted()
      let bounds = [0] + cuts + [x.count]
      let parts = zip(bounds, bounds.dropFirst()).map { Array(x[$0..<$1]) }
      let normalizers = parts.map { SoftmaxNormalizer(accumulating: $0) }
      let forward = normalizers.reduce(SoftmaxNormalizer()) { $0.merging($1) }
      let backward = normalizers.reversed().reduce(SoftmaxNormalizer()) { $0.merging($1) }
      for total in [forward, backward] {
        expectDoubles(
          parts.flatMap { total.normalize($0) }, doubleReference(x), logarithm: false, "row \(r)")
        expectDoubles(
          parts.flatMap { total.logNormalize($0) }, doubleLogReference(x), logarithm: true,
          "row \(r) log")
      }
    }
    // The streamed log-softmax of huge logits keeps the log of the count (it lost it once).
    let huge = SoftmaxNormalizer(accumulating: [1e17, 1e17] as [Double])
    #expect(huge.logNormalize([1e17, 1e17] as [Double]) == [-log(2.0), -log(2.0)])
  }

  @Test("Double normalizers keep the special-value contract")
  func doubleSpecialValues() {
    let masked = SoftmaxNormalizer(accumulating: [-.infinity, -.infinity] as [Double])
    #expect(masked.isEmpty && masked.normalize([-.infinity] as [Double]) == [0])
    let nan = SoftmaxNormalizer(accumulating: [1, .nan, .infinity] as [Double])
    #expect(nan.logSum.isNaN && nan.normalize([1.0, 2]).allSatisfy { $0.isNaN })
    let infinite = SoftmaxNormalizer(accumulating: [.infinity, 3, .infinity] as [Double])
      .merging(SoftmaxNormalizer(accumulating: [.infinity, -1e300] as [Double]))
    #expect(infinite.infinityCount == 3)
    #expect(infinite.normalize([.infinity, 3] as [Double]) == [1.0 / 3, 0])
    #expect(infinite.logNormalize([.infinity, 3] as [Double]) == [-log(3.0), -.infinity])
  }

  #if !(os(macOS) && arch(x86_64))
    @Test("Float16 normalizers across blocks and chunks match the one-shot softmax")
    func halfNormalizer() {
      let floats = randomInputs(count: 150_000, distribution: .standardNormal, scale: 6, seed: 24)
      let x = floats.map { Float16($0) }
      let total = SoftmaxNormalizer(accumulating: x, threads: 2)
      #expect(total == SoftmaxNormalizer(accumulating: x, threads: 1))
      let exact = ReferenceSoftmax.logSumExp(x.map { Float($0) })
      #expect(abs(total.logSum - exact) <= 1e-6 * max(1, abs(exact)))
      let y = total.normalize(x)
      #expect(
        y == softmax(x, algorithm: .twoPass),
        "the one-row Two-Pass Float16 softmax streams through the same blocks")
      let reference = ReferenceSoftmax.softmax(x.map { Float($0) })
      var worst = 0
      for (value, exact) in zip(y, reference) {
        worst = max(worst, abs(Int(value.bitPattern) - Int(Float16(exact).bitPattern)))
      }
      #expect(worst <= 1, "within 1 ulp of the correctly rounded softmax")
    }
  #endif
}
