import SoftmaxKernels
import Testing
import _SoftmaxTestSupport

/// The effective-logits kernel of every kernel set against its scalar definition, bit for bit:
/// the Double difference, product and sum and the final rounding are each correctly rounded in
/// IEEE arithmetic (with no fused multiply-add), so vector lanes must give exactly the scalar
/// value. How close that value is to the exact quotient is the softmax tests' business
/// (`TemperatureTests`).
@Suite("Effective logits (temperature and masks) of every kernel set")
struct LogitKernelTests {
  static let lengths = Array(0...70) + [127, 4095, 4097]

  /// Logits with NaN, ±inf, huge and tiny values mixed into normal ones.
  static func logits(count: Int, seed: UInt64) -> [Float] {
    var x = randomInputs(count: count, distribution: .standardNormal, scale: 8, seed: seed)
    let specials: [Float] = [.nan, .infinity, -.infinity, 3e38, -3e38, 0x1p-133, 0, -0.0]
    for i in stride(from: Int(seed % 5), to: count, by: 7) { x[i] = specials[i % specials.count] }
    return x
  }

  /// The definition: (x − shift) · (1 / divisor) + (bias − offset) in Double, rounded once
  /// (divisor 1, shift and offset 0: x + bias in Float), −inf where keep is false.
  static func expected(
    _ x: [Float], divisor: Float, shift: Float, offset: Float, keep: [Bool]?, bias: [Float]?
  ) -> [Float] {
    x.indices.map { i in
      var v: Float
      if divisor == 1 && shift == 0 && offset == 0 {
        v = x[i]
        if let bias { v += bias[i] }
      } else {
        let quotient = (Double(x[i]) - Double(shift)) * (1 / Double(divisor))
        let b = bias.map { Double($0[i]) } ?? 0
        v = Float(bias == nil ? quotient - Double(offset) : quotient + (b - Double(offset)))
      }
      if let keep, !keep[i] { v = -.infinity }
      return v
    }
  }

  static func identical(_ a: Float, _ b: Float) -> Bool {
    a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern
  }

  @Test(
    "(x − s) / T + bias, or −inf where dropped, bit for bit, any length and alignment, in place",
    arguments: KernelISA.allCases)
  func againstDefinition(isa: KernelISA) {
    guard let kernels = PassKernels.table(for: isa) else { return }
    for count in Self.lengths {
      let x = Self.logits(count: count, seed: UInt64(count))
      var generator = SeededGenerator(seed: UInt64(count) + 100)
      let keep = (0..<count).map { _ in Int.random(in: 0..<10, using: &generator) != 0 }
      let bias = (0..<count).map { i -> Float in
        i % 6 == 0 ? -.infinity : Float.random(in: -5...5, using: &generator)
      }
      let settings: [(divisor: Float, shift: Float, offset: Float)] = [
        (1, 0, 0), (0.7, 0, 0), (3, 0, 0), (1e-3, 0, 0), (1e-30, 0, 0), (7e30, 0, 0),
        (.leastNonzeroMagnitude, 0, 0), (0.01, 14.5, 0), (1, -3, 0), (2e-38, 3e38, 0),
        (1, 0, 2.5), (0.5, 1, -1e30),
      ]
      for (divisor, shift, subtracted) in settings {
        for (keepMask, biasMask) in [(nil, nil), (keep, nil), (nil, bias)] as [([Bool]?, [Float]?)]
        {
          let expected = Self.expected(
            x, divisor: divisor, shift: shift, offset: subtracted, keep: keepMask, bias: biasMask)
          for inPlace in [false, true] {
            let offset = (count + divisor.exponent) & 15
            let buffer = UnsafeMutablePointer<Float>.allocate(capacity: 2 * count + 40)
            defer { buffer.deallocate() }
            buffer.initialize(repeating: 42, count: 2 * count + 40)
            let input = buffer + offset
            input.update(from: x, count: count)
            let output = inPlace ? input : buffer + count + 20 + (offset + 3) % 16
            keepMask.withOptionalBuffer { k in
              biasMask.withOptionalBuffer { b in
                kernels.effectiveLogits(input, output, count, divisor, shift, subtracted, k, b)
              }
            }
            let context =
              "\(isa) n=\(count) T=\(divisor) s=\(shift) o=\(subtracted) keep=\(keepMask != nil) "
            let mismatch = (0..<count).first { !Self.identical(output[$0], expected[$0]) }
            #expect(
              mismatch == nil,
              "\(context)bias=\(biasMask != nil) in place=\(inPlace) at \(mismatch ?? -1)")
            // Nothing written outside the row.
            #expect(
              output[count] == 42 && (output == buffer || output[-1] == 42),
              "\(context) wrote out of bounds")
          }
        }
      }
    }
  }
}

extension Optional {
  /// The pointer to the array's elements, or nil.
  fileprivate func withOptionalBuffer<Element, R>(
    _ body: (UnsafePointer<Element>?) -> R
  ) -> R where Wrapped == [Element] {
    switch self {
    case .some(let array): array.withUnsafeBufferPointer { body($0.baseAddress) }
    case .none: body(nil)
    }
  }
}
