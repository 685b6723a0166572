// The three passes of a softmax along an inner axis on AVX-512: 16 adjacent columns (`width`
// ≤ 16 lanes, the others masked), `length` steps `stride` floats apart, one zmm per step. The
// portable kernel (StridedKernels.swift) runs the same passes on SIMD16 values, which a
// default x86-64 build compiles to four SSE2 operations each: 1.6-2.1 ns/element on the Zen 5
// of 2026-12-02. The Swift side (StridedKernels.swift, `stridedSoftmax_avx512`) keeps the
// numerics around them: the shift of special lanes, log Σ as a Float pair, the contract.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#include "../common/exp_constants.h"
#include "avx512_exp.h"

// Each lane's maximum over the column (−inf for an empty or all −inf column). NaN is skipped,
// as the portable laneMax skips it: vmaxps returns its second operand when one is NaN.
KERNEL void softmax_strided_max_avx512_u16(const float *x, size_t length, size_t stride,
                                       size_t width, float *maximum) {
  const __mmask16 lanes = width >= 16 ? (__mmask16)0xFFFF : first_lanes(width);
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  __m512 m0 = neg_inf, m1 = neg_inf;
  size_t r = 0;
  for (; r + 2 <= length; r += 2) {
    m0 = _mm512_max_ps(load_lanes(x + r * stride, lanes, neg_inf), m0);
    m1 = _mm512_max_ps(load_lanes(x + (r + 1) * stride, lanes, neg_inf), m1);
  }
  if (r < length) m0 = _mm512_max_ps(load_lanes(x + r * stride, lanes, neg_inf), m0);
  _mm512_storeu_ps(maximum, _mm512_max_ps(m0, m1));
}

// Σ e^(x − shift) per lane: Float sums of `block` steps, each added into the lane's Double
// total (the portable kernel's blocks, so the error is bounded by the block length). Lanes
// beyond `width` sum e^(−inf) = 0.
KERNEL void softmax_strided_sumexp_avx512_u16(const float *x, size_t length, size_t stride,
                                          size_t width, const float *shift, size_t block,
                                          double *total) {
  const __mmask16 lanes = width >= 16 ? (__mmask16)0xFFFF : first_lanes(width);
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  const __m512 s = _mm512_loadu_ps(shift);
  __m512d lo = _mm512_setzero_pd(), hi = lo;
  for (size_t start = 0; start < length; start += block) {
    const size_t end = length - start < block ? length : start + block;
    __m512 sum = _mm512_setzero_ps();
    for (size_t r = start; r < end; r++) {
      sum = _mm512_add_ps(sum, exp_nonpositive(_mm512_sub_ps(load_lanes(x + r * stride, lanes, neg_inf), s)));
    }
    lo = _mm512_add_pd(lo, _mm512_cvtps_pd(_mm512_castps512_ps256(sum)));
    hi = _mm512_add_pd(hi, _mm512_cvtps_pd(_mm512_extractf32x8_ps(sum, 1)));
  }
  _mm512_storeu_pd(total, lo);
  _mm512_storeu_pd(total + 8, hi);
}

// The output pass. Probabilities: (e < threshold ? 0 : e) · scale with e = e^(x − shift);
// log-probabilities (`log` set): ((x − shift) − high) − low. Lanes in `special` (which the
// contract finishes) keep their input, so that a later pass can still read it when y is x.
KERNEL void softmax_strided_output_avx512_u16(const float *x, float *y, size_t length, size_t stride,
                                          size_t width, const float *shift, const float *scale,
                                          const float *threshold, const float *high,
                                          const float *low, int log, unsigned special) {
  const __mmask16 lanes = width >= 16 ? (__mmask16)0xFFFF : first_lanes(width);
  const __mmask16 keep = (__mmask16)special;
  const __m512 s = _mm512_loadu_ps(shift);
  if (log) {
    const __m512 h = _mm512_loadu_ps(high), l = _mm512_loadu_ps(low);
    for (size_t r = 0; r < length; r++) {
      const __m512 v = loadz_lanes(x + r * stride, lanes);
      const __m512 out = _mm512_sub_ps(_mm512_sub_ps(_mm512_sub_ps(v, s), h), l);
      store_lanes(y + r * stride, lanes, _mm512_mask_mov_ps(out, keep, v));
    }
    return;
  }
  const __m512 k = _mm512_loadu_ps(scale), t = _mm512_loadu_ps(threshold);
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  for (size_t r = 0; r < length; r++) {
    const __m512 v = load_lanes(x + r * stride, lanes, neg_inf);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(v, s));
    const __mmask16 kept = _mm512_cmp_ps_mask(e, t, _CMP_NLT_UQ);
    const __m512 out = _mm512_maskz_mul_ps(kept, e, k);
    store_lanes(y + r * stride, lanes, _mm512_mask_mov_ps(out, keep, v));
  }
}

#endif
