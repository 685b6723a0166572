import Foundation

/// The accuracy the library documents, as numbers a program can enforce: the one source of
/// truth for `softmax check`. The README's "Accuracy bounds" table is ``markdownTable``
/// verbatim (a test compares them), and the test suite's tolerances are the same numbers.
public enum AccuracyBounds {
  /// The bound of every function family, in the order of the README's table.
  public static let all: [AccuracyBound] = [
    AccuracyBound(
      family: .floatSoftmax, measure: .relative(floor: 0x1p-124), maxError: 1e-5,
      maxSumError: 1e-5),
    AccuracyBound(family: .floatLogSoftmax, measure: .logarithmic, maxError: 1e-5),
    AccuracyBound(family: .halfSoftmax, measure: .relative(floor: 0x1p-14), maxULP: 1),
    AccuracyBound(family: .halfLogSoftmax, measure: .logarithmicBeyondRounding, maxError: 1e-5),
    AccuracyBound(
      family: .doubleSoftmax, measure: .relative(floor: 1e-300), maxError: 1e-13,
      maxSumError: 1e-12),
    AccuracyBound(family: .doubleLogSoftmax, measure: .logarithmic, maxError: 1e-12),
  ]

  /// The bound of `family`.
  public static func bound(for family: FunctionFamily) -> AccuracyBound {
    all.first { $0.family == family }!
  }

  /// The README's table: one line per family, "—" where a quantity is not bounded.
  public static var markdownTable: String {
    var lines = [
      "| function | error measured (y: output, p: exact softmax, ℓ: exact log-softmax) "
        + "| max error | max ulp | max \\|Σy − 1\\| |",
      "| --- | --- | --- | --- | --- |",
    ]
    for bound in all {
      let cells = [
        bound.family.title, bound.measure.description,
        bound.maxError.map(formatBound) ?? "—",
        bound.maxULP.map { String(Int($0)) } ?? "—",
        bound.maxSumError.map(formatBound) ?? "—",
      ]
      lines.append("| " + cells.joined(separator: " | ") + " |")
    }
    return lines.joined(separator: "\n")
  }
}

/// A function of the library with one documented accuracy: Float `softmax` (every algorithm
/// alike), Float `logSoftmax`, and both for Float16 and Double rows.
public enum FunctionFamily: String, Sendable, Codable, CaseIterable {
  /// Float `softmax`, every `SoftmaxAlgorithm`.
  case floatSoftmax
  /// Float `logSoftmax`.
  case floatLogSoftmax
  /// Float16 `softmax`.
  case halfSoftmax
  /// Float16 `logSoftmax`.
  case halfLogSoftmax
  /// Double `softmax`.
  case doubleSoftmax
  /// Double `logSoftmax`.
  case doubleLogSoftmax

  /// The name in the README's table.
  public var title: String {
    switch self {
    case .floatSoftmax: "`softmax`, Float, every algorithm and kernel set"
    case .floatLogSoftmax: "`logSoftmax`, Float"
    case .halfSoftmax: "`softmax`, Float16"
    case .halfLogSoftmax: "`logSoftmax`, Float16"
    case .doubleSoftmax: "`softmax`, Double"
    case .doubleLogSoftmax: "`logSoftmax`, Double"
    }
  }

  /// Whether the outputs are probabilities (rather than log-probabilities).
  var isSoftmax: Bool { self == .floatSoftmax || self == .halfSoftmax || self == .doubleSoftmax }
}

/// How the error of one output is measured against the exact value.
public enum ErrorMeasure: Sendable, Equatable, Codable, CustomStringConvertible {
  /// |y − p| / p where p ≥ `floor`; below it the absolute error |y − p| may be up to `floor`
  /// (the library may flush such probabilities to 0) and p = 0 requires y = 0.
  case relative(floor: Double)
  /// |y − ℓ| / max(1, |ℓ|): relative for large |ℓ|, absolute near 0, where log-probabilities
  /// of likely entries lose their relative meaning.
  case logarithmic
  /// As ``logarithmic`` after removing half an ulp of the output type at ℓ: the error beyond
  /// the final rounding to a narrow type (Float16, with 11 significant bits).
  case logarithmicBeyondRounding

  /// The README's wording.
  public var description: String {
    switch self {
    case .relative(let floor):
      let floorText = floor == 0x1p-124 ? "2^-124" : floor == 0x1p-14 ? "2^-14" : formatBound(floor)
      return "\\|y − p\\| / p for p ≥ \(floorText); \\|y − p\\| ≤ \(floorText) below"
    case .logarithmic: return "\\|y − ℓ\\| / max(1, \\|ℓ\\|)"
    case .logarithmicBeyondRounding: return "(\\|y − ℓ\\| − ½ ulp(ℓ)) / max(1, \\|ℓ\\|)"
    }
  }
}

/// The documented accuracy of one ``FunctionFamily``. A nil bound is measured and printed but
/// not enforced, because the library does not promise it (for example the sum of Float16
/// outputs, each rounded to 11 bits).
public struct AccuracyBound: Sendable, Equatable, Codable {
  /// The functions this bound covers.
  public var family: FunctionFamily
  /// What "error" means for them.
  public var measure: ErrorMeasure
  /// The largest error allowed under ``measure``.
  public var maxError: Double?
  /// The largest distance in units in the last place (of the output type) from the correctly
  /// rounded exact value.
  public var maxULP: Double?
  /// The largest |Σ y − 1| of a row whose exact softmax is finite and not all zero.
  public var maxSumError: Double?

  /// A bound; every limit defaults to "not enforced".
  public init(
    family: FunctionFamily, measure: ErrorMeasure, maxError: Double? = nil,
    maxULP: Double? = nil, maxSumError: Double? = nil
  ) {
    self.family = family
    self.measure = measure
    self.maxError = maxError
    self.maxULP = maxULP
    self.maxSumError = maxSumError
  }

  /// The same bound with every enforced limit set to 0: nothing but a perfect result passes.
  /// The tests use it to show that the check can fail.
  public var zeroed: AccuracyBound {
    var copy = self
    copy.maxError = maxError.map { _ in 0 }
    copy.maxULP = maxULP.map { _ in 0 }
    copy.maxSumError = maxSumError.map { _ in 0 }
    return copy
  }
}

/// "1e-5", "1e-13": the bounds are round decimal numbers, printed as such.
func formatBound(_ value: Double) -> String {
  guard value > 0 else { return "0" }
  let exponent = Int((Foundation.log10(value)).rounded(.down))
  let mantissa = value / Foundation.pow(10, Double(exponent))
  if abs(mantissa - mantissa.rounded()) < 1e-9 {
    let digit = Int(mantissa.rounded())
    return digit == 1 ? "1e\(exponent)" : "\(digit)e\(exponent)"
  }
  return String(format: "%.2e", value)
}
