// AVX-512 kernel of mixture-of-experts gating: the k largest logits of 16 rows at once, one
// row per lane. A row of 64 experts is too short for a vector pass of its own to pay, and a
// per-row sorted insertion mispredicts about twice per inserted logit (some 16 per row of 64
// at k = 8); across rows, the insertion is a branch-free network of compares and blends.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <stdint.h>

#include "avx512_exp.h"

// One expert's logits of the 16 rows (v, its index in id) through the sorted slots: each
// slot keeps the larger of itself and the incoming value and passes the other on. The experts
// come in descending index order, so that both the new value and every value a slot passes
// on have a lower index than an equal value further down: ≥ puts them first (ties to the
// lower index). NaN compares false and never enters; −inf logits displace the initial −inf
// of empty slots.
#define GATING_SLOT(j)                                                 \
  if ((j) < k) {                                                       \
    const __mmask16 m = _mm512_cmp_ps_mask(v, top[j], _CMP_GE_OQ);     \
    const __m512 t = top[j];                                           \
    const __m512i ti = slot_ids[j];                                    \
    top[j] = _mm512_mask_blend_ps(m, t, v);                            \
    slot_ids[j] = _mm512_mask_blend_epi32(m, ti, id);                  \
    v = _mm512_mask_blend_ps(m, v, t);                                 \
    id = _mm512_mask_blend_epi32(m, id, ti);                           \
  }

KERNEL uint32_t softmax_gating_top16_avx512(const float *x, size_t rows, size_t n, size_t k,
                                            float *maxima, float *terms, int32_t *ids) {
  const __mmask16 lanes = rows >= 16 ? (__mmask16)0xFFFF : first_lanes(rows);
  const __m512i offsets = _mm512_mullo_epi32(
      _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
      _mm512_set1_epi32((int32_t)n));
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  __m512 top[8];
  __m512i slot_ids[8];
  for (int j = 0; j < 8; j++) {
    top[j] = neg_inf;
    slot_ids[j] = _mm512_set1_epi32(-1);
  }
  __mmask16 nan = 0;
  for (size_t e = n; e-- > 0;) {
    __m512 v = _mm512_mask_i32gather_ps(neg_inf, lanes, offsets, x + e, 4);
    nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
    __m512i id = _mm512_set1_epi32((int32_t)e);
    GATING_SLOT(0)
    GATING_SLOT(1)
    GATING_SLOT(2)
    GATING_SLOT(3)
    GATING_SLOT(4)
    GATING_SLOT(5)
    GATING_SLOT(6)
    GATING_SLOT(7)
  }
  // Unusable: NaN, an infinite maximum (a row of only −inf, or +inf logits), or a slot no
  // logit reached (never, as n ≥ k; kept as a guard).
  __mmask16 unusable = nan;
  unusable |= _mm512_cmp_ps_mask(_mm512_abs_ps(top[0]), _mm512_set1_ps(INFINITY), _CMP_EQ_OQ);
  unusable |= _mm512_cmpeq_epi32_mask(slot_ids[k - 1], _mm512_set1_epi32(-1));
  _mm512_storeu_ps(maxima, top[0]);
  for (size_t j = 0; j < k; j++) {
    // −inf − max = −inf: a term of exactly 0.
    _mm512_storeu_ps(terms + 16 * j, exp_nonpositive(_mm512_sub_ps(top[j], top[0])));
    _mm512_storeu_si512((void *)(ids + 16 * j), slot_ids[j]);
  }
  return (uint32_t)(unusable & lanes);
}

#endif
