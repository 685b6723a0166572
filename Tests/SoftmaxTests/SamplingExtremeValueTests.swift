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

  /// Rows holding ±greatestFiniteMagnitude (and ±3e38): x − max overflows Float for the
  /// smallest entries, and so does the width of a band of the cut search.
  static func extremeRows() -> [(String, [Float])] {
    let big = Self.big
    var rows: [(String, [Float])] = [
      ("[-G, G]", [-big, big]), ("[G, -G]", [big, -big]), ("[-G, G, 0]", [-big, big, 0]),
    ]
    var oneTop = [Float](repeating: -big, count: 1000)
    oneTop[999] = big
    rows.append(("999 × -G, G", oneTop))
    // Ties at the top, so top-p keeps a prefix of them, over a bottom 6.8e38 below.
    rows.append(("G and -G", (0..<1000).map { $0 % 10 < 3 ? big : -big }))
    rows.append(("3e38 and -3e38", (0..<1000).map { $0 % 10 < 3 ? 3e38 : -3e38 }))
    // An ordinary row whose lowest entries are -G.
    var low = SamplingRows.logits("normal", count: 3000, seed: 24)
    for i in stride(from: 0, to: 3000, by: 5) { low[i] = -big }
    rows.append(("normal with -G", low))
    return rows
  }

  static let extremeOptions =
    SamplingRows.options + [SamplingOptions(topK: 5), SamplingOptions(topP: 0.5)]

  @Test("rows with ±greatestFiniteMagnitude against the reference", arguments: allISAs)
  func extremeFiniteLogits(isa: KernelISA) {
    guard var sampler = Self.sampler(isa) else { return }
    var generator = SeededGenerator(seed: 25)
    for (name, x) in Self.extremeRows() {
      for options in Self.extremeOptions + Self.greedyOptions {
        let expected = ReferenceSampling.distribution(x, options: options)
        let got = x.withUnsafeBufferPointer { sampler.distribution($0, options: options) }
        SamplingTests.expectMatches(got, expected, "\(isa) \(name) \(options)")
        let kept = Set(expected.map(\.token))
        for _ in 0..<10 {
          let token = x.withUnsafeBufferPointer {
            sampler.sample($0, options: options, using: &generator)
          }
          #expect(kept.contains(token), "\(isa) \(name) \(options): drew \(token)")
        }
      }
    }
  }

  @Test(
    "a row of one extreme value is uniform: distribution, draws, log-probabilities",
    arguments: allISAs)
  func rowOfOneExtremeValue(isa: KernelISA) {
    guard var sampler = Self.sampler(isa) else { return }
    var generator = SeededGenerator(seed: 26)
    for value in [-Self.big, Self.big, -3e38, 3e38] {
      for count in [1, 2, 7, 100, 1000, 5000] {
        let x = [Float](repeating: value, count: count)
        for options in Self.extremeOptions {
          let expected = ReferenceSampling.distribution(x, options: options)
          #expect(!expected.isEmpty)
          let got = x.withUnsafeBufferPointer { sampler.distribution($0, options: options) }
          SamplingTests.expectMatches(got, expected, "\(isa) \(count) × \(value) \(options)")
          let token = x.withUnsafeBufferPointer {
            sampler.sample($0, options: options, using: &generator)
          }
          #expect(expected.contains { $0.token == token })
        }
        let top = x.withUnsafeBufferPointer {
          sampler.topLogProbabilities($0, count: Swift.min(count, 5))
        }
        #expect(top.map(\.token) == Array(0..<Swift.min(count, 5)))
        for (_, logP) in top {
          #expect(abs(Double(logP) + log(Double(count))) <= 2e-7 * log(Double(count)) + 4e-7)
        }
      }
    }
  }

  @Test(
    "a temperature so large that (x − max)/T is moderate where x − max overflows",
    arguments: allISAs)
  func hugeTemperature(isa: KernelISA) {
    guard var sampler = Self.sampler(isa) else { return }
    let x: [Float] = [-Self.big, Self.big, 0]
    for temperature: Float in [1e37, 3e38] {
      for options in [
        SamplingOptions(temperature: temperature),
        SamplingOptions(temperature: temperature, topP: 0.97),
        SamplingOptions(temperature: temperature, topK: 3, topP: 0.97),
      ] {
        let expected = ReferenceSampling.distribution(x, options: options)
        // −3.4e38 keeps e^(−6.8e38/T): 2e-30 at T = 1e37, 0.07 at T = 3e38.
        #expect(expected.count == 3 || options.topP < 1 && temperature < 1e38)
        let got = x.withUnsafeBufferPointer { sampler.distribution($0, options: options) }
        SamplingTests.expectMatches(got, expected, "\(isa) \(options)")
      }
    }
  }

  @Test(
    "greedy on a row with no finite logit and no +inf: no distribution, the documented draw",
    arguments: allISAs)
  func greedyWithoutCandidates(isa: KernelISA) {
    guard var sampler = Self.sampler(isa) else { return }
    var generator = SeededGenerator(seed: 27)
    var mixed = [Float](repeating: .nan, count: 100)
    for i in stride(from: 7, to: 100, by: 9) { mixed[i] = -.infinity }
    let rows: [[Float]] = [
      [.nan], [.nan, .nan], [-.infinity], [Float](repeating: -.infinity, count: 100),
      [Float](repeating: .nan, count: 5000), mixed,
    ]
    for x in rows {
      for options in Self.greedyOptions + [SamplingOptions()] {
        #expect(ReferenceSampling.distribution(x, options: options).isEmpty)
        let got = x.withUnsafeBufferPointer { sampler.distribution($0, options: options) }
        #expect(got.isEmpty, "\(isa) \(x.prefix(3)) count \(x.count) \(options)")
        let token = x.withUnsafeBufferPointer {
          sampler.sample($0, options: options, using: &generator)
        }
        #expect(token == Self.firstNonNaN(x))
      }
    }
    #expect(samplingDistribution(logits: [Float.nan, .nan], options: .greedy).isEmpty)
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
