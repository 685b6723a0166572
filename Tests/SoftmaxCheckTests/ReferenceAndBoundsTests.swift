import Foundation
import SoftmaxCheck
import Testing

/// The check is only as good as its reference and its bounds: the reference against closed
/// forms and the contract, the bounds against the README.
@Suite struct ReferenceAndBoundsTests {
  @Test func referenceMatchesClosedForms() {
    // e^0 : e^(ln 3) = 1 : 3.
    let quarter = ExactSoftmax([0, Foundation.log(3)])
    #expect(abs(quarter.probabilities[0] - 0.25) <= 1e-16)
    #expect(abs(quarter.probabilities[1] - 0.75) <= 1e-16)
    #expect(abs(quarter.logProbabilities[0] - Foundation.log(0.25)) <= 1e-15)
    for n in [1, 7, 1000] {
      let constant = ExactSoftmax(Array(repeating: 1e8, count: n))
      #expect(constant.probabilities.allSatisfy { $0 == 1 / Double(n) })
      #expect(constant.logProbabilities.allSatisfy { abs($0 + Foundation.log(Double(n))) <= 1e-15 })
    }
    // A gap of 1000 underflows in Double: exactly 0 and 1, and the log stays finite.
    let gap = ExactSoftmax([0, -1000])
    #expect(gap.probabilities == [1, 0] && gap.logProbabilities == [0, -1000])
  }

  @Test func differenceIsExact() {
    // 1e-20 − 1 rounds to −1; the pair keeps the 1e-20.
    let (high, low) = ExactSoftmax.exactDifference(1e-20, 1)
    #expect(high == -1 && low == 1e-20)
    let (h2, l2) = ExactSoftmax.exactDifference(3, 1)
    #expect(h2 == 2 && l2 == 0)
    let (h3, l3) = ExactSoftmax.exactDifference(-.infinity, 1)
    #expect(h3 == -.infinity && l3 == 0)
  }

  @Test func referenceFollowsTheSpecialValueContract() {
    let inf = Double.infinity
    #expect(ExactSoftmax([]).probabilities.isEmpty)
    #expect(ExactSoftmax([1, .nan, inf]).probabilities.allSatisfy { $0.isNaN })
    #expect(ExactSoftmax([1, .nan]).logProbabilities.allSatisfy { $0.isNaN })
    let infinities = ExactSoftmax([inf, 1, -inf, inf, 1e300])
    #expect(infinities.probabilities == [0.5, 0, 0, 0.5, 0])
    #expect(
      infinities.logProbabilities == [-Foundation.log(2), -inf, -inf, -Foundation.log(2), -inf])
    let masked = ExactSoftmax([-inf, -inf, -inf])
    #expect(masked.probabilities == [0, 0, 0] && masked.logProbabilities.allSatisfy { $0 == -inf })
    let partlyMasked = ExactSoftmax([-inf, 0, 0])
    #expect(partlyMasked.probabilities == [0, 0.5, 0.5])
    let huge = ExactSoftmax([3e38, 3e38, 0])
    #expect(huge.probabilities == [0.5, 0.5, 0])
  }

  @Test func readmeQuotesTheBoundsTable() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    #expect(
      readme.contains(AccuracyBounds.markdownTable + "\n"),
      "README.md must contain this table verbatim:\n\(AccuracyBounds.markdownTable)")
  }

  @Test func boundsCoverEveryFamilyOnce() {
    #expect(AccuracyBounds.all.map(\.family) == FunctionFamily.allCases)
    for bound in AccuracyBounds.all {
      // Every family enforces something; zeroing keeps which limits are enforced.
      #expect(bound.maxError != nil || bound.maxULP != nil, "\(bound.family)")
      let zeroed = bound.zeroed
      #expect((zeroed.maxError == 0) == (bound.maxError != nil))
      #expect((zeroed.maxSumError == 0) == (bound.maxSumError != nil))
    }
    #expect(AccuracyBounds.bound(for: .floatSoftmax).maxError == 1e-5)
    #expect(AccuracyBounds.bound(for: .floatSoftmax).maxSumError == 1e-5)
  }
}
