// AVX-512 pass kernels: 16 lanes, masked loads and stores for tails, vscalefps for exact
// scaling by powers of two. Compiled for AVX-512 by the target attribute alone, so the
// package needs no unsafe flags; called only when softmax_x86_cpu_features() reports it.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <float.h>
#include <immintrin.h>
#include <math.h>

#include "../common/exp_constants.h"
#include "../common/reload_row.h"
#include "../common/scaled_sum.h"
#include "avx512_exp.h"




KERNEL float softmax_max_avx512_u64_acc4(const float *x, size_t n) {
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  __m512 a0 = neg_inf, a1 = neg_inf, a2 = neg_inf, a3 = neg_inf;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_max_ps(a0, _mm512_loadu_ps(x + i));
    a1 = _mm512_max_ps(a1, _mm512_loadu_ps(x + i + 16));
    a2 = _mm512_max_ps(a2, _mm512_loadu_ps(x + i + 32));
    a3 = _mm512_max_ps(a3, _mm512_loadu_ps(x + i + 48));
  }
  for (; i + 16 <= n; i += 16) a0 = _mm512_max_ps(a0, _mm512_loadu_ps(x + i));
  if (i < n) a0 = _mm512_max_ps(a0, _mm512_mask_loadu_ps(neg_inf, first_lanes(n - i), x + i));
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3)));
}

// The maximum, as softmax_max_avx512_u64_acc4 finds it, and the minimum, for the reload row.
// The row is read once either way; the minimum costs a vminps per vector.
KERNEL static float reload_maximum(const float *x, size_t n, float *minimum) {
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY), pos_inf = _mm512_set1_ps(INFINITY);
  __m512 a0 = neg_inf, a1 = neg_inf, a2 = neg_inf, a3 = neg_inf;
  __m512 b0 = pos_inf, b1 = pos_inf;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
    const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
    a0 = _mm512_max_ps(a0, v0);
    a1 = _mm512_max_ps(a1, v1);
    a2 = _mm512_max_ps(a2, v2);
    a3 = _mm512_max_ps(a3, v3);
    b0 = _mm512_min_ps(b0, _mm512_min_ps(v0, v1));
    b1 = _mm512_min_ps(b1, _mm512_min_ps(v2, v3));
  }
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(x + i);
    a0 = _mm512_max_ps(a0, v);
    b0 = _mm512_min_ps(b0, v);
  }
  if (i < n) {
    const __mmask16 lanes = first_lanes(n - i);
    a0 = _mm512_max_ps(a0, _mm512_mask_loadu_ps(neg_inf, lanes, x + i));
    b0 = _mm512_min_ps(b0, _mm512_mask_loadu_ps(pos_inf, lanes, x + i));
  }
  *minimum = _mm512_reduce_min_ps(_mm512_min_ps(b0, b1));
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(a0, a1), _mm512_max_ps(a2, a3)));
}


// m · 2^floor(d): kept normal (scale_by_exp2) with `masks`, else as vscalefps gives it.
INLINE __m512 term(__m512 m, __m512 d, int masks) {
  return masks ? scale_by_exp2(m, d) : _mm512_scalef_ps(m, d);
}

// Pass 1 of Two-Pass. Out of cache it runs behind the read alone (0.48 against 0.37
// ns/element at 2^26 on the Xeon of 2026-12-01): its arithmetic keeps the loop from issuing
// loads early enough for the hardware prefetcher, whose reach is a few dozen lines. A software
// prefetch into L2 8 KiB ahead brought it to 0.39–0.43 against 0.35–0.37 (three alternating
// runs; 2, 4 and 8 KiB ahead and L1 hints measured too: BENCHMARKS.md "Against XNNPACK").
// Rows that fit in L2 skip it: there it would be four wasted instructions per 64 elements.
// The distance and the cut are in common/exp_constants.h.

// `masks` 0 drops the compares that keep the main loop's terms normal (scale_by_exp2 writes 0
// where m · 2^d would be below 2^-125): on CPUs that produce subnormals at full speed they
// were 11% of this pass (C loop in cache, 4096–131072 floats, Zen 5, 2026-12-02: 0.102 against
// 0.091 ns/element). The sum is the same: in every step, one of the lane's accumulator and its
// four new terms is at least 0.98 (the one whose exponent sets e has d in [0, 1) and m ≥ 0.98),
// and a term the masks write as 0 is below 2^-125, under half an ulp of any sum at least 2^-101.
// So it vanishes in the first addition with such a sum, and otherwise joins a partial sum below
// 2^-100 that vanishes against the 0.98; the bits could differ only through a rounding tie
// that such a partial sum decides. `TableSlotTests` compares the two on adversarial rows. Each
// d is finite (the exponents are clamped with their inputs), so no vscalefps sees NaN.
INLINE softmax_scaled_sum twopass_sum(const float *x, size_t n, int prefetch, int masks) {
  double total_m = 0;
  float total_e = -INFINITY;
  __mmask16 nan_lanes = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    const __m512 zero = _mm512_setzero_ps(), lowest = _mm512_set1_ps(-FLT_MAX);
    __m512 am0 = zero, ae0 = lowest;
    size_t i = start;
    for (; i + 64 <= end; i += 64) {
      if (prefetch) {
        // A hint: never faults, even past the end of the row.
        const char *ahead = (const char *)(x + i + SOFTMAX_SUM_PREFETCH_FLOATS);
        _mm_prefetch(ahead, _MM_HINT_T1);
        _mm_prefetch(ahead + 64, _MM_HINT_T1);
        _mm_prefetch(ahead + 128, _MM_HINT_T1);
        _mm_prefetch(ahead + 192, _MM_HINT_T1);
      }
      const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
      const __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
      nan_lanes |= _mm512_cmp_ps_mask(x0, x1, _CMP_UNORD_Q) | _mm512_cmp_ps_mask(x2, x3, _CMP_UNORD_Q);
      __m512 k0, k1, k2, k3;
      const __m512 m0 = extended_exp(x0, &k0), m1 = extended_exp(x1, &k1);
      const __m512 m2 = extended_exp(x2, &k2), m3 = extended_exp(x3, &k3);
      // One new exponent per lane for the four vectors: the accumulator is rescaled once per
      // 64 elements instead of once per 16.
      const __m512 e = floor_ps(_mm512_max_ps(_mm512_max_ps(_mm512_max_ps(k0, k1), _mm512_max_ps(k2, k3)), ae0));
      const __m512 t01 = _mm512_add_ps(term(m0, _mm512_sub_ps(k0, e), masks), term(m1, _mm512_sub_ps(k1, e), masks));
      const __m512 t23 = _mm512_add_ps(term(m2, _mm512_sub_ps(k2, e), masks), term(m3, _mm512_sub_ps(k3, e), masks));
      am0 = _mm512_add_ps(term(am0, _mm512_sub_ps(ae0, e), masks), _mm512_add_ps(t01, t23));
      ae0 = e;
    }
    for (; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      const __m512 v = loadz_lanes(x + i, lanes);
      nan_lanes |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
      __m512 kv;
      const __m512 mv = extended_exp(v, &kv);
      accumulate(&am0, &ae0, _mm512_maskz_mov_ps(lanes, mv), _mm512_mask_mov_ps(lowest, lanes, kv));
    }
    const float e = _mm512_reduce_max_ps(ae0);
    const float m = _mm512_reduce_add_ps(scale_by_exp2(am0, _mm512_sub_ps(ae0, _mm512_set1_ps(e))));
    merge_sum(&total_m, &total_e, m, e);
  }
  softmax_scaled_sum result = {total_m, total_e, nan_lanes != 0};
  return result;
}

KERNEL softmax_scaled_sum softmax_twopass_sum_avx512_u64_acc1(const float *x, size_t n) {
  return n >= SOFTMAX_SUM_PREFETCH_FROM ? twopass_sum(x, n, 1, 1) : twopass_sum(x, n, 0, 1);
}

KERNEL softmax_scaled_sum softmax_twopass_sum_avx512_u64_acc1_unmasked(const float *x, size_t n) {
  return n >= SOFTMAX_SUM_PREFETCH_FROM ? twopass_sum(x, n, 1, 0) : twopass_sum(x, n, 0, 0);
}

// Stores one output vector: non-temporal when streaming (the caller aligned `y + i`).
#define STORE_OUTPUT(stream, dst, v) \
  do { if (stream) _mm512_stream_ps((dst), (v)); else _mm512_storeu_ps((dst), (v)); } while (0)

// Elements before `y` reaches a 64-byte boundary (when streaming; 0 otherwise).
static size_t head_count(const float *y, size_t n, int stream) {
  if (!stream) return 0;
  const size_t misalignment = ((uintptr_t)y & 63) / sizeof(float);
  const size_t head = misalignment ? 16 - misalignment : 0;
  return head < n ? head : n;
}



// Pass 2 of Two-Pass. Out of cache, without a software prefetch, it ran far behind a plain
// streaming copy with the same traffic: in a C loop over 2^26 floats (read x, stream y; Zen 5,
// 2026-12-02, three rounds, median of 7) 0.22–0.30 ns/element against the copy's 0.15–0.18,
// as if its arithmetic and its memory took turns. Asking for the input 4 KiB ahead into L1
// brought it to 0.20–0.21 (16 KiB ahead: 0.20–0.24; 2 KiB or 8 KiB into L2: 0.20–0.22); 2 KiB
// into L1 with 16 KiB into the outer caches to 0.18–0.20 (prefetch_output_input).
INLINE void twopass_output(const float *x, float *y, size_t n, float inverse_mantissa,
                           float exponent_bias, int stream, int prefetch) {
  float table[32] __attribute__((aligned(64)));
  scaled_table(inverse_mantissa, table);
  const __m512 lo = _mm512_load_ps(table), hi = _mm512_load_ps(table + 16);
  const __m512 bias = _mm512_set1_ps(exponent_bias);
  const size_t head = head_count(y, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(y, lanes, twopass_output_vector(_mm512_maskz_loadu_ps(lanes, x), lo, hi, bias));
  }
  size_t i = head;
  for (; i + 32 <= n; i += 32) {
    if (prefetch) prefetch_output_input(x + i);
    const __m512 y0 = twopass_output_vector(_mm512_loadu_ps(x + i), lo, hi, bias);
    const __m512 y1 = twopass_output_vector(_mm512_loadu_ps(x + i + 16), lo, hi, bias);
    STORE_OUTPUT(stream, y + i, y0);
    STORE_OUTPUT(stream, y + i + 16, y1);
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    store_lanes(y + i, lanes, twopass_output_vector(loadz_lanes(x + i, lanes), lo, hi, bias));
  }
}

KERNEL void softmax_twopass_output_avx512_u32(const float *x, float *y, size_t n,
                                              float inverse_mantissa, float exponent_bias,
                                              int stream) {
  if (n >= SOFTMAX_SUM_PREFETCH_FROM) {
    twopass_output(x, y, n, inverse_mantissa, exponent_bias, stream, 1);
  } else {
    twopass_output(x, y, n, inverse_mantissa, exponent_bias, stream, 0);
  }
}

// Σ e^(x − shift) in blocks; stores each e^(x − shift) into y when y is non-null. Without
// `underflows` (every x − shift is at least the underflow cut) the full vectors skip the
// flush to 0, which would keep every lane.
INLINE double sumexp_blocks(const float *x, float *y, size_t n, float shift, int underflows) {
  const __m512 vshift = _mm512_set1_ps(shift), neg_inf = _mm512_set1_ps(-INFINITY);
  double total = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = start;
    for (; i + 64 <= end; i += 64) {
      const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(x + i), vshift);
      const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vshift);
      const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 32), vshift);
      const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(x + i + 48), vshift);
      const __m512 e0 = underflows ? exp_nonpositive(d0) : exp_above_cut(d0);
      const __m512 e1 = underflows ? exp_nonpositive(d1) : exp_above_cut(d1);
      const __m512 e2 = underflows ? exp_nonpositive(d2) : exp_above_cut(d2);
      const __m512 e3 = underflows ? exp_nonpositive(d3) : exp_above_cut(d3);
      if (y) {
        _mm512_storeu_ps(y + i, e0);
        _mm512_storeu_ps(y + i + 16, e1);
        _mm512_storeu_ps(y + i + 32, e2);
        _mm512_storeu_ps(y + i + 48, e3);
      }
      s0 = _mm512_add_ps(s0, e0);
      s1 = _mm512_add_ps(s1, e1);
      s2 = _mm512_add_ps(s2, e2);
      s3 = _mm512_add_ps(s3, e3);
    }
    for (; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      const __m512 v = load_lanes(x + i, lanes, neg_inf);
      const __m512 e = exp_nonpositive(_mm512_sub_ps(v, vshift));
      if (y) store_lanes(y + i, lanes, e);
      s0 = _mm512_add_ps(s0, e);
    }
    total += (double)_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
  }
  return total;
}

KERNEL double softmax_sumexp_avx512_u64_acc4(const float *x, size_t n, float shift) {
  return sumexp_blocks(x, NULL, n, shift, 1);
}

KERNEL double softmax_sumexp_store_avx512_u64_acc4(const float *x, float *y, size_t n, float shift) {
  return sumexp_blocks(x, y, n, shift, 1);
}

// The reload row's sum-and-store: the kernel above, or its copy without the flush.
KERNEL static double reload_sum_and_store(const float *x, float *y, size_t n, float shift,
                                          int underflows) {
  return underflows ? sumexp_blocks(x, y, n, shift, 1) : sumexp_blocks(x, y, n, shift, 0);
}

// e · scale, with e below the threshold written as 0 (the product would be below 2^-125).
INLINE __m512 scale_kept(__m512 e, __m512 scale, __m512 threshold) {
  return _mm512_maskz_mul_ps(_mm512_cmp_ps_mask(e, threshold, _CMP_GE_OQ), e, scale);
}

KERNEL void softmax_expscale_avx512_u32(const float *x, float *y, size_t n, float shift,
                                        float scale, float threshold, int stream) {
  const __m512 vshift = _mm512_set1_ps(shift), vscale = _mm512_set1_ps(scale);
  const __m512 vthreshold = _mm512_set1_ps(threshold), neg_inf = _mm512_set1_ps(-INFINITY);
  const size_t head = head_count(y, n, stream);
  size_t i = 0;
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_mask_loadu_ps(neg_inf, lanes, x), vshift));
    _mm512_mask_storeu_ps(y, lanes, scale_kept(e, vscale, vthreshold));
    i = head;
  }
  // Out of cache, the prefetch of pass 2 of Two-Pass (softmax_twopass_output_avx512_u32).
  const int prefetch = n >= SOFTMAX_SUM_PREFETCH_FROM;
  for (; i + 32 <= n; i += 32) {
    if (prefetch) prefetch_output_input(x + i);
    const __m512 e0 = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(x + i), vshift));
    const __m512 e1 = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), vshift));
    STORE_OUTPUT(stream, y + i, scale_kept(e0, vscale, vthreshold));
    STORE_OUTPUT(stream, y + i + 16, scale_kept(e1, vscale, vthreshold));
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 e = exp_nonpositive(_mm512_sub_ps(load_lanes(x + i, lanes, neg_inf), vshift));
    store_lanes(y + i, lanes, scale_kept(e, vscale, vthreshold));
  }
}

// Threshold 0 (the reload row, when its minimum shows that no product is below 2^-125): the
// full vectors multiply without the compare and the masked product, which would keep every
// lane. That was 10–28% of this pass in cache (C loop, 4096–16384 floats, Zen 5, 2026-12-02).
INLINE __m512 scaled(__m512 e, __m512 scale, __m512 threshold, int flush) {
  return flush ? scale_kept(e, scale, threshold) : _mm512_mul_ps(e, scale);
}

INLINE void scale_vectors(const float *x, float *y, size_t i, size_t n, __m512 vscale,
                          __m512 vthreshold, int stream, int flush) {
  for (; i + 64 <= n; i += 64) {
    const __m512 e0 = _mm512_loadu_ps(x + i), e1 = _mm512_loadu_ps(x + i + 16);
    const __m512 e2 = _mm512_loadu_ps(x + i + 32), e3 = _mm512_loadu_ps(x + i + 48);
    STORE_OUTPUT(stream, y + i, scaled(e0, vscale, vthreshold, flush));
    STORE_OUTPUT(stream, y + i + 16, scaled(e1, vscale, vthreshold, flush));
    STORE_OUTPUT(stream, y + i + 32, scaled(e2, vscale, vthreshold, flush));
    STORE_OUTPUT(stream, y + i + 48, scaled(e3, vscale, vthreshold, flush));
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    store_lanes(y + i, lanes, scale_kept(loadz_lanes(x + i, lanes), vscale, vthreshold));
  }
}

KERNEL void softmax_scale_avx512_u64(const float *x, float *y, size_t n, float scale, float threshold, int stream) {
  const __m512 vscale = _mm512_set1_ps(scale), vthreshold = _mm512_set1_ps(threshold);
  const size_t head = head_count(y, n, stream);
  size_t i = 0;
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(y, lanes, scale_kept(_mm512_maskz_loadu_ps(lanes, x), vscale, vthreshold));
    i = head;
  }
  // Both copies stream or not by `stream` at run time, as before; the flush is the constant.
  if (threshold == 0) {
    scale_vectors(x, y, i, n, vscale, vthreshold, stream, 0);
  } else {
    scale_vectors(x, y, i, n, vscale, vthreshold, stream, 1);
  }
}

// The output pass of log-softmax: y = ((x − shift) − high) − low, the portable loop's three
// rounded subtractions in the same order (logSoftmaxOutput_simd16), so the same bits. That loop
// stored ordinarily: a batch beyond the caches then read each cold output line for ownership,
// and the log-softmax of 4096×1024 took 1.9× the softmax (2026-12-02, BENCHMARKS.md). Long
// calls ask for their input ahead, as Two-Pass pass 2 does.
INLINE __m512 log_output_vector(__m512 v, __m512 shift, __m512 high, __m512 low) {
  return _mm512_sub_ps(_mm512_sub_ps(_mm512_sub_ps(v, shift), high), low);
}

INLINE void log_output(const float *x, float *y, size_t n, __m512 shift, __m512 high,
                       __m512 low, int stream, int prefetch) {
  const size_t head = head_count(y, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(y, lanes, log_output_vector(_mm512_maskz_loadu_ps(lanes, x), shift, high, low));
  }
  size_t i = head;
  for (; i + 64 <= n; i += 64) {
    if (prefetch) {
      prefetch_output_input(x + i);
      prefetch_output_input(x + i + 32);
    }
    const __m512 v0 = _mm512_loadu_ps(x + i), v1 = _mm512_loadu_ps(x + i + 16);
    const __m512 v2 = _mm512_loadu_ps(x + i + 32), v3 = _mm512_loadu_ps(x + i + 48);
    STORE_OUTPUT(stream, y + i, log_output_vector(v0, shift, high, low));
    STORE_OUTPUT(stream, y + i + 16, log_output_vector(v1, shift, high, low));
    STORE_OUTPUT(stream, y + i + 32, log_output_vector(v2, shift, high, low));
    STORE_OUTPUT(stream, y + i + 48, log_output_vector(v3, shift, high, low));
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    store_lanes(y + i, lanes, log_output_vector(loadz_lanes(x + i, lanes), shift, high, low));
  }
}

KERNEL void softmax_log_output_avx512_u64(const float *x, float *y, size_t n, float shift,
                                          float high, float low, int stream) {
  const __m512 s = _mm512_set1_ps(shift), h = _mm512_set1_ps(high), l = _mm512_set1_ps(low);
  if (n >= SOFTMAX_SUM_PREFETCH_FROM) {
    log_output(x, y, n, s, h, l, stream, 1);
  } else {
    log_output(x, y, n, s, h, l, stream, 0);
  }
}

KERNEL int softmax_reload_row_avx512_u64(const float *x, float *y, size_t n, int stream) {
  return softmax_reload_row(x, y, n, stream, reload_maximum, reload_sum_and_store,
                            softmax_scale_avx512_u64);
}

KERNEL double softmax_reload_sum_avx512_u64(const float *x, float *e, size_t n, float *maximum,
                                            float *spread) {
  float minimum;
  *maximum = reload_maximum(x, n, &minimum);
  *spread = minimum - *maximum;
  if (!isfinite(*maximum)) return 0;
  return reload_sum_and_store(x, e, n, *maximum, !(*spread >= SOFTMAX_EXP_UNDERFLOW));
}

// Pass 1 of the online softmax, per lane a running maximum m and s = Σ e^(x − m) (see
// OnlineKernels.swift). m starts at −FLT_MAX, not −inf, so v − m is never −inf − (−inf): a −inf
// element gives e = 0, a lane of only −inf keeps s = 0 (every other lane has s ≥ 1), and s ≥ 1
// whenever it is multiplied by an e that is 0 or ≥ 2^-126, so nothing is subnormal. NaN
// elements reach s through e (and v > m is false for them); nothing else can hide them.
INLINE void online_add(__m512 *m, __m512 *s, __m512 v) {
  // One exponential: e^(−|v − m|), the sign bit set by an OR.
  const __m512 e = exp_nonpositive(_mm512_or_ps(_mm512_sub_ps(v, *m), _mm512_set1_ps(-0.0f)));
  const __mmask16 larger = _mm512_cmp_ps_mask(v, *m, _CMP_GT_OQ);
  // Larger: s · e + 1 (old terms rescaled to v); otherwise s + e.
  *s = _mm512_mask_add_ps(_mm512_fmadd_ps(*s, e, _mm512_set1_ps(1.0f)), (__mmask16)~larger, *s, e);
  *m = _mm512_mask_mov_ps(*m, larger, v);
}

INLINE void online_merge(__m512 *m, __m512 *s, __m512 m2, __m512 s2) {
  const __m512 target = _mm512_max_ps(*m, m2);
  *s = _mm512_fmadd_ps(*s, exp_nonpositive(_mm512_sub_ps(*m, target)),
                       _mm512_mul_ps(s2, exp_nonpositive(_mm512_sub_ps(m2, target))));
  *m = target;
}

KERNEL softmax_max_sum softmax_online_sum_avx512_u64_acc4(const float *x, size_t n) {
  const __m512 lowest = _mm512_set1_ps(-FLT_MAX), neg_inf = _mm512_set1_ps(-INFINITY);
  float total_max = -INFINITY;
  double total_sum = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    __m512 m0 = lowest, m1 = lowest, m2 = lowest, m3 = lowest;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    size_t i = start;
    for (; i + 64 <= end; i += 64) {
      online_add(&m0, &s0, _mm512_loadu_ps(x + i));
      online_add(&m1, &s1, _mm512_loadu_ps(x + i + 16));
      online_add(&m2, &s2, _mm512_loadu_ps(x + i + 32));
      online_add(&m3, &s3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      online_add(&m0, &s0, load_lanes(x + i, lanes, neg_inf));
    }
    online_merge(&m0, &s0, m1, s1);
    online_merge(&m2, &s2, m3, s3);
    online_merge(&m0, &s0, m2, s2);
    const float m = _mm512_reduce_max_ps(m0);
    const float s = _mm512_reduce_add_ps(_mm512_mul_ps(s0, exp_nonpositive(_mm512_sub_ps(m0, _mm512_set1_ps(m)))));
    merge_max_sum(&total_max, &total_sum, s == 0 ? -INFINITY : m, s);
  }
  softmax_max_sum result = {total_max, total_sum};
  return result;
}

// The effective logits of a masked, tempered row: y = x / divisor + bias, or −inf where keep
// is false. The quotient is a true division (correctly rounded, as the scalar x / divisor);
// divisor 1 skips it and null masks skip theirs. y may be x.
// (x − shift) / divisor + (bias − offset) in Double lanes, rounded once to Float: a temperature's
// quotient exact to within the last rounding for any magnitude of x / divisor (a Float quotient
// of a large logit has lost its low digits before the softmax subtracts anything; see
// Operations/ShiftedRows.swift). `reciprocal` is 1 / divisor in Double.
INLINE __m512 tempered_logits(__m512 v, const float *bias, __m512d shift, __m512d reciprocal,
                              __m512d offset) {
  __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
  __m512d high = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  low = _mm512_mul_pd(_mm512_sub_pd(low, shift), reciprocal);
  high = _mm512_mul_pd(_mm512_sub_pd(high, shift), reciprocal);
  // The bias minus the offset first: a bias as large as the offset cancels exactly.
  if (bias) {
    low = _mm512_add_pd(low, _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(bias)), offset));
    high = _mm512_add_pd(high, _mm512_sub_pd(_mm512_cvtps_pd(_mm256_loadu_ps(bias + 8)), offset));
  } else {
    low = _mm512_sub_pd(low, offset);
    high = _mm512_sub_pd(high, offset);
  }
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(low)), _mm512_cvtpd_ps(high), 1);
}

INLINE __m512 effective_logits(__m512 v, const float *bias, __m128i keep_bytes, int temper,
                               __m512d shift, __m512d reciprocal, __m512d offset, int has_keep) {
  if (temper) {
    v = tempered_logits(v, bias, shift, reciprocal, offset);
  } else if (bias) {
    v = _mm512_add_ps(v, _mm512_loadu_ps(bias));
  }
  if (has_keep) {
    const __mmask16 kept = _mm512_test_epi32_mask(_mm512_cvtepu8_epi32(keep_bytes), _mm512_set1_epi32(0xFF));
    v = _mm512_mask_mov_ps(_mm512_set1_ps(-INFINITY), kept, v);
  }
  return v;
}

// The full vectors of softmax_logits_avx512_u16 with the options as compile-time constants:
// each call site below gets its own loop without per-vector tests of the options (with them,
// clang kept five branches in the loop, which made a plain copy as slow as the exponentials).
INLINE size_t logits_body(const float *x, float *y, size_t n, __m512d shift, __m512d reciprocal,
                          __m512d offset, const bool *keep, const float *bias, const int temper,
                          const int has_keep, const int has_bias) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = has_keep ? _mm_loadu_si128((const __m128i *)(keep + i)) : _mm_setzero_si128();
    _mm512_storeu_ps(y + i, effective_logits(_mm512_loadu_ps(x + i), has_bias ? bias + i : NULL,
                                             bytes, temper, shift, reciprocal, offset, has_keep));
  }
  return i;
}

KERNEL void softmax_logits_avx512_u16(const float *x, float *y, size_t n, float divisor,
                                      float shift, float offset, const bool *keep,
                                      const float *bias) {
  const __m512d s = _mm512_set1_pd((double)shift);
  const __m512d r = _mm512_set1_pd(1.0 / (double)divisor);
  const __m512d o = _mm512_set1_pd((double)offset);
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
  if (i < n) {
    // Byte loads with a lane mask need AVX512BW, and the bias must not be read past the end:
    // the tail goes through local copies.
    const size_t rest = n - i;
    const __mmask16 lanes = first_lanes(rest);
    uint8_t keep_tail[16] = {0};
    float bias_tail[16] = {0};
    for (size_t j = 0; j < rest; j++) {
      if (keep) keep_tail[j] = keep[i + j];
      if (bias) bias_tail[j] = bias[i + j];
    }
    const __m128i bytes = _mm_loadu_si128((const __m128i *)keep_tail);
    _mm512_mask_storeu_ps(y + i, lanes,
                          effective_logits(_mm512_maskz_loadu_ps(lanes, x + i), bias ? bias_tail : NULL,
                                           bytes, temper, s, r, o, keep != NULL));
  }
}

#else
typedef int softmax_avx512_unavailable;
#endif
