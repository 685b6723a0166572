import Softmax
import Testing
import _SoftmaxTestSupport

/// The reference for a [..., queries, keys] array under a causal mask: masked keys set to −inf,
/// then the reference softmax of each row.
func causalReference(_ x: [Float], queries: Int, keys: Int, offset: Int, logarithm: Bool)
  -> [Double]
{
  var result: [Double] = []
  for row in 0..<(x.count / keys) {
    let i = row % queries
    let slice = (0..<keys).map { j in j <= i + offset ? x[row * keys + j] : -.infinity }
    result += logarithm ? ReferenceSoftmax.logSoftmax(slice) : ReferenceSoftmax.softmax(slice)
  }
  return result
}

@Suite("Masks, sinks and fully masked rows")
struct MaskTests {
  @Test("causal masks with offsets, softmax and log-softmax, against the reference")
  func causal() {
    for (queries, keys) in [(5, 5), (3, 8), (16, 16), (7, 40)] {
      let shape = [2, queries, keys]
      let x = randomInputs(
        count: 2 * queries * keys, distribution: .standardNormal, scale: 6, seed: 1)
      for offset in [0, 2, keys - queries, -1, -queries - 1] {
        let y = softmax(x, shape: shape, mask: .causal(offset: offset))
        let reference = causalReference(
          x, queries: queries, keys: keys, offset: offset, logarithm: false)
        let report = compare(y, with: reference)
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty,
          "\(shape) offset \(offset): \(report)")
        let logY = logSoftmax(x, shape: shape, mask: .causal(offset: offset))
        let logReference = causalReference(
          x, queries: queries, keys: keys, offset: offset, logarithm: true)
        for (value, exact) in zip(logY, logReference) {
          let ok =
            exact.isFinite
            ? abs(Double(value) - exact) <= 1e-5 * max(1, abs(exact)) : value == Float(exact)
          #expect(ok, "log \(shape) offset \(offset): \(value) vs \(exact)")
        }
      }
    }
  }

  @Test("fully masked rows: zeros by default, NaN when asked")
  func fullyMaskedPolicy() {
    let x = randomInputs(count: 3 * 4, distribution: .standardNormal, seed: 2)
    // offset −1: query 0 sees nothing.
    let zeros = softmax(x, shape: [3, 4], mask: .causal(offset: -1))
    #expect(zeros[0..<4].allSatisfy { $0 == 0 })
    let nans = softmax(x, shape: [3, 4], mask: .causal(offset: -1), fullyMaskedRows: .nan)
    #expect(nans[0..<4].allSatisfy { $0.isNaN })
    #expect(Array(nans[4...]) == Array(zeros[4...]))
    // Rows of only −inf, without a mask.
    var masked = x
    for j in 4..<8 { masked[j] = -.infinity }
    let y = softmax(masked, shape: [3, 4], fullyMaskedRows: .nan)
    #expect(y[4..<8].allSatisfy { $0.isNaN } && !y[0].isNaN)
    #expect(softmax(masked, shape: [3, 4])[4..<8].allSatisfy { $0 == 0 })
  }

  @Test("a sink adds e^s to every denominator, for any s, without overflow")
  func sink() {
    let x = randomInputs(count: 4 * 50, distribution: .standardNormal, scale: 3, seed: 3)
    for s: Float in [0, 5, -5, 60, 1e30, -1e30, -.infinity] {
      let y = softmax(x, shape: [4, 50], sink: s)
      let logY = logSoftmax(x, shape: [4, 50], sink: s)
      for row in 0..<4 {
        let slice = Array(x[(row * 50)..<((row + 1) * 50)])
        let reference = Array(ReferenceSoftmax.softmax(slice + [s]).dropLast())
        let report = compare(Array(y[(row * 50)..<((row + 1) * 50)]), with: reference)
        // The sink takes some mass, so the row sums to less than 1: check entries only.
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "sink \(s): \(report)")
        let logReference = Array(ReferenceSoftmax.logSoftmax(slice + [s]).dropLast())
        for (value, exact) in zip(logY[(row * 50)..<((row + 1) * 50)], logReference) {
          let ok =
            exact.isFinite
            ? abs(Double(value) - exact) <= 1e-5 * max(1, abs(exact)) : value == Float(exact)
          #expect(ok, "log sink \(s): \(value) vs \(exact)")
        }
      }
    }
    // A fully masked row with a finite sink is all zeros (e^x / e^s), whatever the policy.
    let masked = [Float](repeating: -.infinity, count: 8)
    #expect(
      softmax(masked, shape: [1, 8], sink: 0, fullyMaskedRows: .nan)
        == [Float](repeating: 0, count: 8))
    // +inf entries and a +inf sink share the mass.
    #expect(softmax([.infinity, 0] as [Float], shape: [1, 2], sink: .infinity) == [0.5, 0])
  }

  @Test("masks and sinks give the same result for every thread count")
  func threads() {
    let x = randomInputs(count: 64 * 1024, distribution: .paperUniform, seed: 4)
    let one = softmax(x, shape: [64, 1024], threads: 1, mask: .causal(offset: 960), sink: 1)
    #expect(softmax(x, shape: [64, 1024], threads: 2, mask: .causal(offset: 960), sink: 1) == one)
    let long = randomInputs(count: 2 * 300_000, distribution: .paperUniform, seed: 5)
    #expect(
      softmax(long, shape: [2, 300_000], threads: 2, sink: 3)
        == softmax(long, shape: [2, 300_000], threads: 1, sink: 3))
  }

  @Test("a causal mask on a rank-1 shape traps with a message")
  func causalNeedsRankTwo() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([Float](repeating: 0, count: 4), shape: [4], mask: .causal())
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("a causal mask needs a shape [..., queries, keys]"), "\(message)")
  }

  @Test("a mask on an inner axis traps with a message")
  func maskNeedsLastAxis() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([Float](repeating: 0, count: 12), shape: [3, 4], axis: 0, sink: 0)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("apply to the last axis"), "\(message)")
  }
}
