import Foundation
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The training slots of the kernel table (sums, dot products, backward outputs, target
/// subtraction; Float and Double) on every kernel set this CPU runs, against Double
/// references, at every tail length and an unaligned start.
@Suite("Training slots of every kernel set")
struct TrainingSlotTests {
  static let lengths = Array(0...40) + [127, 1023, 1024, 1025, 4097]

  /// Calls `body` with pointers to `a`, `b` and a NaN-filled output, each starting one element
  /// past an allocation, so that no kernel can rely on alignment.
  /// Runs `kernel` (n outputs written at the pointer it is given, a sum returned) into an
  /// output buffer at each of 16 alignments: the outputs must be `expected`, the sum `sum` to
  /// the bit, and nothing written outside the n outputs.
  func expectEveryAlignment(
    _ table: PassKernels, n: Int, expected: [Float], sum: Double, _ context: String,
    _ kernel: (UnsafeMutablePointer<Float>) -> Double
  ) {
    let output = UnsafeMutablePointer<Float>.allocate(capacity: n + 16)
    defer { output.deallocate() }
    for shift in 0..<16 {
      output.initialize(repeating: .nan, count: n + 16)
      let shiftedSum = kernel(output + shift)
      table.storeFence()
      let shifted = Array(UnsafeBufferPointer(start: output + shift, count: n))
      #expect(shifted == expected, "\(context) shift \(shift)")
      #expect(
        (0..<shift).allSatisfy { output[$0].isNaN }
          && (shift + n..<n + 16).allSatisfy { output[$0].isNaN },
        "\(context) shift \(shift): wrote outside the output")
      #expect(
        shiftedSum.bitPattern == sum.bitPattern,
        "\(context) shift \(shift): \(shiftedSum) vs \(sum)")
    }
  }

  func withBuffers<T: BinaryFloatingPoint>(
    _ a: [T], _ b: [T],
    _ body: (UnsafePointer<T>, UnsafePointer<T>, UnsafeMutablePointer<T>) -> Void
  ) -> [T] {
    let n = a.count
    let pa = UnsafeMutablePointer<T>.allocate(capacity: n + 1)
    let pb = UnsafeMutablePointer<T>.allocate(capacity: n + 1)
    let po = UnsafeMutablePointer<T>.allocate(capacity: n + 1)
    defer { [pa, pb, po].forEach { $0.deallocate() } }
    (pa + 1).initialize(from: a, count: n)
    (pb + 1).initialize(from: b, count: n)
    (po + 1).initialize(repeating: .nan, count: n)
    body(pa + 1, pb + 1, po + 1)
    return Array(UnsafeBufferPointer(start: po + 1, count: n))
  }

  @Test("Float: dot, sum, backward outputs, targets", arguments: KernelISA.allCases)
  func float(isa: KernelISA) {
    guard let k = PassKernels.table(for: isa)?.training else { return }
    for n in Self.lengths {
      let a = randomInputs(count: n, distribution: .standardNormal, scale: 3, seed: UInt64(n))
      let b = randomInputs(count: n, distribution: .standardNormal, seed: UInt64(n) + 1)
      let da = a.map(Double.init)
      let db = b.map(Double.init)
      var dot = 0.0
      var sum = 0.0
      var blockSum = 0.0
      _ = withBuffers(a, b) { pa, pb, _ in
        dot = k.dot(pa, pb, n)
        sum = k.sum(pa, n)
        blockSum = k.blockSum(pa, n)
      }
      // Float lanes of at most 128 terms: within 128 · 2^-24 of Σ |a|.
      let absolute = da.map(abs).reduce(0, +)
      #expect(
        abs(blockSum - ReferenceSoftmax.compensatedSum(da)) <= 128 * 0x1p-24 * absolute,
        "\(isa) block sum n=\(n)")
      let exactDot = ReferenceSoftmax.compensatedSum(zip(da, db).map { $0 * $1 })
      let magnitude = zip(da, db).map { abs($0 * $1) }.reduce(0, +)
      #expect(abs(dot - exactDot) <= 1e-14 * magnitude + 1e-300, "\(isa) dot n=\(n)")
      #expect(
        abs(sum - ReferenceSoftmax.compensatedSum(da)) <= 1e-14 * da.map(abs).reduce(0, +),
        "\(isa) sum n=\(n)")
      let s: Float = 0.375
      let backward = withBuffers(a, b) { k.backwardOutput($0, $1, $2, n, s, false) }
      let streamed = withBuffers(a, b) {
        k.backwardOutput($0, $1, $2, n, s, true)
        PassKernels.table(for: isa)!.storeFence()
      }
      #expect(streamed == backward, "\(isa) streamed backward n=\(n)")
      #expect(backward == zip(a, b).map { $0 * ($1 - s) }, "\(isa) backward n=\(n)")
      let logY = a.map { -abs($0) }
      let logBackward = withBuffers(logY, b) { k.logBackwardOutput($0, $1, $2, n, s, false) }
      let logStreamed = withBuffers(logY, b) {
        k.logBackwardOutput($0, $1, $2, n, s, true)
        PassKernels.table(for: isa)!.storeFence()
      }
      #expect(logStreamed == logBackward, "\(isa) streamed log backward n=\(n)")
      for i in 0..<n {
        let exact = db[i] - exp(Double(logY[i])) * Double(s)
        let bound = 4e-7 * (abs(db[i]) + exp(Double(logY[i])) * Double(s))
        #expect(abs(Double(logBackward[i]) - exact) <= bound, "\(isa) log backward n=\(n) i=\(i)")
      }
      let targets = withBuffers(a, b) { pa, pb, po in
        po.update(from: pa, count: n)
        k.subtractTargets(po, pb, n, 0.5, 0.25)
      }
      for i in 0..<n {
        let exact = da[i] - (0.25 + 0.5 * db[i])
        #expect(
          abs(Double(targets[i]) - exact) <= 2e-7 * (abs(da[i]) + 0.25 + abs(db[i])),
          "\(isa) targets n=\(n)")
      }
      // The fused gradient pass: every excluded position, and none.
      for excluded in Set([-1, 0, n / 2, n - 1, n + 5]) {
        var sum = 0.0
        let scaled = withBuffers(a, b) { pa, _, po in
          po.update(from: pa, count: n)
          sum = k.scaleGradient(po, po, n, 0.5, -1, 0.125, excluded, false)
        }
        let expected = a.map { ($0 < -1 ? 0 : $0 * 0.5) - 0.125 }
        #expect(scaled == expected, "\(isa) scale gradient n=\(n)")
        if isa == .avx2 {
          // The AVX2 kernel keeps the portable kernel's lanes: the same sum, bit for bit.
          var portableSum = 0.0
          _ = withBuffers(a, b) { pa, _, po in
            portableSum = PassKernels.table(for: .portable)!.training.scaleGradient(
              pa, po, n, 0.5, -1, 0.125, excluded, false)
          }
          #expect(portableSum.bitPattern == sum.bitPattern, "avx2 sum n=\(n) \(excluded)")
        }
        // From a separate buffer of exponentials, streamed or not, at every alignment of the
        // output: bitwise the same outputs and sum as in place.
        for stream in [false, true] {
          expectEveryAlignment(
            PassKernels.table(for: isa)!, n: n, expected: expected, sum: sum,
            "\(isa) n=\(n) stream \(stream)"
          ) { output in
            a.withUnsafeBufferPointer {
              k.scaleGradient($0.baseAddress!, output, n, 0.5, -1, 0.125, excluded, stream)
            }
          }
        }
        let exactSum = ReferenceSoftmax.compensatedSum(
          expected.enumerated().filter { $0.offset != excluded }.map { Double($0.element) })
        let magnitude = expected.map { abs(Double($0)) }.reduce(0, +)
        #expect(
          abs(sum - exactSum) <= 128 * 0x1p-24 * magnitude, "\(isa) gradient sum n=\(n) \(excluded)"
        )
      }
      // The fused Two-Pass gradient (AVX-512 only): the table's Two-Pass output minus the
      // offset, streamed or not, and the sum of all entries but one (any one, or none).
      if let fused = PassKernels.table(for: isa)!.training.twoPassGradient {
        let table = PassKernels.table(for: isa)!
        let plain = withBuffers(a, b) { pa, _, po in
          table.twoPassOutput(pa, po, n, 0.75, 3, false)
        }.map { $0 - 0.125 }
        for stream in [false, true] {
          for excluded in Set([-1, 0, n / 3, n - 1, n + 5]) {
            var sum = 0.0
            let got = withBuffers(a, b) { pa, _, po in
              sum = fused(pa, po, n, 0.75, 3, 0.125, excluded, stream)
              table.storeFence()
            }
            #expect(got == plain, "\(isa) two-pass gradient n=\(n) stream \(stream)")
            // Bitwise the same outputs and sum at every alignment of the output.
            expectEveryAlignment(
              table, n: n, expected: plain, sum: sum, "\(isa) n=\(n) stream \(stream)"
            ) { output in
              a.withUnsafeBufferPointer {
                fused($0.baseAddress!, output, n, 0.75, 3, 0.125, excluded, stream)
              }
            }
            let exact = ReferenceSoftmax.compensatedSum(
              plain.enumerated().filter { $0.offset != excluded }.map { Double($0.element) })
            let magnitude = plain.map { abs(Double($0)) }.reduce(0, +)
            #expect(abs(sum - exact) <= 256 * 0x1p-24 * magnitude, "\(isa) two-pass sum n=\(n)")
          }
        }
      }
      let offsetOnly = withBuffers(a, b) { pa, _, po in
        po.update(from: pa, count: n)
        k.subtractTargets(po, nil, n, 0.5, 0.25)
      }
      #expect(offsetOnly == a.map { $0 - 0.25 }, "\(isa) offset n=\(n)")
    }
  }

  /// The labelled row's output pass with its entry: every other output bitwise the formula's,
  /// streamed or not, at every alignment of the output (the same bits, the entry too), in
  /// place; the entry base − Σ of the others within the Float-lane bound of that sum, or base
  /// itself; nothing written outside the row. 4096 + 80: a second block of the sum.
  @Test("labelled gradient with its entry, at every alignment", arguments: KernelISA.allCases)
  func gradientEntry(isa: KernelISA) {
    guard let table = PassKernels.table(for: isa) else { return }
    let k = table.training
    for n in [1, 2, 15, 16, 17, 63, 64, 65, 100, 1000, 1024, 4096 + 80] {
      let e = randomInputs(count: n, distribution: .uniform, seed: UInt64(n) + 7).map { abs($0) }
      let formula = e.map { ($0 < 0.01 ? 0 : $0 * 0.75) - 0.125 }
      for entry in Set([0, 1, n / 2, n - 1, n, n + 3]) {
        for lessOthers in [true, false] {
          let others = formula.enumerated().filter { $0.offset != entry }.map { Double($0.element) }
          let exact = 2.5 - (lessOthers ? ReferenceSoftmax.compensatedSum(others) : 0)
          let bound = lessOthers ? 128 * 0x1p-24 * others.map(abs).reduce(0, +) : 0
          let reference = withBuffers(e, e) { pe, _, po in
            k.scaleGradientEntry(pe, po, n, 0.75, 0.01, 0.125, entry, 2.5, lessOthers, false)
          }
          let context = "\(isa) n=\(n) entry \(entry) lessOthers \(lessOthers)"
          for i in 0..<n where i != entry {
            #expect(reference[i] == formula[i], "\(context) i=\(i)")
          }
          if entry < n {
            #expect(
              abs(Double(reference[entry]) - exact) <= bound + abs(exact) * 0x1p-24,
              "\(context): \(reference[entry]) vs \(exact)")
          }
          for stream in [false, true] {
            expectEveryAlignment(table, n: n, expected: reference, sum: 0, "\(context) \(stream)") {
              output in
              e.withUnsafeBufferPointer {
                k.scaleGradientEntry(
                  $0.baseAddress!, output, n, 0.75, 0.01, 0.125, entry, 2.5, lessOthers, stream)
              }
              return 0
            }
          }
          let inPlace = withBuffers(e, e) { pe, _, po in
            po.update(from: pe, count: n)
            k.scaleGradientEntry(po, po, n, 0.75, 0.01, 0.125, entry, 2.5, lessOthers, false)
          }
          #expect(inPlace == reference, "\(context) in place")
        }
      }
    }
  }

  /// With dy = 0 and s = 1 the log-softmax backward writes −e^logY exactly (one rounding of a
  /// product by 1), which exposes the kernel's exponential: within 2.5 ulp of e^x (2 ulp of
  /// the correctly rounded value) over every normal result, or 0 below 2^-125, streamed or
  /// not.
  @Test("log backward's exponential over the Float range", arguments: KernelISA.allCases)
  func logBackwardExponential(isa: KernelISA) {
    guard let table = PassKernels.table(for: isa) else { return }
    let n = 20_001
    let logY = (0..<n).map { Float(-87.3 + 175.3 * Double($0) / Double(n - 1)) }
    let zeros = [Float](repeating: 0, count: n)
    for stream in [false, true] {
      let dx = withBuffers(logY, zeros) {
        table.training.logBackwardOutput($0, $1, $2, n, 1, stream)
        table.storeFence()
      }
      var worst = 0.0
      for i in 0..<n {
        let exact = exp(Double(logY[i]))
        // Below 2^-125 a set may flush to 0 (the AVX-512 one does), never give anything else.
        if exact < 0x1p-125 && dx[i] == 0 { continue }
        let ulps = abs(Double(-dx[i]) - exact) / Double(Float(exact).ulp)
        worst = max(worst, ulps)
      }
      #expect(worst <= 2.5, "\(isa) stream \(stream): \(worst) ulp")
    }
  }

  /// NaN of either sign, ±inf, and values whose exponential overflows or underflows, in each
  /// input of the backward outputs: each entry as IEEE arithmetic gives it (NaN where the
  /// formula is NaN, the same infinity, else within the finite bound), the Float kernels' with
  /// the exponential rounded to Float.
  @Test("backward outputs propagate special values", arguments: KernelISA.allCases)
  func specialValues(isa: KernelISA) {
    guard let table = PassKernels.table(for: isa) else { return }
    let k = table.training
    let specials: [Float] = [
      .nan, Float(bitPattern: 0xFFC0_0000), .infinity, -.infinity, 100, -200, 0, 89, -104,
    ]
    for n in [1, 9, 16, 17, 40, 1025] {
      var a = randomInputs(count: n, distribution: .standardNormal, scale: 3, seed: UInt64(n))
      var b = randomInputs(count: n, distribution: .standardNormal, seed: UInt64(n) + 1)
      // Specials in the first input at every third position, in the second at others.
      for i in stride(from: 0, to: n, by: 3) { a[i] = specials[(i / 3) % specials.count] }
      for i in stride(from: 1, to: n, by: 5) { b[i] = specials[(i / 5 + 2) % specials.count] }
      let s: Float = 0.375
      for stream in [false, true] {
        let backward = withBuffers(a, b) {
          k.backwardOutput($0, $1, $2, n, s, stream)
          table.storeFence()
        }
        let logBackward = withBuffers(a, b) {
          k.logBackwardOutput($0, $1, $2, n, s, stream)
          table.storeFence()
        }
        for i in 0..<n {
          let y = Double(a[i])
          let dy = Double(b[i])
          let exact = a[i] * (b[i] - s)
          let got = backward[i]
          #expect(
            got.isNaN ? exact.isNaN : got == exact,
            "\(isa) backward n=\(n) i=\(i): \(a[i]), \(b[i]) gave \(got), not \(exact)")
          // The exponential as a Float: e^89 overflows, as Float arithmetic has it.
          let exactLog = dy - Double(Float(exp(y))) * Double(s)
          let gotLog = Double(logBackward[i])
          let bound = 4e-7 * (abs(dy) + exp(y) * Double(s))
          let close =
            exactLog.isNaN || !Float(exactLog).isFinite
            ? (gotLog.isNaN ? exactLog.isNaN : gotLog == Double(Float(exactLog)))
            : abs(gotLog - exactLog) <= bound
          #expect(
            close,
            "\(isa) log backward n=\(n) i=\(i): \(a[i]), \(b[i]) gave \(gotLog), not \(exactLog)")
        }
      }
      let da = a.map(Double.init)
      let db = b.map(Double.init)
      let doubleLog = withBuffers(da, db) { k.doubleLogBackwardOutput($0, $1, $2, n, 0.375) }
      let doubleBackward = withBuffers(da, db) { k.doubleBackwardOutput($0, $1, $2, n, 0.375) }
      for i in 0..<n {
        let exact = db[i] - exp(da[i]) * 0.375
        #expect(
          exact.isNaN ? doubleLog[i].isNaN : doubleLog[i].isFinite == exact.isFinite,
          "\(isa) Double log backward n=\(n) i=\(i): \(da[i]), \(db[i]) gave \(doubleLog[i])")
        let product = da[i] * (db[i] - 0.375)
        #expect(
          product.isNaN ? doubleBackward[i].isNaN : doubleBackward[i] == product,
          "\(isa) Double backward n=\(n) i=\(i)")
      }
    }
  }

  @Test("Double: dot, sum, backward outputs", arguments: KernelISA.allCases)
  func double(isa: KernelISA) {
    guard let k = PassKernels.table(for: isa)?.training else { return }
    for n in Self.lengths {
      let a = randomInputs(count: n, distribution: .standardNormal, scale: 3, seed: UInt64(n)).map(
        Double.init)
      let b = randomInputs(count: n, distribution: .standardNormal, seed: UInt64(n) + 1).map(
        Double.init)
      var dot = 0.0
      var sum = 0.0
      _ = withBuffers(a, b) { pa, pb, _ in
        dot = k.doubleDot(pa, pb, n)
        sum = k.doubleSum(pa, n)
      }
      let magnitude = zip(a, b).map { abs($0 * $1) }.reduce(0, +)
      #expect(
        abs(dot - ReferenceSoftmax.compensatedSum(zip(a, b).map { $0 * $1 })) <= 1e-14 * magnitude
          + 1e-300)
      #expect(abs(sum - ReferenceSoftmax.compensatedSum(a)) <= 1e-14 * a.map(abs).reduce(0, +))
      let backward = withBuffers(a, b) { k.doubleBackwardOutput($0, $1, $2, n, 0.375) }
      #expect(backward == zip(a, b).map { $0 * ($1 - 0.375) }, "\(isa) n=\(n)")
      // Log-probabilities, and a few positive values, which take libm's exp.
      let logY = a.enumerated().map { $0.offset % 7 == 3 ? abs($0.element) : -abs($0.element) }
      let logBackward = withBuffers(logY, b) { k.doubleLogBackwardOutput($0, $1, $2, n, 0.375) }
      for i in 0..<n {
        let exact = b[i] - exp(logY[i]) * 0.375
        #expect(
          abs(logBackward[i] - exact) <= 1e-15 * (abs(b[i]) + exp(logY[i])),
          "\(isa) log n=\(n) i=\(i)")
      }
    }
  }
}
