import Foundation

/// The element types `softmax check` measures, with what the comparison needs to know of each.
protocol CheckedFloat: BinaryFloatingPoint, CustomStringConvertible {
  /// The bit pattern as an integer that orders like the values, so that the difference of two
  /// of them counts the representable values between them (ulps).
  var orderedBits: Int64 { get }
  /// Probabilities below this may be flushed, so their ulp distance means nothing.
  static var ulpFloor: Double { get }
  /// Whether a subnormal output is legitimate (Float16 has few normal numbers; the library
  /// promises Float and Double outputs are never subnormal).
  static var allowsSubnormalOutputs: Bool { get }
}

extension Float: CheckedFloat {
  var orderedBits: Int64 {
    let bits = Int64(Int32(bitPattern: bitPattern))
    return bits < 0 ? Int64(Int32.min) - bits : bits
  }
  static var ulpFloor: Double { 0x1p-124 }
  static var allowsSubnormalOutputs: Bool { false }
}

extension Double: CheckedFloat {
  var orderedBits: Int64 {
    let bits = Int64(bitPattern: bitPattern)
    return bits < 0 ? Int64.min - bits : bits
  }
  static var ulpFloor: Double { 1e-300 }
  static var allowsSubnormalOutputs: Bool { false }
}

#if !(os(macOS) && arch(x86_64))
  extension Float16: CheckedFloat {
    var orderedBits: Int64 {
      let bits = Int64(Int16(bitPattern: bitPattern))
      return bits < 0 ? Int64(Int16.min) - bits : bits
    }
    static var ulpFloor: Double { 0 }
    static var allowsSubnormalOutputs: Bool { true }
  }
#endif

/// Units in the last place between `a` and `b` (infinite if that does not fit in an Int64).
func ulpDistance<T: CheckedFloat>(_ a: T, _ b: T) -> Double {
  let (difference, overflow) = a.orderedBits.subtractingReportingOverflow(b.orderedBits)
  return overflow ? .infinity : Double(difference.magnitude)
}

/// How one output row compares with its exact values.
struct RowMeasurement {
  /// The largest error under the function's ``ErrorMeasure``.
  var maxError = 0.0
  /// "[i]: output vs exact" for the entry with that error.
  var worst: String?
  /// The largest ulp distance from the correctly rounded exact value.
  var maxULP = 0.0
  /// |Σ y − 1| for softmax rows whose exact softmax is finite and not all zero.
  var sumError: Double?
  /// Broken promises that no tolerance excuses: wrong NaN-ness, inf or a negative probability
  /// for finite inputs, a subnormal Float output, a nonzero output where the exact one is 0.
  var problems: [String] = []

  /// Measures probabilities `y` against `exact` under `measure` (a ``ErrorMeasure/relative(floor:)``).
  init<T: CheckedFloat>(probabilities y: [T], exact: ExactSoftmax, measure: ErrorMeasure) {
    guard y.count == exact.probabilities.count else {
      problems.append("\(y.count) outputs for \(exact.probabilities.count) inputs")
      return
    }
    guard case .relative(let floor) = measure else {
      preconditionFailure("probabilities are measured by relative error, not \(measure)")
    }
    for (i, (value, p)) in zip(y, exact.probabilities).enumerated() {
      if p.isNaN {
        if !value.isNaN { problems.append("[\(i)] expected NaN, got \(value)") }
        continue
      }
      guard value.isFinite, value >= 0 else {
        problems.append("[\(i)] expected \(p), got \(value)")
        record(.infinity, at: i, value, p)
        continue
      }
      if value != 0 && !value.isNormal && !T.allowsSubnormalOutputs {
        problems.append("[\(i)] subnormal output \(value)")
      }
      if p == 0 {
        if value != 0 { problems.append("[\(i)] expected exactly 0, got \(value)") }
        continue
      }
      let absolute = abs(Double(value) - p)
      if p >= floor {
        record(absolute / p, at: i, value, p)
      } else if absolute > floor {
        problems.append("[\(i)] expected \(p) (below \(floor), may be 0), got \(value)")
      }
      if p >= T.ulpFloor { maxULP = max(maxULP, ulpDistance(value, T(p))) }
    }
    if exact.probabilities.contains(where: { $0 > 0 }) {
      sumError = abs(ExactSoftmax.compensatedSum(y.lazy.map { Double($0) }) - 1)
    }
  }

  /// Measures log-probabilities `y` against `exact` under `measure`: where the exact value
  /// rounds to ±inf in `T` (or is NaN), the output must be exactly that.
  init<T: CheckedFloat>(logProbabilities y: [T], exact: ExactSoftmax, measure: ErrorMeasure) {
    guard y.count == exact.logProbabilities.count else {
      problems.append("\(y.count) outputs for \(exact.logProbabilities.count) inputs")
      return
    }
    for (i, (value, l)) in zip(y, exact.logProbabilities).enumerated() {
      let rounded = T(l)
      if l.isNaN || rounded.isInfinite {
        if !(value == rounded || (l.isNaN && value.isNaN)) {
          problems.append("[\(i)] expected \(rounded), got \(value)")
        }
        continue
      }
      guard value.isFinite else {
        problems.append("[\(i)] expected \(l), got \(value)")
        record(.infinity, at: i, value, l)
        continue
      }
      var error = abs(Double(value) - l)
      if measure == .logarithmicBeyondRounding {
        error = max(0, error - Double(rounded.ulp) / 2)
      }
      record(error / max(1, abs(l)), at: i, value, l)
    }
  }

  private mutating func record<T: CheckedFloat>(
    _ error: Double, at i: Int, _ value: T, _ exact: Double
  ) {
    guard error > maxError || worst == nil else { return }
    maxError = max(maxError, error)
    worst = "[\(i)] \(value) vs \(exact)"
  }
}
