import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// Rows whose kept sets take every path of the selection: small top-k (listed), the cut
/// search on flat and peaked rows, min-p alone, no truncation.
enum SamplingRows {
  static func logits(_ kind: String, count: Int, seed: UInt64) -> [Float] {
    switch kind {
    case "normal":
      return randomInputs(count: count, distribution: .standardNormal, scale: 3, seed: seed)
    case "flat": return randomInputs(count: count, distribution: .uniform, seed: seed)
    case "peaked":
      // An LLM-like row: a few dominant tokens over a broad tail.
      var x = randomInputs(count: count, distribution: .standardNormal, scale: 2, seed: seed)
      for (k, i) in [count / 3, count / 7, count - 1].enumerated() { x[i] = 18 - 2 * Float(k) }
      return x
    case "ties":
      // Few distinct values: ties at every cut.
      return randomInputs(count: count, distribution: .uniform, seed: seed).map {
        ($0 * 4).rounded()
      }
    default: fatalError(kind)
    }
  }

  static let options: [SamplingOptions] = [
    SamplingOptions(),
    SamplingOptions(temperature: 0.8, topK: 40, topP: 0.95),
    SamplingOptions(topP: 0.9),
    SamplingOptions(temperature: 0.7, topP: 0.5),
    SamplingOptions(minP: 0.05),
    SamplingOptions(temperature: 1.3, topK: 2000, topP: 0.8),
    SamplingOptions(temperature: 0.5, topP: 0.97, minP: 0.01),
    SamplingOptions(topK: 5, minP: 0.2),
    SamplingOptions(temperature: 0.01, topP: 0.999),
    SamplingOptions(temperature: 0.9, topK: 700),
  ]
}

@Suite("token sampling")
struct SamplingTests {
  static func expectMatches(
    _ got: [(token: Int, probability: Float)], _ expected: [(token: Int, probability: Double)],
    _ context: String
  ) {
    #expect(got.map(\.token) == expected.map(\.token), "\(context): kept tokens")
    guard got.count == expected.count else { return }
    for (g, e) in zip(got, expected) {
      let error = abs(Double(g.probability) - e.probability)
      if error > 2e-6 * e.probability + 1e-30 {
        Issue.record("\(context): token \(g.token) p \(g.probability) against \(e.probability)")
        return
      }
    }
  }

  @Test(
    "the kept tokens and probabilities against the sorted Double reference",
    arguments: ["normal", "flat", "peaked", "ties"])
  func distributionAgainstReference(kind: String) {
    for count in [1, 2, 7, 100, 1500, 9000, Self.longRow] {
      let x = SamplingRows.logits(kind, count: count, seed: UInt64(count))
      for options in SamplingRows.options {
        let got = samplingDistribution(logits: x, options: options)
        let expected = ReferenceSampling.distribution(x, options: options)
        Self.expectMatches(got, expected, "\(kind) \(count) \(options)")
      }
    }
  }

  @Test("penalties over a history: repeats counted, both signs of logits")
  func penalties() {
    let x = SamplingRows.logits("normal", count: 3000, seed: 5)
    let history = [3, 3, 3, 17, 2999, 0, 17, 1500]
    for options in [
      SamplingOptions(topK: 40, repetitionPenalty: 1.3),
      SamplingOptions(topP: 0.9, frequencyPenalty: 0.5, presencePenalty: 0.25),
      SamplingOptions(temperature: 0.6, minP: 0.02, repetitionPenalty: 0.8, presencePenalty: -2),
    ] {
      // Make the history tokens matter: raise them to the top.
      var row = x
      for t in history { row[t] = 9 + Float(t % 5) }
      let got = samplingDistribution(logits: row, options: options, history: history)
      let expected = ReferenceSampling.distribution(row, options: options, history: history)
      Self.expectMatches(got, expected, "\(options)")
    }
  }

  @Test("greedy is the first largest logit, whatever the other options")
  func greedy() {
    var generator = SeededGenerator(seed: 1)
    var x = SamplingRows.logits("normal", count: 5000, seed: 9)
    x[4000] = 50
    x[1234] = 50
    x[10] = .nan
    for options in [SamplingOptions.greedy, SamplingOptions(temperature: 0, topK: 3, topP: 0.1)] {
      #expect(sampleToken(logits: x, options: options, using: &generator) == 1234)
      let kept = samplingDistribution(logits: x, options: options)
      #expect(kept.count == 1 && kept[0].token == 1234 && kept[0].probability == 1)
    }
    // A penalty can move the argmax.
    let penalized = SamplingOptions(temperature: 0, repetitionPenalty: 2)
    #expect(sampleToken(logits: x, options: penalized, history: [1234], using: &generator) == 4000)
  }

  /// Pearson's χ² of `draws` draws against the kept probabilities, the tokens binned in
  /// distribution order so that every bin expects at least 20; the 0.1% critical value by
  /// Wilson–Hilferty. A fixed seed: the outcome never changes.
  static func chiSquareHolds(_ x: [Float], _ options: SamplingOptions, draws: Int) -> Bool {
    let kept = samplingDistribution(logits: x, options: options)
    var bin: [Int: Int] = [:]
    var expected: [Double] = []
    var running = 0.0
    for (token, p) in kept {
      if expected.isEmpty || running >= 20 {
        expected.append(0)
        running = 0
      }
      bin[token] = expected.count - 1
      expected[expected.count - 1] += Double(p) * Double(draws)
      running += Double(p) * Double(draws)
    }
    var observed = [Double](repeating: 0, count: expected.count)
    var sampler = TokenSampler()
    var generator = SeededGenerator(seed: 2024)
    for _ in 0..<draws {
      let token = x.withUnsafeBufferPointer {
        sampler.sample($0, options: options, using: &generator)
      }
      guard let b = bin[token] else { return false }  // a token outside the kept set
      observed[b] += 1
    }
    let chi = zip(observed, expected).reduce(0.0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) / $1.1 }
    let k = Double(max(expected.count - 1, 1))
    let critical = k * pow(1 - 2 / (9 * k) + 3.09 * (2 / (9 * k)).squareRoot(), 3)
    return chi <= critical
  }

  /// The longest row of the reference comparisons: long enough for several rounds of the cut
  /// search, shorter in a debug build.
  #if DEBUG
    static let longRow = 30_000
  #else
    static let longRow = 200_000
  #endif

  /// Draws per χ² test: enough to see a wrong distribution, few in a debug build.
  #if DEBUG
    static let draws = 4000
  #else
    static let draws = 100_000
  #endif

  @Test("draws follow the kept probabilities (χ², fixed seed), on every selection path")
  func drawFrequencies() {
    let draws = Self.draws
    let normal = SamplingRows.logits("normal", count: 1000, seed: 3)
    #expect(Self.chiSquareHolds(normal, SamplingOptions(temperature: 0.9, topK: 40), draws: draws))
    #expect(Self.chiSquareHolds(normal, SamplingOptions(temperature: 0.5, topP: 0.9), draws: draws))
    #expect(Self.chiSquareHolds(normal, SamplingOptions(temperature: 2, minP: 0.1), draws: draws))
    let small = SamplingRows.logits("flat", count: 60, seed: 4)
    #expect(Self.chiSquareHolds(small, SamplingOptions(), draws: draws))
    let ties = SamplingRows.logits("ties", count: 2000, seed: 6)
    #expect(Self.chiSquareHolds(ties, SamplingOptions(topK: 1200), draws: draws))
    #expect(Self.chiSquareHolds(ties, SamplingOptions(topP: 0.6), draws: draws))
  }

  @Test("special values: NaN never drawn, +inf shares, all −inf or NaN rows are defined")
  func specialValues() {
    var generator = SeededGenerator(seed: 7)
    var x = SamplingRows.logits("normal", count: 2000, seed: 8)
    for i in stride(from: 0, to: 2000, by: 3) { x[i] = .nan }
    for i in stride(from: 1, to: 2000, by: 7) { x[i] = -.infinity }
    for options in SamplingRows.options {
      let expected = ReferenceSampling.distribution(x, options: options)
      Self.expectMatches(samplingDistribution(logits: x, options: options), expected, "NaN row")
      for _ in 0..<50 {
        let token = sampleToken(logits: x, options: options, using: &generator)
        #expect(!x[token].isNaN && x[token] > -.infinity)
      }
    }
    var infinite = x
    infinite[5] = .infinity
    infinite[600] = .infinity
    infinite[1999] = .infinity
    #expect(samplingDistribution(logits: infinite).map(\.token) == [5, 600, 1999])
    #expect(
      samplingDistribution(logits: infinite, options: SamplingOptions(topK: 2)).map(\.token) == [
        5, 600,
      ])
    #expect(
      samplingDistribution(logits: infinite, options: SamplingOptions(topP: 0.5)).map(\.token) == [
        5, 600,
      ])
    for _ in 0..<30 {
      #expect([5, 600, 1999].contains(sampleToken(logits: infinite, using: &generator)))
    }
    let minusInfinity = [Float](repeating: -.infinity, count: 100)
    #expect(samplingDistribution(logits: minusInfinity).isEmpty)
    #expect(sampleToken(logits: minusInfinity, using: &generator) == 0)
    var allNaN = [Float](repeating: .nan, count: 100)
    #expect(sampleToken(logits: allNaN, using: &generator) == 0)
    allNaN[42] = -.infinity
    #expect(sampleToken(logits: allNaN, using: &generator) == 42)
    // Extreme spreads stay exact.
    var wide = SamplingRows.logits("normal", count: 3000, seed: 10)
    wide[100] = 1e30
    wide[200] = -1e30
    #expect(
      samplingDistribution(logits: wide, options: SamplingOptions(topP: 0.5)).map(\.token) == [100])
  }

  @Test("a seeded generator reproduces draws; batches match single rows on any thread count")
  func reproducibleAndBatched() {
    let rows = 6
    let vocabulary = 5000
    let x = SamplingRows.logits("normal", count: rows * vocabulary, seed: 11)
    let options = SamplingOptions(temperature: 0.8, topP: 0.9)
    var single: [Int] = []
    var sampler = TokenSampler()
    var generator = SeededGenerator(seed: 12)
    for r in 0..<rows {
      let row = Array(x[(r * vocabulary)..<((r + 1) * vocabulary)])
      single.append(
        row.withUnsafeBufferPointer { sampler.sample($0, options: options, using: &generator) })
    }
    for threads in [1, 2, 4] {
      var again = SeededGenerator(seed: 12)
      let batch = sampleTokens(
        logits: x, shape: [2, 3, vocabulary], options: options, using: &again, threads: threads)
      #expect(batch == single, "threads \(threads)")
    }
  }

  @Test("Float16 and Double logits sample as their Float values")
  func otherElementTypes() {
    let x = SamplingRows.logits("normal", count: 3000, seed: 13)
    let options = SamplingOptions(temperature: 0.7, topP: 0.9)
    let asDouble = x.map(Double.init)
    Self.expectMatches(
      samplingDistribution(logits: asDouble, options: options),
      ReferenceSampling.distribution(x, options: options), "Double")
    #if !(os(macOS) && arch(x86_64))
      let half = x.map(Float16.init)
      Self.expectMatches(
        samplingDistribution(logits: half, options: options),
        ReferenceSampling.distribution(half.map(Float.init), options: options), "Float16")
    #endif
    // Penalties see Double logits as they are (a repetition penalty divides positive ones):
    // shifting by the largest first would leave the largest, 12, undivided.
    var boosted = x
    (boosted[1], boosted[2], boosted[3]) = (12, 11, -0.5)
    let penalized = SamplingOptions(topK: 50, repetitionPenalty: 1.5)
    Self.expectMatches(
      samplingDistribution(
        logits: boosted.map(Double.init), options: penalized, history: [1, 2, 3]),
      ReferenceSampling.distribution(boosted, options: penalized, history: [1, 2, 3]),
      "Double penalties")
    // Double beyond Float's range: shifted by its largest value first, so the largest keeps
    // all the probability instead of overflowing.
    let huge = asDouble.map { $0 * 1e300 }
    let top = x.indices.max { x[$0] < x[$1] }!
    let kept = samplingDistribution(logits: huge, options: SamplingOptions(topK: 3))
    #expect(kept.count == 1 && kept[0].token == top && kept[0].probability == 1)
  }

  @Test("top log-probabilities of the whole softmax against the Double reference")
  func logProbabilities() {
    for (count, n) in [(10, 3), (5000, 20), (40_000, 1500)] {
      for temperature: Float in [1, 0.6] {
        let x = SamplingRows.logits("normal", count: count, seed: UInt64(count))
        let reference = ReferenceSampling.logProbabilities(x, temperature: temperature)
        let order = x.indices.sorted { x[$0] > x[$1] || (x[$0] == x[$1] && $0 < $1) }
        let got = topLogProbabilities(logits: x, count: n, temperature: temperature)
        #expect(got.map(\.token) == Array(order.prefix(n)))
        for (token, value) in got {
          let error = abs(Double(value) - reference[token])
          #expect(error <= 2e-7 * abs(reference[token]) + 4e-7, "\(count) token \(token)")
        }
      }
    }
  }

  @Test("topK below 0 traps with a message")
  func negativeTopK() async throws {
    let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent])
    {
      var generator = SystemRandomNumberGenerator()
      _ = sampleToken(
        logits: [Float](repeating: 0, count: 4), options: SamplingOptions(topK: -1),
        using: &generator)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("topK must be at least 0"), "\(message)")
  }

  @Test("topP outside (0, 1] traps with a message")
  func topPOutOfRange() async throws {
    let result = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent])
    {
      _ = samplingDistribution(
        logits: [Float](repeating: 0, count: 4), options: SamplingOptions(topP: 0))
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("topP must be in (0, 1]"), "\(message)")
  }

  @Test("a NaN temperature and a history token out of range trap with messages")
  func badTemperatureAndHistory() async throws {
    let nan = try await #require(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = samplingDistribution(
        logits: [Float](repeating: 0, count: 4), options: SamplingOptions(temperature: .nan))
    }
    #expect(
      String(decoding: nan.standardErrorContent, as: UTF8.self).contains(
        "temperature must be finite"))
    let history = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = samplingDistribution(logits: [Float](repeating: 0, count: 4), history: [4])
    }
    #expect(
      String(decoding: history.standardErrorContent, as: UTF8.self).contains(
        "history token 4 is out of range"))
  }
}
