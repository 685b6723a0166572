// The arm64 kernel set: the NEON C kernels of _SoftmaxCKernels/arm in the slots where the x86
// sets have C kernels; every other slot (log output, strided, Double rows, training,
// selection) keeps the portable Swift kernels, which the compiler builds for NEON on arm64.
// NEON is baseline there, so the set is always available and, being the last one, selected
// unless SOFTMAX_ISA=portable asks otherwise.
#if arch(arm64)
  internal import _SoftmaxCKernels

  extension PassKernels {
    static let neon = PassKernels(
      isa: .neon,
      description: "NEON C kernels (4 lanes)",
      max: { softmax_max_neon_u16_acc4($0, $1) },
      twoPassSum: { ScaledExpSum(softmax_twopass_sum_neon_u16_acc2($0, $1)) },
      twoPassOutput: { softmax_twopass_output_neon_u8($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      sumExp: { softmax_sumexp_neon_u16_acc4($0, $1, $2) },
      sumAndStoreExp: { softmax_sumexp_store_neon_u16_acc4($0, $1, $2, $3) },
      expScaledOutput: { softmax_expscale_neon_u8($0, $1, $2, $3, $4, $5, $6 ? 1 : 0) },
      scale: { softmax_scale_neon_u16($0, $1, $2, $3, $4, $5 ? 1 : 0) },
      onlineSum: { OnlineSum(softmax_online_sum_neon_u16_acc8($0, $1)) },
      effectiveLogits: { softmax_logits_neon_u4($0, $1, $2, $3, $4, $5, $6, $7) },
      // No non-temporal stores: the output passes ignore their `stream` flag.
      hasStreamingStores: false)
  }
#endif
