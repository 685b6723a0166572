import Foundation
import Softmax
import Testing
import _SoftmaxTestSupport

/// `count` seeded standard-normal Doubles times `scale` plus `shift`.
func randomDoubles(count: Int, scale: Double = 1, shift: Double = 0, seed: UInt64) -> [Double] {
  var generator = SeededGenerator(seed: seed)
  return (0..<count).map { _ in
    let u1 = Double.random(in: Double.ulpOfOne...1, using: &generator)
    let u2 = Double.random(in: 0..<1, using: &generator)
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2) * scale + shift
  }
}

@Suite("Shaped Double arrays")
struct ShapedDoubleTests {
  @Test("every shape of rank 1 to 4, every axis, scales up to 1e300, against the reference")
  func everyAxis() {
    for (s, shape) in testShapes.enumerated() {
      let count = shape.reduce(1, *)
      for (scale, shift) in [(8.0, 0.0), (1e3, 1e12), (1e300, 0)] {
        var x = randomDoubles(count: count, scale: scale, shift: shift, seed: UInt64(s))
        if count > 10 {
          x[3] = -.infinity
          x[count - 2] = .infinity
        }
        for axis in Array(-shape.count..<shape.count) {
          let context = "shape \(shape) axis \(axis) ×\(scale) +\(shift)"
          expectDoubles(
            softmax(x, shape: shape, axis: axis),
            alongAxis(x, shape: shape, axis: axis, doubleReference), logarithm: false, context)
          expectDoubles(
            logSoftmax(x, shape: shape, axis: axis),
            alongAxis(x, shape: shape, axis: axis, doubleLogReference), logarithm: true,
            context)
        }
      }
    }
  }

  @Test("logits beyond the Float range, huge gaps, underflow to 0, and every special value")
  func magnitudes() {
    let big = Double.greatestFiniteMagnitude
    let rows: [[Double]] = [
      [1e300, -1e300, 1e300, 0], [big, -big, 0, big], [1e39, 1e39 - 1e24, 3e38, -1e39],
      [0, -700, -745, -800], [-1e308, -1e308 + 1e292, -1e308, -1e308],
      [0, .nan, 1, 2], [.infinity, .nan, 0, 0], [.infinity, 5, .infinity, -.infinity],
      [-.infinity, -.infinity, -.infinity, -.infinity],
      [.leastNonzeroMagnitude, -.leastNonzeroMagnitude, 0, 0x1p-1030],
    ]
    let x = rows.flatMap { $0 }
    for shape in [[10, 4], [5, 2, 4]] {
      expectDoubles(
        softmax(x, shape: shape), alongAxis(x, shape: shape, axis: -1, doubleReference),
        logarithm: false, "rows \(shape)")
      expectDoubles(
        logSoftmax(x, shape: shape), alongAxis(x, shape: shape, axis: -1, doubleLogReference),
        logarithm: true, "log rows \(shape)")
    }
    // The same rows as columns of an inner axis (4 × 10), in place.
    let transposed = (0..<40).map { rows[$0 % 10][$0 / 10] }
    var y = transposed
    y.withUnsafeMutableBufferPointer {
      softmax(UnsafeBufferPointer($0), shape: [4, 10], axis: 0, into: $0)
    }
    expectDoubles(
      y, alongAxis(transposed, shape: [4, 10], axis: 0, doubleReference), logarithm: false,
      "columns in place")
    var logY = transposed
    logY.withUnsafeMutableBufferPointer {
      logSoftmax(UnsafeBufferPointer($0), shape: [4, 10], axis: 0, into: $0)
    }
    expectDoubles(
      logY, alongAxis(transposed, shape: [4, 10], axis: 0, doubleLogReference),
      logarithm: true, "log columns in place")
    #expect(softmax([1e300, -1e300, 1e300] as [Double], shape: [3]) == [0.5, 0, 0.5])
    #expect(softmax([0, -745] as [Double], shape: [2]) == [1, 0])
  }

  @Test("causal, keep and additive masks, both fully-masked-row policies, with temperatures")
  func masks() {
    let (queries, keys) = (6, 9)
    let x = randomDoubles(count: 2 * queries * keys, scale: 5, seed: 11)
    let shape = [2, queries, keys]
    let keepRow = (0..<keys).map { $0 % 3 != 1 }
    let perElement = (0..<x.count).map { $0 % 5 != 0 && $0 / keys != 4 }  // row 4 fully masked
    let bias = (0..<keys).map { i -> Float in i % 4 == 0 ? -.infinity : Float(i % 7) - 3 }
    for t in [1, 0.5, 3] {
      for offset in [0, 3, -1, -queries - 1] {
        let effective: (Int, [Double]) -> [Double] = { row, v in
          v.enumerated().map { $0 <= row % queries + offset ? $1 / t : -.infinity }
        }
        for policy in [FullyMaskedRows.zeros, .nan] {
          for logarithm in [false, true] {
            let y =
              logarithm
              ? logSoftmax(
                x, shape: shape, mask: .causal(offset: offset), fullyMaskedRows: policy,
                temperature: t)
              : softmax(
                x, shape: shape, mask: .causal(offset: offset), fullyMaskedRows: policy,
                temperature: t)
            let reference = byRows(x, length: keys, effective: effective) { row in
              policy == .nan && row.allSatisfy({ $0 == -.infinity })
                ? row.map { _ in .nan } : doubleReference(row, sink: nil, logarithm: logarithm)
            }
            expectDoubles(
              y, reference, logarithm: logarithm, "causal \(offset) T=\(t) \(policy) \(logarithm)")
          }
        }
      }
      let keep = softmax(x, shape: shape, mask: .keep(keepRow), temperature: t)
      expectDoubles(
        keep,
        byRows(
          x, length: keys,
          effective: { _, v in
            v.enumerated().map { keepRow[$0] ? $1 / t : -.infinity }
          }, doubleReference), logarithm: false, "keep T=\(t)")
      let each = logSoftmax(x, shape: shape, mask: .keep(perElement), temperature: t)
      expectDoubles(
        each,
        byRows(
          x, length: keys,
          effective: { row, v in
            v.enumerated().map { perElement[row * keys + $0] ? $1 / t : -.infinity }
          }, doubleLogReference), logarithm: true, "keep per element T=\(t)")
      #expect(each[(4 * keys)..<(5 * keys)].allSatisfy { $0 == -.infinity })
      let nanRows = softmax(x, shape: shape, mask: .keep(perElement), fullyMaskedRows: .nan)
      #expect(nanRows[(4 * keys)..<(5 * keys)].allSatisfy { $0.isNaN } && !nanRows[0].isNaN)
      let additive = softmax(x, shape: shape, mask: .additive(bias), temperature: t)
      expectDoubles(
        additive,
        byRows(
          x, length: keys,
          effective: { _, v in
            v.enumerated().map { $1 / t + Double(bias[$0]) }
          }, doubleReference), logarithm: false, "additive T=\(t)")
    }
  }

  @Test("temperatures from 1e-300 to 1e300, and T = 0 as the argmax")
  func temperatures() {
    let x = randomDoubles(count: 3 * 50, scale: 5, seed: 12)
    for t in [1e-300, 1e-6, 0.7, 2, 1e6, 1e300] {
      let quotients = x.map { $0 / t }
      expectDoubles(
        softmax(x, shape: [3, 50], temperature: t),
        alongAxis(quotients, shape: [3, 50], axis: -1, doubleReference), logarithm: false,
        "T=\(t)")
      expectDoubles(
        logSoftmax(x, shape: [3, 50], temperature: t),
        alongAxis(quotients, shape: [3, 50], axis: -1, doubleLogReference), logarithm: true,
        "log T=\(t)")
    }
    let inf = Double.infinity
    #expect(softmax([1, 3, 2, 3] as [Double], shape: [1, 4], temperature: 0) == [0, 0.5, 0, 0.5])
    #expect(logSoftmax([1, 3, 2] as [Double], shape: [1, 3], temperature: 0) == [-inf, 0, -inf])
    #expect(
      softmax([1, 3, 2] as [Double], shape: [1, 3], sink: 3, temperature: 0) == [0, 0.5, 0])
    #expect(softmax([1, 3, 2] as [Double], shape: [1, 3], sink: 5, temperature: 0) == [0, 0, 0])
    #expect(softmax([1, .nan] as [Double], shape: [2], temperature: 0).allSatisfy { $0.isNaN })
    #expect(softmax([-inf, -inf] as [Double], shape: [1, 2], temperature: 0) == [0, 0])
    #expect(
      softmax([-inf, -inf] as [Double], shape: [1, 2], fullyMaskedRows: .nan, temperature: 0)
        .allSatisfy { $0.isNaN })
    #expect(softmax([1e300, 1e-300] as [Double], shape: [2], temperature: 0) == [1, 0])
  }

  @Test("a sink adds e^s to every denominator, for any s")
  func sinks() {
    let x = randomDoubles(count: 4 * 30, scale: 3, seed: 13)
    for s: Double in [0, 5, -5, 800, 1e300, -1e300, -.infinity] {
      for logarithm in [false, true] {
        let y =
          logarithm ? logSoftmax(x, shape: [4, 30], sink: s) : softmax(x, shape: [4, 30], sink: s)
        let reference = byRows(x, length: 30, effective: { $1 }) {
          doubleReference($0, sink: s, logarithm: logarithm)
        }
        expectDoubles(y, reference, logarithm: logarithm, "sink \(s) log \(logarithm)")
      }
    }
    let masked = [Double](repeating: -.infinity, count: 8)
    #expect(
      softmax(masked, shape: [1, 8], sink: 0, fullyMaskedRows: .nan) == masked.map { _ in 0 })
    #expect(softmax([.infinity, 0] as [Double], shape: [1, 2], sink: .infinity) == [0.5, 0])
    #expect(softmax([1, 2] as [Double], shape: [2], sink: .nan).allSatisfy { $0.isNaN })
    // The sink is a logit: divided by the temperature too.
    let divided = softmax([1, 2] as [Double], shape: [2], sink: 4, temperature: 2)
    expectDoubles(
      divided, doubleReference([0.5, 1], sink: 2, logarithm: false), logarithm: false,
      "sink with T = 2")
  }

  @Test("threads, in place and the three API forms agree bitwise", optimizedRunOnly)
  func forms() {
    let cases = [([64, 4096], -1), ([2, 600_000], 1), ([256, 3, 64], 1), ([3, 70_000], 0)]
    for (shape, axis) in cases {
      let count = shape.reduce(1, *)
      let x = randomDoubles(count: count, scale: 300, seed: 14)
      let one = softmax(x, shape: shape, axis: axis, threads: 1)
      #expect(softmax(x, shape: shape, axis: axis, threads: 2) == one, "\(shape) \(axis)")
      #expect(softmax(x, shape: shape, axis: axis, threads: 3) == one, "\(shape) \(axis)")
      #expect(softmax(x, shape: shape, axis: axis) == one)
      var y = [Double](repeating: 0, count: count)
      softmax(x, shape: shape, axis: axis, into: &y)
      #expect(y == one)
      var z = x
      z.withUnsafeMutableBufferPointer {
        softmax(UnsafeBufferPointer($0), shape: shape, axis: axis, into: $0)
      }
      #expect(z == one)
      let logOne = logSoftmax(x, shape: shape, axis: axis, threads: 1)
      #expect(logSoftmax(x, shape: shape, axis: axis, threads: 2) == logOne)
      var logY = [Double](repeating: 0, count: count)
      logSoftmax(x, shape: shape, axis: axis, into: &logY)
      #expect(logY == logOne)
      let options = (mask: SoftmaxMask.causal(offset: 1), sink: 0.5, temperature: 0.8)
      if axis == -1 {
        let masked = softmax(
          x, shape: shape, threads: 1, mask: options.mask, sink: options.sink,
          temperature: options.temperature)
        #expect(
          softmax(
            x, shape: shape, threads: 2, mask: options.mask, sink: options.sink,
            temperature: options.temperature) == masked)
      }
    }
    // The long rows above were split across threads; check one against the reference.
    let long = randomDoubles(count: 2 * 300_000, scale: 30, seed: 15)
    let y = softmax(long, shape: [2, 300_000], threads: 2)
    expectDoubles(
      Array(y[300_000...]), doubleReference(Array(long[300_000...])), logarithm: false,
      "long row")
  }

  @Test("rows shorter than 2^16 equal the one-row Double softmax")
  func rowsMatchOneRow() {
    let x = randomDoubles(count: 5 * 1000, scale: 4, seed: 16)
    let y = softmax(x, shape: [5, 1000])
    for row in 0..<5 {
      let range = (row * 1000)..<((row + 1) * 1000)
      #expect(Array(y[range]) == softmax(Array(x[range])))
    }
  }

  @Test("a negative temperature traps with the Float message")
  func invalidTemperature() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = logSoftmax([1, 2] as [Double], shape: [2], temperature: -1)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(
      message.contains("logSoftmax: temperature must be finite and ≥ 0, not -1.0"), "\(message)")
  }

  @Test("a sink on an inner axis traps with the Float message")
  func sinkNeedsLastAxis() async throws {
    let result = try await #require(
      processExitsWith: .failure, observing: [\.standardErrorContent]
    ) {
      _ = softmax([Double](repeating: 0, count: 12), shape: [3, 4], axis: 0, sink: 0)
    }
    let message = String(decoding: result.standardErrorContent, as: UTF8.self)
    #expect(message.contains("apply to the last axis"), "\(message)")
  }
}
