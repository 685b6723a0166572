// Swift has no Float16 on macOS for Intel: there the shaped Float16 API does not exist and
// these tests are not compiled.
#if !(os(macOS) && arch(x86_64))
  import Softmax
  import Testing
  import _SoftmaxTestSupport

  /// Expects Float16 results within 1 ulp of the correctly rounded reference (softmax), or
  /// within 1e-5 · max(1, |exact|) plus the final rounding (log-softmax); non-finite
  /// references exactly. The Float result is within about 1e-6 of the exact one, so a
  /// probability misses the correctly rounded Float16 only within that distance of a rounding
  /// boundary, a fraction of a percent: of 500 or more, at least 98% must hit it exactly,
  /// which a wrong rounding (truncation, say) would not.
  func expectHalves(
    _ y: [Float16], _ reference: [Double], logarithm: Bool, _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(y.count == reference.count, "\(context)", sourceLocation: sourceLocation)
    // A count and the first few: Swift Testing prints every value an expectation names.
    var (failed, examples) = (0, [String]())
    var (checked, exactlyRounded) = (0, 0)
    for (i, (value, exact)) in zip(y, reference).enumerated() {
      let rounded = Float16(exact)
      if !logarithm && exact.isFinite && exact > 0 {
        checked += 1
        if value == rounded { exactlyRounded += 1 }
      }
      let ok: Bool
      if exact.isNaN {
        ok = value.isNaN
      } else if !rounded.isFinite {
        ok = value == rounded
      } else if logarithm {
        let bound = 1e-5 * max(1, abs(exact)) + Double(rounded.ulp) / 2
        ok = value.isFinite && abs(Double(value) - exact) <= bound
      } else {
        ok = value.isFinite && value >= 0 && halfUlps(value, rounded) <= 1
      }
      if !ok {
        failed += 1
        if examples.count < 4 { examples.append("[\(i)] \(value) vs \(exact)") }
      }
    }
    #expect(
      failed == 0, "\(context): \(failed) wrong, \(examples)",
      sourceLocation: sourceLocation)
    #expect(
      checked < 500 || Double(exactlyRounded) >= 0.98 * Double(checked),
      "\(context): only \(exactlyRounded) of \(checked) correctly rounded",
      sourceLocation: sourceLocation)
  }

  /// The reference of Float16 logits: widened exactly to Float, then the Double reference.
  func halfReference(_ x: [Float16], logarithm: Bool) -> [Double] {
    let floats = x.map { Float($0) }
    return logarithm ? ReferenceSoftmax.logSoftmax(floats) : ReferenceSoftmax.softmax(floats)
  }

  /// Seeded Float16 logits: standard normal × `scale`, rounded to Float16.
  func randomHalves(count: Int, scale: Float, seed: UInt64) -> [Float16] {
    randomInputs(count: count, distribution: .standardNormal, scale: scale, seed: seed)
      .map { Float16($0) }
  }

  @Suite("Shaped Float16 arrays")
  struct ShapedHalfTests {
    @Test("every shape of rank 1 to 4, every axis, within 1 ulp of the correctly rounded result")
    func everyAxis() {
      for (s, shape) in testShapes.enumerated() {
        let count = shape.reduce(1, *)
        for scale: Float in [1, 8, 300] {
          var x = randomHalves(count: count, scale: scale, seed: UInt64(s))
          if count > 10 {
            x[3] = -.infinity
            x[count - 2] = .infinity
          }
          for axis in Array(-shape.count..<shape.count) {
            for logarithm in [false, true] {
              let y =
                logarithm
                ? logSoftmax(x, shape: shape, axis: axis) : softmax(x, shape: shape, axis: axis)
              let reference = alongAxis(x, shape: shape, axis: axis) {
                halfReference($0, logarithm: logarithm)
              }
              expectHalves(
                y, reference, logarithm: logarithm,
                "shape \(shape) axis \(axis) ×\(scale) log \(logarithm)")
            }
          }
        }
      }
    }

    @Test("many random rows and columns, long ones, every algorithm: within 1 ulp")
    func ulpSweep() {
      #if DEBUG
        let lengths = [2, 3, 15, 16, 17, 255, 256, 257, 1000, 4096, 4097, 9000]
        let longest = 1 << 14
      #else
        let lengths = [2, 3, 15, 16, 17, 255, 256, 257, 1000, 4096, 4097, 9000, 1 << 16, 100_003]
        let longest = 1 << 20
      #endif
      for (k, n) in lengths.enumerated() {
        let rows = max(2, 20_000 / n)
        for scale: Float in [0.5, 4, 30] {
          let x = randomHalves(count: rows * n, scale: scale, seed: UInt64(100 + k))
          for (shape, axis) in [([rows, n], 1), ([n, rows], 0)] {
            let y = softmax(
              x, shape: shape, axis: axis, algorithm: SoftmaxAlgorithm.allCases[k % 5])
            let reference = alongAxis(x, shape: shape, axis: axis) {
              halfReference($0, logarithm: false)
            }
            expectHalves(y, reference, logarithm: false, "\(shape) axis \(axis) ×\(scale)")
          }
        }
      }
      // One long row (split across threads) and one long inner axis (gathered column by
      // column in a heap scratch).
      for (shape, axis) in [([longest], 0), ([longest, 3], 0)] {
        let x = randomHalves(count: 3 * longest, scale: 6, seed: 7)
        let slice = Array(x[0..<shape.reduce(1, *)])
        for logarithm in [false, true] {
          let y =
            logarithm
            ? logSoftmax(slice, shape: shape, axis: axis, threads: 2)
            : softmax(slice, shape: shape, axis: axis, threads: 2)
          let reference = alongAxis(slice, shape: shape, axis: axis) {
            halfReference($0, logarithm: logarithm)
          }
          expectHalves(y, reference, logarithm: logarithm, "long \(shape) log \(logarithm)")
        }
      }
    }

    @Test("masks, both fully-masked-row policies, temperatures and sinks")
    func rowOptions() {
      let (queries, keys) = (5, 11)
      let shape = [2, queries, keys]
      let x = randomHalves(count: 2 * queries * keys, scale: 4, seed: 21)
      let keepRow = (0..<keys).map { $0 % 3 != 1 }
      let perElement = (0..<x.count).map { $0 % 5 != 0 && $0 / keys != 3 }  // row 3 fully masked
      let bias = (0..<keys).map { i -> Float in i % 4 == 0 ? -.infinity : Float(i % 7) - 3 }
      // The library divides in Float; the reference is the exact softmax of those quotients.
      for t: Float16 in [1, 0.5, 3, 0.001, 1000, .leastNonzeroMagnitude, .greatestFiniteMagnitude] {
        let divide: (Float16) -> Float = { t == 1 ? Float($0) : Float($0) / Float(t) }
        for offset in [0, 4, -1, -queries - 1] {
          for policy in [FullyMaskedRows.zeros, .nan] {
            for logarithm in [false, true] {
              let mask = SoftmaxMask.causal(offset: offset)
              let y =
                logarithm
                ? logSoftmax(x, shape: shape, mask: mask, fullyMaskedRows: policy, temperature: t)
                : softmax(x, shape: shape, mask: mask, fullyMaskedRows: policy, temperature: t)
              let reference = byRows(x.map(divide), length: keys) { row, v in
                v.enumerated().map { $0 <= row % queries + offset ? $1 : -.infinity }
              } _: { row in
                policy == .nan && row.allSatisfy({ $0 == -.infinity })
                  ? row.map { _ in .nan }
                  : logarithm ? ReferenceSoftmax.logSoftmax(row) : ReferenceSoftmax.softmax(row)
              }
              expectHalves(
                y, reference, logarithm: logarithm,
                "causal \(offset) T=\(t) \(policy) log \(logarithm)")
            }
          }
        }
        expectHalves(
          softmax(x, shape: shape, mask: .keep(keepRow), temperature: t),
          byRows(x.map(divide), length: keys) { _, v in
            v.enumerated().map { keepRow[$0] ? $1 : -.infinity }
          } _: {
            ReferenceSoftmax.softmax($0)
          }, logarithm: false, "keep T=\(t)")
        let each = logSoftmax(x, shape: shape, mask: .keep(perElement), temperature: t)
        expectHalves(
          each,
          byRows(x.map(divide), length: keys) { row, v in
            v.enumerated().map { perElement[row * keys + $0] ? $1 : -.infinity }
          } _: {
            ReferenceSoftmax.logSoftmax($0)
          }, logarithm: true, "keep per element T=\(t)")
        #expect(each[(3 * keys)..<(4 * keys)].allSatisfy { $0 == -.infinity })
        expectHalves(
          softmax(x, shape: shape, mask: .additive(bias), temperature: t),
          byRows(x.map(divide), length: keys) { _, v in
            v.enumerated().map { $1 + bias[$0] }
          } _: {
            ReferenceSoftmax.softmax($0)
          }, logarithm: false, "additive T=\(t)")
      }
      let nanRows = softmax(x, shape: shape, mask: .keep(perElement), fullyMaskedRows: .nan)
      #expect(nanRows[(3 * keys)..<(4 * keys)].allSatisfy { $0.isNaN } && !nanRows[0].isNaN)
      for s: Float16 in [
        0, 5, -5, 60, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
        -.infinity,
      ] {
        for logarithm in [false, true] {
          let y =
            logarithm ? logSoftmax(x, shape: shape, sink: s) : softmax(x, shape: shape, sink: s)
          let reference = byRows(x.map { Float($0) }, length: keys) {
            $1
          } _: { row in
            let result =
              logarithm
              ? ReferenceSoftmax.logSoftmax(row + [Float(s)])
              : ReferenceSoftmax.softmax(row + [Float(s)])
            return Array(result.dropLast())
          }
          expectHalves(y, reference, logarithm: logarithm, "sink \(s) log \(logarithm)")
        }
      }
    }

    @Test("T = 0, special values, zero-sized dimensions and in place")
    func specialValues() {
      let inf = Float16.infinity
      #expect(
        softmax([1, 3, 2, 3] as [Float16], shape: [1, 4], temperature: 0) == [0, 0.5, 0, 0.5])
      #expect(logSoftmax([1, 3, 2] as [Float16], shape: [3], temperature: 0) == [-inf, 0, -inf])
      #expect(softmax([1, 3, 2] as [Float16], shape: [3], sink: 3, temperature: 0) == [0, 0.5, 0])
      #expect(softmax([1, .nan] as [Float16], shape: [2], temperature: 0).allSatisfy { $0.isNaN })
      #expect(softmax([.infinity, 0] as [Float16], shape: [1, 2], sink: .infinity) == [0.5, 0])
      #expect(softmax([1, 2] as [Float16], shape: [2], sink: .nan).allSatisfy { $0.isNaN })
      #expect(
        softmax([-inf, -inf] as [Float16], shape: [2], sink: 0, fullyMaskedRows: .nan) == [0, 0])
      #expect(logSoftmax([65504, -65504] as [Float16], shape: [2]) == [0, -inf])
      #expect(softmax([] as [Float16], shape: [3, 0, 2], axis: 1).isEmpty)
      // Rows and columns with NaN, +inf and only −inf, out of place and in place.
      let rows: [[Float16]] = [
        [1, .nan, 2, 0], [inf, 1, inf, -inf], [-inf, -inf, -inf, -inf], [65504, -65504, 0, 1],
        [0, -20, -17, -16.5],
      ]
      let x = rows.flatMap { $0 }
      let columns = (0..<20).map { rows[$0 % 5][$0 / 5] }
      for (values, shape, axis) in [(x, [5, 4], -1), (columns, [4, 5], 0)] {
        for logarithm in [false, true] {
          let reference = alongAxis(values, shape: shape, axis: axis) {
            halfReference($0, logarithm: logarithm)
          }
          var y = values
          y.withUnsafeMutableBufferPointer {
            if logarithm {
              logSoftmax(UnsafeBufferPointer($0), shape: shape, axis: axis, into: $0)
            } else {
              softmax(UnsafeBufferPointer($0), shape: shape, axis: axis, into: $0)
            }
          }
          expectHalves(y, reference, logarithm: logarithm, "in place \(shape) log \(logarithm)")
          let out =
            logarithm
            ? logSoftmax(values, shape: shape, axis: axis)
            : softmax(values, shape: shape, axis: axis)
          #expect(out.map(\.bitPattern) == y.map(\.bitPattern), "\(shape) log \(logarithm)")
        }
      }
    }

    @Test("the result does not depend on the thread count; the three API forms agree")
    func threads() {
      #if DEBUG
        let cases = [([64, 1024], -1), ([2, 300_000], 1), ([3, 20_000], 0), ([5000, 40], 0)]
      #else
        let cases = [([64, 4096], -1), ([2, 600_000], 1), ([3, 70_000], 0), ([5000, 40], 0)]
      #endif
      for (shape, axis) in cases {
        let count = shape.reduce(1, *)
        let x = randomHalves(count: count, scale: 20, seed: 31)
        let one = softmax(x, shape: shape, axis: axis, threads: 1)
        #expect(softmax(x, shape: shape, axis: axis, threads: 2) == one, "\(shape) \(axis)")
        #expect(softmax(x, shape: shape, axis: axis, threads: 3) == one, "\(shape) \(axis)")
        #expect(softmax(x, shape: shape, axis: axis) == one)
        var y = [Float16](repeating: 0, count: count)
        softmax(x, shape: shape, axis: axis, into: &y)
        #expect(y == one)
        let logOne = logSoftmax(x, shape: shape, axis: axis, threads: 1)
        #expect(logSoftmax(x, shape: shape, axis: axis, threads: 2) == logOne)
        logSoftmax(x, shape: shape, axis: axis, into: &y)
        #expect(y == logOne)
        if axis == -1 {
          let masked = softmax(
            x, shape: shape, threads: 1, mask: .causal(offset: 7), sink: 1, temperature: 0.75)
          #expect(
            softmax(
              x, shape: shape, threads: 2, mask: .causal(offset: 7), sink: 1, temperature: 0.75)
              == masked)
        }
      }
    }

    @Test("a negative temperature traps with the Float message")
    func invalidTemperature() async throws {
      let result = try await #require(
        processExitsWith: .failure, observing: [\.standardErrorContent]
      ) {
        _ = softmax([1, 2] as [Float16], shape: [2], temperature: -1)
      }
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(
        message.contains("softmax: temperature must be finite and ≥ 0, not -1.0"), "\(message)")
    }

    @Test("a mask whose count fits neither a row nor the array traps with the Float message")
    func badMaskCount() async throws {
      let result = try await #require(
        processExitsWith: .failure, observing: [\.standardErrorContent]
      ) {
        _ = logSoftmax(
          [Float16](repeating: 0, count: 6), shape: [2, 3], mask: .keep([true, false]))
      }
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(
        message.contains("the mask has 2 values; it needs one per row element (3)"), "\(message)")
    }

    @Test("a shape whose element count overflows Int traps")
    func overflowingShape() async throws {
      let result = try await #require(
        processExitsWith: .failure, observing: [\.standardErrorContent]
      ) {
        _ = softmax([Float16](repeating: 0, count: 4), shape: [2, (1 << 62) + 1, 2])
      }
      let message = String(decoding: result.standardErrorContent, as: UTF8.self)
      #expect(message.contains("has more elements than Int can count"), "\(message)")
    }
  }
#endif
