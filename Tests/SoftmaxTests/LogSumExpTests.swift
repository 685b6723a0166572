import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("log-sum-exp")
struct LogSumExpTests {
  @Test("one row: lengths 0…70 and long rows, uniform ±1000, within 1e-6 relative")
  func rows() {
    for n in Array(0...70) + [1000, 4097, 70_000, 300_000] {
      let x = randomInputs(count: n, distribution: .paperUniform, seed: UInt64(n))
      let reference = ReferenceTraining.logSumExp(x.map(Double.init))
      let value = logSumExp(x)
      if n == 0 {
        #expect(value == -.infinity)
      } else {
        #expect(abs(Double(value) - reference) <= 1e-6 * max(1, abs(reference)), "n \(n)")
      }
      // Spans and slices give the same bits; threads too.
      #expect(logSumExp(x.span).bitPattern == value.bitPattern)
      #expect(logSumExp(x, threads: 2).bitPattern == value.bitPattern, "n \(n)")
    }
  }

  @Test("finite for huge logits: ±1e30 Float, 1e300 Double; overflow-free where naive fails")
  func huge() {
    let x: [Float] = [1e30, 1e30, -1e30, 0]
    #expect(logSumExp(x) == 1e30)
    let big: [Float] = [1000, 1000]
    #expect(abs(Double(logSumExp(big)) - (1000 + log(2.0))) < 1e-4)
    let d: [Double] = [1e300, 1e300 - 1e285, -1e300]
    #expect(logSumExp(d) == 1e300)
    let close: [Double] = [700, 700]
    #expect(abs(logSumExp(close) - (700 + log(2.0))) < 1e-12)
  }

  @Test("special values: NaN, +inf, −inf, empty")
  func special() {
    #expect(logSumExp([1, .nan, 2] as [Float]).isNaN)
    #expect(logSumExp([1, .infinity, 2] as [Float]) == .infinity)
    #expect(logSumExp([-.infinity, -.infinity] as [Float]) == -.infinity)
    #expect(logSumExp([-.infinity, 3] as [Float]) == 3)
    #expect(logSumExp([] as [Double]) == -.infinity)
  }

  @Test("any axis of a shaped array, Float, Double and Float16, against the reference")
  func shaped() {
    let shape = [3, 5, 7]
    let x = randomInputs(count: 105, distribution: .standardNormal, scale: 4, seed: 9)
    for axis in -3..<3 {
      let a = axis < 0 ? axis + 3 : axis
      let outer = shape[..<a].reduce(1, *)
      let n = shape[a]
      let inner = shape[(a + 1)...].reduce(1, *)
      var expected: [Double] = []
      for o in 0..<outer {
        for i in 0..<inner {
          expected.append(
            ReferenceTraining.logSumExp((0..<n).map { Double(x[o * n * inner + $0 * inner + i]) }))
        }
      }
      expectClose(
        logSumExp(x, shape: shape, axis: axis), expected, relative: 1e-6, floor: 1,
        "Float axis \(axis)")
      expectClose(
        logSumExp(x.map(Double.init), shape: shape, axis: axis), expected, relative: 1e-14,
        floor: 1,
        "Double axis \(axis)")
      #if !(os(macOS) && arch(x86_64))
        let h = x.map { Float16($0) }
        var expectedHalf: [Double] = []
        for o in 0..<outer {
          for i in 0..<inner {
            expectedHalf.append(
              ReferenceTraining.logSumExp((0..<n).map { Double(h[o * n * inner + $0 * inner + i]) })
            )
          }
        }
        // One rounding to Float16: half an ulp, 2^-11 relative.
        expectClose(
          logSumExp(h, shape: shape, axis: axis), expectedHalf, relative: 5e-4, floor: 1,
          "Float16 axis \(axis)")
      #endif
    }
    // A zero-length axis: every row is empty.
    let empty: [Float] = []
    let emptyRows: [Float] = logSumExp(empty, shape: [4, 0])
    #expect(emptyRows == [Float](repeating: -.infinity, count: 4))
    let noRows: [Float] = logSumExp(empty, shape: [0, 4])
    #expect(noRows.isEmpty)
  }

  @Test("the number of threads never changes a bit")
  func threads() {
    let x = randomInputs(count: 4 * 300_000, distribution: .paperUniform, seed: 2)
    let one = logSumExp(x, shape: [4, 300_000], threads: 1)
    #expect(logSumExp(x, shape: [4, 300_000], threads: 2) == one)
    let many = randomInputs(count: 512 * 300, distribution: .paperUniform, seed: 3)
    #expect(
      logSumExp(many, shape: [512, 300], threads: 2)
        == logSumExp(many, shape: [512, 300], threads: 1))
  }

  @Test("a per-row output of the wrong count traps with a message")
  func wrongCount() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      var out = [Float](repeating: 0, count: 2)
      let x = [Float](repeating: 0, count: 12)
      x.withUnsafeBufferPointer { xb in
        out.withUnsafeMutableBufferPointer { logSumExp(xb, shape: [3, 4], into: $0) }
      }
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("logSumExp: logSumExp has 2 elements; it needs one per row (3)"),
      "\(message)")
  }
}
