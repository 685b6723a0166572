import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// The examples of the DocC comments and the README, compiled and checked, so that a change
/// of the API or of a result breaks a test before it breaks the documentation.
@Suite("Documentation examples")
struct DocumentationExamplesTests {
  @Test("softmax of a short vector, every form")
  func basics() {
    let logits: [Float] = [2, 1, 0.1]
    let probabilities = softmax(logits)
    #expect(
      zip(probabilities, [0.659, 0.242, 0.099] as [Float]).allSatisfy { abs($0 - $1) < 1e-3 })
    var output = [Float](repeating: 0, count: logits.count)
    softmax(logits, into: &output, algorithm: .threePassReload)
    #expect(output == softmax(logits, algorithm: .threePassReload))
    softmax(logits, into: &output, algorithm: .twoPass, threads: 2)
    var scores: [Float] = [2, 1, 0.1]
    softmaxInPlace(&scores)
    #expect(zip(scores, probabilities).allSatisfy { abs($0 - $1) < 1e-6 })
  }

  @Test("the SoftmaxNormalizer example: chunks merged give the one-shot softmax")
  func normalizerExample() {
    let chunks: [[Float]] = [[2, 1], [0.1, -1, 3.5]]
    var total = SoftmaxNormalizer()
    for chunk in chunks {
      total.merge(SoftmaxNormalizer(accumulating: chunk))
    }
    let probabilities = chunks.map { total.normalize($0) }
    let oneShot = softmax([2, 1, 0.1, -1, 3.5] as [Float])
    #expect(zip(probabilities.flatMap { $0 }, oneShot).allSatisfy { abs($0 - $1) <= 1e-6 })
    let logProbabilities = chunks.map { total.logNormalize($0) }
    #expect(logProbabilities.flatMap { $0 }.count == 5)
    #expect(abs(total.logSum - 3.7999) < 1e-3)
  }

  @Test("the logSoftmax example: logits of 1e8")
  func logSoftmaxExample() {
    let logits: [Float] = [1e8, 1e8 - 128, 0]
    var logProbabilities = [Float](repeating: 0, count: 3)
    logSoftmax(logits, into: &logProbabilities)
    #expect(logProbabilities == [0, -128, -1e8])
  }

  @Test("the shaped examples")
  func shapedExamples() {
    let scores = [Float](repeating: 0, count: 8 * 16 * 1024)
    var weights = [Float](repeating: 0, count: scores.count)
    softmax(scores, shape: [8, 16, 1024], axis: -1, into: &weights)
    #expect(weights.allSatisfy { $0 == 1 / 1024 })
    let logits = [Float](repeating: 0, count: 4 * 32_000)
    var logP = [Float](repeating: 0, count: logits.count)
    logSoftmax(logits, shape: [4, 32_000], axis: 1, into: &logP)
    #expect(abs(logP[0] - -10.373_491) < 1e-5)
    let attention = [Float](repeating: 0, count: 2 * 4 * 4)
    var causal = [Float](repeating: 0, count: attention.count)
    softmax(attention, shape: [2, 4, 4], into: &causal, mask: .causal())
    #expect(Array(causal[0..<8]) == [1, 0, 0, 0, 0.5, 0.5, 0, 0])
    softmax(attention, shape: [2, 4, 4], into: &causal, sink: 0)
    #expect(causal.allSatisfy { $0 == 0.2 })
  }

  @Test("the shaped Double examples: logits beyond the Float range")
  func shapedDoubleExamples() {
    let logits: [Double] = [1e39, 1e39, -1e39, 0, 1, 2]
    let p = softmax(logits, shape: [2, 3])
    let expected = [0.5, 0.5, 0, 0.090, 0.245, 0.665]
    #expect(zip(p, expected).allSatisfy { abs($0 - $1) < 1e-3 }, "\(p)")
    let logP = logSoftmax(logits, shape: [2, 3], temperature: 0.5)
    // Row 2 at T = 0.5 is [0, 2, 4]: log-softmax ≈ [−4.1429, −2.1429, −0.1429].
    // No exponential of the outputs: −4e39, not −inf.
    #expect(abs(logP[0] + log(2.0)) < 1e-15 && logP[2] == -4e39, "\(logP)")
    #expect(abs(logP[5] - -0.142_931_9) < 1e-6, "\(logP)")
  }

  // The README's Swift snippets, line for line (readmeSnippetsAreCompiledHere checks that every
  // line of them appears in this file).

  /// softmax([2, 1, 0.1]) in Double: e^x / Σ e^x.
  static let exactProbabilities = [
    0.659_001_138_885_967_9, 0.242_432_970_704_713_9, 0.098_565_890_409_318_18,
  ]

  /// Whether every output is within the documented relative error, 1e-5, of its exact value.
  static func close(_ output: some Sequence<Float>, _ exact: [Double]) -> Bool {
    zip(output, exact).allSatisfy { abs(Double($0) - $1) <= 1e-5 * abs($1) }
  }

  @Test("the README's first example: softmax, shaped, logSoftmax and a SoftmaxNormalizer")
  func readmeFirstExample() {
    // 128 rows whose keys 3…1023 are masked out with −inf.
    let row: [Float] = [2, 1, 0.1] + [Float](repeating: -.infinity, count: 1021)
    let scores = Array([[Float]](repeating: row, count: 8 * 16).joined())
    let chunks: [[Float]] = [[2], [1, 0.1]]

    let logits: [Float] = [2, 1, 0.1]
    let p = softmax(logits)  // ≈ [0.659, 0.242, 0.099]
    let weights = softmax(scores, shape: [8, 16, 1024], axis: -1)
    let logP = logSoftmax(logits)
    var total = SoftmaxNormalizer()
    for chunk in chunks { total.merge(SoftmaxNormalizer(accumulating: chunk)) }
    let probabilities = chunks.map { total.normalize($0) }

    #expect(Self.close(p, Self.exactProbabilities), "\(p)")
    for start in stride(from: 0, to: weights.count, by: 1024) {
      let keys = weights[start..<start + 1024]
      #expect(Self.close(keys.prefix(3), Self.exactProbabilities))
      #expect(keys.dropFirst(3).allSatisfy { $0 == 0 })
    }
    // log Σ e^x = 2.417030016…
    #expect(
      Self.close(logP, [-0.417_030_016_277_833_3, -1.417_030_016_277_833, -2.317_030_016_277_833]))
    #expect(Self.close(probabilities.joined(), Self.exactProbabilities))
  }

  @Test("the README's inference example: a sampler, the kept distribution, logprobs, gating")
  func readmeInferenceExample() {
    var generator = SeededGenerator(seed: 1)
    let logits = (0..<1000).map { Float($0 % 97) / 10 }
    let recent = [96, 193]
    let router = [Float](repeating: 0, count: 4096 * 64)

    var sampler = TokenSampler()
    let options = SamplingOptions(
      temperature: 0.8, topK: 40, topP: 0.95, repetitionPenalty: 1.1)
    let token = sampler.sample(logits.span, options: options, history: recent, using: &generator)
    let kept = samplingDistribution(logits: logits, options: options, history: recent)
    let logprobs = topLogProbabilities(logits: logits, count: 5)
    let routed = moeGating(
      router, shape: [4096, 64], k: 8, method: .softmaxTopK(renormalize: true))

    // The largest logit, 9.6, sits at every index ≡ 96 (mod 97): ten tokens, two of them
    // penalized below the rest; top-k 40 keeps ten of 9.6 (minus the two), then 9.5s.
    #expect(kept.contains { $0.token == token })
    #expect(kept.first?.token == 290 && abs(kept.reduce(0) { $0 + $1.probability } - 1) < 1e-5)
    #expect(logprobs.map(\.token) == [96, 193, 290, 387, 484])
    #expect(routed.expertIDs.count == 4096 * 8 && routed.weights.allSatisfy { $0 == 0.125 })
  }

  @Test("the README's second example: buffers, masks, sinks and temperatures")
  func readmeSecondExample() {
    let logits: [Float] = [2, 1, 0.1]
    let scores = [Float](repeating: 0, count: 8 * 512 * 512)  // 8 heads × 512 queries × 512 keys
    var weights = [Float](repeating: 0, count: scores.count)
    let keyIsValid = (0..<512).map { $0 < 384 }
    var vocabulary = [Float](repeating: 0, count: 128_256)
    vocabulary[7] = 0.7

    var y = [Float](repeating: 0, count: logits.count)
    softmax(logits, into: &y, algorithm: .twoPass, threads: 2)
    #expect(Self.close(y, Self.exactProbabilities), "\(y)")

    softmax(scores, shape: [8, 512, 512], into: &weights, mask: .causal())
    // Query q sees keys 0…q: 1, then 1/2 twice, …, the last query 1/512 on every key.
    #expect(Array(weights[0..<3]) == [1, 0, 0])
    #expect(Array(weights[512..<515]) == [0.5, 0.5, 0])
    let lastQuery: Int = 8 * 512 - 1
    #expect(weights[(lastQuery * 512)...].allSatisfy { $0 == Float(1) / 512 })

    softmax(scores, shape: [8, 512, 512], into: &weights, mask: .keep(keyIsValid))
    let kept = keyIsValid.map { $0 ? 1.0 / 384 : 0 }
    #expect(
      stride(from: 0, to: weights.count, by: 512).allSatisfy { start in
        Self.close(weights[start..<start + 512], kept)
      })

    softmax(scores, shape: [8, 512, 512], into: &weights, sink: 0)
    // Each of the 512 keys gets e^0 / (512 e^0 + e^0).
    #expect(Self.close(weights, [Double](repeating: 1.0 / 513, count: weights.count)))

    let sampled = softmax(vocabulary, shape: [128_256], temperature: 0.7)
    // 0.7 / 0.7 = 1: token 7 gets e / (e + 128 255).
    #expect(
      Self.close([sampled[7], sampled[0]], [2.119_390_446_730_074_7e-5, 7.796_801_731_671_535e-6]))
    let argmax = softmax(vocabulary, shape: [128_256], temperature: 0)
    #expect(argmax[7] == 1 && argmax.reduce(0, +) == 1)

    y = [0, 0]
    let tail = logits[1...]  // spans: arrays, slices, ContiguousArray, no copy
    var out = y.mutableSpan
    softmax(tail.span, into: &out, algorithm: .online)
    // softmax([1, 0.1]) = [e^0.9, 1] / (e^0.9 + 1).
    #expect(Self.close(y, [0.710_949_502_625_003_9, 0.289_050_497_374_996_1]), "\(y)")
  }

  @Test("the README's Double line")
  func readmeDoubleLine() {
    let doubleLogits: [Double] = [2, 1, 0.1]
    let p64 = softmax(doubleLogits)  // Double precision, within 1e-13
    #expect(zip(p64, Self.exactProbabilities).allSatisfy { abs($0 - $1) <= 1e-13 * $1 }, "\(p64)")
  }

  @Test("the README's training example: log-sum-exp, backward, fused cross-entropy")
  func readmeTrainingExample() {
    let logits: [Float] = [2, 1, 0.1]
    let p = softmax(logits)
    let dp: [Float] = [0, 0, 1]
    let batch = randomInputs(count: 4 * 32_000, distribution: .standardNormal, seed: 3)
    let labels: [Int32] = [5, -100, 31_999, 0]

    let lse = logSumExp(logits)  // log Σ e^x without overflow
    let dx = softmaxBackward(output: p, outputGradient: dp, shape: [3])
    let options = CrossEntropyOptions(ignoreIndex: -100, labelSmoothing: 0.1)
    var gradient = [Float]()
    let loss = crossEntropy(
      logits: batch, shape: [4, 32_000], labels: labels, options: options, gradient: &gradient)

    #expect(abs(lse - 2.417_030_016) < 1e-6)
    // ∂p₂/∂x = p₂ · (one-hot₂ − p).
    let expected = p.enumerated().map { i, pi in p[2] * ((i == 2 ? 1 : 0) - pi) }
    #expect(zip(dx, expected).allSatisfy { abs($0 - $1) < 1e-6 })
    // The mean over the 3 rows kept; the ignored row's gradient is zero.
    let kept = [0, 2, 3].map { r -> Float in
      crossEntropy(
        logits: Array(batch[(r * 32_000)..<((r + 1) * 32_000)]), shape: [32_000],
        labels: [labels[r]], options: options)
    }
    #expect(abs(loss - kept.reduce(0, +) / 3) < 1e-5)
    #expect(gradient[32_000..<64_000].allSatisfy { $0 == 0 })
  }

  /// Every line of code in the README's Swift snippets appears in this file, where one of the
  /// tests above compiles and checks it; the consumer's manifest names this package's product.
  @Test("every line of the README's Swift snippets is compiled here")
  func readmeSnippetsAreCompiledHere() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let manifest = try String(
      contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
    let here = try String(contentsOf: URL(fileURLWithPath: #filePath), encoding: .utf8)
    let compiled = Set(here.split(separator: "\n").map(Self.code))
    let blocks = readme.components(separatedBy: "```swift\n").dropFirst().map {
      $0.components(separatedBy: "\n```")[0]
    }
    #expect(blocks.count == 5)
    for block in blocks {
      if block.hasPrefix("// swift-tools-version") {
        #expect(block.contains(#".product(name: "Softmax", package: "swift-softmax")"#))
        #expect(manifest.contains(#"name: "swift-softmax""#))
        #expect(manifest.contains(#".library(name: "Softmax""#))
        continue
      }
      for line in block.split(separator: "\n") {
        let code = Self.code(line)
        guard !code.isEmpty, code != "import Softmax" else { continue }
        #expect(compiled.contains(code), "README.md shows code no test compiles: \(code)")
      }
    }
  }

  /// The code of a line: without its comment, blanks collapsed to single spaces.
  static func code(_ line: Substring) -> String {
    let code = line.range(of: "//").map { line[..<$0.lowerBound] } ?? line
    return code.split(whereSeparator: \.isWhitespace).joined(separator: " ")
  }

  #if !(os(macOS) && arch(x86_64))
    @Test("the shaped Float16 examples: causal masks over the last two axes")
    func shapedHalfExamples() {
      let scores = [Float16](repeating: 0, count: 8 * 16 * 1024)
      var weights = [Float16](repeating: 0, count: scores.count)
      softmax(scores, shape: [8, 16, 1024], into: &weights, mask: .causal(offset: 1008))
      // Query 0 of each head sees keys 0…1008, 1009 of them; the last query sees all 1024.
      #expect(abs(Float(weights[0]) - 1 / 1009) <= Float(Float16(1.0 / 1009).ulp))
      #expect(weights[1009] == 0 && weights[15 * 1024] == 1 / 1024)
      let halfScores = [Float16](repeating: 0, count: 4 * 256)
      let halfWeights = softmax(halfScores, shape: [4, 256], mask: .causal(offset: 252))
      #expect(abs(Float(halfWeights[0]) - 1 / 253) <= Float(Float16(1.0 / 253).ulp))
      #expect(halfWeights[3 * 256 + 255] == 1 / 256 && halfWeights[253] == 0)
    }

    @Test("the Float16 example")
    func halfExample() {
      let logits: [Float16] = [2, 1, 0.1]
      let probabilities = softmax(logits)
      #expect(abs(Float(probabilities[0]) - 0.659) < 1e-3)
    }

    @Test("the README's Float16 line")
    func readmeHalfLine() {
      let halfLogits: [Float16] = [2, 1, 0.1]
      let p16 = softmax(halfLogits)  // Float16 storage, Float arithmetic, within 1 ulp
      let x = halfLogits.map(Double.init)
      let sum = x.map { exp($0) }.reduce(0, +)
      for (y, logit) in zip(p16, x) {
        let correctlyRounded = Float16(exp(logit) / sum)
        #expect(abs(y - correctlyRounded) <= correctlyRounded.ulp, "\(p16)")
      }
    }
  #endif
}
