import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("Boolean and additive masks")
struct MaterializedMaskTests {
  static let rows = 4
  static let length = 37
  static let x = randomInputs(
    count: rows * length, distribution: .standardNormal, scale: 4, seed: 9)

  /// Expects each row of `y` to match the reference softmax (or log-softmax) of the row's
  /// effective logits.
  func expectRows(
    _ y: [Float], _ effective: (Int, [Float]) -> [Float], logarithm: Bool, _ context: String
  ) {
    for row in 0..<Self.rows {
      let range = (row * Self.length)..<((row + 1) * Self.length)
      let logits = effective(row, Array(Self.x[range]))
      if logarithm {
        for (value, exact) in zip(y[range], ReferenceSoftmax.logSoftmax(logits)) {
          let ok =
            exact.isFinite
            ? abs(Double(value) - exact) <= 1e-5 * max(1, abs(exact)) : value == Float(exact)
          #expect(ok, "\(context) row \(row): \(value) vs \(exact)")
        }
      } else {
        let report = compare(Array(y[range]), with: ReferenceSoftmax.softmax(logits))
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "\(context): \(report)")
      }
    }
  }

  @Test("keep masks, broadcast over rows and one per element, with temperatures")
  func keep() {
    let broadcast = (0..<Self.length).map { $0 % 3 != 1 }
    let perElement = (0..<(Self.rows * Self.length)).map { $0 % 5 != 0 }
    for t: Float in [1, 0.5, 3] {
      for logarithm in [false, true] {
        let shape = [Self.rows, Self.length]
        let a =
          logarithm
          ? logSoftmax(Self.x, shape: shape, mask: .keep(broadcast), temperature: t)
          : softmax(Self.x, shape: shape, mask: .keep(broadcast), temperature: t)
        expectRows(
          a, { _, v in v.enumerated().map { broadcast[$0] ? $1 / t : -.infinity } },
          logarithm: logarithm, "broadcast T=\(t)")
        let b =
          logarithm
          ? logSoftmax(Self.x, shape: shape, mask: .keep(perElement), temperature: t)
          : softmax(Self.x, shape: shape, mask: .keep(perElement), temperature: t)
        expectRows(
          b,
          { row, v in
            v.enumerated().map { perElement[row * Self.length + $0] ? $1 / t : -.infinity }
          }, logarithm: logarithm, "per element T=\(t)")
      }
    }
  }

  @Test("additive masks: −inf drops, finite values shift, after the temperature")
  func additive() {
    let bias = (0..<Self.length).map { i -> Float in i % 4 == 0 ? -.infinity : Float(i % 7) - 3 }
    for t: Float in [1, 0.25, 2] {
      let y = softmax(
        Self.x, shape: [Self.rows, Self.length], mask: .additive(bias), temperature: t)
      expectRows(
        y, { _, v in v.enumerated().map { $1 / t + bias[$0] } }, logarithm: false, "T=\(t)")
      for (i, value) in y.enumerated() where i % Self.length % 4 == 0 { #expect(value == 0) }
    }
  }

  @Test("fully masked rows, the argmax limit and a wrong mask count")
  func edges() async throws {
    let none = [Bool](repeating: false, count: Self.length)
    #expect(
      softmax(Self.x, shape: [Self.rows, Self.length], mask: .keep(none)).allSatisfy { $0 == 0 })
    #expect(
      softmax(Self.x, shape: [Self.rows, Self.length], mask: .keep(none), fullyMaskedRows: .nan)
        .allSatisfy { $0.isNaN })
    let keepFirstTwo = [true, true, false]
    #expect(
      softmax([1, 2, 9] as [Float], shape: [1, 3], mask: .keep(keepFirstTwo), temperature: 0) == [
        0, 1, 0,
      ])
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([Float](repeating: 0, count: 6), shape: [2, 3], mask: .keep([true, false]))
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("the mask has 2 values; it needs one per row element (3)"), "\(message)")
  }

  @Test("masked rows give the same result for every thread count")
  func threads() {
    let count = 64 * 4096
    let x = randomInputs(count: count, distribution: .paperUniform, seed: 3)
    let keep = (0..<4096).map { $0 % 9 != 0 }
    let one = softmax(x, shape: [64, 4096], threads: 1, mask: .keep(keep), temperature: 1.5)
    #expect(softmax(x, shape: [64, 4096], threads: 2, mask: .keep(keep), temperature: 1.5) == one)
  }
}
