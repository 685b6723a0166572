// AVX2 + FMA pass kernels: 8 lanes. Without AVX-512's masks and vscalefps, scaling by 2^d is
// an integer shift into the exponent field (as in the portable Swift kernels) and tails use
// vmaskmovps. Compiled for AVX2 by the target attribute alone; called only when
// softmax_x86_cpu_features() reports it.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "../common/exp_constants.h"
#include "../common/reload_row.h"
#include "../common/scaled_sum.h"

#define KERNEL __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline, target("avx2,fma")))

// Lanes below `rest` set (all lanes when rest ≥ 8), as a vmaskmovps mask.
INLINE __m256i first_lanes(size_t rest) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rest < 8 ? rest : 8)), index);
}

INLINE __m256 load_partial(const float *p, __m256i lanes, float padding) {
  return _mm256_blendv_ps(_mm256_set1_ps(padding), _mm256_maskload_ps(p, lanes),
                          _mm256_castsi256_ps(lanes));
}

// The tail loops' loads and stores: plain ones while `rest` (the elements left) fills a vector,
// vmaskmovps only for the partial last, as the AVX-512 set does (avx512_exp.h, load_lanes).
INLINE __m256 load_rest(const float *p, size_t rest, float padding) {
  return rest >= 8 ? _mm256_loadu_ps(p) : load_partial(p, first_lanes(rest), padding);
}
INLINE void store_rest(float *p, size_t rest, __m256 v) {
  if (rest >= 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, first_lanes(rest), v);
  }
}

// The degree-5 polynomial for e^t (exp_constants.h) in Horner form, its coefficients
// multiplied by `scale`: p(t) · scale, so that pass 2 of Two-Pass folds 1/m_sum into the
// polynomial for free.
typedef struct {
  __m256 c[6];
} scaled_polynomial;

INLINE scaled_polynomial polynomial_scaled_by(float scale) {
  const float c[6] = {SOFTMAX_P5_C5, SOFTMAX_P5_C4, SOFTMAX_P5_C3, SOFTMAX_P5_C2, SOFTMAX_P5_C1, 1.0f};
  scaled_polynomial p;
  for (int i = 0; i < 6; i++) p.c[i] = _mm256_set1_ps(c[i] * scale);
  return p;
}

INLINE __m256 evaluate(const scaled_polynomial *q, __m256 t) {
  __m256 p = _mm256_fmadd_ps(q->c[0], t, q->c[1]);
  for (int i = 2; i < 6; i++) p = _mm256_fmadd_ps(p, t, q->c[i]);
  return p;
}

// e^t on the reduced argument, in [√½, √2]: five FMAs.
INLINE __m256 exp_of_reduced(__m256 t) {
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(SOFTMAX_P5_C5), t, _mm256_set1_ps(SOFTMAX_P5_C4));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SOFTMAX_P5_C3));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SOFTMAX_P5_C2));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SOFTMAX_P5_C1));
  return _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.0f));
}

INLINE __m256 reduce(__m256 x, __m256 *t) {
  const __m256 magic = _mm256_set1_ps(SOFTMAX_ROUNDING_MAGIC);
  const __m256 n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(SOFTMAX_LOG2E), magic), magic);
  const __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(SOFTMAX_LN2_HI), x);
  *t = _mm256_fnmadd_ps(n, _mm256_set1_ps(SOFTMAX_LN2_LO), r);
  return n;
}

// 2^n for integer-valued n in [−127, 127] (−127 gives +0).
INLINE __m256 exp2_of_integer(__m256 n) {
  const __m256i bits = _mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(SOFTMAX_SCALE_MAGIC)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(bits, 23));
}

// 2^d for integer-valued d ≤ 0; exactly 0 where d < −125 or d is NaN.
INLINE __m256 exp2_nonpositive(__m256 d) {
  const __m256 keep = _mm256_cmp_ps(d, _mm256_set1_ps(SOFTMAX_MIN_SCALE_EXPONENT), _CMP_GE_OQ);
  return exp2_of_integer(_mm256_blendv_ps(_mm256_set1_ps(-127.0f), d, keep));
}

// Clamps to ±2800; max and min return their second operand when one is NaN, so NaN stays.
INLINE __m256 clamp_to_domain(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-SOFTMAX_EXT_DOMAIN), x);
  return _mm256_min_ps(_mm256_set1_ps(SOFTMAX_EXT_DOMAIN), x);
}

INLINE __m256 extended_exp(__m256 x, __m256 *n) {
  __m256 t;
  *n = reduce(clamp_to_domain(x), &t);
  return exp_of_reduced(t);
}

// e^t / 2^n for x ≤ 0 and x at least the clamp, and n: the Three-Pass exp before its power
// of two (one ln 2 constant).
INLINE __m256 exp_nonpositive_mantissa(__m256 x, __m256 *n) {
  const __m256 magic = _mm256_set1_ps(SOFTMAX_ROUNDING_MAGIC);
  *n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(SOFTMAX_LOG2E), magic), magic);
  return exp_of_reduced(_mm256_fnmadd_ps(*n, _mm256_set1_ps(SOFTMAX_LN2), x));
}

// e^x for x ≤ 0 (the Three-Pass exp, see exp_constants.h); 0 below the underflow cut, NaN
// stays NaN.
INLINE __m256 exp_nonpositive(__m256 x) {
  __m256 n;
  const __m256 p =
      exp_nonpositive_mantissa(_mm256_max_ps(_mm256_set1_ps(SOFTMAX_EXP_LOW_CLAMP), x), &n);
  // Zero the mantissa of underflowing lanes (NaN lanes compare unordered and are kept).
  const __m256 drop = _mm256_cmp_ps(x, _mm256_set1_ps(SOFTMAX_EXP_UNDERFLOW), _CMP_LT_OQ);
  return _mm256_mul_ps(_mm256_andnot_ps(drop, p), exp2_of_integer(n));
}

// exp_nonpositive for x known to be at least the underflow cut (reload rows whose minimum
// says so): the same bits without the clamp, the compare and the mask.
INLINE __m256 exp_above_cut(__m256 x) {
  __m256 n;
  const __m256 p = exp_nonpositive_mantissa(x, &n);
  return _mm256_mul_ps(p, exp2_of_integer(n));
}

INLINE void accumulate(__m256 *am, __m256 *ae, __m256 m, __m256 n) {
  const __m256 e = _mm256_max_ps(*ae, n);
  *am = _mm256_fmadd_ps(*am, exp2_nonpositive(_mm256_sub_ps(*ae, e)),
                        _mm256_mul_ps(m, exp2_nonpositive(_mm256_sub_ps(n, e))));
  *ae = e;
}

INLINE float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

INLINE float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

KERNEL float softmax_max_avx2_u32_acc4(const float *x, size_t n) {
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
  __m256 a0 = neg_inf, a1 = neg_inf, a2 = neg_inf, a3 = neg_inf;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_max_ps(a0, _mm256_loadu_ps(x + i));
    a1 = _mm256_max_ps(a1, _mm256_loadu_ps(x + i + 8));
    a2 = _mm256_max_ps(a2, _mm256_loadu_ps(x + i + 16));
    a3 = _mm256_max_ps(a3, _mm256_loadu_ps(x + i + 24));
  }
  for (; i < n; i += 8) a0 = _mm256_max_ps(a0, load_rest(x + i, n - i, -INFINITY));
  return hmax(_mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3)));
}


// Pass 1 of Two-Pass, with the AVX-512 kernel's L2 prefetch on long rows (see there).

INLINE softmax_scaled_sum twopass_sum(const float *x, size_t n, int prefetch) {
  double total_m = 0;
  float total_e = -INFINITY;
  __m256 nan_lanes = _mm256_setzero_ps();
  const __m256 lowest = _mm256_set1_ps(-FLT_MAX);
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    __m256 am0 = _mm256_setzero_ps(), ae0 = lowest;
    size_t i = start;
    for (; i + 32 <= end; i += 32) {
      if (prefetch) {
        // A hint: never faults, even past the end of the row.
        const char *ahead = (const char *)(x + i + SOFTMAX_SUM_PREFETCH_FLOATS);
        _mm_prefetch(ahead, _MM_HINT_T1);
        _mm_prefetch(ahead + 64, _MM_HINT_T1);
      }
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
      const __m256 x2 = _mm256_loadu_ps(x + i + 16), x3 = _mm256_loadu_ps(x + i + 24);
      nan_lanes = _mm256_or_ps(nan_lanes, _mm256_or_ps(_mm256_cmp_ps(x0, x1, _CMP_UNORD_Q),
                                                       _mm256_cmp_ps(x2, x3, _CMP_UNORD_Q)));
      __m256 n0, n1, n2, n3;
      const __m256 m0 = extended_exp(x0, &n0), m1 = extended_exp(x1, &n1);
      const __m256 m2 = extended_exp(x2, &n2), m3 = extended_exp(x3, &n3);
      // One new exponent per lane for the four vectors: the accumulator is rescaled once per
      // 32 elements instead of once per 8.
      const __m256 e = _mm256_max_ps(_mm256_max_ps(_mm256_max_ps(n0, n1), _mm256_max_ps(n2, n3)), ae0);
      __m256 t = _mm256_mul_ps(m0, exp2_nonpositive(_mm256_sub_ps(n0, e)));
      t = _mm256_fmadd_ps(m1, exp2_nonpositive(_mm256_sub_ps(n1, e)), t);
      __m256 u = _mm256_mul_ps(m2, exp2_nonpositive(_mm256_sub_ps(n2, e)));
      u = _mm256_fmadd_ps(m3, exp2_nonpositive(_mm256_sub_ps(n3, e)), u);
      am0 = _mm256_fmadd_ps(am0, exp2_nonpositive(_mm256_sub_ps(ae0, e)), _mm256_add_ps(t, u));
      ae0 = e;
    }
    for (; i < end; i += 8) {
      const __m256i lanes = first_lanes(end - i);
      const __m256 v = load_rest(x + i, end - i, 0.0f);
      nan_lanes = _mm256_or_ps(nan_lanes, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      __m256 nv;
      const __m256 mv = extended_exp(v, &nv);
      const __m256 valid = _mm256_castsi256_ps(lanes);
      accumulate(&am0, &ae0, _mm256_and_ps(valid, mv), _mm256_blendv_ps(lowest, nv, valid));
    }
    const float e = hmax(ae0);
    merge_sum(&total_m, &total_e, hsum(_mm256_mul_ps(am0, exp2_nonpositive(_mm256_sub_ps(ae0, _mm256_set1_ps(e))))), e);
  }
  softmax_scaled_sum result = {total_m, total_e, _mm256_movemask_ps(nan_lanes) != 0};
  return result;
}

KERNEL softmax_scaled_sum softmax_twopass_sum_avx2_u32_acc1(const float *x, size_t n) {
  return n >= SOFTMAX_SUM_PREFETCH_FROM ? twopass_sum(x, n, 1) : twopass_sum(x, n, 0);
}

#define STORE_OUTPUT(stream, dst, v) \
  do { if (stream) _mm256_stream_ps((dst), (v)); else _mm256_storeu_ps((dst), (v)); } while (0)

// Elements before `y` reaches a 32-byte boundary (when streaming; 0 otherwise).
static size_t head_count(const float *y, size_t n, int stream) {
  if (!stream) return 0;
  const size_t misalignment = ((uintptr_t)y & 31) / sizeof(float);
  const size_t head = misalignment ? 8 - misalignment : 0;
  return head < n ? head : n;
}

// (m · inverse_mantissa) · 2^(n − bias), the factor folded into the polynomial.
INLINE __m256 twopass_output_vector(__m256 v, const scaled_polynomial *p, __m256 bias) {
  __m256 t;
  const __m256 n = reduce(clamp_to_domain(v), &t);
  return _mm256_mul_ps(evaluate(p, t), exp2_nonpositive(_mm256_sub_ps(n, bias)));
}

KERNEL void softmax_twopass_output_avx2_u16(const float *x, float *y, size_t n,
                                            float inverse_mantissa, float exponent_bias,
                                            int stream) {
  const scaled_polynomial polynomial = polynomial_scaled_by(inverse_mantissa);
  const scaled_polynomial *mi = &polynomial;
  const __m256 bias = _mm256_set1_ps(exponent_bias);
  const size_t head = head_count(y, n, stream);
  if (head) {
    const __m256i lanes = first_lanes(head);
    _mm256_maskstore_ps(y, lanes, twopass_output_vector(load_partial(x, lanes, 0.0f), mi, bias));
  }
  size_t i = head;
  for (; i + 16 <= n; i += 16) {
    const __m256 y0 = twopass_output_vector(_mm256_loadu_ps(x + i), mi, bias);
    const __m256 y1 = twopass_output_vector(_mm256_loadu_ps(x + i + 8), mi, bias);
    STORE_OUTPUT(stream, y + i, y0);
    STORE_OUTPUT(stream, y + i + 8, y1);
  }
  for (; i < n; i += 8) {
    store_rest(y + i, n - i, twopass_output_vector(load_rest(x + i, n - i, 0.0f), mi, bias));
  }
}

// Σ e^(x − shift), storing each term into y when y is non-null; without `underflows` (every
// x − shift at least the underflow cut) the full vectors skip the flush, which would keep
// every lane.
INLINE double sumexp_blocks(const float *x, float *y, size_t n, float shift, int underflows) {
  const __m256 vshift = _mm256_set1_ps(shift);
  double total = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0;
    size_t i = start;
    for (; i + 32 <= end; i += 32) {
      const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), vshift);
      const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vshift);
      const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 16), vshift);
      const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 24), vshift);
      const __m256 e0 = underflows ? exp_nonpositive(d0) : exp_above_cut(d0);
      const __m256 e1 = underflows ? exp_nonpositive(d1) : exp_above_cut(d1);
      const __m256 e2 = underflows ? exp_nonpositive(d2) : exp_above_cut(d2);
      const __m256 e3 = underflows ? exp_nonpositive(d3) : exp_above_cut(d3);
      if (y) {
        _mm256_storeu_ps(y + i, e0);
        _mm256_storeu_ps(y + i + 8, e1);
        _mm256_storeu_ps(y + i + 16, e2);
        _mm256_storeu_ps(y + i + 24, e3);
      }
      s0 = _mm256_add_ps(s0, _mm256_add_ps(e0, e2));
      s1 = _mm256_add_ps(s1, _mm256_add_ps(e1, e3));
    }
    for (; i < end; i += 8) {
      const __m256 e = exp_nonpositive(_mm256_sub_ps(load_rest(x + i, end - i, -INFINITY), vshift));
      if (y) store_rest(y + i, end - i, e);
      s0 = _mm256_add_ps(s0, e);
    }
    total += (double)hsum(_mm256_add_ps(s0, s1));
  }
  return total;
}

KERNEL double softmax_sumexp_avx2_u32_acc2(const float *x, size_t n, float shift) {
  return sumexp_blocks(x, NULL, n, shift, 1);
}

KERNEL double softmax_sumexp_store_avx2_u32_acc2(const float *x, float *y, size_t n, float shift) {
  return sumexp_blocks(x, y, n, shift, 1);
}

INLINE __m256 scale_kept(__m256 e, __m256 scale, __m256 threshold) {
  const __m256 keep = _mm256_cmp_ps(e, threshold, _CMP_GE_OQ);
  return _mm256_mul_ps(_mm256_and_ps(keep, e), scale);
}

KERNEL void softmax_expscale_avx2_u16(const float *x, float *y, size_t n, float shift,
                                      float scale, float threshold, int stream) {
  const __m256 vshift = _mm256_set1_ps(shift), vscale = _mm256_set1_ps(scale);
  const __m256 vthreshold = _mm256_set1_ps(threshold);
  const size_t head = head_count(y, n, stream);
  if (head) {
    const __m256i lanes = first_lanes(head);
    const __m256 e = exp_nonpositive(_mm256_sub_ps(load_partial(x, lanes, -INFINITY), vshift));
    _mm256_maskstore_ps(y, lanes, scale_kept(e, vscale, vthreshold));
  }
  size_t i = head;
  for (; i + 16 <= n; i += 16) {
    const __m256 e0 = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), vshift));
    const __m256 e1 = exp_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vshift));
    STORE_OUTPUT(stream, y + i, scale_kept(e0, vscale, vthreshold));
    STORE_OUTPUT(stream, y + i + 8, scale_kept(e1, vscale, vthreshold));
  }
  for (; i < n; i += 8) {
    const __m256 e = exp_nonpositive(_mm256_sub_ps(load_rest(x + i, n - i, -INFINITY), vshift));
    store_rest(y + i, n - i, scale_kept(e, vscale, vthreshold));
  }
}

// Threshold 0 (no product can be below 2^-125, as the reload row knows from its minimum): the
// full vectors multiply without the compare and the mask, which would keep every lane.
INLINE void scale_vectors(const float *x, float *y, size_t i, size_t n, __m256 vscale,
                          __m256 vthreshold, int stream, int flush) {
  for (; i + 32 <= n; i += 32) {
    const __m256 e0 = _mm256_loadu_ps(x + i), e1 = _mm256_loadu_ps(x + i + 8);
    const __m256 e2 = _mm256_loadu_ps(x + i + 16), e3 = _mm256_loadu_ps(x + i + 24);
    STORE_OUTPUT(stream, y + i, flush ? scale_kept(e0, vscale, vthreshold) : _mm256_mul_ps(e0, vscale));
    STORE_OUTPUT(stream, y + i + 8, flush ? scale_kept(e1, vscale, vthreshold) : _mm256_mul_ps(e1, vscale));
    STORE_OUTPUT(stream, y + i + 16, flush ? scale_kept(e2, vscale, vthreshold) : _mm256_mul_ps(e2, vscale));
    STORE_OUTPUT(stream, y + i + 24, flush ? scale_kept(e3, vscale, vthreshold) : _mm256_mul_ps(e3, vscale));
  }
  for (; i < n; i += 8) {
    store_rest(y + i, n - i, scale_kept(load_rest(x + i, n - i, 0.0f), vscale, vthreshold));
  }
}

KERNEL void softmax_scale_avx2_u32(const float *x, float *y, size_t n, float scale, float threshold, int stream) {
  const __m256 vscale = _mm256_set1_ps(scale), vthreshold = _mm256_set1_ps(threshold);
  const size_t head = head_count(y, n, stream);
  if (head) {
    const __m256i lanes = first_lanes(head);
    _mm256_maskstore_ps(y, lanes, scale_kept(load_partial(x, lanes, 0.0f), vscale, vthreshold));
  }
  if (threshold == 0) {
    scale_vectors(x, y, head, n, vscale, vthreshold, stream, 0);
  } else {
    scale_vectors(x, y, head, n, vscale, vthreshold, stream, 1);
  }
}

// The reload row's maximum pass, as softmax_max_avx2_u32_acc4 finds the maximum, and the
// minimum beside it (one vminps per vector on the same loads).
KERNEL static float reload_maximum(const float *x, size_t n, float *minimum) {
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY), pos_inf = _mm256_set1_ps(INFINITY);
  __m256 a0 = neg_inf, a1 = neg_inf, a2 = neg_inf, a3 = neg_inf, b0 = pos_inf, b1 = pos_inf;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    const __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
    a0 = _mm256_max_ps(a0, v0);
    a1 = _mm256_max_ps(a1, v1);
    a2 = _mm256_max_ps(a2, v2);
    a3 = _mm256_max_ps(a3, v3);
    b0 = _mm256_min_ps(b0, _mm256_min_ps(v0, v1));
    b1 = _mm256_min_ps(b1, _mm256_min_ps(v2, v3));
  }
  for (; i < n; i += 8) {
    a0 = _mm256_max_ps(a0, load_rest(x + i, n - i, -INFINITY));
    b0 = _mm256_min_ps(b0, load_rest(x + i, n - i, INFINITY));
  }
  const __m256 b = _mm256_min_ps(b0, b1);
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(b), _mm256_extractf128_ps(b, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  *minimum = _mm_cvtss_f32(m);
  return hmax(_mm256_max_ps(_mm256_max_ps(a0, a1), _mm256_max_ps(a2, a3)));
}

KERNEL static double reload_sum_and_store(const float *x, float *y, size_t n, float shift,
                                          int underflows) {
  return underflows ? sumexp_blocks(x, y, n, shift, 1) : sumexp_blocks(x, y, n, shift, 0);
}

// The output pass of log-softmax, as the AVX-512 set's (softmax_log_output_avx512_u64): the
// portable loop's subtractions in the same order, streamed when asked.
INLINE __m256 log_output_vector(__m256 v, __m256 shift, __m256 high, __m256 low) {
  return _mm256_sub_ps(_mm256_sub_ps(_mm256_sub_ps(v, shift), high), low);
}

KERNEL void softmax_log_output_avx2_u32(const float *x, float *y, size_t n, float shift,
                                        float high, float low, int stream) {
  const __m256 s = _mm256_set1_ps(shift), h = _mm256_set1_ps(high), l = _mm256_set1_ps(low);
  const size_t head = head_count(y, n, stream);
  if (head) {
    const __m256i lanes = first_lanes(head);
    _mm256_maskstore_ps(y, lanes, log_output_vector(load_partial(x, lanes, 0.0f), s, h, l));
  }
  size_t i = head;
  for (; i + 32 <= n; i += 32) {
    const __m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
    const __m256 v2 = _mm256_loadu_ps(x + i + 16), v3 = _mm256_loadu_ps(x + i + 24);
    STORE_OUTPUT(stream, y + i, log_output_vector(v0, s, h, l));
    STORE_OUTPUT(stream, y + i + 8, log_output_vector(v1, s, h, l));
    STORE_OUTPUT(stream, y + i + 16, log_output_vector(v2, s, h, l));
    STORE_OUTPUT(stream, y + i + 24, log_output_vector(v3, s, h, l));
  }
  for (; i < n; i += 8) {
    store_rest(y + i, n - i, log_output_vector(load_rest(x + i, n - i, 0.0f), s, h, l));
  }
}

KERNEL int softmax_reload_row_avx2_u32(const float *x, float *y, size_t n, int stream) {
  return softmax_reload_row(x, y, n, stream, reload_maximum, reload_sum_and_store,
                            softmax_scale_avx2_u32);
}

// The reload row's first two passes, as the AVX-512 set's softmax_reload_sum_avx512_u64: the
// maximum and minimum, then the exponentials stored and summed, without the flush where the
// spread allows it. The staged rows of the cross-entropy and softmax call it.
KERNEL double softmax_reload_sum_avx2_u32(const float *x, float *e, size_t n, float *maximum,
                                          float *spread) {
  float minimum;
  *maximum = reload_maximum(x, n, &minimum);
  *spread = minimum - *maximum;
  if (!isfinite(*maximum)) return 0;
  return reload_sum_and_store(x, e, n, *maximum, !(*spread >= SOFTMAX_EXP_UNDERFLOW));
}

// Pass 1 of the online softmax; the same per-lane recurrence as the AVX-512 kernel (see there
// and OnlineKernels.swift for the −FLT_MAX start, −inf, NaN and the no-subnormal argument).
INLINE void online_add(__m256 *m, __m256 *s, __m256 v) {
  // One exponential: e^(−|v − m|), the sign bit set by an OR.
  const __m256 e = exp_nonpositive(_mm256_or_ps(_mm256_sub_ps(v, *m), _mm256_set1_ps(-0.0f)));
  const __m256 larger = _mm256_cmp_ps(v, *m, _CMP_GT_OQ);
  // Larger: s · e + 1 (old terms rescaled to v); otherwise s + e.
  *s = _mm256_blendv_ps(_mm256_add_ps(*s, e), _mm256_fmadd_ps(*s, e, _mm256_set1_ps(1.0f)), larger);
  *m = _mm256_blendv_ps(*m, v, larger);
}

INLINE void online_merge(__m256 *m, __m256 *s, __m256 m2, __m256 s2) {
  const __m256 target = _mm256_max_ps(*m, m2);
  *s = _mm256_fmadd_ps(*s, exp_nonpositive(_mm256_sub_ps(*m, target)),
                       _mm256_mul_ps(s2, exp_nonpositive(_mm256_sub_ps(m2, target))));
  *m = target;
}

KERNEL softmax_max_sum softmax_online_sum_avx2_u32_acc4(const float *x, size_t n) {
  const __m256 lowest = _mm256_set1_ps(-FLT_MAX);
  float total_max = -INFINITY;
  double total_sum = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    __m256 m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = start;
    for (; i + 32 <= end; i += 32) {
      online_add(&m0, &s0, _mm256_loadu_ps(x + i));
      online_add(&m1, &s1, _mm256_loadu_ps(x + i + 8));
      online_add(&m2, &s2, _mm256_loadu_ps(x + i + 16));
      online_add(&m3, &s3, _mm256_loadu_ps(x + i + 24));
    }
    for (; i < end; i += 8) online_add(&m0, &s0, load_rest(x + i, end - i, -INFINITY));
    online_merge(&m0, &s0, m1, s1);
    online_merge(&m2, &s2, m3, s3);
    online_merge(&m0, &s0, m2, s2);
    const float m = hmax(m0);
    const float s = hsum(_mm256_mul_ps(s0, exp_nonpositive(_mm256_sub_ps(m0, _mm256_set1_ps(m)))));
    merge_max_sum(&total_max, &total_sum, s == 0 ? -INFINITY : m, s);
  }
  softmax_max_sum result = {total_max, total_sum};
  return result;
}

// (x − shift) / divisor + (bias − offset) in Double lanes, rounded once, as tempered_logits in
// avx512_kernels.c.
INLINE __m256 tempered_logits(__m256 v, const float *bias, __m256d shift, __m256d reciprocal,
                              __m256d offset) {
  __m256d low = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
  __m256d high = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  low = _mm256_mul_pd(_mm256_sub_pd(low, shift), reciprocal);
  high = _mm256_mul_pd(_mm256_sub_pd(high, shift), reciprocal);
  if (bias) {
    low = _mm256_add_pd(low, _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(bias)), offset));
    high = _mm256_add_pd(high, _mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(bias + 4)), offset));
  } else {
    low = _mm256_sub_pd(low, offset);
    high = _mm256_sub_pd(high, offset);
  }
  return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(low)), _mm256_cvtpd_ps(high), 1);
}

// The full vectors of softmax_logits_avx2_u8 with the options as compile-time constants, so
// that each call site gets a loop without per-vector tests (see logits_body in
// avx512_kernels.c).
INLINE size_t logits_body(const float *x, float *y, size_t n, __m256d shift, __m256d reciprocal,
                          __m256d offset, const bool *keep, const float *bias, const int temper,
                          const int has_keep, const int has_bias) {
  const __m256 neg_inf = _mm256_set1_ps(-INFINITY);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    if (temper) {
      v = tempered_logits(v, has_bias ? bias + i : NULL, shift, reciprocal, offset);
    } else if (has_bias) {
      v = _mm256_add_ps(v, _mm256_loadu_ps(bias + i));
    }
    if (has_keep) {
      const __m256i k = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(keep + i)));
      const __m256 dropped = _mm256_castsi256_ps(_mm256_cmpeq_epi32(k, _mm256_setzero_si256()));
      v = _mm256_blendv_ps(v, neg_inf, dropped);
    }
    _mm256_storeu_ps(y + i, v);
  }
  return i;
}

// The effective logits of a masked, tempered row, as softmax_logits_avx512_u16. y may be x.
KERNEL void softmax_logits_avx2_u8(const float *x, float *y, size_t n, float divisor, float shift,
                                float offset, const bool *keep, const float *bias) {
  const double reciprocal = 1.0 / (double)divisor;
  const __m256d s = _mm256_set1_pd((double)shift);
  const __m256d r = _mm256_set1_pd(reciprocal);
  const __m256d o = _mm256_set1_pd((double)offset);
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
typedef int softmax_avx2_unavailable;
#endif
