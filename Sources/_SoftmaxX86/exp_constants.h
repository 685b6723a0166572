// Constants of the vector exponential, shared by the AVX-512 and AVX2 kernels. The same
// values as SoftmaxKernels/VectorExp.swift; with FMA the reduction needs only two ln 2 parts.
#ifndef SOFTMAX_EXP_CONSTANTS_H
#define SOFTMAX_EXP_CONSTANTS_H

#define SOFTMAX_LOG2E 0x1.715476p+0f
#define SOFTMAX_ROUNDING_MAGIC 0x1.8p+23f
#define SOFTMAX_SCALE_MAGIC 0x1.8000FEp+23f  // rounding magic + 127
#define SOFTMAX_LN2_HI 0x1.62E430p-1f
#define SOFTMAX_LN2_LO -0x1.05C610p-29f
#define SOFTMAX_C2 0x1.FFFFFEp-2f
#define SOFTMAX_C3 0x1.55548Ap-3f
#define SOFTMAX_C4 0x1.5559CAp-5f
#define SOFTMAX_C5 0x1.123FA4p-7f
#define SOFTMAX_C6 0x1.68405Ap-10f
// The exp of the Three-Pass kernels, whose arguments x − max lie in [−87.3, 0] (|n| ≤ 126):
// one-constant reduction t = x − n · ln2 (exact product inside the FMA; the error of the
// rounded ln 2 is below 2.4e-7 · e^x there) and a degree-5 polynomial fitted for relative
// error with c0 = 1. Within 5 ulp (4e-7 relative) of e^x over [−87.3, 0], 1.3 ulp on average
// (simulated in Float arithmetic with FMA on 6·10^6 points); two FMAs fewer than the exp of
// Two-Pass, whose arguments reach ±2800 and need the two-constant reduction and degree 6.
#define SOFTMAX_LN2 0x1.62E430p-1f
#define SOFTMAX_NP_C1 0x1.FFFFFAp-1f
#define SOFTMAX_NP_C2 0x1.FFFDAEp-2f
#define SOFTMAX_NP_C3 0x1.555A5Ap-3f
#define SOFTMAX_NP_C4 0x1.574374p-5f
#define SOFTMAX_NP_C5 0x1.0F7594p-7f

// Domain of the extended exp (|n| ≤ 4040), the exp underflow cut, the clamp below it.
#define SOFTMAX_EXT_DOMAIN 2800.0f
#define SOFTMAX_EXP_UNDERFLOW -87.33f
#define SOFTMAX_EXP_LOW_CLAMP -87.5f
// Scales 2^d with d below this are 0, so that m · 2^d with m ≥ √½ stays normal.
#define SOFTMAX_MIN_SCALE_EXPONENT -125.0f
// Elements per block of a sum: Float sums within a block, Double across blocks.
#define SOFTMAX_SUM_BLOCK 4096

#endif
