import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// Cuts `x` at `cuts` (sorted offsets) into chunks.
func chunks(_ x: [Float], at cuts: [Int]) -> [[Float]] {
  let bounds = [0] + cuts.filter { $0 > 0 && $0 < x.count } + [x.count]
  return zip(bounds, bounds.dropFirst()).map { Array(x[$0..<$1]) }
}

@Suite("SoftmaxNormalizer")
struct NormalizerTests {
  @Test("a vector in chunks, merged in any order, normalizes like the one-shot softmax")
  func chunkedMatchesOneShot() {
    var generator = SeededGenerator(seed: 12)
    let rows: [[Float]] = [
      randomInputs(count: 10_000, distribution: .standardNormal, scale: 5, seed: 1),
      randomInputs(count: 3_001, distribution: .paperUniform, seed: 2),
      randomInputs(count: 2_000, distribution: .uniform, scale: 1, shift: 1e30, seed: 3),
      randomInputs(count: 500, distribution: .uniform, scale: 1e8, seed: 4),
      randomInputs(count: 700, distribution: .uniform, scale: 50, shift: -2750, seed: 5),
    ]
    for (r, x) in rows.enumerated() {
      for _ in 0..<4 {
        let cuts = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
          Int.random(in: 0..<x.count, using: &generator)
        }.sorted()
        let parts = chunks(x, at: cuts)
        let normalizers = parts.map { SoftmaxNormalizer(accumulating: $0) }
        let forward = normalizers.reduce(SoftmaxNormalizer()) { $0.merging($1) }
        let backward = normalizers.reversed().reduce(SoftmaxNormalizer()) { $0.merging($1) }
        let whole = SoftmaxNormalizer(accumulating: x)
        let exact = ReferenceSoftmax.logSumExp(x)
        for total in [forward, backward, whole] {
          #expect(abs(total.logSum - exact) <= 1e-6 * max(1, abs(exact)), "row \(r)")
        }
        let y = parts.flatMap { forward.normalize($0) }
        expectAccurate(y, for: x, "row \(r) in \(parts.count) chunks")
        let logY = parts.flatMap { forward.logNormalize($0) }
        expectAccurateLog(logY, for: x, "row \(r) in \(parts.count) chunks (log)")
      }
    }
  }

  @Test("pairs merge exactly: the merged normalizer of two halves equals the whole one's")
  func pairMergeMatchesWhole() {
    let x = randomInputs(count: 8192, distribution: .standardNormal, seed: 8)
    let a = SoftmaxNormalizer(accumulating: Array(x[..<4096]))
    let b = SoftmaxNormalizer(accumulating: Array(x[4096...]))
    let whole = SoftmaxNormalizer(accumulating: x)
    // Blocks of 4096 are merged in Double in the same order either way.
    #expect(a.merging(b) == whole)
    #expect(a.merging(b).logSum == b.merging(a).logSum)
  }

  @Test("logSum is finite for every finite input, and the special values follow the contract")
  func specialValues() {
    let big = Float.greatestFiniteMagnitude
    for x: [Float] in [[big], [-big], [big, -big], [-big, -big], [1e30, 2e30], [-3000]] {
      let n = SoftmaxNormalizer(accumulating: x)
      #expect(n.logSum.isFinite, "\(x)")
      #expect(abs(n.logSum - ReferenceSoftmax.logSumExp(x)) <= 1e-6 * abs(Double(x.max()!)))
    }
    let empty = SoftmaxNormalizer()
    #expect(empty.isEmpty && empty.logSum == -.infinity)
    let masked = SoftmaxNormalizer(accumulating: [-.infinity, -.infinity] as [Float])
    #expect(masked.isEmpty && masked.normalize([-.infinity, -.infinity] as [Float]) == [0, 0])
    let nan = SoftmaxNormalizer(accumulating: [1, .nan] as [Float])
    #expect(nan.logSum.isNaN)
    #expect(
      nan.merging(SoftmaxNormalizer(accumulating: [2] as [Float])).normalize([1, 2] as [Float])
        .allSatisfy { $0.isNaN })
    // +inf entries in different chunks share the mass.
    let first = SoftmaxNormalizer(accumulating: [.infinity, 3] as [Float])
    let second = SoftmaxNormalizer(accumulating: [1e30, .infinity, .infinity] as [Float])
    let both = first.merging(second)
    #expect(both.infinityCount == 3 && both.logSum == .infinity)
    #expect(both.normalize([.infinity, 3] as [Float]) == [1 / 3, 0])
    #expect(both.logNormalize([.infinity, 3] as [Float]) == [-Float(log(3.0)), -.infinity])
  }

  @Test("Codable round trip")
  func codable() throws {
    for x: [Float] in [[1, 2, 3], [1e30, 0], []] {
      let n = SoftmaxNormalizer(accumulating: x)
      let encoder = JSONEncoder()
      encoder.nonConformingFloatEncodingStrategy = .convertToString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
      let decoder = JSONDecoder()
      decoder.nonConformingFloatDecodingStrategy = .convertFromString(
        positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
      let decoded = try decoder.decode(SoftmaxNormalizer.self, from: encoder.encode(n))
      #expect(decoded == n)
    }
  }

  @Test("normalizing with threads gives the same result as one thread")
  func threads() {
    let x = randomInputs(count: (1 << 19) + 3, distribution: .paperUniform, seed: 6)
    let n = SoftmaxNormalizer(accumulating: x, threads: 2)
    #expect(n == SoftmaxNormalizer(accumulating: x, threads: 1))
    #expect(n.normalize(x, threads: 2) == n.normalize(x, threads: 1))
    #expect(n.normalize(x, threads: 1) == softmax(x, algorithm: .twoPass, threads: 1))
  }
}
