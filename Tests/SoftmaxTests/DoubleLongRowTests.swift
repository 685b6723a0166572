import Foundation
import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

// Double rows long enough for a running sum's rounding error to exceed the documented 1e-13:
// 2^22 elements in optimized builds, 2^18 in debug ones (where the SIMD code is slow).
#if DEBUG
  let longDoubleRowExponent = 18
#else
  let longDoubleRowExponent = 22
#endif

/// Rows of 2^p elements built to stress the sum Σ e^(x − max), with their names.
///
/// "biased": the maximum 0, then every logit −δ with δ = 2^(p − 60), so every other term is
/// 1 − δ. A running sum S ≥ 2^(p − 6) (any lane of a 16-lane sum after a quarter of the row,
/// or a single running sum) has half an ulp of at least 2^(p − 59) > δ, so S + (1 − δ)
/// rounds up to S + 1: every such addition errs by δ in the same direction, and the row's
/// relative error approaches δ (2.3e-13 for p = 18, 3.6e-12 for p = 22). x − max is exact.
/// "uniform": logits uniform in [−1, 0), terms with random mantissas in (0.37, 1].
func longDoubleRows(exponent p: Int) -> [(name: String, x: [Double])] {
  let count = 1 << p
  let delta = Double(sign: .plus, exponent: p - 60, significand: 1)
  var biased = [Double](repeating: -delta, count: count)
  biased[count / 3] = 0
  var generator = SeededGenerator(seed: 22)
  let uniform = (0..<count).map { _ in -Double.random(in: 0..<1, using: &generator) }
  return [("biased", biased), ("uniform", uniform)]
}

@Suite("Double rows of millions of elements")
struct DoubleLongRowTests {
  @Test("one-row softmax and log-softmax within their bounds at 2^22 elements (2^18 in debug)")
  func oneRow() {
    for (name, x) in longDoubleRows(exponent: longDoubleRowExponent) {
      let context = "\(name) 2^\(longDoubleRowExponent)"
      expectDoubles(softmax(x), doubleReference(x), logarithm: false, context)
      expectDoubles(logSoftmax(x), doubleLogReference(x), logarithm: true, "log \(context)")
    }
  }

  @Test("shaped rows split across threads, with a sink, and log-softmax, within their bounds")
  func shapedRows() {
    for (name, x) in longDoubleRows(exponent: longDoubleRowExponent) {
      let context = "\(name) 2^\(longDoubleRowExponent)"
      let one = softmax(x, shape: [x.count], threads: 1)
      expectDoubles(one, doubleReference(x), logarithm: false, context)
      // The chunks' compensated sums merge in chunk order: bitwise the same for any count.
      #expect(softmax(x, shape: [x.count], threads: 2) == one, "\(context)")
      expectDoubles(
        softmax(x, shape: [1, x.count], threads: 2, sink: 0),
        doubleReference(x, sink: 0, logarithm: false), logarithm: false, "sink \(context)")
      expectDoubles(
        logSoftmax(x, shape: [x.count], threads: 2), doubleLogReference(x), logarithm: true,
        "log \(context)")
    }
  }

  // Strided Double columns take a minute at 2^18 in debug; 2^16 could not fail the bound.
  @Test("columns of an inner axis within their bounds at 2^22 rows", optimizedRunOnly)
  func columns() {
    let rows = longDoubleRows(exponent: longDoubleRowExponent)
    let (a, b) = (rows[0].x, rows[1].x)
    // Two columns: the stressing rows side by side, normalized along axis 0.
    var interleaved = [Double](repeating: 0, count: 2 * a.count)
    for i in a.indices {
      interleaved[2 * i] = a[i]
      interleaved[2 * i + 1] = b[i]
    }
    let shape = [a.count, 2]
    let y = softmax(interleaved, shape: shape, axis: 0)
    let logY = logSoftmax(interleaved, shape: shape, axis: 0)
    for (column, x) in [a, b].enumerated() {
      let picked = { (values: [Double]) in
        stride(from: column, to: values.count, by: 2).map { values[$0] }
      }
      let context = "column \(rows[column].name) 2^\(longDoubleRowExponent)"
      expectDoubles(picked(y), doubleReference(x), logarithm: false, context)
      expectDoubles(picked(logY), doubleLogReference(x), logarithm: true, "log \(context)")
    }
  }

  @Test("the kernels' sum without stores equals the one with stores, bitwise")
  func sumWithoutStores() {
    for count in [1, 15, 16, 17, 1023, 1024, 1025, 5000] {
      var generator = SeededGenerator(seed: UInt64(count))
      let x = (0..<count).map { _ in -2 - Double.random(in: 0..<30, using: &generator) }
      var y = [Double](repeating: 0, count: count)
      let stored = x.withUnsafeBufferPointer { x in
        y.withUnsafeMutableBufferPointer {
          sumAndStoreExpDouble_simd8(x.baseAddress!, $0.baseAddress!, count: count, shift: -2)
        }
      }
      let summed = x.withUnsafeBufferPointer {
        sumExpDouble_simd8($0.baseAddress!, count: count, shift: -2)
      }
      #expect(stored == summed, "n=\(count)")
      let exact = ReferenceSoftmax.compensatedSum(x.map { Foundation.exp($0 - -2) })
      #expect(abs(stored.value - exact) <= 1e-14 * exact, "n=\(count)")
      #expect(
        zip(y, x).allSatisfy { abs($0 - Foundation.exp($1 - -2)) <= 3 * $0.ulp }, "n=\(count)")
    }
  }
}
