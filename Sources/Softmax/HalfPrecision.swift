// Softmax and log-softmax of IEEE half-precision (Float16) rows: Float16 storage in and out,
// Float arithmetic, Double sums. Swift has no Float16 on macOS for Intel; there these entry
// points do not exist.
#if !(os(macOS) && arch(x86_64))
  internal import _SoftmaxX86

  /// Writes the softmax of Float16 values into `output`, computing in Float.
  ///
  /// ```swift
  /// let logits: [Float16] = [2, 1, 0.1]
  /// let probabilities = softmax(logits)  // ≈ [0.659, 0.2424, 0.0986] as Float16
  /// ```
  ///
  /// The values are converted to Float block by block (with F16C where the CPU has it),
  /// accumulated into a ``SoftmaxNormalizer``, then converted again, normalized and rounded to
  /// Float16 (to nearest, ties to even): two reads of the input and one write, no allocation,
  /// one thread. Every output is within 1 ulp of the correctly rounded exact softmax (tested for
  /// rows up to 2^20), including Float16 subnormal outputs. Special values as for the Float
  /// `softmax`; outputs too small for Float16 are 0.
  ///
  /// - Precondition: `input.count == output.count` and the buffers are identical or disjoint.
  public func softmax(
    _ input: UnsafeBufferPointer<Float16>, into output: UnsafeMutableBufferPointer<Float16>
  ) {
    halfPrecisionRow(input, output, logarithm: false, function: "softmax")
  }

  /// The softmax of Float16 values as a new array, computed in Float. See
  /// ``softmax(_:into:)-(UnsafeBufferPointer<Float16>,_)``.
  public func softmax(_ input: [Float16]) -> [Float16] {
    halfPrecisionArray(input) { softmax($0, into: $1) }
  }

  /// Writes the log-softmax of Float16 values into `output`, computing in Float: each output is
  /// x − log Σ e^x rounded once to Float16, within 1e-5 · max(1, |result|) plus that rounding
  /// (tested). Special values as for the Float `logSoftmax`.
  ///
  /// - Precondition: `input.count == output.count` and the buffers are identical or disjoint.
  public func logSoftmax(
    _ input: UnsafeBufferPointer<Float16>, into output: UnsafeMutableBufferPointer<Float16>
  ) {
    halfPrecisionRow(input, output, logarithm: true, function: "logSoftmax")
  }

  /// The log-softmax of Float16 values as a new array, computed in Float.
  public func logSoftmax(_ input: [Float16]) -> [Float16] {
    halfPrecisionArray(input) { logSoftmax($0, into: $1) }
  }

  private func halfPrecisionArray(
    _ input: [Float16],
    _ body: (UnsafeBufferPointer<Float16>, UnsafeMutableBufferPointer<Float16>) -> Void
  ) -> [Float16] {
    [Float16](unsafeUninitializedCapacity: input.count) { output, initialized in
      input.withUnsafeBufferPointer { body($0, output) }
      initialized = input.count
    }
  }

  /// 1024 Floats on the stack: the conversion buffer of a half-precision row.
  private struct Scratch {
    var storage = (
      SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(),
      SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(),
      SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(), SIMD64<Float>(),
      SIMD64<Float>()
    )
    static let capacity = 1024
  }

  private func halfPrecisionRow(
    _ input: UnsafeBufferPointer<Float16>, _ output: UnsafeMutableBufferPointer<Float16>,
    logarithm: Bool, function: String
  ) {
    checkBuffers(function, input, output)
    guard let x = input.baseAddress, let y = output.baseAddress, input.count > 0 else { return }
    var scratch = Scratch()
    withUnsafeMutableBytes(of: &scratch.storage) { raw in
      let buffer = raw.bindMemory(to: Float.self)
      let block = Scratch.capacity
      var total = SoftmaxNormalizer()
      for start in stride(from: 0, to: input.count, by: block) {
        let n = Swift.min(block, input.count - start)
        let floats = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
        HalfConversion.widen(x + start, into: floats)
        total.merge(SoftmaxNormalizer(accumulating: UnsafeBufferPointer(floats), threads: 1))
      }
      for start in stride(from: 0, to: input.count, by: block) {
        let n = Swift.min(block, input.count - start)
        let floats = UnsafeMutableBufferPointer(rebasing: buffer[0..<n])
        HalfConversion.widen(x + start, into: floats)
        if logarithm {
          total.logNormalize(UnsafeBufferPointer(floats), into: floats, threads: 1)
        } else {
          total.normalize(UnsafeBufferPointer(floats), into: floats, threads: 1)
        }
        HalfConversion.narrow(UnsafeBufferPointer(floats), into: y + start)
      }
    }
  }

  /// Float16 ↔ Float for whole blocks: F16C instructions where the CPU has them (a default
  /// x86-64 build would otherwise call a library routine per element), Swift elsewhere.
  enum HalfConversion {
    static let hasF16C: Bool = {
      #if arch(x86_64)
        softmax_x86_cpu_features() & UInt32(SOFTMAX_X86_F16C) != 0
      #else
        false
      #endif
    }()

    static func widen(_ x: UnsafePointer<Float16>, into y: UnsafeMutableBufferPointer<Float>) {
      #if arch(x86_64)
        if hasF16C {
          x.withMemoryRebound(to: UInt16.self, capacity: y.count) {
            softmax_f16_to_f32_f16c($0, y.baseAddress!, y.count)
          }
          return
        }
      #endif
      for i in 0..<y.count { y[i] = Float(x[i]) }
    }

    static func narrow(_ x: UnsafeBufferPointer<Float>, into y: UnsafeMutablePointer<Float16>) {
      #if arch(x86_64)
        if hasF16C {
          y.withMemoryRebound(to: UInt16.self, capacity: x.count) {
            softmax_f32_to_f16_f16c(x.baseAddress!, $0, x.count)
          }
          return
        }
      #endif
      for i in 0..<x.count { y[i] = Float16(x[i]) }
    }
  }
#endif
