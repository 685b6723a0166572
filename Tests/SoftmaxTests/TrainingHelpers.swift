import Foundation
import Testing

// Checks shared by the training tests: relative error against a Double reference above a
// floor, and row slicing.

/// Whether every entry of `actual` is within `relative` of `reference`, counting the error
/// against max(|reference|, floor) (entries below the floor are "tiny": their error is bounded
/// absolutely). Records the worst entry on failure.
func expectClose<T: BinaryFloatingPoint>(
  _ actual: [T], _ reference: [Double], relative: Double, floor: Double,
  _ context: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
  expectClose(
    actual, reference, relative: relative,
    floors: [Double](repeating: floor, count: reference.count), context(),
    sourceLocation: sourceLocation)
}

/// As above, with a floor per entry: where a result is a difference, the size of what is
/// subtracted bounds its rounding error (`0.1 ×` those terms: below it the result is "tiny").
func expectClose<T: BinaryFloatingPoint>(
  _ actual: [T], _ reference: [Double], relative: Double, floors: [Double],
  _ context: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(actual.count == reference.count, "\(context()): counts differ")
  var worst = 0.0
  var worstIndex = 0
  for (i, (a, r)) in zip(actual, reference).enumerated() {
    if r.isNaN {
      if !Double(a).isNaN { worst = .infinity; worstIndex = i }
      continue
    }
    if r.isInfinite || T(r).isInfinite {
      // Beyond T's range, the correctly rounded result is that infinity.
      if a != T(r) { worst = .infinity; worstIndex = i }
      continue
    }
    let error = Double(a) == r ? 0 : abs(Double(a) - r) / max(abs(r), floors[i])
    if !(error <= worst) { worst = error; worstIndex = i }
  }
  #expect(
    worst <= relative,
    "\(context()): error \(worst) at \(worstIndex) (\(actual.isEmpty ? 0 : Double(actual[worstIndex])) vs \(reference.isEmpty ? 0 : reference[worstIndex]))",
    sourceLocation: sourceLocation)
}

/// Row `r` of a row-major array with rows of `length`.
func row<T>(_ x: [T], _ r: Int, length: Int) -> [T] {
  Array(x[(r * length)..<((r + 1) * length)])
}

/// The largest magnitude, or 0.
func largest(_ x: [Double]) -> Double {
  x.reduce(0) { max($0, abs($1)) }
}
