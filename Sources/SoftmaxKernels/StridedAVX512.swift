#if arch(x86_64)
  internal import _SoftmaxCKernels

  /// `stridedSoftmax_simd16` with its three passes in C on AVX-512 (x86/avx512_strided.c):
  /// the same numerics (Float blocks of `columnSumBlockLength` steps added in Double, the
  /// log-softmax as ((x − max) − high) − low, the contract for lanes whose maximum is not
  /// finite or whose sum is NaN), the AVX-512 exponential. The portable kernel, compiled for
  /// SSE2 in a default build, took 1.6-2.1 ns/element (BENCHMARKS.md, "Inner axes").
  package func stridedSoftmax_avx512(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, length: Int, stride: Int,
    width: Int, output: RowOutput
  ) {
    var maximum = FloatVector()
    withUnsafeMutableBytes(of: &maximum) {
      softmax_strided_max_avx512_u16(
        x, length, stride, width, $0.baseAddress!.assumingMemoryBound(to: Float.self))
    }
    let finite = (maximum .> -.infinity) .& (maximum .< .infinity)
    var shift = maximum.replacing(with: 0, where: .!finite)
    var total = SIMD16<Double>()
    withUnsafeBytes(of: &shift) { s in
      withUnsafeMutableBytes(of: &total) { t in
        softmax_strided_sumexp_avx512_u16(
          x, length, stride, width, s.baseAddress!.assumingMemoryBound(to: Float.self),
          columnSumBlockLength, t.baseAddress!.assumingMemoryBound(to: Double.self))
      }
    }
    let sum = FloatVector(lowHalf: SIMD8(total.lowHalf), highHalf: SIMD8(total.highHalf))
    let special = .!finite .| (sum .!= sum)
    var bits: UInt32 = 0
    for lane in 0..<16 where special[lane] { bits |= 1 << lane }
    var scale = 1 / sum
    var threshold = 0x1p-125 / scale
    var (high, low) = (FloatVector(), FloatVector())
    let log = output == .logProbabilities
    if log { (high, low) = logPairOfPositive(total) }
    withUnsafeBytes(of: &shift) { s in
      withUnsafeBytes(of: &scale) { k in
        withUnsafeBytes(of: &threshold) { t in
          withUnsafeBytes(of: &high) { h in
            withUnsafeBytes(of: &low) { l in
              softmax_strided_output_avx512_u16(
                x, y, length, stride, width, s.baseAddress!.assumingMemoryBound(to: Float.self),
                k.baseAddress!.assumingMemoryBound(to: Float.self),
                t.baseAddress!.assumingMemoryBound(to: Float.self),
                h.baseAddress!.assumingMemoryBound(to: Float.self),
                l.baseAddress!.assumingMemoryBound(to: Float.self), log ? 1 : 0, bits)
            }
          }
        }
      }
    }
    for lane in 0..<width where special[lane] {
      SpecialValues.apply(x + lane, y + lane, count: length, stride: stride, output: output)
    }
  }
#endif
