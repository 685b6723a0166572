import Softmax

/// One line of the check's table on each kernel set: Float `softmax` with one algorithm,
/// Float `logSoftmax`, or the Float16 and Double functions.
public enum CheckedFunction: Hashable, Sendable {
  /// `softmax(_:algorithm:threads:)` on Float rows with this algorithm.
  case softmax(SoftmaxAlgorithm)
  /// `logSoftmax(_:threads:)` on Float rows.
  case logSoftmax
  /// `softmax(_:)` on Float16 rows (computed in Float).
  case halfSoftmax
  /// `logSoftmax(_:)` on Float16 rows.
  case halfLogSoftmax
  /// `softmax(_:)` on Double rows (computed in Double).
  case doubleSoftmax
  /// `logSoftmax(_:)` on Double rows.
  case doubleLogSoftmax

  /// Every function the check measures, in table order. Float16 is missing where Swift has no
  /// Float16 (macOS on Intel).
  public static var allCases: [CheckedFunction] {
    var cases = SoftmaxAlgorithm.allCases.map(CheckedFunction.softmax) + [.logSoftmax]
    #if !(os(macOS) && arch(x86_64))
      cases += [.halfSoftmax, .halfLogSoftmax]
    #endif
    return cases + [.doubleSoftmax, .doubleLogSoftmax]
  }

  /// The name in the table and the JSON: "softmax two-pass", "logSoftmax Float16".
  public var name: String {
    switch self {
    case .softmax(let algorithm): "softmax \(algorithm)"
    case .logSoftmax: "logSoftmax"
    case .halfSoftmax: "softmax Float16"
    case .halfLogSoftmax: "logSoftmax Float16"
    case .doubleSoftmax: "softmax Double"
    case .doubleLogSoftmax: "logSoftmax Double"
    }
  }

  /// Whose documented bound applies.
  public var family: FunctionFamily {
    switch self {
    case .softmax: .floatSoftmax
    case .logSoftmax: .floatLogSoftmax
    case .halfSoftmax: .halfSoftmax
    case .halfLogSoftmax: .halfLogSoftmax
    case .doubleSoftmax: .doubleSoftmax
    case .doubleLogSoftmax: .doubleLogSoftmax
    }
  }
}
