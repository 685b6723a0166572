import Foundation
import Testing
import _SoftmaxTestSupport

// References and checks for the shaped Double and Float16 tests: index arithmetic and Double
// arithmetic that share nothing with the library.

/// `reference` applied to every slice along `axis` of a row-major array.
func alongAxis<Element>(
  _ x: [Element], shape: [Int], axis: Int, _ reference: ([Element]) -> [Double]
) -> [Double] {
  let a = axis < 0 ? axis + shape.count : axis
  let outer = shape[..<a].reduce(1, *)
  let n = shape[a]
  let inner = shape[(a + 1)...].reduce(1, *)
  var result = [Double](repeating: 0, count: x.count)
  for o in 0..<outer {
    for i in 0..<inner {
      let indices = (0..<n).map { o * n * inner + $0 * inner + i }
      for (index, value) in zip(indices, reference(indices.map { x[$0] })) {
        result[index] = value
      }
    }
  }
  return result
}

/// `reference` applied to each row of `length` elements, after `effective` turned row number
/// `row`'s values into the logits the library is meant to normalize.
func byRows<Element>(
  _ x: [Element], length: Int, effective: (Int, [Element]) -> [Element],
  _ reference: ([Element]) -> [Double]
) -> [Double] {
  stride(from: 0, to: x.count, by: max(1, length)).enumerated().flatMap { row, start in
    reference(effective(row, Array(x[start..<(start + length)])))
  }
}

/// The Double log-softmax reference: max-subtracting, Neumaier sums, the special-value
/// contract of the library (NaN → NaN; +inf entries → −log(count), the rest −inf; only −inf →
/// −inf).
func doubleLogReference(_ x: [Double]) -> [Double] {
  if x.contains(where: { $0.isNaN }) { return x.map { _ in .nan } }
  let infinities = x.filter { $0 == .infinity }.count
  if infinities > 0 { return x.map { $0 == .infinity ? -log(Double(infinities)) : -.infinity } }
  guard let maximum = x.max(), maximum > -.infinity else { return x.map { _ in -.infinity } }
  let logSum = log(ReferenceSoftmax.compensatedSum(x.map { exp($0 - maximum) }))
  return x.map { ($0 - maximum) - logSum }
}

/// The Double reference of a row with a sink logit s: the row with s appended, s dropped.
func doubleReference(_ x: [Double], sink: Double?, logarithm: Bool) -> [Double] {
  let row = sink.map { x + [$0] } ?? x
  let result = logarithm ? doubleLogReference(row) : doubleReference(row)
  return Array(result.prefix(x.count))
}

/// Expects Double results within the documented bounds: probabilities of at least 1e-300
/// within 1e-13 relative, smaller ones 0 or normal and tiny, never negative or subnormal;
/// log-probabilities within 1e-12 · max(1, |exact|); non-finite references exactly.
func expectDoubles(
  _ y: [Double], _ reference: [Double], logarithm: Bool, _ context: String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(y.count == reference.count, "\(context)", sourceLocation: sourceLocation)
  // A count and the first few: Swift Testing prints every value an expectation names.
  var (failed, examples) = (0, [String]())
  for (i, (value, exact)) in zip(y, reference).enumerated() {
    let ok: Bool
    if exact.isNaN {
      ok = value.isNaN
    } else if logarithm {
      ok = exact.isFinite ? abs(value - exact) <= 1e-12 * max(1, abs(exact)) : value == exact
    } else if exact >= 1e-300 {
      ok = abs(value - exact) <= 1e-13 * exact
    } else {
      ok = value == 0 || (value.isNormal && value > 0 && value <= 1e-299 && exact > 0)
    }
    if !ok {
      failed += 1
      if examples.count < 4 { examples.append("[\(i)] \(value) vs \(exact)") }
    }
  }
  #expect(
    failed == 0, "\(context): \(failed) wrong, \(examples)",
    sourceLocation: sourceLocation)
}
