/// Below this, the library may return 0 for a probability (it never returns subnormals).
public let flushBound: Double = 0x1p-124

/// The result of comparing a Float softmax with the Double reference.
public struct AccuracyReport: Sendable, CustomStringConvertible {
  /// Largest |y − ref| / ref over the entries with ref ≥ `flushBound`.
  public var maxRelativeError: Double = 0
  /// Index of that entry.
  public var worstIndex: Int = -1
  /// Entries that break the contract: wrong NaN-ness, subnormal output, a flushed entry that
  /// was not small, a negative output.
  public var violations: [String] = []
  /// |Σ y − 1| in Double, for rows with a finite reference.
  public var sumError: Double = 0

  public var description: String {
    "max rel error \(maxRelativeError) at \(worstIndex), sum error \(sumError), "
      + "violations: \(violations.prefix(5))"
  }
}

/// Compares `output` with `reference` element by element under the library's contract.
public func compare(_ output: [Float], with reference: [Double]) -> AccuracyReport {
  var report = AccuracyReport()
  precondition(output.count == reference.count)
  var total = 0.0
  for (i, (y, r)) in zip(output, reference).enumerated() {
    total += Double(y)
    if r.isNaN {
      if !y.isNaN { report.violations.append("[\(i)] expected NaN, got \(y)") }
      continue
    }
    if y.isNaN || y.isInfinite || y < 0 {
      report.violations.append("[\(i)] expected \(r), got \(y)")
      continue
    }
    if y != 0 && !y.isNormal {
      report.violations.append("[\(i)] subnormal output \(y)")
    }
    if r >= flushBound {
      let error = abs(Double(y) - r) / r
      if error > report.maxRelativeError {
        report.maxRelativeError = error
        report.worstIndex = i
      }
    } else if Double(y) > flushBound * 1.0001 || (r == 0 && y != 0) {
      report.violations.append("[\(i)] expected \(r) (tiny), got \(y)")
    }
  }
  if !reference.isEmpty && reference.allSatisfy({ !$0.isNaN })
    && reference.contains(where: { $0 > 0 })
  {
    report.sumError = abs(total - 1)
  }
  return report
}

/// Distance in units in the last place between two finite Floats of the same sign.
public func ulpDistance(_ a: Float, _ b: Float) -> Int64 {
  func ordered(_ x: Float) -> Int64 {
    let bits = Int64(Int32(bitPattern: x.bitPattern))
    return bits < 0 ? Int64(Int32.min) - bits : bits
  }
  return abs(ordered(a) - ordered(b))
}
