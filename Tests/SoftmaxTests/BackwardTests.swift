import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

@Suite("softmax and log-softmax backward")
struct BackwardTests {
  /// y = softmax of seeded logits (rows of `length`), dy standard normal.
  static func inputs(rows: Int, length: Int, seed: UInt64) -> (
    y: [Float], logY: [Float], dy: [Float]
  ) {
    let x = randomInputs(count: rows * length, distribution: .standardNormal, scale: 3, seed: seed)
    let shape = [rows, length]
    let dy = randomInputs(count: rows * length, distribution: .standardNormal, seed: seed + 1)
    return (softmax(x, shape: shape), logSoftmax(x, shape: shape), dy)
  }

  @Test("against the Double reference, lengths 1…70 and long rows")
  func reference() {
    for length in Array(1...70) + [1000, 70_000] {
      let rows = length > 1000 ? 2 : 5
      let (y, logY, dy) = Self.inputs(rows: rows, length: length, seed: UInt64(length))
      _ = Self.expectAgainstReference(y, logY, dy, rows: rows, length: length)
    }
  }

  /// Runs both backward passes on the rows and checks every row against the Double reference:
  /// within 1e-5 relative, except "tiny" entries, below a tenth of the terms of the
  /// subtraction (y_i · (|dy_i| + |Σ dy y|), or |dy_i| + e^logY_i · |Σ dy|), whose error is
  /// bounded by them. Returns (dx, dlog).
  static func expectAgainstReference(
    _ y: [Float], _ logY: [Float], _ dy: [Float], rows: Int, length: Int,
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> (dx: [Float], dlog: [Float]) {
    let shape = [rows, length]
    let dx = softmaxBackward(output: y, outputGradient: dy, shape: shape)
    let dlog = logSoftmaxBackward(output: logY, outputGradient: dy, shape: shape)
    for r in 0..<rows {
      let yr = row(y, r, length: length).map(Double.init)
      let logYr = row(logY, r, length: length).map(Double.init)
      let dyr = row(dy, r, length: length).map(Double.init)
      let s = abs(zip(yr, dyr).map { $0 * $1 }.reduce(0, +))
      expectClose(
        row(dx, r, length: length), ReferenceTraining.softmaxBackward(y: yr, dy: dyr),
        relative: 1e-5, floors: zip(yr, dyr).map { 0.1 * $0 * (abs($1) + s) },
        "softmax n \(length) row \(r)", sourceLocation: sourceLocation)
      let sum = abs(dyr.reduce(0, +))
      expectClose(
        row(dlog, r, length: length), ReferenceTraining.logSoftmaxBackward(logY: logYr, dy: dyr),
        relative: 1e-5, floors: zip(logYr, dyr).map { 0.1 * (abs($1) + exp($0) * sum) },
        "log-softmax n \(length) row \(r)", sourceLocation: sourceLocation)
    }
    return (dx, dlog)
  }

  @Test("NaN and infinities propagate as IEEE arithmetic gives them, row by row")
  func specialValues() {
    let negativeNaN = Float(bitPattern: 0xFFC0_0000)
    // Short rows, rows the pipelined steps take, and rows split into chunks.
    for (rows, length) in [(5, 17), (5, 999), (5, 70_000)] {
      var (y, logY, dy) = Self.inputs(rows: rows, length: length, seed: UInt64(length) + 7)
      let at = { (r: Int, i: Int) in r * length + i * length / 7 }
      y[at(0, 3)] = .nan
      logY[at(0, 3)] = .nan
      y[at(1, 5)] = negativeNaN
      logY[at(1, 5)] = negativeNaN
      dy[at(2, 2)] = .infinity
      y[at(3, 1)] = .infinity
      logY[at(3, 1)] = -.infinity
      dy[at(4, 6)] = .nan
      let dlog = Self.expectAgainstReference(y, logY, dy, rows: rows, length: length).dlog
      // A NaN log-probability makes only its own entry NaN.
      #expect(dlog[at(0, 3)].isNaN && dlog[at(1, 5)].isNaN, "n \(length)")
      #expect(!dlog[at(0, 3) + 1].isNaN && !dlog[at(1, 5) - 1].isNaN, "n \(length)")
    }
  }

  @Test("dy near ±greatestFiniteMagnitude: dx as the Double reference rounds it")
  func hugeGradients() {
    // Both signs near the top of Float's range: dy − Σ dy · y overflows Float where
    // y · (dy − Σ dy · y) does not, and Σ dy itself overflows Float (the log-softmax). Short
    // rows, rows the pipelined steps take, and rows split into chunks.
    for (rows, length) in [(5, 17), (5, 999), (3, 70_000)] {
      let (y, logY, _) = Self.inputs(rows: rows, length: length, seed: UInt64(length) + 11)
      let dy = (0..<rows * length).map { i -> Float in
        i % 3 == 0 ? .greatestFiniteMagnitude : -0.6 * .greatestFiniteMagnitude
      }
      let (dx, dlog) = Self.expectAgainstReference(y, logY, dy, rows: rows, length: length)
      // Most entries are finite and beyond 1e28, as the reference says.
      let huge = { (v: [Float]) in v.filter { $0.isFinite && abs($0) > 1e28 }.count }
      #expect(huge(dx) > dx.count / 2 && huge(dlog) > dlog.count / 2, "n \(length)")
      // In place over dy, and on two threads: the same bits.
      let shape = [rows, length]
      var overDy = dy
      overDy.withUnsafeMutableBufferPointer { g in
        logY.withUnsafeBufferPointer { l in
          logSoftmaxBackward(
            output: l, outputGradient: UnsafeBufferPointer(g), shape: shape, into: g)
        }
      }
      #expect(overDy == dlog, "n \(length)")
      #expect(softmaxBackward(output: y, outputGradient: dy, shape: shape, threads: 2) == dx)
    }
  }

  @Test("finite differences in Double: dx is the gradient of Σ dy · softmax(x)")
  func finiteDifferences() {
    let n = 9
    let x = randomInputs(count: n, distribution: .standardNormal, seed: 4).map(Double.init)
    let dy = randomInputs(count: n, distribution: .standardNormal, seed: 5).map(Double.init)
    let y = softmax(x, shape: [n])
    let logY = logSoftmax(x, shape: [n])
    let dx = softmaxBackward(output: y, outputGradient: dy, shape: [n])
    let dlog = logSoftmaxBackward(output: logY, outputGradient: dy, shape: [n])
    let h = 1e-6
    for i in 0..<n {
      var plus = x
      var minus = x
      plus[i] += h
      minus[i] -= h
      func loss(_ v: [Double], _ f: ([Double]) -> [Double]) -> Double {
        zip(dy, f(v)).map { $0 * $1 }.reduce(0, +)
      }
      let numeric =
        (loss(plus, ReferenceTraining.softmax) - loss(minus, ReferenceTraining.softmax)) / (2 * h)
      #expect(abs(dx[i] - numeric) < 1e-8, "softmax \(i): \(dx[i]) vs \(numeric)")
      let logNumeric =
        (loss(plus, { v in v.map { $0 - ReferenceTraining.logSumExp(v) } })
          - loss(minus, { v in v.map { $0 - ReferenceTraining.logSumExp(v) } })) / (2 * h)
      #expect(abs(dlog[i] - logNumeric) < 1e-8, "log-softmax \(i): \(dlog[i]) vs \(logNumeric)")
    }
  }

  @Test("in place over dy or y, spans, and every thread count give the same bits")
  func inPlaceAndThreads() {
    let (y, logY, dy) = Self.inputs(rows: 3, length: 300_000, seed: 8)
    let shape = [3, 300_000]
    let dx = softmaxBackward(output: y, outputGradient: dy, shape: shape, threads: 1)
    #expect(softmaxBackward(output: y, outputGradient: dy, shape: shape, threads: 2) == dx)
    var overDy = dy
    overDy.withUnsafeMutableBufferPointer { g in
      y.withUnsafeBufferPointer { yb in
        softmaxBackward(output: yb, outputGradient: UnsafeBufferPointer(g), shape: shape, into: g)
      }
    }
    #expect(overDy == dx)
    var overY = y
    overY.withUnsafeMutableBufferPointer { g in
      dy.withUnsafeBufferPointer { dyb in
        softmaxBackward(output: UnsafeBufferPointer(g), outputGradient: dyb, shape: shape, into: g)
      }
    }
    #expect(overY == dx)
    let dlog = logSoftmaxBackward(output: logY, outputGradient: dy, shape: shape, threads: 1)
    #expect(logSoftmaxBackward(output: logY, outputGradient: dy, shape: shape, threads: 2) == dlog)
    var spanOut = [Float](repeating: 0, count: y.count)
    var out = spanOut.mutableSpan
    logSoftmaxBackward(output: logY.span, outputGradient: dy.span, shape: shape, into: &out)
    spanOut = Array(out.withUnsafeBufferPointer { $0 })
    #expect(spanOut == dlog)
    // Many short rows spread across the threads.
    let (ys, _, dys) = Self.inputs(rows: 700, length: 100, seed: 9)
    #expect(
      softmaxBackward(output: ys, outputGradient: dys, shape: [700, 100], threads: 2)
        == softmaxBackward(output: ys, outputGradient: dys, shape: [700, 100], threads: 1))
  }

  // Consecutive rows of one task run pipelined where the kernel set has the step kernel
  // (each step writes one row while reading the next); the bits must be those of each row
  // computed alone. 20 rows of 70 000 elements are two chunks each; 300 rows of 999 one.
  @Test("rows run together (pipelined) give the bits of each row run alone")
  func pipelinedRows() {
    for (rows, length) in [(20, 70_000), (300, 999)] {
      let (y, logY, dy) = Self.inputs(rows: rows, length: length, seed: UInt64(length))
      let together = softmaxBackward(
        output: y, outputGradient: dy, shape: [rows, length], threads: 1)
      let logTogether = logSoftmaxBackward(
        output: logY, outputGradient: dy, shape: [rows, length], threads: 2)
      for r in 0..<rows {
        let alone = softmaxBackward(
          output: row(y, r, length: length), outputGradient: row(dy, r, length: length),
          shape: [length], threads: 1)
        #expect(row(together, r, length: length) == alone, "\(rows)×\(length) row \(r)")
        let logAlone = logSoftmaxBackward(
          output: row(logY, r, length: length), outputGradient: row(dy, r, length: length),
          shape: [length], threads: 1)
        #expect(row(logTogether, r, length: length) == logAlone, "log \(rows)×\(length) \(r)")
      }
    }
  }

  @Test("inner axes, Double and Float16 rows agree with the last-axis Float result")
  func axesAndTypes() {
    let (y, logY, dy) = Self.inputs(rows: 6, length: 40, seed: 11)
    let last = softmaxBackward(output: y, outputGradient: dy, shape: [6, 40])
    let lastLog = logSoftmaxBackward(output: logY, outputGradient: dy, shape: [6, 40])
    // The same rows as columns of a [40, 6] array.
    func transpose<T>(_ v: [T], rows: Int, columns: Int) -> [T] {
      (0..<(rows * columns)).map { v[($0 % rows) * columns + $0 / rows] }
    }
    let columns = softmaxBackward(
      output: transpose(y, rows: 6, columns: 40),
      outputGradient: transpose(dy, rows: 6, columns: 40),
      shape: [40, 6], axis: 0)
    #expect(transpose(columns, rows: 40, columns: 6) == last)
    let logColumns = logSoftmaxBackward(
      output: transpose(logY, rows: 6, columns: 40),
      outputGradient: transpose(dy, rows: 6, columns: 40), shape: [40, 6], axis: 0)
    #expect(transpose(logColumns, rows: 40, columns: 6) == lastLog)
    let double = softmaxBackward(
      output: y.map(Double.init), outputGradient: dy.map(Double.init), shape: [6, 40])
    expectClose(last, double, relative: 1e-5, floor: 1e-4, "Double")
    #if !(os(macOS) && arch(x86_64))
      let half = softmaxBackward(
        output: y.map { Float16($0) }, outputGradient: dy.map { Float16($0) }, shape: [6, 40])
      let fromHalf = softmaxBackward(
        output: y.map { Float(Float16($0)) }, outputGradient: dy.map { Float(Float16($0)) },
        shape: [6, 40])
      #expect(half == fromHalf.map { Float16($0) })
    #endif
  }

  @Test("a dx buffer that partly overlaps dy traps with a message")
  func overlap() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      var storage = [Float](repeating: 0, count: 20)
      let y = [Float](repeating: 0.1, count: 10)
      storage.withUnsafeMutableBufferPointer { s in
        y.withUnsafeBufferPointer { yb in
          softmaxBackward(
            output: yb, outputGradient: UnsafeBufferPointer(rebasing: s[0..<10]), shape: [10],
            into: UnsafeMutableBufferPointer(rebasing: s[5..<15]))
        }
      }
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("softmaxBackward: the output gradient and the input gradient overlap"),
      "\(message)")
  }
}
