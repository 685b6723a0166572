// AVX2 + FMA training kernels: the backward passes' sums and outputs, 8 lanes, non-temporal
// stores when asked (the caller fences). The portable Swift kernels these replace are compiled
// for baseline x86-64 (SSE2, no FMA): on the Zen 5 of 2026-12-02 with SOFTMAX_ISA=avx2 the
// log-softmax backward took 2.2-3.0 times the AVX2 softmax and the softmax backward reached
// 44-59% of its roofline (BENCHMARKS.md, "AVX2 training kernels").
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#include "../common/exp_constants.h"

#define KERNEL __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline, target("avx2,fma")))

#define STORE(stream, dst, v) \
  do { if (stream) _mm256_stream_ps((dst), (v)); else _mm256_storeu_ps((dst), (v)); } while (0)

// Lanes below `rest` (all when rest ≥ 8), as a vmaskmovps mask.
INLINE __m256i first_lanes(size_t rest) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(rest < 8 ? rest : 8)), index);
}

// The elements of a partial vector, 0 in the other lanes.
INLINE __m256 load_rest(const float *p, size_t rest) {
  return rest >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, first_lanes(rest));
}

INLINE void store_rest(float *p, size_t rest, __m256 v) {
  if (rest >= 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, first_lanes(rest), v);
  }
}

// Elements before dx reaches a 32-byte boundary when streaming (0 otherwise).
static size_t stream_head(const float *dx, size_t n, int stream) {
  if (!stream) return 0;
  const size_t misalignment = ((uintptr_t)dx & 31) / sizeof(float);
  const size_t head = misalignment ? 8 - misalignment : 0;
  return head < n ? head : n;
}

// The eight floats of v added to two Double accumulators (low and high four lanes).
INLINE void add_doubles(__m256d *lo, __m256d *hi, __m256 v) {
  *lo = _mm256_add_pd(*lo, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
  *hi = _mm256_add_pd(*hi, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
}

// The products of a and b, exact in Double, added to two Double accumulators.
INLINE void add_products(__m256d *lo, __m256d *hi, __m256 a, __m256 b) {
  *lo = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(a)),
                        _mm256_cvtps_pd(_mm256_castps256_ps128(b)), *lo);
  *hi = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(a, 1)),
                        _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1)), *hi);
}

INLINE double hsum_pd(__m256d v) {
  const __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)));
}

// Σ a · b in Double lanes (the products of two Floats are exact in Double), four accumulator
// pairs so that the adds' latency does not bound a row in cache.
KERNEL double softmax_dot_avx2_u32_acc4(const float *a, const float *b, size_t n) {
  __m256d s[8];
  for (int k = 0; k < 8; k++) s[k] = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; k++) {
      add_products(&s[2 * k], &s[2 * k + 1], _mm256_loadu_ps(a + i + 8 * k),
                   _mm256_loadu_ps(b + i + 8 * k));
    }
  }
  for (; i < n; i += 8) add_products(&s[0], &s[1], load_rest(a + i, n - i), load_rest(b + i, n - i));
  const __m256d t = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])),
                                  _mm256_add_pd(_mm256_add_pd(s[4], s[5]), _mm256_add_pd(s[6], s[7])));
  return hsum_pd(t);
}

// Σ a in Double lanes.
KERNEL double softmax_sum_avx2_u32_acc4(const float *a, size_t n) {
  __m256d s[8];
  for (int k = 0; k < 8; k++) s[k] = _mm256_setzero_pd();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; k++) add_doubles(&s[2 * k], &s[2 * k + 1], _mm256_loadu_ps(a + i + 8 * k));
  }
  for (; i < n; i += 8) add_doubles(&s[0], &s[1], load_rest(a + i, n - i));
  const __m256d t = _mm256_add_pd(_mm256_add_pd(_mm256_add_pd(s[0], s[1]), _mm256_add_pd(s[2], s[3])),
                                  _mm256_add_pd(_mm256_add_pd(s[4], s[5]), _mm256_add_pd(s[6], s[7])));
  return hsum_pd(t);
}

// dx = y · (dy − s): the portable kernel's two operations, so the same bits.
INLINE __m256 backward_vector(__m256 y, __m256 dy, __m256 s) {
  return _mm256_mul_ps(y, _mm256_sub_ps(dy, s));
}

KERNEL void softmax_backward_output_avx2_u32(const float *y, const float *dy, float *dx, size_t n,
                                             float s, int stream) {
  const __m256 vs = _mm256_set1_ps(s);
  const size_t head = stream_head(dx, n, stream);
  if (head) store_rest(dx, head, backward_vector(load_rest(y, head), load_rest(dy, head), vs));
  size_t i = head;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 32; k += 8) {
      STORE(stream, dx + i + k, backward_vector(_mm256_loadu_ps(y + i + k), _mm256_loadu_ps(dy + i + k), vs));
    }
  }
  for (; i < n; i += 8) {
    store_rest(dx + i, n - i, backward_vector(load_rest(y + i, n - i), load_rest(dy + i, n - i), vs));
  }
}

// e^x / 2^n and n = round(x log2 e) for x in the clamp's range: the two-constant reduction and
// the degree-5 polynomial that both exponentials below share.
INLINE __m256 exp_mantissa(__m256 x, __m256 *n) {
  const __m256 magic = _mm256_set1_ps(SOFTMAX_ROUNDING_MAGIC);
  *n = _mm256_sub_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(SOFTMAX_LOG2E), magic), magic);
  __m256 t = _mm256_fnmadd_ps(*n, _mm256_set1_ps(SOFTMAX_LN2_HI), x);
  t = _mm256_fnmadd_ps(*n, _mm256_set1_ps(SOFTMAX_LN2_LO), t);
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(SOFTMAX_P5_C5), t, _mm256_set1_ps(SOFTMAX_P5_C4));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SOFTMAX_P5_C3));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SOFTMAX_P5_C2));
  p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(SOFTMAX_P5_C1));
  return _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.0f));
}

// 2^n for integer-valued n in [−126, 127], from its exponent field.
INLINE __m256 exp2_of(__m256 n) {
  const __m256i bits = _mm256_castps_si256(_mm256_add_ps(n, _mm256_set1_ps(SOFTMAX_SCALE_MAGIC)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(bits, 23));
}

// e^x for any x, as the portable `exp` has it: 0 below −87.33 (never subnormal), +inf from
// 88.7229, NaN for NaN. max and min return their second operand when one is NaN, so the
// clamp keeps NaN, and NaN compares unordered, so no mask drops it.
INLINE __m256 exp_any(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_set1_ps(88.75f),
                                  _mm256_max_ps(_mm256_set1_ps(SOFTMAX_EXP_LOW_CLAMP), x));
  __m256 n;
  __m256 p = exp_mantissa(xc, &n);
  // Zero the mantissa (not the product) of underflowing lanes: no subnormal is computed.
  p = _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_set1_ps(SOFTMAX_EXP_UNDERFLOW), _CMP_LT_OQ), p);
  // n ∈ [−126, 128]; 2^128 is not a Float, so scale by 2^127 and double those lanes.
  const __m256 over = _mm256_cmp_ps(n, _mm256_set1_ps(127.0f), _CMP_GT_OQ);
  const __m256 r = _mm256_mul_ps(p, exp2_of(_mm256_blendv_ps(n, _mm256_set1_ps(127.0f), over)));
  return _mm256_blendv_ps(r, _mm256_add_ps(r, r), over);
}

// e^x for x in [−87.33, 88): exp_any's bits without its clamp, masks and blends.
INLINE __m256 exp_in_range(__m256 x) {
  __m256 n;
  const __m256 p = exp_mantissa(x, &n);
  return _mm256_mul_ps(p, exp2_of(n));
}

// dx = dy − e^logY · s, rounded once. Log-probabilities are rarely below −87.33 and never
// above 0, so a vector whose lanes all lie in [−87.33, 88) (NaN fails both compares) takes the
// exponential without its edge cases: in cache that made the pass about 1.3 times faster.
INLINE __m256 log_backward_vector(__m256 log_y, __m256 dy, __m256 s) {
  const __m256 inside =
      _mm256_and_ps(_mm256_cmp_ps(log_y, _mm256_set1_ps(SOFTMAX_EXP_UNDERFLOW), _CMP_GE_OQ),
                    _mm256_cmp_ps(log_y, _mm256_set1_ps(88.0f), _CMP_LT_OQ));
  const __m256 e = _mm256_movemask_ps(inside) == 0xFF ? exp_in_range(log_y) : exp_any(log_y);
  return _mm256_fnmadd_ps(e, s, dy);
}

KERNEL void softmax_log_backward_output_avx2_u32(const float *log_y, const float *dy, float *dx,
                                                 size_t n, float s, int stream) {
  const __m256 vs = _mm256_set1_ps(s);
  const size_t head = stream_head(dx, n, stream);
  if (head) store_rest(dx, head, log_backward_vector(load_rest(log_y, head), load_rest(dy, head), vs));
  size_t i = head;
  for (; i + 16 <= n; i += 16) {
    STORE(stream, dx + i, log_backward_vector(_mm256_loadu_ps(log_y + i), _mm256_loadu_ps(dy + i), vs));
    STORE(stream, dx + i + 8,
          log_backward_vector(_mm256_loadu_ps(log_y + i + 8), _mm256_loadu_ps(dy + i + 8), vs));
  }
  for (; i < n; i += 8) {
    store_rest(dx + i, n - i, log_backward_vector(load_rest(log_y + i, n - i), load_rest(dy + i, n - i), vs));
  }
}

// The cross-entropy gradient's output pass: y = (e < threshold ? 0 : e · scale) − offset,
// returning Σ y but the entry `excluded`. The portable kernel's arithmetic (a multiply, then a
// subtraction) and its sum: the vector at element i (i mod 16 = 0) goes to accumulator a0,
// the next to a1, so the 16 Float lanes hold what the portable kernel's SIMD16 lanes hold, and
// each 4096-element block adds them to the Double total in lane order: the same bits as the
// portable kernel, wherever y lies. Streaming takes 32-byte stores where y is 32-byte aligned
// and 16-byte ones where it is 16-byte aligned (the same lines, fully written in turn);
// otherwise, and on the line of y[excluded] (which its caller writes again), plain stores.
INLINE __m256 gradient_vector(__m256 e, __m256 scale, __m256 threshold, __m256 offset) {
  // NaN compares unordered, so it is kept, as the portable kernel keeps it.
  const __m256 drop = _mm256_cmp_ps(e, threshold, _CMP_LT_OQ);
  return _mm256_sub_ps(_mm256_mul_ps(_mm256_andnot_ps(drop, e), scale), offset);
}

// Stores vector v at y + i: `mode` 32 or 16 streams it in stores of that many bytes (y then
// has that alignment), 0 stores it plainly; so does every mode on the line of y[excluded].
// `mode` is a constant in each specialized loop below, so the choice costs no branch.
INLINE void gradient_store(float *y, size_t i, __m256 v, int mode, uintptr_t excluded_line) {
  float *p = y + i;
  const uintptr_t a = (uintptr_t)p;
  if (mode == 32 && (a >> 6) != excluded_line) {
    _mm256_stream_ps(p, v);
  } else if (mode == 16 && (a >> 6) != excluded_line && ((a + 16) >> 6) != excluded_line) {
    _mm_stream_ps(p, _mm256_castps256_ps128(v));
    _mm_stream_ps(p + 4, _mm256_extractf128_ps(v, 1));
  } else {
    _mm256_storeu_ps(p, v);
  }
}

// v without the lane of `excluded` (when it is one of the 8 from i) and the lanes from `rest`.
INLINE __m256 counted(__m256 v, size_t i, size_t excluded, size_t rest) {
  const __m256i index = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i keep = first_lanes(rest);
  if (excluded - i < 8) {
    keep = _mm256_andnot_si256(_mm256_cmpeq_epi32(index, _mm256_set1_epi32((int)(excluded - i))), keep);
  }
  return _mm256_and_ps(v, _mm256_castsi256_ps(keep));
}

INLINE double scale_gradient_stores(const float *e, float *y, size_t n, float scale,
                                    float threshold, float offset, size_t excluded, int mode,
                                    uintptr_t excluded_line) {
  const __m256 vs = _mm256_set1_ps(scale), vt = _mm256_set1_ps(threshold);
  const __m256 vo = _mm256_set1_ps(offset);
  double total = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    size_t i = start;
    // Pairs of whole vectors; only the pair holding the excluded entry needs a mask.
    for (; i + 16 <= end; i += 16) {
      const __m256 r0 = gradient_vector(_mm256_loadu_ps(e + i), vs, vt, vo);
      const __m256 r1 = gradient_vector(_mm256_loadu_ps(e + i + 8), vs, vt, vo);
      gradient_store(y, i, r0, mode, excluded_line);
      gradient_store(y, i + 8, r1, mode, excluded_line);
      if (excluded - i < 16) {
        a0 = _mm256_add_ps(a0, counted(r0, i, excluded, 8));
        a1 = _mm256_add_ps(a1, counted(r1, i + 8, excluded, 8));
      } else {
        a0 = _mm256_add_ps(a0, r0);
        a1 = _mm256_add_ps(a1, r1);
      }
    }
    // The last partial group of 16: its first vector to a0, the second to a1.
    for (int half = 0; i < end; i += 8, half++) {
      const size_t rest = end - i;
      const __m256 r = gradient_vector(load_rest(e + i, rest), vs, vt, vo);
      if (rest >= 8) {
        gradient_store(y, i, r, mode, excluded_line);
      } else {
        store_rest(y + i, rest, r);
      }
      const __m256 c = counted(r, i, excluded, rest);
      if (half == 0) a0 = _mm256_add_ps(a0, c); else a1 = _mm256_add_ps(a1, c);
    }
    float lanes[16];
    _mm256_storeu_ps(lanes, a0);
    _mm256_storeu_ps(lanes + 8, a1);
    for (int l = 0; l < 16; l++) total += (double)lanes[l];
  }
  return total;
}

INLINE double scale_gradient(const float *e, float *y, size_t n, float scale, float threshold,
                             float offset, size_t excluded, int stream) {
  const uintptr_t a = (uintptr_t)y;
  // 0 matches no line of y: y is never within the first 64 bytes of the address space.
  const uintptr_t line = stream && excluded < n ? (uintptr_t)(y + excluded) >> 6 : 0;
  if (stream && (a & 31) == 0) {
    return scale_gradient_stores(e, y, n, scale, threshold, offset, excluded, 32, line);
  }
  if (stream && (a & 15) == 0) {
    return scale_gradient_stores(e, y, n, scale, threshold, offset, excluded, 16, line);
  }
  return scale_gradient_stores(e, y, n, scale, threshold, offset, excluded, 0, line);
}

KERNEL double softmax_scale_gradient_avx2_u16(const float *e, float *y, size_t n, float scale,
                                              float threshold, float offset, size_t excluded,
                                              int stream) {
  return scale_gradient(e, y, n, scale, threshold, offset, excluded, stream);
}

// The same pass, then y[entry] = base, less the sum of the others when `less_others`, rounded
// once: the portable kernel's bits. The entry's line took plain stores, so its late store
// meets no streaming store of the same line.
KERNEL void softmax_scale_gradient_entry_avx2_u16(const float *e, float *y, size_t n, float scale,
                                                  float threshold, float offset, size_t entry,
                                                  double base, int less_others, int stream) {
  const double others = scale_gradient(e, y, n, scale, threshold, offset, entry, stream);
  if (entry < n) y[entry] = (float)(less_others ? base - others : base);
}

#endif
