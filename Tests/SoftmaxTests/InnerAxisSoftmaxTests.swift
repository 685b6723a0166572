import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// Plain Float softmax and log-softmax along an inner axis of 64 to 1024 steps run on the
/// AVX-512 set as gathered rows: every column must then be the last-axis result of the same
/// values, bit for bit, with full and partial groups of 16 columns, several outer blocks,
/// special values in a column, on one thread and several, and in place.
@Suite("Softmax along inner axes as gathered rows")
struct InnerAxisSoftmaxTests {
  @Test(arguments: [(2, 64, 37), (1, 1000, 40), (3, 1024, 17), (1, 300, 16)])
  func matchesLastAxis(outer: Int, length: Int, inner: Int) {
    guard PassKernels.selected.isa == .avx512 else { return }
    let rows = outer * inner
    var x = randomInputs(count: rows * length, distribution: .standardNormal, scale: 5, seed: 9)
    // A column with +inf, one with NaN, one of −inf only.
    x[3 * length + 7] = .infinity
    x[5 * length + 1] = .nan
    for c in 0..<length { x[(rows - 1) * length + c] = -.infinity }
    var moved = [Float](repeating: 0, count: x.count)
    for o in 0..<outer {
      for j in 0..<inner {
        for c in 0..<length {
          moved[(o * length + c) * inner + j] = x[(o * inner + j) * length + c]
        }
      }
    }
    func back(_ v: [Float]) -> [Float] {
      var out = [Float](repeating: 0, count: v.count)
      for o in 0..<outer {
        for j in 0..<inner {
          for c in 0..<length {
            out[(o * inner + j) * length + c] = v[(o * length + c) * inner + j]
          }
        }
      }
      return out
    }
    let last = softmax(x, shape: [rows, length])
    let lastLog = logSoftmax(x, shape: [rows, length])
    let shape = [outer, length, inner]
    for threads in [1, 2] {
      let columns = softmax(moved, shape: shape, axis: 1, threads: threads)
      #expect(back(columns).map(\.bitPattern) == last.map(\.bitPattern), "threads \(threads)")
      let logColumns = logSoftmax(moved, shape: shape, axis: 1, threads: threads)
      #expect(back(logColumns).map(\.bitPattern) == lastLog.map(\.bitPattern), "log \(threads)")
    }
    var inPlace = moved
    inPlace.withUnsafeMutableBufferPointer { p in
      softmax(UnsafeBufferPointer(p), shape: shape, axis: 1, into: p)
    }
    #expect(back(inPlace).map(\.bitPattern) == last.map(\.bitPattern), "in place")
  }
}
