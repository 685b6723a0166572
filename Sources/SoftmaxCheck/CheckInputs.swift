import Foundation
internal import SoftmaxKernels

/// The input distributions of `softmax check`: typical logits, the paper's wide uniform range
/// where most outputs underflow, one logit far above the rest, logits so large that Float
/// resolves them only to 8, and a constant row whose exact answer is 1/n everywhere.
public enum CheckDistribution: String, Sendable, Codable, CaseIterable {
  /// Standard normal: typical logits.
  case normal
  /// Uniform in [−100, 100]: probabilities spanning about 87 decades.
  case uniform100
  /// Uniform in [−1000, 1000], as in the Two-Pass paper: most outputs underflow to 0.
  case uniform1000
  /// Standard normal with one logit of 10^4: outside the range where Two-Pass is exact.
  case outlier
  /// 10^8 + 10 · standard normal: Float resolves these logits only to multiples of 8.
  case magnitude1e8
  /// Every logit 3: the exact answer is 1/n everywhere.
  case constant

  /// How the table's header describes it.
  public var summary: String {
    switch self {
    case .normal: "standard normal"
    case .uniform100: "uniform in [−100, 100]"
    case .uniform1000: "uniform in [−1000, 1000] (most outputs underflow)"
    case .outlier: "standard normal with one logit of 10^4"
    case .magnitude1e8: "10^8 + 10 · standard normal (not for Float16)"
    case .constant: "constant 3 (every output exactly 1/n)"
    }
  }

  /// Whether the values fit in Float16 (10^8 does not: its largest finite value is 65504).
  var fitsHalf: Bool { self != .magnitude1e8 }

  /// `count` values in Double; callers round them to their element type.
  func values(count: Int, seed: UInt64) -> [Double] {
    var generator = SplitMix64(seed: seed)
    switch self {
    case .normal:
      return (0..<count).map { _ in generator.normal() }
    case .uniform100:
      return (0..<count).map { _ in generator.unit() * 200 - 100 }
    case .uniform1000:
      return (0..<count).map { _ in generator.unit() * 2000 - 1000 }
    case .outlier:
      // 10^4 is outside the range where Two-Pass is exact (|x| ≤ 2800), so rows of this kind
      // take the max-subtracting fallback.
      var x = (0..<count).map { _ in generator.normal() }
      x[Int(generator.next() % UInt64(count))] = 1e4
      return x
    case .magnitude1e8:
      return (0..<count).map { _ in 1e8 + 10 * generator.normal() }
    case .constant:
      return Array(repeating: 3, count: count)
    }
  }
}

/// One clause of the special-value contract (README, "Accuracy and special values") and the
/// rows that exercise it. Rows are written in Double with `g` standing for the element type's
/// greatest finite magnitude; the expected outputs come from ``ExactSoftmax``, which spells the
/// contract out independently of the library.
struct SpecialCase: Sendable {
  /// The clause, as the table and JSON name it.
  var name: String
  /// Rows for an element type whose greatest finite magnitude is `g`.
  var rows: @Sendable (_ g: Double) -> [[Double]]

  /// Every clause. Long rows reach the vector loops, tails and the fallback paths.
  static let all: [SpecialCase] = [
    SpecialCase(name: "NaN anywhere → all NaN") { _ in
      let short: [[Double]] = [[nan], [1, nan], [nan, 2, 3], [inf, nan], [-inf, nan, 0]]
      return short + [
        position(of: nan, at: [999], count: 1000), position(of: nan, at: [0], count: 37),
      ]
    },
    SpecialCase(name: "+inf entries share the mass") { g in
      let short: [[Double]] = [[inf], [inf, 1, -inf, inf], [inf, g, -g]]
      return short + [position(of: inf, at: [3, 500, 998], count: 1000)]
    },
    SpecialCase(name: "−inf entries get 0") { _ in
      let short: [[Double]] = [[-inf, 0, 1], [2, -inf]]
      let long: [Double] = (0..<1000).map { i -> Double in
        let value = Double(i % 13 - 6)
        return i % 7 == 0 ? -inf : value
      }
      return short + [long]
    },
    SpecialCase(name: "only −inf → zeros") { _ in
      [1, 2, 17, 1000].map { count in [Double](repeating: -inf, count: count) }
    },
    SpecialCase(name: "empty → empty") { _ in [[]] },
    SpecialCase(name: "one element → [1]") { g in [[5], [0], [-g], [g]] },
    SpecialCase(name: "±greatest finite magnitude") { g in
      let short: [[Double]] = [[g, g, 0], [g, -g], [-g, -g, -g], [g, g / 2, -g]]
      let long: [Double] = (0..<1000).map { i -> Double in
        let step = Double(i % 11 - 5)
        return step / 5 * g
      }
      return short + [long]
    },
  ]

  private static let inf = Double.infinity
  private static let nan = Double.nan

  /// A row of `count` small finite values with `value` at `indices`.
  private static func position(of value: Double, at indices: [Int], count: Int) -> [Double] {
    var row = (0..<count).map { Double($0 % 17) * 0.25 - 2 }
    for i in indices { row[i] = value }
    return row
  }
}
