// AVX-512 kernels of token selection (sampling): the mass and count of a row above eight cut
// points in one read, and the compaction of the entries inside a band of values. NaN entries
// fail every comparison, so they are never counted or gathered.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <stdint.h>

#include "avx512_exp.h"

// Float lanes hold at most this many terms of at most 1 each before they are added in Double,
// so a block's lane sums stay exact to a few ulp.
#define BAND_BLOCK 1024
// The gather lists the vectors of a block this long (in vectors of 16) before compressing.
#define GATHER_VECTORS 64

// For each cut c_j: Σ e_i and the number of entries over x_i ≥ c_j. One compare, one masked
// add and a population count per cut and vector; the two inputs are read once.
KERNEL void softmax_band_masses_avx512_u16(const float *x, const float *e, size_t n,
                                           const float *cuts, double *mass, int64_t *count) {
  __m512 c[8];
  __m512 acc[8];
  int64_t cnt[8];
  __m512d total[8];
  for (int j = 0; j < 8; j++) {
    c[j] = _mm512_set1_ps(cuts[j]);
    total[j] = _mm512_setzero_pd();
    cnt[j] = 0;
  }
  const __m512 nan = _mm512_set1_ps(__builtin_nanf(""));
  for (size_t start = 0; start < n; start += BAND_BLOCK) {
    const size_t end = n - start > BAND_BLOCK ? start + BAND_BLOCK : n;
    for (int j = 0; j < 8; j++) acc[j] = _mm512_setzero_ps();
    for (size_t i = start; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      const __m512 xv = _mm512_mask_loadu_ps(nan, lanes, x + i);
      const __m512 ev = _mm512_maskz_loadu_ps(lanes, e + i);
      for (int j = 0; j < 8; j++) {
        const __mmask16 k = _mm512_cmp_ps_mask(xv, c[j], _CMP_GE_OQ);
        acc[j] = _mm512_mask_add_ps(acc[j], k, acc[j], ev);
        // Counted from the mask in a general register: the vector ports are the bottleneck.
        cnt[j] += __builtin_popcount((unsigned)k);
      }
    }
    for (int j = 0; j < 8; j++) {
      total[j] = _mm512_add_pd(total[j], _mm512_cvtps_pd(_mm512_castps512_ps256(acc[j])));
      total[j] = _mm512_add_pd(
          total[j], _mm512_cvtps_pd(_mm256_castpd_ps(
                        _mm512_extractf64x4_pd(_mm512_castps_pd(acc[j]), 1))));
    }
  }
  for (int j = 0; j < 8; j++) {
    mass[j] = _mm512_reduce_add_pd(total[j]);
    count[j] = cnt[j];
  }
}

// Writes, in order, the entries with lo ≤ x_i < hi: their values to out_x, their indices
// (index[i] when index is not null, else i) to out_index, and e_i to out_e when both e and
// out_e are not null. Returns how many. Each output needs room for the count plus 16: whole
// vectors are stored and the next store overwrites the unused lanes.
// One vector of a gather: the lanes k of x (and of e when out_e is not null) and their
// indices compressed to the outputs at *kept.
INLINE void gather_vector(const float *x, const float *e, const int32_t *index, size_t i,
                          __mmask16 k, float *out_x, float *out_e, int32_t *out_index,
                          size_t *kept) {
  const __m512i iv =
      index ? _mm512_maskz_loadu_epi32(k, index + i)
            : _mm512_add_epi32(_mm512_set1_epi32((int)i),
                               _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  // The register form of compress: the memory form is microcoded on Zen 4.
  _mm512_storeu_ps(out_x + *kept, _mm512_maskz_compress_ps(k, _mm512_maskz_loadu_ps(k, x + i)));
  _mm512_storeu_si512((void *)(out_index + *kept), _mm512_maskz_compress_epi32(k, iv));
  if (out_e) {
    _mm512_storeu_ps(out_e + *kept, _mm512_maskz_compress_ps(k, _mm512_maskz_loadu_ps(k, e + i)));
  }
  *kept += (size_t)__builtin_popcount((unsigned)k);
}

KERNEL size_t softmax_gather_band_avx512_u16(const float *x, const float *e,
                                             const int32_t *index, size_t n, float lo, float hi,
                                             float *out_x, float *out_e, int32_t *out_index) {
  const __m512 low = _mm512_set1_ps(lo), high = _mm512_set1_ps(hi);
  if (!e) out_e = 0;
  size_t kept = 0;
  // Blocks of 64 vectors, each gathered one of two ways, chosen by the block before:
  // - sparse (a few entries in most vectors: min-p's survivors, a rising top-k threshold, a
  //   bracket): a first loop lists the vectors with a lane in the band and their masks, with
  //   no branch on the data, and a second compresses only those. A branch per vector would be
  //   mispredicted about as often as taken, which cost more than the read;
  // - dense (nearly every vector has an entry): every vector is compressed, without a list.
  uint32_t which[GATHER_VECTORS];
  __mmask16 masks[GATHER_VECTORS];
  int dense = 0;
  for (size_t start = 0; start < n; start += 16 * GATHER_VECTORS) {
    const size_t end = n - start > 16 * GATHER_VECTORS ? start + 16 * GATHER_VECTORS : n;
    size_t listed = 0, i = start;
    if (dense) {
      for (; i + 16 <= end; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        const __mmask16 k = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(xv, low, _CMP_GE_OQ),
                                                    xv, high, _CMP_LT_OQ);
        gather_vector(x, e, index, i, k, out_x, out_e, out_index, &kept);
        listed += k != 0;
      }
    } else {
      // Whole vectors without a load mask: the mask registers' port is the bottleneck here.
      for (; i + 16 <= end; i += 16) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        const __mmask16 k = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(xv, low, _CMP_GE_OQ),
                                                    xv, high, _CMP_LT_OQ);
        which[listed] = (uint32_t)(i - start);
        masks[listed] = k;
        listed += k != 0;
      }
      for (size_t j = 0; j < listed; j++) {
        gather_vector(x, e, index, start + which[j], masks[j], out_x, out_e, out_index, &kept);
      }
    }
    if (i < end) {
      const __mmask16 lanes = first_lanes(end - i);
      const __m512 xv = _mm512_maskz_loadu_ps(lanes, x + i);
      const __mmask16 k = lanes & _mm512_cmp_ps_mask(xv, low, _CMP_GE_OQ) &
                          _mm512_cmp_ps_mask(xv, high, _CMP_LT_OQ);
      gather_vector(x, e, index, i, k, out_x, out_e, out_index, &kept);
    }
    dense = 8 * listed > 7 * GATHER_VECTORS;
  }
  return kept;
}

// Σ e_i and the count over the entries with x_i ≥ cut: one compare and one masked add per
// vector, Float lanes per block added in Double (min-p's mass, the draw's walk).
KERNEL double softmax_mass_above_avx512_u32(const float *x, const float *e, size_t n, float cut,
                                            int64_t *count) {
  const __m512 c = _mm512_set1_ps(cut);
  __m512d total = _mm512_setzero_pd();
  int64_t number = 0;
  for (size_t start = 0; start < n; start += BAND_BLOCK) {
    const size_t end = n - start > BAND_BLOCK ? start + BAND_BLOCK : n;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    size_t i = start;
    for (; i + 32 <= end; i += 32) {
      const __mmask16 k0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i), c, _CMP_GE_OQ);
      const __mmask16 k1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 16), c, _CMP_GE_OQ);
      a0 = _mm512_mask_add_ps(a0, k0, a0, _mm512_loadu_ps(e + i));
      a1 = _mm512_mask_add_ps(a1, k1, a1, _mm512_loadu_ps(e + i + 16));
      number += __builtin_popcount((unsigned)k0) + __builtin_popcount((unsigned)k1);
    }
    for (; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      const __mmask16 k =
          lanes & _mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(lanes, x + i), c, _CMP_GE_OQ);
      a0 = _mm512_mask_add_ps(a0, k, a0, _mm512_maskz_loadu_ps(lanes, e + i));
      number += __builtin_popcount((unsigned)k);
    }
    const __m512 a = _mm512_add_ps(a0, a1);
    total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm512_castps512_ps256(a)));
    total = _mm512_add_pd(total, _mm512_cvtps_pd(_mm256_castpd_ps(
                                     _mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))));
  }
  *count = number;
  return _mm512_reduce_add_pd(total);
}

// One step of the bracket: 16 entries at i (lanes of them), their masses added to a (above)
// and b (band), the band's indices stored at out_index + *kept.
INLINE void bracket_step(const float *x, const float *e, size_t i, __mmask16 lanes, __m512 low,
                         __m512 high, __m512 *a, __m512 *b, int64_t *count, int32_t *out_index,
                         size_t *kept) {
  const __m512i iota = _mm512_add_epi32(
      _mm512_set1_epi32((int)i),
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  const __m512 xv = _mm512_maskz_loadu_ps(lanes, x + i);
  const __m512 ev = _mm512_maskz_loadu_ps(lanes, e + i);
  const __mmask16 over = lanes & _mm512_cmp_ps_mask(xv, high, _CMP_GE_OQ);
  const __mmask16 k = lanes & _mm512_cmp_ps_mask(xv, low, _CMP_GE_OQ) & (__mmask16)~over;
  *a = _mm512_mask_add_ps(*a, over, *a, ev);
  *b = _mm512_mask_add_ps(*b, k, *b, ev);
  *count += __builtin_popcount((unsigned)over);
  // Only the indices here (one compress, no branch); the values are gathered after.
  _mm512_storeu_si512((void *)(out_index + *kept), _mm512_maskz_compress_epi32(k, iota));
  *kept += (size_t)__builtin_popcount((unsigned)k);
}

// One read of a whole row for the first bracket of a search: gathers the entries with
// lo ≤ x_i < hi as softmax_gather_band_avx512_u16 does (values, exponentials, indices), and
// returns through `above` Σ e_i and the count over x_i ≥ hi and through `band_mass` Σ e_i over
// the band. Two compares per vector instead of a cut each; two pairs of accumulators, so the
// masked adds do not wait on each other.
KERNEL size_t softmax_bracket_band_avx512_u16(const float *x, const float *e, size_t n, float lo,
                                              float hi, float *out_x, float *out_e,
                                              int32_t *out_index, double *above_mass,
                                              int64_t *above_count, double *band_mass) {
  const __m512 low = _mm512_set1_ps(lo), high = _mm512_set1_ps(hi);
  __m512d top = _mm512_setzero_pd(), inside = _mm512_setzero_pd();
  int64_t count = 0;
  size_t kept = 0;
  for (size_t start = 0; start < n; start += BAND_BLOCK) {
    const size_t end = n - start > BAND_BLOCK ? start + BAND_BLOCK : n;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, b0 = a0, b1 = a0;
    size_t i = start;
    for (; i + 32 <= end; i += 32) {
      bracket_step(x, e, i, 0xFFFF, low, high, &a0, &b0, &count, out_index, &kept);
      bracket_step(x, e, i + 16, 0xFFFF, low, high, &a1, &b1, &count, out_index, &kept);
    }
    for (; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      bracket_step(x, e, i, lanes, low, high, &a0, &b0, &count, out_index, &kept);
    }
    const __m512 a = _mm512_add_ps(a0, a1), b = _mm512_add_ps(b0, b1);
    top = _mm512_add_pd(top, _mm512_cvtps_pd(_mm512_castps512_ps256(a)));
    top = _mm512_add_pd(top, _mm512_cvtps_pd(_mm256_castpd_ps(
                                 _mm512_extractf64x4_pd(_mm512_castps_pd(a), 1))));
    inside = _mm512_add_pd(inside, _mm512_cvtps_pd(_mm512_castps512_ps256(b)));
    inside = _mm512_add_pd(inside, _mm512_cvtps_pd(_mm256_castpd_ps(
                                       _mm512_extractf64x4_pd(_mm512_castps_pd(b), 1))));
  }
  for (size_t i = 0; i < kept; i += 16) {
    const __mmask16 lanes = kept - i >= 16 ? (__mmask16)0xFFFF : first_lanes(kept - i);
    const __m512i iv = _mm512_maskz_loadu_epi32(lanes, out_index + i);
    _mm512_mask_storeu_ps(out_x + i, lanes,
                          _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, iv, x, 4));
    _mm512_mask_storeu_ps(out_e + i, lanes,
                          _mm512_mask_i32gather_ps(_mm512_setzero_ps(), lanes, iv, e, 4));
  }
  *above_mass = _mm512_reduce_add_pd(top);
  *above_count = count;
  *band_mass = _mm512_reduce_add_pd(inside);
  return kept;
}

// Σ e^((x − shift)/T), storing each term into y (y may be x), with (x − shift)/T carried to
// about 2^-45 relative: x − shift as a rounded difference and its exact error (TwoSum), 1/T as
// hi + lo, the product's error by FMA, and the exponential corrected by that error to first
// order. As exact as computing the quotient in Double and rounding once, in one read. The
// caller keeps 1/T finite in Float (T ≥ 2^-126).
KERNEL double softmax_tempered_sumexp_store_avx512_u16(const float *x, float *y, size_t n,
                                                       float shift, float inverse_hi,
                                                       float inverse_lo) {
  const __m512 vshift = _mm512_set1_ps(-shift), hi = _mm512_set1_ps(inverse_hi);
  const __m512 lo = _mm512_set1_ps(inverse_lo), neg_inf = _mm512_set1_ps(-INFINITY);
  double total = 0;
  for (size_t start = 0; start < n; start += BAND_BLOCK) {
    const size_t end = n - start > BAND_BLOCK ? start + BAND_BLOCK : n;
    __m512 s0 = _mm512_setzero_ps();
    for (size_t i = start; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      const __m512 v = _mm512_mask_loadu_ps(neg_inf, lanes, x + i);
      // TwoSum: d + err = v − shift exactly.
      const __m512 d = _mm512_add_ps(v, vshift);
      const __m512 b = _mm512_sub_ps(d, v);
      const __m512 err = _mm512_add_ps(_mm512_sub_ps(v, _mm512_sub_ps(d, b)),
                                       _mm512_sub_ps(vshift, b));
      const __m512 z = _mm512_mul_ps(d, hi);
      __m512 dz = _mm512_add_ps(_mm512_fmsub_ps(d, hi, z),
                                _mm512_fmadd_ps(d, lo, _mm512_mul_ps(err, hi)));
      // Lanes whose product or difference is infinite (x = −inf, or a tiny T) have no
      // correction: their errors are infinite or NaN, and their exponentials 0.
      dz = _mm512_maskz_mov_ps(
          _mm512_cmp_ps_mask(_mm512_abs_ps(dz), _mm512_set1_ps(INFINITY), _CMP_LT_OQ), dz);
      const __m512 e0 = exp_nonpositive(z);
      const __m512 e = _mm512_fmadd_ps(e0, dz, e0);
      _mm512_mask_storeu_ps(y + i, lanes, e);
      s0 = _mm512_add_ps(s0, _mm512_maskz_mov_ps(lanes, e));
    }
    total += (double)_mm512_reduce_add_ps(s0);
  }
  return total;
}

#endif
