// The AVX-512 vector exponentials and lane helpers that every AVX-512 kernel file shares
// (pass kernels, training kernels). Static inline, compiled for AVX-512 by the target
// attribute in each including file; the constants are in ../common/exp_constants.h.
#ifndef SOFTMAX_AVX512_EXP_H
#define SOFTMAX_AVX512_EXP_H

#include <float.h>
#include <immintrin.h>
#include <math.h>
#include <stddef.h>

#include "../common/exp_constants.h"

#define KERNEL __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))
#define INLINE static inline __attribute__((always_inline, target("avx512f,avx512dq,avx512vl,avx2,fma")))

// 2^(j/32) rounded to nearest, j = 0…31.
static const float softmax_exp2_32_table[32] __attribute__((aligned(64))) = {
    0x1.000000p+0f, 0x1.059b0ep+0f, 0x1.0b5586p+0f, 0x1.11301ep+0f, 0x1.172b84p+0f, 0x1.1d4874p+0f,
    0x1.2387a6p+0f, 0x1.29e9e0p+0f, 0x1.306fe0p+0f, 0x1.371a74p+0f, 0x1.3dea64p+0f, 0x1.44e086p+0f,
    0x1.4bfdaep+0f, 0x1.5342b6p+0f, 0x1.5ab07ep+0f, 0x1.6247ecp+0f, 0x1.6a09e6p+0f, 0x1.71f75ep+0f,
    0x1.7a1148p+0f, 0x1.82589ap+0f, 0x1.8ace54p+0f, 0x1.93737cp+0f, 0x1.9c4918p+0f, 0x1.a5503cp+0f,
    0x1.ae89fap+0f, 0x1.b7f770p+0f, 0x1.c199bep+0f, 0x1.cb720ep+0f, 0x1.d5818ep+0f, 0x1.dfc974p+0f,
    0x1.ea4afap+0f, 0x1.f50766p+0f};

// Mask of the first `rest` lanes (rest < 16).
INLINE __mmask16 first_lanes(size_t rest) { return (__mmask16)((1u << rest) - 1u); }

// The input of an output pass, asked for ahead of it: two lines 2 KiB ahead into L1 and two 16
// KiB ahead into the outer caches (a hint: never faults, even past the end of the row). Out of
// cache the passes ran far behind a streaming copy with their traffic without it (see
// softmax_twopass_output_avx512_u32 in avx512_kernels.c).
INLINE void prefetch_output_input(const float *p) {
  _mm_prefetch((const char *)(p + SOFTMAX_OUTPUT_PREFETCH_NEAR), _MM_HINT_T0);
  _mm_prefetch((const char *)(p + SOFTMAX_OUTPUT_PREFETCH_NEAR + 16), _MM_HINT_T0);
  _mm_prefetch((const char *)(p + SOFTMAX_OUTPUT_PREFETCH_FAR), _MM_HINT_T2);
  _mm_prefetch((const char *)(p + SOFTMAX_OUTPUT_PREFETCH_FAR + 16), _MM_HINT_T2);
}

// The tail loops' loads and stores: plain ones for a full vector, masked ones only for the
// partial last. With every lane set, masked ones still cost more where a pass reads what the
// previous pass has just stored (store-to-load forwarding, presumably): the one-call reload
// row, whose passes run rows of up to 63 floats in their tail loops, took 24.0–24.4 ns
// against 20.3–20.7 at 48 floats, 19.6–19.8 against 18.6–18.9 at 32 and 15.2–15.4 against
// 14.6–15.0 at 16 (C loop, best of 21, three rounds, Zen 5, 2026-12-02). The same results.
INLINE __m512 loadz_lanes(const float *p, __mmask16 lanes) {
  return lanes == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(lanes, p);
}
INLINE __m512 load_lanes(const float *p, __mmask16 lanes, __m512 fill) {
  return lanes == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_mask_loadu_ps(fill, lanes, p);
}
INLINE void store_lanes(float *p, __mmask16 lanes, __m512 v) {
  if (lanes == 0xFFFF) {
    _mm512_storeu_ps(p, v);
  } else {
    _mm512_mask_storeu_ps(p, lanes, v);
  }
}

// Both exponentials use the table form of exp_constants.h: x = (k/32) ln 2 + r, e^x =
// 2^floor(k/32) · table[k mod 32] · e^r. The table loads are loop-invariant (a const object that
// no store can change), so clang keeps the table in two registers.

// k/32 = round(32 x log2 e)/32, and `rounded`, whose low five bits are k mod 32 (the magic's
// are zero).
INLINE __m512 round_to_32ths(__m512 x, __m512 *rounded) {
  const __m512 magic = _mm512_set1_ps(SOFTMAX_EXP2_32_MAGIC);
  *rounded = _mm512_fmadd_ps(x, _mm512_set1_ps(SOFTMAX_LOG2E), magic);
  return _mm512_sub_ps(*rounded, magic);
}

// table[k mod 32] · e^r (in [0.98, 1.98] for the unscaled table), the table in two registers.
INLINE __m512 table_times_exp(__m512 table_lo, __m512 table_hi, __m512 rounded, __m512 r) {
  const __m512 table = _mm512_permutex2var_ps(table_lo, _mm512_castps_si512(rounded), table_hi);
  const __m512 q = _mm512_fmadd_ps(_mm512_set1_ps(SOFTMAX_LUT_C2), r, _mm512_set1_ps(SOFTMAX_LUT_C1));
  return _mm512_fmadd_ps(_mm512_mul_ps(table, r), q, table);
}

// The extended exp's argument: x clamped to ±2800 (vrangeps, absolute minimum with the sign of
// x: sign(x) · min(|x|, 2800) in one instruction), reduced with two ln 2 constants, since
// |k/32| reaches 4040. Returns k/32. A quiet NaN comes out as ±2800 (vrangeps follows IEEE
// minNum), so every caller deals with NaN itself: pass 1 of Two-Pass tests its inputs, and
// exp_any puts NaN back.
INLINE __m512 reduce_extended(__m512 x, __m512 *r, __m512 *rounded) {
  x = _mm512_range_ps(x, _mm512_set1_ps(SOFTMAX_EXT_DOMAIN), 0x2);
  const __m512 k32 = round_to_32ths(x, rounded);
  const __m512 high = _mm512_fnmadd_ps(k32, _mm512_set1_ps(SOFTMAX_LN2_HI), x);
  *r = _mm512_fnmadd_ps(k32, _mm512_set1_ps(SOFTMAX_LN2_LO), high);
  return k32;
}

// e^x = m · 2^floor(k32) with m in [0.98, 1.98], x clamped to ±2800; k32 = k/32 is returned
// in *k32. The sums below keep integer exponents E and scale m by vscalefps(m, k32 − E), which
// takes 2^floor(k32 − E) = 2^(floor(k32) − E): only their maximum needs rounding down.
INLINE __m512 extended_exp(__m512 x, __m512 *k32) {
  __m512 r, rounded;
  *k32 = reduce_extended(x, &r, &rounded);
  return table_times_exp(_mm512_load_ps(softmax_exp2_32_table),
                         _mm512_load_ps(softmax_exp2_32_table + 16), rounded, r);
}

// floor(v), for the integer exponents of the sums.
INLINE __m512 floor_ps(__m512 v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC); }

// table[k mod 32] · e^r for x ≤ 0, and k/32: the Three-Pass exp before its power of two, with one
// ln 2 constant (|k/32| ≤ 126).
INLINE __m512 exp_nonpositive_mantissa(__m512 x, __m512 *k32) {
  __m512 rounded;
  *k32 = round_to_32ths(x, &rounded);
  const __m512 r = _mm512_fnmadd_ps(*k32, _mm512_set1_ps(SOFTMAX_LN2), x);
  return table_times_exp(_mm512_load_ps(softmax_exp2_32_table),
                         _mm512_load_ps(softmax_exp2_32_table + 16), rounded, r);
}

// e^x for x ≤ 0 (the Three-Pass exp): 0 below the underflow cut (never subnormal), NaN stays
// NaN. No clamp is needed: lanes below the cut, where the rounding trick would fail, are zeroed
// by the mask.
INLINE __m512 exp_nonpositive(__m512 x) {
  __m512 k32;
  const __m512 p = exp_nonpositive_mantissa(x, &k32);
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(SOFTMAX_EXP_UNDERFLOW), _CMP_NLT_UQ);
  // vscalefps multiplies by 2^floor(k/32).
  return _mm512_maskz_scalef_ps(keep, p, k32);
}

// exp_nonpositive for x known to be at least the underflow cut (Three-Pass reload rows whose
// minimum says so): the same bits without the compare and the masked scale, which were 9% of
// the sum-and-store pass (C loop, 4096–65536 floats, Zen 5, 2026-12-02).
INLINE __m512 exp_above_cut(__m512 x) {
  __m512 k32;
  const __m512 p = exp_nonpositive_mantissa(x, &k32);
  return _mm512_scalef_ps(p, k32);
}

// m · 2^floor(d) for d < 1 (vscalefps rounds d down), exactly 0 where d < −125.
INLINE __m512 scale_by_exp2(__m512 m, __m512 d) {
  const __mmask16 keep = _mm512_cmp_ps_mask(d, _mm512_set1_ps(SOFTMAX_MIN_SCALE_EXPONENT), _CMP_GE_OQ);
  return _mm512_maskz_scalef_ps(keep, m, d);
}

// Adds m · 2^floor(k32) to the accumulator am · 2^ae (ae an integer).
INLINE void accumulate(__m512 *am, __m512 *ae, __m512 m, __m512 k32) {
  const __m512 e = floor_ps(_mm512_max_ps(*ae, k32));
  *am = _mm512_add_ps(scale_by_exp2(*am, _mm512_sub_ps(*ae, e)), scale_by_exp2(m, _mm512_sub_ps(k32, e)));
  *ae = e;
}


// 2^(j/32) in Double, for the tables that pass 2 of Two-Pass scales by 1/m_sum.
static const double softmax_exp2_32_table_double[32] = {
    0x1.0000000000000p+0, 0x1.059b0d3158574p+0, 0x1.0b5586cf9890fp+0, 0x1.11301d0125b51p+0,
    0x1.172b83c7d517bp+0, 0x1.1d4873168b9aap+0, 0x1.2387a6e756238p+0, 0x1.29e9df51fdee1p+0,
    0x1.306fe0a31b715p+0, 0x1.371a7373aa9cbp+0, 0x1.3dea64c123422p+0, 0x1.44e086061892dp+0,
    0x1.4bfdad5362a27p+0, 0x1.5342b569d4f82p+0, 0x1.5ab07dd485429p+0, 0x1.6247eb03a5585p+0,
    0x1.6a09e667f3bcdp+0, 0x1.71f75e8ec5f74p+0, 0x1.7a11473eb0187p+0, 0x1.82589994cce13p+0,
    0x1.8ace5422aa0dbp+0, 0x1.93737b0cdc5e5p+0, 0x1.9c49182a3f090p+0, 0x1.a5503b23e255dp+0,
    0x1.ae89f995ad3adp+0, 0x1.b7f76f2fb5e47p+0, 0x1.c199bdd85529cp+0, 0x1.cb720dcef9069p+0,
    0x1.d5818dcfba487p+0, 0x1.dfc97337b9b5fp+0, 0x1.ea4afa2a490dap+0, 0x1.f50765b6e4540p+0};

// (m · inverse_mantissa) · 2^(n − bias), the factor folded into the table (lo, hi).
// vscalefps takes 2^floor(k/32 − bias) = 2^(floor(k/32) − bias): the bias is an integer.
INLINE __m512 twopass_output_vector(__m512 v, __m512 lo, __m512 hi, __m512 bias) {
  __m512 r, rounded;
  const __m512 k32 = reduce_extended(v, &r, &rounded);
  return scale_by_exp2(table_times_exp(lo, hi, rounded, r), _mm512_sub_ps(k32, bias));
}

// 2^(j/32) · scale, each rounded once (from Double).
static inline void scaled_table(float scale, float table[32]) {
  for (int j = 0; j < 32; j++) table[j] = (float)(softmax_exp2_32_table_double[j] * (double)scale);
}

#endif
