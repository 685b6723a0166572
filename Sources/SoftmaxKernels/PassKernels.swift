#if arch(x86_64) || arch(arm64)
  internal import _SoftmaxCKernels
#endif

/// The instruction sets that pass kernels are written for.
package enum KernelISA: String, Sendable, CaseIterable, Comparable {
  /// Swift SIMD16<Float> code, compiled for whatever the build targets (SSE2 on a default
  /// x86-64 build, NEON on arm64).
  case portable
  /// C kernels compiled for AVX2 and FMA by a target attribute (x86-64 only).
  case avx2
  /// C kernels compiled for AVX-512 F/DQ/VL by a target attribute (x86-64 only).
  case avx512
  #if arch(arm64)
    /// NEON C kernels (arm64 only, where NEON is baseline; `NEONKernelTable.swift`). Declared
    /// on arm64 alone, so that x86-64 builds and their tests see the same cases as before.
    case neon
  #endif

  package static func < (a: KernelISA, b: KernelISA) -> Bool {
    allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
  }
}

/// A kernel set's Three-Pass reload of one short row (`PassKernels.reloadRow`).
package typealias ReloadRowKernel =
  @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int32) -> Int32

/// A kernel set's first two passes of Three-Pass reload in one call (`PassKernels.reloadSum`):
/// (x, exponentials, count, maximum, spread) → Σ.
package typealias ReloadSumKernel =
  @convention(c) (
    UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, UnsafeMutablePointer<Float>?,
    UnsafeMutablePointer<Float>?
  ) -> Double

/// One implementation of every pass kernel, all for the same instruction set: the table that
/// the algorithms run on. Tables differ only in speed; each keeps the same contract (no
/// subnormal results, NaN inputs visible in the sums, tails and misalignment handled).
///
/// A class, so that the row plans and options that carry a table copy one reference: as a
/// struct of twelve closures, every copy retained and released each closure context, which
/// cost as much per row of 1024 elements as a fifth of the softmax itself.
package final class PassKernels: Sendable {
  package let isa: KernelISA
  /// What the table is, for logs and benchmark headers.
  package let description: String
  /// Largest element (−inf for none). A NaN element may or may not be reported.
  package let max: @Sendable (UnsafePointer<Float>, Int) -> Float
  /// Pass 1 of Two-Pass; a NaN input makes the mantissa NaN.
  package let twoPassSum: @Sendable (UnsafePointer<Float>, Int) -> ScaledExpSum
  /// Pass 2 of Two-Pass: (x, y, count, inverseMantissa, exponentBias, streamingStores).
  package let twoPassOutput:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Bool) -> Void
  /// Σ e^(x − shift): (x, count, shift).
  package let sumExp: @Sendable (UnsafePointer<Float>, Int, Float) -> Double
  /// Σ e^(x − shift), storing each term into y: (x, y, count, shift).
  package let sumAndStoreExp:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float) -> Double
  /// y = e^(x − shift) · scale, 0 below threshold: (x, y, count, shift, scale, threshold, stream).
  package let expScaledOutput:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Bool)
      -> Void
  /// y = e · scale, 0 where e is below threshold, from stored exponentials e (which may be y
  /// itself; streaming stores only into another buffer): (e, y, count, scale, threshold,
  /// stream).
  package let scale:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Bool) -> Void
  /// Three-Pass reload of a row of at most one chunk in one C call (`max`, `sumAndStoreExp`,
  /// `scale`; the same bits as calling them in turn): (x, y, count, stream) → 0, having written
  /// nothing, when the row's maximum is not finite. Nil where the set has no C kernels.
  package let reloadRow: ReloadRowKernel?
  /// `max` and then `sumAndStoreExp` in one C call, the same bits, that also gives the row's
  /// spread, minimum − maximum, for `flushThreshold(inverseSum:spread:)`: (x, e, count,
  /// maximum, spread) → Σ, and nothing written but the maximum and spread when the maximum is
  /// not finite. A spread inside the exp's underflow cut lets the sum skip its flush. Nil
  /// where the set has no such kernel.
  package let reloadSum: ReloadSumKernel?
  /// Pass 1 of the online softmax: the maximum and Σ e^(x − maximum) in one read; a NaN input
  /// makes the sum NaN, an all −inf (or empty) row gives (−inf, 0).
  package let onlineSum: @Sendable (UnsafePointer<Float>, Int) -> OnlineSum
  /// The effective logits of a masked, tempered row: y = (x − shift) / divisor + (bias −
  /// offset), −inf where keep is false, nil masks skipped; with a divisor, shift or offset
  /// computed in Double and rounded once (`effectiveLogits_simd16`), bitwise the same in every
  /// set; y may be x: (x, y, count, divisor, shift, offset, keep, bias).
  package let effectiveLogits:
    @Sendable (
      UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float,
      UnsafePointer<Bool>?, UnsafePointer<Float>?
    ) -> Void
  /// The output pass of log-softmax: y = ((x − shift) − high) − low, where log Σ e^x =
  /// shift + high + low: (x, y, count, shift, high, low, stream), the bits of
  /// `logSoftmaxOutput_simd16` in every set. The x86 sets stream when asked (not fenced).
  package let logSoftmaxOutput:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Bool)
      -> Void
  /// Softmax or log-softmax of up to 16 adjacent columns of an inner axis:
  /// (x, y, length, stride, width, output).
  package let strided:
    @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, Int, RowOutput) -> Void
  /// The Double rows' kernels.
  package let double: DoubleRowKernels
  /// The training operations' kernels.
  package let training: TrainingRowKernels
  /// Token selection's kernels (sampling).
  package let selection: SelectionKernels
  /// Whether the table has non-temporal stores (the `stream` arguments are ignored otherwise).
  package let hasStreamingStores: Bool
  /// Orders the streaming stores made on this thread before its later stores. The kernels do
  /// not fence, so that a pass over many chunks fences once: call it after streaming and
  /// before another thread may read the output (`RowPlan.perform` does).
  package let storeFence: @Sendable () -> Void

  init(
    isa: KernelISA, description: String,
    max: @escaping @Sendable (UnsafePointer<Float>, Int) -> Float,
    twoPassSum: @escaping @Sendable (UnsafePointer<Float>, Int) -> ScaledExpSum,
    twoPassOutput:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Bool
      ) -> Void,
    sumExp: @escaping @Sendable (UnsafePointer<Float>, Int, Float) -> Double,
    sumAndStoreExp:
      @escaping @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float) -> Double,
    expScaledOutput:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Bool
      ) -> Void,
    scale:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Bool
      ) -> Void,
    reloadRow: ReloadRowKernel? = nil,
    reloadSum: ReloadSumKernel? = nil,
    onlineSum: @escaping @Sendable (UnsafePointer<Float>, Int) -> OnlineSum,
    effectiveLogits:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float,
        UnsafePointer<Bool>?,
        UnsafePointer<Float>?
      ) -> Void,
    logSoftmaxOutput:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Float, Float, Float, Bool
      ) -> Void = { x, y, n, shift, high, low, _ in
        logSoftmaxOutput_simd16(x, y, count: n, shift: shift, high: high, low: low)
      },
    strided:
      @escaping @Sendable (
        UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int, Int, RowOutput
      ) -> Void = {
        stridedSoftmax_simd16($0, $1, length: $2, stride: $3, width: $4, output: $5)
      },
    double: DoubleRowKernels = .portable,
    training: TrainingRowKernels = .portable,
    selection: SelectionKernels = .portable,
    hasStreamingStores: Bool,
    storeFence: @escaping @Sendable () -> Void = {}
  ) {
    self.isa = isa
    self.description = description
    self.max = max
    self.twoPassSum = twoPassSum
    self.twoPassOutput = twoPassOutput
    self.sumExp = sumExp
    self.sumAndStoreExp = sumAndStoreExp
    self.expScaledOutput = expScaledOutput
    self.scale = scale
    self.reloadRow = reloadRow
    self.reloadSum = reloadSum
    self.onlineSum = onlineSum
    self.effectiveLogits = effectiveLogits
    self.logSoftmaxOutput = logSoftmaxOutput
    self.strided = strided
    self.double = double
    self.training = training
    self.selection = selection
    self.hasStreamingStores = hasStreamingStores
    self.storeFence = storeFence
  }
}

/// The kernels of Double rows (Three-Pass reload in Double, with compensated block sums),
/// one slot per pass, in every kernel table. Every set runs the portable `SIMD8<Double>`
/// kernels today; a set with its own Double kernels fills these slots and every Double test
/// runs on it.
package struct DoubleRowKernels: Sendable {
  /// Largest element (−inf for none); a NaN may or may not be reported.
  package let max: @Sendable (UnsafePointer<Double>, Int) -> Double
  /// Σ e^(x − shift) in compensated blocks, storing each term into y unless it is nil:
  /// (x, y, count, shift).
  package let sumExp:
    @Sendable (UnsafePointer<Double>, UnsafeMutablePointer<Double>?, Int, Double) ->
      CompensatedSum<Double>
  /// y *= scale in place, 0 below threshold: (y, count, scale, threshold).
  package let scale: @Sendable (UnsafeMutablePointer<Double>, Int, Double, Double) -> Void
  /// y = (x − shift) − logSum, or its exponential: (x, y, count, shift, logSum, output).
  package let normalizedOutput:
    @Sendable (
      UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int, Double, Double, RowOutput
    ) -> Void
  /// Up to 8 adjacent columns of an inner axis: (x, y, length, stride, width, output).
  package let strided:
    @Sendable (UnsafePointer<Double>, UnsafeMutablePointer<Double>, Int, Int, Int, RowOutput)
      -> Void

  /// The portable Swift `SIMD8<Double>` kernels.
  package static let portable = DoubleRowKernels(
    max: { maxDouble_simd8($0, count: $1) },
    sumExp: { blockedExpSum($0, $1, count: $2, shift: $3) },
    scale: { scaleDouble_simd8($0, count: $1, scale: $2, threshold: $3) },
    normalizedOutput: {
      normalizedOutputDouble_simd8($0, $1, count: $2, shift: $3, logSum: $4, output: $5)
    },
    strided: {
      stridedSoftmaxDouble_simd8($0, $1, length: $2, stride: $3, width: $4, output: $5)
    })
}

extension PassKernels {
  /// The portable Swift SIMD kernels, available everywhere.
  package static let portable = PassKernels(
    isa: .portable,
    description: "portable Swift SIMD16<Float> (\(compiledArchitecture))",
    max: { max_simd16_acc4($0, count: $1) },
    twoPassSum: { twoPassSum_simd16_acc2($0, count: $1) },
    twoPassOutput: { x, y, n, mi, bias, _ in
      twoPassOutput_simd16(x, y, count: n, inverseMantissa: mi, exponentBias: bias)
    },
    sumExp: { sumExp_simd16_acc2($0, count: $1, shift: $2) },
    sumAndStoreExp: { sumAndStoreExp_simd16_acc2($0, $1, count: $2, shift: $3) },
    expScaledOutput: { x, y, n, shift, scale, threshold, _ in
      expScaledOutput_simd16(x, y, count: n, shift: shift, scale: scale, threshold: threshold)
    },
    scale: { e, y, n, scale, threshold, _ in
      scale_simd16(e, y, count: n, scale: scale, threshold: threshold)
    },
    onlineSum: { onlineSum_simd16_acc2($0, count: $1) },
    effectiveLogits: { x, y, n, divisor, shift, offset, keep, bias in
      effectiveLogits_simd16(
        x, y, count: n, divisor: divisor, shift: shift, offset: offset, keep: keep, bias: bias)
    },
    hasStreamingStores: false)

  private static var compiledArchitecture: String {
    #if arch(x86_64)
      "x86_64, compiled for the build's target CPU, SSE2 by default"
    #elseif arch(arm64)
      "arm64, NEON"
    #else
      "compiler default vectors"
    #endif
  }

  /// Every table this CPU can run, portable first.
  package static let available: [PassKernels] = {
    var tables = [portable]
    #if arch(x86_64)
      let features = softmax_x86_cpu_features()
      if features & UInt32(SOFTMAX_X86_AVX2_FMA) != 0 { tables.append(avx2) }
      if features & UInt32(SOFTMAX_X86_AVX512) != 0 { tables.append(avx512) }
    #elseif arch(arm64)
      tables.append(neon)
    #endif
    return tables
  }()

  /// The table the library uses: the widest this CPU supports, unless the environment
  /// variable `SOFTMAX_ISA` (`portable`, `avx2` or `avx512`; `neon` on arm64) asks for another
  /// one that it supports. Chosen once per process.
  package static let selected: PassKernels = {
    let best = available.last!
    guard let name = getEnvironment("SOFTMAX_ISA"), let isa = KernelISA(rawValue: name) else {
      return best
    }
    return available.first { $0.isa == isa } ?? best
  }()

  /// `selected` without reference counting, for per-row code: through
  /// `_withUnsafeGuaranteedRef` it is used with no retain, whose atomic instruction would
  /// wait for the previous row's streaming stores to drain (the tables live as long as the
  /// process, so nothing can free it).
  package static let unretainedSelected = Unmanaged.passUnretained(selected)

  /// The table for `isa`, if this CPU supports it.
  package static func table(for isa: KernelISA) -> PassKernels? {
    available.first { $0.isa == isa }
  }
}

#if arch(x86_64) || arch(arm64)
  extension ScaledExpSum {
    init(_ sum: softmax_scaled_sum) {
      self.init(mantissa: sum.has_nan != 0 ? .nan : sum.mantissa, exponent: sum.exponent)
    }
  }

  extension OnlineSum {
    init(_ sum: softmax_max_sum) {
      self.init(maximum: sum.maximum, sum: sum.sum)
    }
  }
#endif

#if arch(x86_64)
  extension PassKernels {
    static let avx2 = PassKernels(
      isa: .avx2,
      description: "AVX2+FMA C kernels (8 lanes)",
      max: { softmax_max_avx2_u32_acc4($0, $1) },
      twoPassSum: { ScaledExpSum(softmax_twopass_sum_avx2_u32_acc1($0, $1)) },
      twoPassOutput: { softmax_twopass_output_avx2_u16($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      sumExp: { softmax_sumexp_avx2_u32_acc2($0, $1, $2) },
      sumAndStoreExp: { softmax_sumexp_store_avx2_u32_acc2($0, $1, $2, $3) },
      expScaledOutput: { softmax_expscale_avx2_u16($0, $1, $2, $3, $4, $5, $6 ? 1 : 0) },
      scale: { softmax_scale_avx2_u32($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      reloadRow: softmax_reload_row_avx2_u32,
      reloadSum: softmax_reload_sum_avx2_u32,
      onlineSum: { OnlineSum(softmax_online_sum_avx2_u32_acc4($0, $1)) },
      effectiveLogits: { softmax_logits_avx2_u8($0, $1, $2, $3, $4, $5, $6, $7) },
      logSoftmaxOutput: { softmax_log_output_avx2_u32($0, $1, $2, $3, $4, $5, $6 ? 1 : 0) },
      training: .avx2,
      hasStreamingStores: true,
      storeFence: { softmax_store_fence() })

    /// Whether this CPU produces subnormal results at full speed (AMD Zen): pass 1 of
    /// Two-Pass then skips the masks that keep its terms normal, with the same bits.
    static let fastSubnormals =
      softmax_x86_cpu_features() & UInt32(SOFTMAX_X86_FAST_SUBNORMALS) != 0

    /// The AVX-512 set's pass 1 of Two-Pass for this CPU: without the masks where subnormal
    /// terms are free, with them elsewhere (the same sums either way).
    static let avx512TwoPassSum: @Sendable (UnsafePointer<Float>, Int) -> ScaledExpSum =
      if fastSubnormals {
        { ScaledExpSum(softmax_twopass_sum_avx512_u64_acc1_unmasked($0, $1)) }
      } else {
        { ScaledExpSum(softmax_twopass_sum_avx512_u64_acc1($0, $1)) }
      }

    static let avx512 = PassKernels(
      isa: .avx512,
      description: "AVX-512 C kernels (16 lanes, vscalefps)",
      max: { softmax_max_avx512_u64_acc4($0, $1) },
      twoPassSum: avx512TwoPassSum,
      twoPassOutput: { softmax_twopass_output_avx512_u32($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      sumExp: { softmax_sumexp_avx512_u64_acc4($0, $1, $2) },
      sumAndStoreExp: { softmax_sumexp_store_avx512_u64_acc4($0, $1, $2, $3) },
      expScaledOutput: { softmax_expscale_avx512_u32($0, $1, $2, $3, $4, $5, $6 ? 1 : 0) },
      scale: { softmax_scale_avx512_u64($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      reloadRow: softmax_reload_row_avx512_u64,
      reloadSum: softmax_reload_sum_avx512_u64,
      onlineSum: { OnlineSum(softmax_online_sum_avx512_u64_acc4($0, $1)) },
      effectiveLogits: { softmax_logits_avx512_u16($0, $1, $2, $3, $4, $5, $6, $7) },
      logSoftmaxOutput: { softmax_log_output_avx512_u64($0, $1, $2, $3, $4, $5, $6 ? 1 : 0) },
      strided: { stridedSoftmax_avx512($0, $1, length: $2, stride: $3, width: $4, output: $5) },
      training: .avx512,
      selection: .avx512,
      hasStreamingStores: true,
      storeFence: { softmax_store_fence() })
  }
#endif
