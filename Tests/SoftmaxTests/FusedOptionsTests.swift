import Softmax
import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// Temperatures and keep/additive masks are applied inside pass 1, 4096-element block by block.
/// These rows span several blocks (and, below, several chunks and threads), with blocks that
/// are entirely −inf or entirely masked in the middle, on every kernel set and algorithm.
/// Each result is checked against the Double reference of the effective logits, which the test
/// computes itself, and (probabilities at T = 1) bit for bit against the library's softmax of
/// those logits.
@Suite("Temperatures and masks fused into pass 1")
struct FusedOptionsTests {
  static let length = 3 * 4096 + 7
  static let rows = 2
  static let block = 4096

  /// Row 0: normal logits with scattered −inf; row 1: the same with block 1 entirely −inf.
  static let x: [Float] = {
    var x = randomInputs(
      count: rows * length, distribution: .standardNormal, scale: 4, seed: 21)
    for i in stride(from: 5, to: x.count, by: 97) { x[i] = -.infinity }
    for i in (length + block)..<(length + 2 * block) { x[i] = -.infinity }
    return x
  }()

  /// One per element, about 10% dropped, and all of block 2 in both rows.
  static let keep: [Bool] = {
    var generator = SeededGenerator(seed: 22)
    return (0..<(rows * length)).map { i in
      (i % length) / block != 2 && Int.random(in: 0..<10, using: &generator) != 0
    }
  }()

  /// Shared by the rows: finite biases, about 10% −inf, and −inf over all of block 2.
  static let bias: [Float] = {
    var generator = SeededGenerator(seed: 23)
    return (0..<length).map { i in
      i / block == 2 || Int.random(in: 0..<10, using: &generator) == 0
        ? -.infinity : Float.random(in: -3...3, using: &generator)
    }
  }()

  /// A shaped call and the test's own definition of its effective logits.
  struct Case: CustomStringConvertible, Sendable {
    var description: String
    var mask: SoftmaxMask = .none
    var temperature: Float = 1
    var sink: Float? = nil
    var policy: FullyMaskedRows = .zeros
    /// Element i of row r: −inf where masked, x / T + bias otherwise.
    var effective: @Sendable (_ row: Int, _ i: Int, _ x: Float) -> Float

    /// The effective logits of every row, as the library's definition says.
    func logits(_ x: [Float], length: Int) -> [Float] {
      x.indices.map { effective($0 / length, $0 % length, x[$0]) }
    }
  }

  static let cases: [Case] = [
    Case(description: "T 0.7", temperature: 0.7) { _, _, x in x / 0.7 },
    Case(description: "T 1e-3, beyond the Two-Pass range", temperature: 1e-3) { _, _, x in
      x / 1e-3
    },
    Case(description: "keep", mask: .keep(keep)) { r, i, x in
      keep[r * length + i] ? x : -.infinity
    },
    Case(description: "keep, T 2.5", mask: .keep(keep), temperature: 2.5) { r, i, x in
      keep[r * length + i] ? x / 2.5 : -.infinity
    },
    Case(description: "additive", mask: .additive(bias)) { _, i, x in x + bias[i] },
    Case(description: "additive, T 0.5", mask: .additive(bias), temperature: 0.5) { _, i, x in
      x / 0.5 + bias[i]
    },
    Case(description: "keep, T 1.5, sink 1", mask: .keep(keep), temperature: 1.5, sink: 1) {
      r, i, x in keep[r * length + i] ? x / 1.5 : -.infinity
    },
    Case(description: "keep, NaN policy", mask: .keep(keep), policy: .nan) { r, i, x in
      keep[r * length + i] ? x : -.infinity
    },
    Case(
      description: "causal, T 0.7", mask: .causal(offset: length - 2), temperature: 0.7
    ) { r, i, x in i <= r + length - 2 ? x / 0.7 : -.infinity },
  ]

  /// `shapedSoftmax` on `isa`'s kernels, into a fresh array.
  static func run(
    _ x: [Float], shape: [Int], isa: KernelISA, algorithm: SoftmaxAlgorithm = .auto,
    logarithm: Bool = false, threads: Int? = 1, mask: SoftmaxMask = .none, sink: Float? = nil,
    policy: FullyMaskedRows = .zeros, temperature: Float = 1
  ) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { input in
      y.withUnsafeMutableBufferPointer { output in
        shapedSoftmax(
          input, shape: shape, into: output, algorithm: algorithm, logarithm: logarithm,
          threads: threads, mask: mask, sink: sink, fullyMaskedRows: policy,
          temperature: temperature, kernels: PassKernels.table(for: isa)!)
      }
    }
    return y
  }

  /// Whether the arrays hold the same bits (any NaN matching any NaN); a Bool, so that a
  /// failure does not print whole rows.
  static func identical(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count
      && zip(a, b).allSatisfy { $0.isNaN ? $1.isNaN : $0.bitPattern == $1.bitPattern }
  }

  /// Expects `y` to match the reference of `logits` row by row (with the sink's logit as one
  /// more entry of each denominator).
  static func expectReference(
    _ y: [Float], logits: [Float], length: Int, sink: Float?, logarithm: Bool, _ context: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    for row in 0..<(y.count / length) {
      let range = (row * length)..<((row + 1) * length)
      let values = Array(logits[range]) + (sink.map { [$0] } ?? [])
      var exact =
        logarithm ? ReferenceSoftmax.logSoftmax(values) : ReferenceSoftmax.softmax(values)
      if sink != nil { exact.removeLast() }
      if logarithm {
        let bad = zip(y[range], exact).first { value, exact in
          exact.isFinite
            ? abs(Double(value) - exact) > 1e-5 * max(1, abs(exact)) : value != Float(exact)
        }
        #expect(
          bad == nil, "\(context) row \(row): \(String(describing: bad))",
          sourceLocation: sourceLocation)
      } else {
        let report = compare(Array(y[range]), with: exact)
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty,
          "\(context) row \(row): \(report)", sourceLocation: sourceLocation)
      }
    }
  }

  // Against the reference and bit for bit against the softmax of the effective logits.
  @Test(
    "rows of many blocks: every algorithm with temperatures and each mask kind",
    optimizedRunOnly, arguments: KernelISA.allCases)
  func manyBlocks(isa: KernelISA) {
    guard supported(isa) else { return }
    let shape = [Self.rows, Self.length]
    for item in Self.cases {
      let logits = item.logits(Self.x, length: Self.length)
      let sinkLogit = item.sink.map { $0 / item.temperature }
      for logarithm in [false, true] {
        let algorithms = logarithm ? [SoftmaxAlgorithm.auto] : Array(SoftmaxAlgorithm.allCases)
        for algorithm in algorithms {
          let context = "\(isa) \(algorithm) \(item)\(logarithm ? " log" : "")"
          let y = Self.run(
            Self.x, shape: shape, isa: isa, algorithm: algorithm, logarithm: logarithm,
            mask: item.mask, sink: item.sink, policy: item.policy,
            temperature: item.temperature)
          Self.expectReference(
            y, logits: logits, length: Self.length, sink: sinkLogit, logarithm: logarithm,
            context)
          // Probabilities at T = 1 are what the extra pass computed before fusion: the softmax
          // of the effective logits, bit for bit (a causal mask still limits the row, so that
          // both runs see the same blocks). Temperatures and log-softmax subtract each chunk's
          // largest logit first (ShiftedRows.swift), more exact than those rounded logits: the
          // reference above checks them.
          guard item.temperature == 1 && !logarithm else { continue }
          var plainMask = SoftmaxMask.none
          if case .causal = item.mask { plainMask = item.mask }
          let plain = Self.run(
            logits, shape: shape, isa: isa, algorithm: algorithm, logarithm: logarithm,
            mask: plainMask, sink: sinkLogit, policy: item.policy)
          let matchesUnfused = Self.identical(y, plain)
          #expect(matchesUnfused, "\(context): differs from the unfused softmax")
        }
      }
    }
  }

  @Test(
    "NaN and +inf where kept or dropped, overflowing quotients, rows with nothing kept",
    arguments: KernelISA.allCases)
  func specialValues(isa: KernelISA) {
    guard supported(isa) else { return }
    let n = 2 * Self.block + 5
    let base = randomInputs(count: n, distribution: .standardNormal, scale: 3, seed: 24)
    var keep = [Bool](repeating: true, count: n)
    for i in stride(from: 3, to: n, by: 11) { keep[i] = false }
    for algorithm in SoftmaxAlgorithm.allCases {
      func check(
        _ x: [Float], _ context: String, temperature: Float = 1, expected: [Double]
      ) {
        let y = Self.run(
          x, shape: [1, n], isa: isa, algorithm: algorithm, mask: .keep(keep),
          temperature: temperature)
        let report = compare(y, with: expected)
        #expect(
          report.maxRelativeError <= 1e-5 && report.violations.isEmpty,
          "\(isa) \(algorithm) \(context): \(report)")
      }
      func effective(_ x: [Float], _ t: Float) -> [Float] {
        x.indices.map { keep[$0] ? x[$0] / t : -.infinity }
      }
      // keep[i] is false for i = 3, 14, 25, … (3 + 11k).
      // A NaN where the mask drops it does not count; where it keeps it, everything is NaN.
      var x = base
      x[3] = .nan
      x[4095] = .nan
      check(x, "NaN dropped", expected: ReferenceSoftmax.softmax(effective(x, 1)))
      x[4101] = .nan
      check(x, "NaN kept", expected: [Double](repeating: .nan, count: n))
      // +inf kept takes the mass, +inf dropped is ignored; a quotient beyond Float (3e38 / 0.5)
      // is still finite, so it gets 0 beside the +inf, as the exact quotients give.
      x = base
      x[14] = .infinity
      x[5000] = .infinity
      x[8001] = 3e38
      var onlyInfinity = [Double](repeating: 0, count: n)
      onlyInfinity[5000] = 1
      check(x, "+inf and overflow", temperature: 0.5, expected: onlyInfinity)
      // Nothing kept: only −inf outside block 1, which the mask drops entirely.
      x = [Float](repeating: -.infinity, count: n)
      var dropBlock = [Bool](repeating: true, count: n)
      for i in Self.block..<(2 * Self.block) {
        x[i] = Float(i % 13)
        dropBlock[i] = false
      }
      for logarithm in [false, true] {
        for policy in [FullyMaskedRows.zeros, .nan] {
          let empty: Float = policy == .nan ? .nan : (logarithm ? -.infinity : 0)
          let y = Self.run(
            x, shape: [1, n], isa: isa, algorithm: algorithm, logarithm: logarithm,
            mask: .keep(dropBlock), policy: policy, temperature: 2)
          let allEmpty = Self.identical(y, [Float](repeating: empty, count: n))
          #expect(
            allEmpty,
            "\(isa) \(algorithm) nothing kept, \(policy)\(logarithm ? " log" : "")")
          // A finite sink takes all the mass, whatever the policy.
          let withSink = Self.run(
            x, shape: [1, n], isa: isa, algorithm: algorithm, logarithm: logarithm,
            mask: .keep(dropBlock), sink: 0, policy: policy, temperature: 2)
          let zero: Float = logarithm ? -.infinity : 0
          let allZero = Self.identical(withSink, [Float](repeating: zero, count: n))
          #expect(
            allZero,
            "\(isa) \(algorithm) nothing kept, a sink, \(policy)\(logarithm ? " log" : "")")
        }
      }
    }
  }

  @Test(
    "a row over several chunks: one and two threads give identical bits, and the reference",
    optimizedRunOnly, arguments: KernelISA.allCases)
  func chunksAndThreads(isa: KernelISA) {
    guard supported(isa) else { return }
    // Chunks are 65536 elements (RowChunks): two full ones and a short third.
    let n = 2 * RowChunks.minimumLength + 3 * Self.block + 7
    #expect(RowChunks(rowLength: n).count == 3)
    var x = randomInputs(count: n, distribution: .standardNormal, scale: 5, seed: 25)
    // A whole block of −inf in the middle of chunk 1.
    for i in (RowChunks.minimumLength + Self.block)..<(RowChunks.minimumLength + 2 * Self.block) {
      x[i] = -.infinity
    }
    var generator = SeededGenerator(seed: 26)
    let keep = (0..<n).map { _ in Int.random(in: 0..<10, using: &generator) != 0 }
    let bias = (0..<n).map { i -> Float in
      keep[i] ? Float.random(in: -2...2, using: &generator) : -.infinity
    }
    let options: [(String, SoftmaxMask, Float, [Float])] = [
      ("keep, T 0.8", .keep(keep), 0.8, x.indices.map { keep[$0] ? x[$0] / 0.8 : -.infinity }),
      ("additive", .additive(bias), 1, x.indices.map { x[$0] + bias[$0] }),
    ]
    for (name, mask, temperature, logits) in options {
      for algorithm in SoftmaxAlgorithm.allCases {
        let context = "\(isa) \(algorithm) \(name)"
        let one = Self.run(
          x, shape: [1, n], isa: isa, algorithm: algorithm, threads: 1, mask: mask,
          temperature: temperature)
        let two = Self.run(
          x, shape: [1, n], isa: isa, algorithm: algorithm, threads: 2, mask: mask,
          temperature: temperature)
        let sameBits = Self.identical(one, two)
        #expect(sameBits, "\(context): threads 1 and 2 differ")
        Self.expectReference(
          one, logits: logits, length: n, sink: nil, logarithm: false, context)
      }
    }
  }
}
