import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("Temperature")
struct TemperatureTests {
  @Test("softmax(x / T) against the reference of the correctly rounded quotients")
  func temperatures() {
    let x = randomInputs(count: 3 * 200, distribution: .standardNormal, scale: 5, seed: 1)
    for t: Float in [1e-6, 0.01, 0.5, 0.7, 2, 100, 1e6] {
      let quotients = x.map { $0 / t }
      let y = softmax(x, shape: [3, 200], temperature: t)
      let logY = logSoftmax(x, shape: [3, 200], temperature: t)
      for row in 0..<3 {
        let range = (row * 200)..<((row + 1) * 200)
        let slice = Array(quotients[range])
        let report = compare(Array(y[range]), with: ReferenceSoftmax.softmax(slice))
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "T = \(t): \(report)")
        for (value, exact) in zip(logY[range], ReferenceSoftmax.logSoftmax(slice)) {
          let ok =
            exact.isFinite
            ? abs(Double(value) - exact) <= 1e-5 * max(1, abs(exact)) : value == Float(exact)
          #expect(ok, "log T = \(t): \(value) vs \(exact)")
        }
      }
    }
  }

  @Test("T = 0 is the argmax: ties share, masks and sinks count, NaN spreads")
  func zero() {
    #expect(softmax([1, 3, 2, 3] as [Float], shape: [1, 4], temperature: 0) == [0, 0.5, 0, 0.5])
    #expect(softmax([1, 3, 2] as [Float], shape: [1, 3], temperature: 0) == [0, 1, 0])
    #expect(
      logSoftmax([1, 3, 2] as [Float], shape: [1, 3], temperature: 0) == [
        -.infinity, 0, -.infinity,
      ])
    #expect(softmax([1, 3, 2] as [Float], shape: [1, 3], sink: 3, temperature: 0) == [0, 0.5, 0])
    #expect(softmax([1, 3, 2] as [Float], shape: [1, 3], sink: 5, temperature: 0) == [0, 0, 0])
    #expect(
      softmax([1, .nan, 2] as [Float], shape: [1, 3], temperature: 0).allSatisfy { $0.isNaN })
    #expect(
      softmax([-.infinity, -.infinity] as [Float], shape: [1, 2], temperature: 0) == [0, 0])
    let causal = softmax(
      [4, 9, 1, 2, 5, 5, 7, 0, 0] as [Float], shape: [3, 3], mask: .causal(), temperature: 0)
    #expect(causal == [1, 0, 0, 0, 1, 0, 1, 0, 0])
  }

  @Test("the sink is a logit: it is divided by the temperature too")
  func sinkIsDivided() {
    let x: [Float] = [1, 2, 3]
    let y = softmax(x, shape: [1, 3], sink: 4, temperature: 2)
    let reference = Array(ReferenceSoftmax.softmax([0.5, 1, 1.5, 2]).dropLast())
    let report = compare(y, with: reference)
    #expect(report.maxRelativeError <= 1e-5 && report.violations.isEmpty, "\(report)")
  }

  @Test("a negative or NaN temperature traps with a message")
  func invalid() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([1, 2] as [Float], shape: [2], temperature: -1)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("temperature must be finite and ≥ 0, not -1.0"), "\(message)")
  }
}
