// Constants of the vector exponentials of the AVX-512 and AVX2 kernels. The rounding and the
// domain are those of SoftmaxKernels/VectorExp.swift; with FMA the reduction needs only two
// ln 2 parts, and the polynomial is one degree lower than the portable one (which has no FMA).
#ifndef SOFTMAX_EXP_CONSTANTS_H
#define SOFTMAX_EXP_CONSTANTS_H

#define SOFTMAX_LOG2E 0x1.715476p+0f
#define SOFTMAX_ROUNDING_MAGIC 0x1.8p+23f
#define SOFTMAX_SCALE_MAGIC 0x1.8000FEp+23f  // rounding magic + 127
#define SOFTMAX_LN2_HI 0x1.62E430p-1f
#define SOFTMAX_LN2_LO -0x1.05C610p-29f
// The AVX2 exponentials: e^t ≈ 1 + c1 t + … + c5 t^5 on [−ln2/2, ln2/2], fitted for relative
// error with c0 = 1. With the two-constant reduction (Two-Pass, |x| ≤ 2800): within 2 ulp of
// e^x / 2^n, 0.7 ulp on average. The Three-Pass exp, whose arguments x − max lie in
// [−87.3, 0] (|n| ≤ 126), uses one constant (SOFTMAX_LN2: the rounded ln 2 errs by at most
// 2.4e-7 · e^x there): within 4.0e-7 relative (4.5 ulp), 0.11 ulp on average (the same
// formula with vscalefps, on every float of the range, 2026-11-29; the earlier simulation on
// 6·10^6 points gave 5 ulp).
#define SOFTMAX_LN2 0x1.62E430p-1f
#define SOFTMAX_P5_C1 0x1.FFFFFAp-1f
#define SOFTMAX_P5_C2 0x1.FFFDAEp-2f
#define SOFTMAX_P5_C3 0x1.555A5Ap-3f
#define SOFTMAX_P5_C4 0x1.574374p-5f
#define SOFTMAX_P5_C5 0x1.0F7594p-7f

// The AVX-512 exponentials: e^x = 2^floor(k/32) · 2^((k mod 32)/32) · e^r with
// k = round(32 x log2 e), r = x − (k/32) ln 2, |r| ≤ ln2/64. 2^(j/32) comes from a 32-entry
// table (two zmm registers, one vpermt2ps indexed by the low bits of the rounding sum), e^r
// from 1 + c1 r + c2 r² (fitted for relative error on [−ln2/64, ln2/64], about 5e-8), and
// vscalefps applies 2^floor(k/32). Two FMAs fewer than the degree-5 form: Three-Pass reload
// with hot outputs 10% faster, Two-Pass 7% (`softmax bench --hot`, 2^10–2^16, alternating
// runs). Checked on every float of the range (2026-11-29):
// - Three-Pass (x in [−87.33, 0], one constant SOFTMAX_LN2): within 4.01e-7 relative (5.45
//   ulp; the one-constant reduction is most of it, as for the degree-5 form), 0.12 ulp on
//   average. e^0 is exactly 1.
// - Extended (Two-Pass, |x| ≤ 2800, two constants, m = table · e^r in [0.98, 1.98], n =
//   floor(k/32)): m within 1.7e-7 relative (1.8 ulp) of e^x / 2^n, 0.11 ulp on average (every
//   fifth float).
#define SOFTMAX_EXP2_32_MAGIC 0x1.8p+18f  // its ulp is 1/32: adding it rounds to k/32
#define SOFTMAX_LUT_C1 0x1.0000f0p+0f
#define SOFTMAX_LUT_C2 0x1.000004p-1f
// The table, softmax_exp2_32_table, is in x86/avx512_exp.h.

// Domain of the extended exp (|n| ≤ 4040), the exp underflow cut, the clamp below it.
#define SOFTMAX_EXT_DOMAIN 2800.0f
#define SOFTMAX_EXP_UNDERFLOW -87.33f
#define SOFTMAX_EXP_LOW_CLAMP -87.5f
// Scales 2^d with d below this are 0, so that m · 2^d with m ≥ ½ stays normal.
#define SOFTMAX_MIN_SCALE_EXPONENT -125.0f
// Elements per block of a sum: Float sums within a block, Double across blocks.
#define SOFTMAX_SUM_BLOCK 4096

// Two-Pass pass 1 prefetches into L2 this many floats ahead, on rows of at least
// SOFTMAX_SUM_PREFETCH_FROM floats (the x86 kernels; see softmax_twopass_sum_avx512_u64_acc1).
#define SOFTMAX_SUM_PREFETCH_FLOATS 2048
#define SOFTMAX_SUM_PREFETCH_FROM (1 << 16)
// The AVX-512 output passes computed from their input (Two-Pass pass 2, Three-Pass recompute's
// output) ask for it this many floats ahead into L1 and, further, into the outer caches, on
// calls of at least SOFTMAX_SUM_PREFETCH_FROM floats (see softmax_twopass_output_avx512_u32).
#define SOFTMAX_OUTPUT_PREFETCH_NEAR 512
#define SOFTMAX_OUTPUT_PREFETCH_FAR 4096
// The fused cross-entropy gradient asks for its input this many floats ahead into L1 alone.
#define SOFTMAX_GRADIENT_PREFETCH_FLOATS 1024

// The pipelined backward steps prefetch the rows they read from memory into L1 this many
// floats ahead (see softmax_backward_step_avx512_u16); the log-softmax step only on rows (or
// chunks) shorter than SOFTMAX_BACKWARD_PREFETCH_BELOW floats.
#define SOFTMAX_BACKWARD_PREFETCH_FLOATS 1024
#define SOFTMAX_BACKWARD_PREFETCH_BELOW (1 << 15)

#endif
