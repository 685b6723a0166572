// NEON (AdvSIMD) pass kernels for arm64: 4 lanes, one function per pass, mirroring
// x86/avx2_kernels.c (the same exponentials, scaling by 2^d through the exponent field, the
// same blocks and merges). NEON is baseline on aarch64, so nothing here needs a target
// attribute or a run-time check; the file compiles to nothing elsewhere. NEON has no
// non-temporal vector store worth using, so the `stream` arguments are ignored (the table says
// it has no streaming stores). The sums give each lane at most 128 Float additions per
// 4096-element block, as the AVX2 and portable kernels do (see half_block_end).
#include "_SoftmaxCKernels.h"

#if defined(__aarch64__)
#include "neon_exp.h"

#include "../common/scaled_sum.h"

// Fixed-count loops over vectors (accumulators, polynomial terms) must be unrolled: clang left
// an eight-accumulator loop rolled, with the accumulators on the stack.
#define UNROLLED _Pragma("GCC unroll 8")

float softmax_max_neon_u16_acc4(const float *x, size_t n) {
  const float32x4_t neg_inf = vdupq_n_f32(-INFINITY);
  float32x4_t a0 = neg_inf, a1 = neg_inf, a2 = neg_inf, a3 = neg_inf;
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = vmaxq_f32(a0, vld1q_f32(x + i));
    a1 = vmaxq_f32(a1, vld1q_f32(x + i + 4));
    a2 = vmaxq_f32(a2, vld1q_f32(x + i + 8));
    a3 = vmaxq_f32(a3, vld1q_f32(x + i + 12));
  }
  for (; i < n; i += 4) a0 = vmaxq_f32(a0, load_upto4(x + i, n - i, -INFINITY));
  return vmaxvq_f32(vmaxq_f32(vmaxq_f32(a0, a1), vmaxq_f32(a2, a3)));
}

// One (mantissa, exponent) accumulator of Two-Pass pass 1: per lane Σ m · 2^(n − ae), ae an
// integer. Exponent maxima use fmaxnm, which skips NaN, so no exponent is ever NaN; a NaN
// input still reaches the mantissa through its m (NaN times anything is NaN), and the kernel
// reads has_nan from the total.
typedef struct {
  float32x4_t m, e;
} pair_accumulator;

// Adds four vectors' (m, n) with one new exponent per lane: one rescale per 16 elements.
INLINE void add_four(pair_accumulator *a, const float32x4_t m[4], const float32x4_t n[4]) {
  const float32x4_t e = vmaxnmq_f32(vmaxnmq_f32(vmaxnmq_f32(n[0], n[1]), vmaxnmq_f32(n[2], n[3])), a->e);
  float32x4_t t = vmulq_f32(m[0], exp2_nonpositive(vsubq_f32(n[0], e)));
  t = vfmaq_f32(t, m[1], exp2_nonpositive(vsubq_f32(n[1], e)));
  float32x4_t u = vmulq_f32(m[2], exp2_nonpositive(vsubq_f32(n[2], e)));
  u = vfmaq_f32(u, m[3], exp2_nonpositive(vsubq_f32(n[3], e)));
  a->m = vfmaq_f32(vaddq_f32(t, u), a->m, exp2_nonpositive(vsubq_f32(a->e, e)));
  a->e = e;
}

INLINE void add_one(pair_accumulator *a, float32x4_t m, float32x4_t n) {
  const float32x4_t e = vmaxnmq_f32(a->e, n);
  a->m = vfmaq_f32(vmulq_f32(m, exp2_nonpositive(vsubq_f32(n, e))), a->m,
                   exp2_nonpositive(vsubq_f32(a->e, e)));
  a->e = e;
}

INLINE void load_four_exps(const float *x, float32x4_t m[4], float32x4_t n[4]) {
  UNROLLED for (int k = 0; k < 4; k++) m[k] = extended_exp(vld1q_f32(x + 4 * k), &n[k]);
}

// Where the first half of a block [start, end) ends. Each half has accumulators of its own:
// every lane then adds at most 128 times per block, as in the AVX2 and portable kernels, while
// only one half's accumulators are live in a loop (a 32-element loop feeding two at once ran
// out of the 32 vector registers and spilled).
INLINE size_t half_block_end(size_t start, size_t end) {
  return end - start > SOFTMAX_SUM_BLOCK / 2 ? start + SOFTMAX_SUM_BLOCK / 2 : end;
}

softmax_scaled_sum softmax_twopass_sum_neon_u16_acc2(const float *x, size_t n) {
  double total_m = 0;
  float total_e = -INFINITY;
  const float32x4_t lowest = vdupq_n_f32(-FLT_MAX);
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    pair_accumulator a[2] = {{vdupq_n_f32(0), lowest}, {vdupq_n_f32(0), lowest}};
    size_t i = start;
    UNROLLED for (int half = 0; half < 2; half++) {
      const size_t stop = half == 0 ? half_block_end(start, end) : end;
      for (; i + 16 <= stop; i += 16) {
        float32x4_t m[4], k[4];
        load_four_exps(x + i, m, k);
        add_four(&a[half], m, k);
      }
    }
    for (; i < end; i += 4) {
      const uint32x4_t valid = first_lanes(end - i);
      float32x4_t k;
      const float32x4_t m = extended_exp(load_upto4(x + i, end - i, 0.0f), &k);
      add_one(&a[1], keep_lanes(valid, m), select_f32(valid, k, lowest));
    }
    add_one(&a[0], a[1].m, a[1].e);
    const float e = vmaxnmvq_f32(a[0].e);
    const float m = vaddvq_f32(vmulq_f32(a[0].m, exp2_nonpositive(vsubq_f32(a[0].e, vdupq_n_f32(e)))));
    merge_sum(&total_m, &total_e, m, e);
  }
  softmax_scaled_sum result = {total_m, total_e, isnan(total_m)};
  return result;
}

// The degree-5 polynomial for e^t with its coefficients multiplied by `scale`: pass 2 of
// Two-Pass folds 1/m_sum into the polynomial for free (as in avx2_kernels.c).
typedef struct {
  float32x4_t c[6];
} scaled_polynomial;

INLINE scaled_polynomial polynomial_scaled_by(float scale) {
  const float c[6] = {SOFTMAX_P5_C5, SOFTMAX_P5_C4, SOFTMAX_P5_C3, SOFTMAX_P5_C2, SOFTMAX_P5_C1, 1.0f};
  scaled_polynomial p;
  for (int i = 0; i < 6; i++) p.c[i] = vdupq_n_f32(c[i] * scale);
  return p;
}

// (m · inverse_mantissa) · 2^(n − bias).
INLINE float32x4_t twopass_output_vector(float32x4_t v, const scaled_polynomial *q,
                                         float32x4_t bias) {
  float32x4_t t;
  const float32x4_t n = reduce(clamp_to_domain(v), &t);
  float32x4_t p = vfmaq_f32(q->c[1], q->c[0], t);
  UNROLLED for (int i = 2; i < 6; i++) p = vfmaq_f32(q->c[i], p, t);
  return vmulq_f32(p, exp2_nonpositive(vsubq_f32(n, bias)));
}

void softmax_twopass_output_neon_u8(const float *x, float *y, size_t n, float inverse_mantissa,
                                    float exponent_bias, int stream) {
  (void)stream;
  const scaled_polynomial polynomial = polynomial_scaled_by(inverse_mantissa);
  const float32x4_t bias = vdupq_n_f32(exponent_bias);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t y0 = twopass_output_vector(vld1q_f32(x + i), &polynomial, bias);
    const float32x4_t y1 = twopass_output_vector(vld1q_f32(x + i + 4), &polynomial, bias);
    vst1q_f32(y + i, y0);
    vst1q_f32(y + i + 4, y1);
  }
  for (; i < n; i += 4) {
    store_upto4(y + i, twopass_output_vector(load_upto4(x + i, n - i, 0.0f), &polynomial, bias), n - i);
  }
}

// Σ e^(x − shift) in blocks; stores each e^(x − shift) into y when y is non-null.
INLINE double sumexp_blocks(const float *x, float *y, size_t n, float shift) {
  const float32x4_t vshift = vdupq_n_f32(shift);
  double total = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    float32x4_t s0 = vdupq_n_f32(0), s1 = s0, s2 = s0, s3 = s0;
    size_t i = start;
    for (; i + 16 <= end; i += 16) {
      const float32x4_t e0 = exp_nonpositive(vsubq_f32(vld1q_f32(x + i), vshift));
      const float32x4_t e1 = exp_nonpositive(vsubq_f32(vld1q_f32(x + i + 4), vshift));
      const float32x4_t e2 = exp_nonpositive(vsubq_f32(vld1q_f32(x + i + 8), vshift));
      const float32x4_t e3 = exp_nonpositive(vsubq_f32(vld1q_f32(x + i + 12), vshift));
      if (y) {
        vst1q_f32(y + i, e0);
        vst1q_f32(y + i + 4, e1);
        vst1q_f32(y + i + 8, e2);
        vst1q_f32(y + i + 12, e3);
      }
      s0 = vaddq_f32(s0, e0);
      s1 = vaddq_f32(s1, e1);
      s2 = vaddq_f32(s2, e2);
      s3 = vaddq_f32(s3, e3);
    }
    for (; i < end; i += 4) {
      const float32x4_t e = exp_nonpositive(vsubq_f32(load_upto4(x + i, end - i, -INFINITY), vshift));
      if (y) store_upto4(y + i, e, end - i);
      s0 = vaddq_f32(s0, e);
    }
    total += (double)vaddvq_f32(vaddq_f32(vaddq_f32(s0, s1), vaddq_f32(s2, s3)));
  }
  return total;
}

double softmax_sumexp_neon_u16_acc4(const float *x, size_t n, float shift) {
  return sumexp_blocks(x, NULL, n, shift);
}

double softmax_sumexp_store_neon_u16_acc4(const float *x, float *y, size_t n, float shift) {
  return sumexp_blocks(x, y, n, shift);
}

// e · scale, with e below the threshold (or NaN, as on x86) written as 0.
INLINE float32x4_t scale_kept(float32x4_t e, float32x4_t scale, float32x4_t threshold) {
  return vmulq_f32(keep_lanes(vcgeq_f32(e, threshold), e), scale);
}

void softmax_expscale_neon_u8(const float *x, float *y, size_t n, float shift, float scale,
                              float threshold, int stream) {
  (void)stream;
  const float32x4_t vshift = vdupq_n_f32(shift), vscale = vdupq_n_f32(scale);
  const float32x4_t vthreshold = vdupq_n_f32(threshold);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const float32x4_t e0 = exp_nonpositive(vsubq_f32(vld1q_f32(x + i), vshift));
    const float32x4_t e1 = exp_nonpositive(vsubq_f32(vld1q_f32(x + i + 4), vshift));
    vst1q_f32(y + i, scale_kept(e0, vscale, vthreshold));
    vst1q_f32(y + i + 4, scale_kept(e1, vscale, vthreshold));
  }
  for (; i < n; i += 4) {
    const float32x4_t e = exp_nonpositive(vsubq_f32(load_upto4(x + i, n - i, -INFINITY), vshift));
    store_upto4(y + i, scale_kept(e, vscale, vthreshold), n - i);
  }
}

void softmax_scale_neon_u16(const float *x, float *y, size_t n, float scale, float threshold, int stream) {
  (void)stream;
  const float32x4_t vscale = vdupq_n_f32(scale), vthreshold = vdupq_n_f32(threshold);
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const float32x4_t e0 = vld1q_f32(x + i), e1 = vld1q_f32(x + i + 4);
    const float32x4_t e2 = vld1q_f32(x + i + 8), e3 = vld1q_f32(x + i + 12);
    vst1q_f32(y + i, scale_kept(e0, vscale, vthreshold));
    vst1q_f32(y + i + 4, scale_kept(e1, vscale, vthreshold));
    vst1q_f32(y + i + 8, scale_kept(e2, vscale, vthreshold));
    vst1q_f32(y + i + 12, scale_kept(e3, vscale, vthreshold));
  }
  for (; i < n; i += 4) store_upto4(y + i, scale_kept(load_upto4(x + i, n - i, 0.0f), vscale, vthreshold), n - i);
}

// Pass 1 of the online softmax; the per-lane recurrence of the x86 kernels (see
// avx512_kernels.c and OnlineKernels.swift for the −FLT_MAX start, −inf, NaN and the
// no-subnormal argument). Four accumulators per half block (half_block_end), eight in all: an
// ascending row rescales each lane's sum at most 128 times per block, as in the AVX2 and
// portable kernels. Merges are exact rescalings up to rounding, in a fixed order.
INLINE void online_add(float32x4_t *m, float32x4_t *s, float32x4_t v) {
  // One exponential: e^(−|v − m|) (fabs then negate: exact, NaN stays NaN).
  const float32x4_t e = exp_nonpositive(vnegq_f32(vabsq_f32(vsubq_f32(v, *m))));
  const uint32x4_t larger = vcgtq_f32(v, *m);
  // Larger: s · e + 1 (old terms rescaled to v); otherwise s + e.
  *s = select_f32(larger, vfmaq_f32(vdupq_n_f32(1.0f), *s, e), vaddq_f32(*s, e));
  *m = select_f32(larger, v, *m);
}

INLINE void online_merge(float32x4_t *m, float32x4_t *s, float32x4_t m2, float32x4_t s2) {
  const float32x4_t target = vmaxq_f32(*m, m2);
  *s = vfmaq_f32(vmulq_f32(s2, exp_nonpositive(vsubq_f32(m2, target))), *s,
                 exp_nonpositive(vsubq_f32(*m, target)));
  *m = target;
}

softmax_max_sum softmax_online_sum_neon_u16_acc8(const float *x, size_t n) {
  float total_max = -INFINITY;
  double total_sum = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    float32x4_t m[8], s[8];
    UNROLLED for (int k = 0; k < 8; k++) {
      m[k] = vdupq_n_f32(-FLT_MAX);
      s[k] = vdupq_n_f32(0);
    }
    size_t i = start;
    UNROLLED for (int half = 0; half < 2; half++) {
      const size_t stop = half == 0 ? half_block_end(start, end) : end;
      float32x4_t *hm = m + 4 * half, *hs = s + 4 * half;
      for (; i + 16 <= stop; i += 16) {
        UNROLLED for (int k = 0; k < 4; k++) online_add(&hm[k], &hs[k], vld1q_f32(x + i + 4 * k));
      }
      if (half == 1) {
        for (; i < end; i += 4) online_add(&hm[0], &hs[0], load_upto4(x + i, end - i, -INFINITY));
      }
      // The half's four accumulators merged into its first, so that only one pair stays live
      // through the other half's loop.
      online_merge(&hm[0], &hs[0], hm[1], hs[1]);
      online_merge(&hm[2], &hs[2], hm[3], hs[3]);
      online_merge(&hm[0], &hs[0], hm[2], hs[2]);
    }
    online_merge(&m[0], &s[0], m[4], s[4]);
    const float mx = vmaxvq_f32(m[0]);
    const float sum = vaddvq_f32(vmulq_f32(s[0], exp_nonpositive(vsubq_f32(m[0], vdupq_n_f32(mx)))));
    merge_max_sum(&total_max, &total_sum, sum == 0 ? -INFINITY : mx, sum);
  }
  softmax_max_sum result = {total_max, total_sum};
  return result;
}

// (x − shift) / divisor + (bias − offset) in Double lanes, rounded once, as tempered_logits in
// avx512_kernels.c. Separate intrinsics, which clang never contracts into fused operations:
// every lane must round exactly as the scalar definition does.
INLINE float64x2_t tempered_half(float64x2_t v, const float *bias, float64x2_t shift,
                                 float64x2_t reciprocal, float64x2_t offset) {
  v = vmulq_f64(vsubq_f64(v, shift), reciprocal);
  if (bias) return vaddq_f64(v, vsubq_f64(vcvt_f64_f32(vld1_f32(bias)), offset));
  return vsubq_f64(v, offset);
}

INLINE float32x4_t tempered_logits(float32x4_t v, const float *bias, float64x2_t shift,
                                   float64x2_t reciprocal, float64x2_t offset) {
  const float64x2_t low = tempered_half(vcvt_f64_f32(vget_low_f32(v)), bias, shift, reciprocal, offset);
  const float64x2_t high = tempered_half(vcvt_high_f64_f32(v), bias ? bias + 2 : NULL, shift,
                                         reciprocal, offset);
  return vcvt_high_f32_f64(vcvt_f32_f64(low), high);
}

// The full vectors of softmax_logits_neon_u4 with the options as compile-time constants, so
// that each call site gets a loop without per-vector tests (see logits_body in
// avx512_kernels.c).
INLINE size_t logits_body(const float *x, float *y, size_t n, float64x2_t shift,
                          float64x2_t reciprocal, float64x2_t offset, const bool *keep,
                          const float *bias, const int temper, const int has_keep,
                          const int has_bias) {
  const float32x4_t neg_inf = vdupq_n_f32(-INFINITY);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    float32x4_t v = vld1q_f32(x + i);
    if (temper) {
      v = tempered_logits(v, has_bias ? bias + i : NULL, shift, reciprocal, offset);
    } else if (has_bias) {
      v = vaddq_f32(v, vld1q_f32(bias + i));
    }
    if (has_keep) {
      uint32_t bytes;
      memcpy(&bytes, keep + i, sizeof bytes);
      const uint32x4_t k = vmovl_u16(vget_low_u16(vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(bytes)))));
      v = select_f32(vceqzq_u32(k), neg_inf, v);
    }
    vst1q_f32(y + i, v);
  }
  return i;
}

// The effective logits of a masked, tempered row, as softmax_logits_avx512_u16. y may be x.
void softmax_logits_neon_u4(const float *x, float *y, size_t n, float divisor, float shift,
                            float offset, const bool *keep, const float *bias) {
  const double reciprocal = 1.0 / (double)divisor;
  const float64x2_t s = vdupq_n_f64((double)shift);
  const float64x2_t r = vdupq_n_f64(reciprocal);
  const float64x2_t o = vdupq_n_f64((double)offset);
  const int temper = divisor != 1.0f || shift != 0.0f || offset != 0.0f;
  size_t i;
  switch ((temper ? 4 : 0) | (keep ? 2 : 0) | (bias ? 1 : 0)) {
  case 0: i = logits_body(x, y, n, s, r, o, keep, bias, 0, 0, 0); break;
  case 1: i = logits_body(x, y, n, s, r, o, keep, bias, 0, 0, 1); break;
  case 2: i = logits_body(x, y, n, s, r, o, keep, bias, 0, 1, 0); break;
  case 3: i = logits_body(x, y, n, s, r, o, keep, bias, 0, 1, 1); break;
  case 4: i = logits_body(x, y, n, s, r, o, keep, bias, 1, 0, 0); break;
  case 5: i = logits_body(x, y, n, s, r, o, keep, bias, 1, 0, 1); break;
  case 6: i = logits_body(x, y, n, s, r, o, keep, bias, 1, 1, 0); break;
  default: i = logits_body(x, y, n, s, r, o, keep, bias, 1, 1, 1); break;
  }
  for (; i < n; i++) {
    float v;
    if (temper) {
      // The vectors' operations on one lane; separate statements, so clang does not contract
      // the product and the bias into an FMA (the lanes must round the same way).
      const double quotient = ((double)x[i] - (double)shift) * reciprocal;
      v = (float)(bias ? quotient + ((double)bias[i] - (double)offset) : quotient - (double)offset);
    } else {
      v = bias ? x[i] + bias[i] : x[i];
    }
    y[i] = keep && !keep[i] ? -INFINITY : v;
  }
}

#else
typedef int softmax_neon_unavailable;
#endif
