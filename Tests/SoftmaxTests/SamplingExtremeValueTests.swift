import Foundation
import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// Sampling rows at the ends of Float's range, on every kernel set this CPU runs (a sampler
/// given the set's table): +inf under greedy decoding, ±Float.greatestFiniteMagnitude (whose
/// differences overflow Float), rows of one extreme value, and greedy rows with no candidate.
/// Each is held to `ReferenceSampling` (a sort and Double weights) or to a plain loop.
@Suite("token sampling: extreme and special values on every kernel set")
struct SamplingExtremeValueTests {
  static let big = Float.greatestFiniteMagnitude

  /// The first index of the largest non-NaN logit (+inf included), by a plain loop; nil when
  /// every logit is −inf or NaN.
  static func firstLargest(_ x: [Float]) -> Int? {
    var best: Int?
    for i in x.indices where !x[i].isNaN && x[i] > -.infinity {
      if best == nil || x[i] > x[best!] { best = i }
    }
    return best
  }

  /// The first non-NaN index, 0 when all are NaN: the documented draw of an empty row.
  static func firstNonNaN(_ x: [Float]) -> Int {
    x.firstIndex { !$0.isNaN } ?? 0
  }

  static func sampler(_ isa: KernelISA) -> TokenSampler? {
    PassKernels.table(for: isa).map { TokenSampler(kernels: $0) }
  }

  static let greedyOptions = [
    SamplingOptions.greedy, SamplingOptions(temperature: 0, topK: 3, topP: 0.1, minP: 0.5),
  ]

  @Test("greedy takes the first +inf, as a draw and as a distribution", arguments: allISAs)
  func greedyTakesPlusInfinity(isa: KernelISA) {
    guard var sampler = Self.sampler(isa) else { return }
    var normal = SamplingRows.logits("normal", count: 5000, seed: 21)
    normal[10] = .nan
    normal[20] = Self.big
    normal[3001] = .infinity
    normal[4000] = .infinity
    var last = [Float](repeating: 1, count: 70)
    last[69] = .infinity
    let rows: [[Float]] = [
      [1, .infinity, 2], [0, .infinity], [.infinity], [.nan, -.infinity, .infinity, .infinity],
      [-.infinity, Self.big, .infinity], normal, last,
    ]
    var generator = SeededGenerator(seed: 22)
    for x in rows {
      let expected = Self.firstLargest(x)!
      #expect(x[expected] == .infinity)
      for options in Self.greedyOptions {
        let token = x.withUnsafeBufferPointer {
          sampler.sample($0, options: options, using: &generator)
        }
        #expect(token == expected, "\(isa) \(x.prefix(4)) count \(x.count)")
        let kept = x.withUnsafeBufferPointer { sampler.distribution($0, options: options) }
        #expect(kept.map(\.token) == [expected] && kept.map(\.probability) == [1])
        // Double and Float16 rows go through the same Float row.
        let asDouble = x.map(Double.init)
        #expect(sampler.sample(asDouble.span, options: options, using: &generator) == expected)
        #expect(sampler.distribution(asDouble.span, options: options).map(\.token) == [expected])
        #if !(os(macOS) && arch(x86_64))
          // Float16 rounds large values to +inf: its own first largest.
          let half = x.map { Float16($0) }
          let halfExpected = Self.firstLargest(half.map(Float.init))!
          #expect(sampler.sample(half.span, options: options, using: &generator) == halfExpected)
          #expect(
            sampler.distribution(half.span, options: options).map(\.token) == [halfExpected])
        #endif
      }
    }
  }

  @Test("greedy takes the first +inf through the array forms and batches")
  func greedyPlusInfinityPublicForms() {
    var generator = SeededGenerator(seed: 23)
    let x: [Float] = [1, .infinity, 2, .infinity]
    #expect(sampleToken(logits: x, options: .greedy, using: &generator) == 1)
    #expect(sampleToken(logits: x.map(Double.init), options: .greedy, using: &generator) == 1)
    #if !(os(macOS) && arch(x86_64))
      #expect(
        sampleToken(logits: x.map { Float16($0) }, options: .greedy, using: &generator) == 1)
    #endif
    #expect(samplingDistribution(logits: x, options: .greedy).map(\.token) == [1])
    let batch = x + [0, 0, 0, .infinity]
    #expect(
      sampleTokens(logits: batch, shape: [2, 4], options: .greedy, using: &generator) == [1, 3])
  }
}

/// The array forms on array literals built in the calling function: an optimized caller
/// once promoted such a literal to its stack and dropped the stores of its elements, as the
/// array form reached them only through `span` (run by `swift test -c release`).
@Suite("token sampling: the array forms read the caller's literal")
struct SamplingArrayLiteralTests {
  @Test("a literal of ±greatestFiniteMagnitude built in the caller")
  func literalInTheCaller() {
    let big = Float.greatestFiniteMagnitude
    var generator = SeededGenerator(seed: 28)
    let kept = samplingDistribution(logits: [-big, big])
    #expect(kept.map(\.token) == [1] && kept.map(\.probability) == [1])
    #expect(sampleToken(logits: [-big, big, 0], options: .greedy, using: &generator) == 1)
    #expect(samplingDistribution(logits: [big, -big, 0]).map(\.token) == [0])
    #expect(sampleToken(logits: [-big, big], using: &generator) == 1)
  }
}
