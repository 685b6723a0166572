import Foundation
import Softmax
import Testing

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
  #endif
}
