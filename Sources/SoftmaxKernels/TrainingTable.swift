#if arch(x86_64)
  internal import _SoftmaxCKernels
#endif

/// The kernels of the training operations (backward passes, cross-entropy), one slot per pass,
/// in every kernel table: Float slots, and Double slots that every set fills with the
/// portable `SIMD8<Double>` kernels. The AVX-512 set has its own Float kernels; the AVX2 set
/// has C kernels for the backward passes and the gradient's output pass (the portable ones,
/// built for baseline x86-64, left the log-softmax backward at 2.2-3.6 times the AVX2 softmax
/// and the cross-entropy at 1.4-1.8 times) and the portable ones for the rest.
package struct TrainingRowKernels: Sendable {
  /// Σ a · b in Double lanes: (a, b, count).
  package let dot: @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Double
  /// Σ a in Double lanes: (a, count).
  package let sum: @Sendable (UnsafePointer<Float>, Int) -> Double
  /// Σ a over at most 4096 elements in Float lanes, added in Double: (a, count).
  package let blockSum: @Sendable (UnsafePointer<Float>, Int) -> Double
  /// dx = y · (dy − s), non-temporal stores when the set has them and `stream`:
  /// (y, dy, dx, count, s, stream).
  package let backwardOutput:
    @Sendable (
      UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Bool
    ) -> Void
  /// dx = dy − e^logY · s: (logY, dy, dx, count, s, stream).
  package let logBackwardOutput:
    @Sendable (
      UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Bool
    ) -> Void
  /// One step of the pipelined softmax backward over rows of equal length: row a's output
  /// pass and row b's dot product in one loop, returning the dot (bitwise as `dot`):
  /// (ya, dya, dxa, sa, yb, dyb, count, stream). nil where a set has no such kernel.
  package let backwardStep:
    (
      @Sendable (
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Float,
        UnsafePointer<Float>, UnsafePointer<Float>, Int, Bool
      ) -> Double
    )?
  /// The same for the log-softmax backward: row a's output and Σ dy of row b (bitwise as
  /// `sum`): (logYa, dya, dxa, sa, dyb, count, stream). nil where a set has none.
  package let logBackwardStep:
    (
      @Sendable (
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Float,
        UnsafePointer<Float>, Int, Bool
      ) -> Double
    )?
  /// y = (e < threshold ? 0 : e · scale) − offset from stored exponentials e (which may be y;
  /// streamed into another buffer when asked, the caller fences), returning Σ y but the entry
  /// `excluded` (Float lanes per 4096-element block, the same sum whatever y's alignment):
  /// (e, y, count, scale, threshold, offset, excluded, stream).
  package let scaleGradient:
    @Sendable (
      UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Int, Bool
    ) -> Double
  /// The output pass of a labelled row of one chunk: y = (e < threshold ? 0 : e · scale) −
  /// offset from stored exponentials e (which may be y), and y[entry] = base, less Σ of the
  /// other entries written when `lessOthers` (Float lanes per 4096 elements on the element
  /// grid, added in Double: the same bits wherever y lies), rounded once; streamed into
  /// another buffer when asked (the caller fences): (e, y, count, scale, threshold, offset,
  /// entry, base, lessOthers, stream).
  package let scaleGradientEntry:
    @Sendable (
      UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Int, Double,
      Bool, Bool
    ) -> Void
  /// The output pass of a cross-entropy gradient after Two-Pass's pass 1, fused: y = the
  /// scaled softmax − offset, streamed when asked (the caller fences), returning Σ y but the
  /// entry `excluded`: (x, y, count, inverseMantissa, exponentBias, offset, excluded, stream).
  /// nil where a set has none (the gradient then goes block by block).
  package let twoPassGradient:
    (
      @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Int, Bool
      ) -> Double
    )?
  /// y −= offset + weight · t, t optional: (y, t, count, weight, offset).
  package let subtractTargets:
    @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>?, Int, Float, Float) -> Void
  /// The Double passes.
  package let doubleDot: @Sendable (UnsafePointer<Double>, UnsafePointer<Double>, Int) -> Double
  package let doubleSum: @Sendable (UnsafePointer<Double>, Int) -> Double
  package let doubleBackwardOutput:
    @Sendable (
      UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int, Double
    ) -> Void
  package let doubleLogBackwardOutput:
    @Sendable (
      UnsafePointer<Double>, UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int, Double
    ) -> Void

  init(
    dot: @escaping @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, Int) -> Double = {
      dot_simd16($0, $1, count: $2)
    },
    sum: @escaping @Sendable (UnsafePointer<Float>, Int) -> Double = { sum_simd16($0, count: $1) },
    blockSum: @escaping @Sendable (UnsafePointer<Float>, Int) -> Double = {
      blockSum_simd16($0, count: $1)
    },
    backwardOutput:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Bool
      ) -> Void = { y, dy, dx, n, s, _ in
        softmaxBackwardOutput_simd16(y, dy, dx, count: n, dot: s)
      },
    logBackwardOutput:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Bool
      ) -> Void = { y, dy, dx, n, s, _ in
        logSoftmaxBackwardOutput_simd16(y, dy, dx, count: n, sum: s)
      },
    scaleGradient:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Int, Bool
      ) -> Double = { e, y, n, scale, threshold, offset, excluded, _ in
        scaleGradient_simd16(
          e, y, count: n, scale: scale, threshold: threshold, offset: offset, excluded: excluded)
      },
    scaleGradientEntry:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Int, Double,
        Bool, Bool
      ) -> Void = { e, y, n, scale, threshold, offset, entry, base, lessOthers, _ in
        scaleGradientEntry_simd16(
          e, y, count: n, scale: scale, threshold: threshold, offset: offset, entry: entry,
          base: base, lessOthers: lessOthers)
      },
    subtractTargets:
      @escaping @Sendable (UnsafeMutablePointer<Float>, UnsafePointer<Float>?, Int, Float, Float)
      -> Void = { subtractTargets_simd16($0, $1, count: $2, weight: $3, offset: $4) },
    backwardStep:
      (
        @Sendable (
          UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Float,
          UnsafePointer<Float>, UnsafePointer<Float>, Int, Bool
        ) -> Double
      )? = nil,
    logBackwardStep:
      (
        @Sendable (
          UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Float,
          UnsafePointer<Float>, Int, Bool
        ) -> Double
      )? = nil,
    twoPassGradient:
      (
        @Sendable (
          UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Int, Bool
        ) -> Double
      )? = nil
  ) {
    self.dot = dot
    self.sum = sum
    self.blockSum = blockSum
    self.backwardOutput = backwardOutput
    self.logBackwardOutput = logBackwardOutput
    self.scaleGradient = scaleGradient
    self.scaleGradientEntry = scaleGradientEntry
    self.subtractTargets = subtractTargets
    self.backwardStep = backwardStep
    self.logBackwardStep = logBackwardStep
    self.twoPassGradient = twoPassGradient
    doubleDot = { dotDouble_simd8($0, $1, count: $2) }
    doubleSum = { sumDouble_simd8($0, count: $1) }
    doubleBackwardOutput = { softmaxBackwardOutputDouble_simd8($0, $1, $2, count: $3, dot: $4) }
    doubleLogBackwardOutput = {
      logSoftmaxBackwardOutputDouble_simd8($0, $1, $2, count: $3, sum: $4)
    }
  }

  /// The portable Swift kernels.
  package static let portable = TrainingRowKernels()

  #if arch(x86_64)
    /// The AVX-512 C kernels (x86/avx512_training_kernels.c) for the Float slots.
    static let avx512 = TrainingRowKernels(
      dot: { softmax_dot_avx512_u32_acc4($0, $1, $2) },
      sum: { softmax_sum_avx512_u32_acc4($0, $1) },
      blockSum: { softmax_block_sum_avx512_u64_acc4($0, $1) },
      backwardOutput: { softmax_backward_output_avx512_u32($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      logBackwardOutput: {
        softmax_log_backward_output_avx512_u32($0, $1, $2, $3, $4, $5 ? 1 : 0)
      },
      scaleGradient: {
        softmax_scale_gradient_avx512_u32(
          $0, $1, $2, $3, $4, $5, $6 < 0 ? Int.max : $6, $7 ? 1 : 0)
      },
      scaleGradientEntry: {
        softmax_scale_gradient_entry_avx512_u64(
          $0, $1, $2, $3, $4, $5, $6, $7, $8 ? 1 : 0, $9 ? 1 : 0)
      },
      subtractTargets: { softmax_subtract_targets_avx512_u16($0, $1, $2, $3, $4) },
      backwardStep: {
        softmax_backward_step_avx512_u16($0, $1, $2, $3, $4, $5, $6, $7 ? 1 : 0)
      },
      logBackwardStep: {
        softmax_log_backward_step_avx512_u16($0, $1, $2, $3, $4, $5, $6 ? 1 : 0)
      },
      twoPassGradient: {
        softmax_twopass_gradient_avx512_u32(
          $0, $1, $2, $3, $4, $5, $6 < 0 ? Int.max : $6, $7 ? 1 : 0)
      })

    /// The AVX2 C kernels (x86/avx2_training_kernels.c) for the backward passes' sums and
    /// outputs and the cross-entropy gradient's output pass (the portable kernel's bits, with
    /// streaming stores); the other slots keep the portable kernels.
    static let avx2 = TrainingRowKernels(
      dot: { softmax_dot_avx2_u32_acc4($0, $1, $2) },
      sum: { softmax_sum_avx2_u32_acc4($0, $1) },
      backwardOutput: { softmax_backward_output_avx2_u32($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      logBackwardOutput: {
        softmax_log_backward_output_avx2_u32($0, $1, $2, $3, $4, $5 ? 1 : 0)
      },
      scaleGradient: {
        softmax_scale_gradient_avx2_u16(
          $0, $1, $2, $3, $4, $5, $6 < 0 ? Int.max : $6, $7 ? 1 : 0)
      },
      scaleGradientEntry: {
        softmax_scale_gradient_entry_avx2_u16(
          $0, $1, $2, $3, $4, $5, $6 < 0 ? Int.max : $6, $7, $8 ? 1 : 0, $9 ? 1 : 0)
      })
  #endif
}
