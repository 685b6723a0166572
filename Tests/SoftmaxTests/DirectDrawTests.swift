import Softmax
import Testing
import _SoftmaxTestSupport

/// The draws that skip the cut search (DirectDraws.swift): top-p of at least 0.5 alone by
/// rejection from the whole row, min-p alone over its gathered survivors. The draws must stay
/// in the kept set that `samplingDistribution` reports, follow its probabilities, decide
/// tokens at the target's edge by the cut, and consume one UInt64.
@Suite("draws without the cut search")
struct DirectDrawTests {
  static func draw(
    _ x: [Float], _ options: SamplingOptions, _ generator: inout SeededGenerator
  ) -> Int {
    sampleToken(logits: x, options: options, using: &generator)
  }

  @Test("every draw is a token of the kept set, on every kind of row and top-p")
  func drawsStayKept() {
    var generator = SeededGenerator(seed: 31)
    for kind in ["normal", "flat", "peaked", "ties"] {
      for count in [2, 7, 100, 1500, 9000] {
        let x = SamplingRows.logits(kind, count: count, seed: UInt64(count) ^ 77)
        for (temperature, topP, minP) in [
          (1, 0.5, 0), (0.7, 0.6, 0), (1, 0.9, 0), (1.5, 0.99, 0), (0.3, 0.999, 0),
          (0.8, 1, 0.05), (1, 1, 0.5), (2, 1, 0.001),
        ] as [(Float, Float, Float)] {
          let options = SamplingOptions(temperature: temperature, topP: topP, minP: minP)
          let kept = Set(samplingDistribution(logits: x, options: options).map(\.token))
          for _ in 0..<40 {
            let token = Self.draw(x, options, &generator)
            if !kept.contains(token) {
              Issue.record("\(kind) \(count) \(options): drew \(token), outside the kept set")
              return
            }
          }
        }
      }
    }
  }

  @Test("draws follow the kept probabilities (χ², fixed seed)")
  func frequencies() {
    let normal = SamplingRows.logits("normal", count: 5000, seed: 41)
    for options in [
      SamplingOptions(topP: 0.5), SamplingOptions(topP: 0.95),
      SamplingOptions(temperature: 0.8, minP: 0.05),
    ] {
      #expect(SamplingTests.chiSquareHolds(normal, options, draws: SamplingTests.draws))
    }
  }

  @Test("a token whose mass before it equals the target is decided by the cut")
  func edgeOfTheTarget() {
    var generator = SeededGenerator(seed: 43)
    // Four equal logits, top-p 0.5: the first two reach the target exactly; the third's mass
    // before it is the target itself, so it is out.
    let four: [Float] = [0, 0, 0, 0]
    let options = SamplingOptions(topP: 0.5)
    #expect(samplingDistribution(logits: four, options: options).map(\.token) == [0, 1])
    var first = 0
    let draws = 2000
    for _ in 0..<draws {
      let token = Self.draw(four, options, &generator)
      #expect(token == 0 || token == 1)
      if token == 0 { first += 1 }
    }
    // Binomial(2000, 1/2): a standard deviation is about 22; 150 is never reached by chance.
    #expect(abs(first - draws / 2) < 150)
    // Two equal logits, top-p 0.5: half the attempts are rejected, so about one draw in 256
    // finds the cut after eight rejections; it keeps only the first.
    let two: [Float] = [3, 3]
    for _ in 0..<draws {
      #expect(Self.draw(two, options, &generator) == 0)
    }
  }

  @Test("a draw consumes one UInt64 of the generator, rejected attempts or not")
  func oneNumberPerDraw() {
    let x = SamplingRows.logits("normal", count: 3000, seed: 47)
    var generator = SeededGenerator(seed: 53)
    for k in 0..<200 {
      var copy = generator
      let options = k.isMultiple(of: 2) ? SamplingOptions(topP: 0.5) : SamplingOptions(minP: 0.1)
      _ = Self.draw(x, options, &generator)
      _ = copy.next()
      #expect(copy.next() == generator.next())
    }
  }
}
