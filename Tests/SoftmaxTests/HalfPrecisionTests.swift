#if !(os(macOS) && arch(x86_64))
  import Softmax
  import Testing
  import _SoftmaxTestSupport

  /// Distance in Float16 ulps between two finite, non-negative or same-sign values.
  func halfUlps(_ a: Float16, _ b: Float16) -> Int {
    func ordered(_ x: Float16) -> Int {
      let bits = Int(Int16(bitPattern: x.bitPattern))
      return bits < 0 ? Int(Int16.min) - bits : bits
    }
    return abs(ordered(a) - ordered(b))
  }

  #if DEBUG
    let halfLengths = [0, 1, 7, 100, 1023, 1024, 1025, 5000, 1 << 16]
  #else
    let halfLengths = [0, 1, 7, 100, 1023, 1024, 1025, 5000, 1 << 16, 1 << 20]
  #endif

  @Suite("Float16 rows")
  struct HalfPrecisionTests {
    @Test("within 1 ulp of the correctly rounded exact softmax, rows up to 2^20")
    func accuracy() {
      for (k, count) in halfLengths.enumerated() {
        for scale: Float in [1, 4, 30] {
          let x = randomInputs(
            count: count, distribution: .standardNormal, scale: scale, seed: UInt64(k)
          )
          .map { Float16($0) }
          let y = softmax(x)
          let reference = ReferenceSoftmax.softmax(x.map { Float($0) })
          var worst = 0
          for (value, exact) in zip(y, reference) {
            worst = max(worst, halfUlps(value, Float16(exact)))
          }
          #expect(worst <= 1, "n=\(count) ×\(scale): \(worst) ulp")
          let logY = logSoftmax(x)
          let logReference = ReferenceSoftmax.logSoftmax(x.map { Float($0) })
          // The log-softmax bound: 1e-5 · max(1, |log y|), plus the final rounding to Float16.
          for (value, exact) in zip(logY, logReference) {
            let bound = 1e-5 * max(1, abs(exact)) + Double(Float16(exact).ulp) / 2
            #expect(abs(Double(value) - exact) <= bound, "log n=\(count): \(value) vs \(exact)")
          }
        }
      }
    }

    @Test("special values, in place, and buffers that do not match")
    func specialValues() {
      let inf = Float16.infinity
      #expect(softmax([-inf, 0, inf, inf] as [Float16]) == [0, 0, 0.5, 0.5])
      #expect(softmax([-inf, -inf] as [Float16]) == [0, 0])
      #expect(softmax([1, .nan] as [Float16]).allSatisfy { $0.isNaN })
      #expect(softmax([Float16.greatestFiniteMagnitude, 0]) == [1, 0])
      #expect(logSoftmax([0, -inf] as [Float16]) == [0, -inf])
      var x: [Float16] = [1, 2, 3]
      let expected = softmax(x)
      x.withUnsafeMutableBufferPointer { softmax(UnsafeBufferPointer($0), into: $0) }
      #expect(x == expected)
    }
  }
#endif
