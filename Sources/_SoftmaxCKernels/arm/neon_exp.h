// The NEON (AdvSIMD) vector exponentials and lane helpers of the arm64 kernels: 4 lanes. The
// same formulas as the AVX2 kernels (x86/avx2_kernels.c): a degree-5 polynomial after a
// two-constant reduction for Two-Pass, one constant for the Three-Pass exp, 2^n by an integer
// shift into the exponent field. NEON has a fused multiply-add, so each lane computes exactly
// what an AVX2 lane computes, and the bounds of exp_constants.h hold as they are. NEON is
// baseline on aarch64: no target attribute is needed, and this file is only included there.
#ifndef SOFTMAX_NEON_EXP_H
#define SOFTMAX_NEON_EXP_H

#include <arm_neon.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "../common/exp_constants.h"

#define INLINE static inline __attribute__((always_inline))

// Lanes below `rest` set (all lanes when rest ≥ 4).
INLINE uint32x4_t first_lanes(size_t rest) {
  static const uint32_t index[4] = {0, 1, 2, 3};
  return vcltq_u32(vld1q_u32(index), vdupq_n_u32((uint32_t)(rest < 4 ? rest : 4)));
}

// NEON has no masked loads or stores: a tail of fewer than 4 elements goes through a padded
// copy, so nothing outside the row is read or written.
INLINE float32x4_t load_tail(const float *p, size_t rest, float padding) {
  float lanes[4] = {padding, padding, padding, padding};
  memcpy(lanes, p, rest * sizeof(float));
  return vld1q_f32(lanes);
}

INLINE void store_tail(float *p, float32x4_t v, size_t rest) {
  float lanes[4];
  vst1q_f32(lanes, v);
  memcpy(p, lanes, rest * sizeof(float));
}

// Up to 4 elements: a full load, or a padded tail.
INLINE float32x4_t load_upto4(const float *p, size_t rest, float padding) {
  return rest >= 4 ? vld1q_f32(p) : load_tail(p, rest, padding);
}

INLINE void store_upto4(float *p, float32x4_t v, size_t rest) {
  if (rest >= 4) {
    vst1q_f32(p, v);
  } else {
    store_tail(p, v, rest);
  }
}

INLINE float32x4_t select_f32(uint32x4_t mask, float32x4_t yes, float32x4_t no) {
  return vbslq_f32(mask, yes, no);
}

// v where mask is set, +0 elsewhere.
INLINE float32x4_t keep_lanes(uint32x4_t mask, float32x4_t v) {
  return vreinterpretq_f32_u32(vandq_u32(mask, vreinterpretq_u32_f32(v)));
}

// The multipliers of the reductions and the polynomial's leading coefficient in one register,
// read by lane (vfmaq_laneq_f32: the same fused operation as with a broadcast operand). A
// loop with four exponentials in flight and its accumulators otherwise ran out of the 32
// vector registers and spilled. Static const, so the load is hoisted out of every loop.
static const float neon_exp_multipliers[2][4] __attribute__((aligned(16))) = {
    {SOFTMAX_LOG2E, SOFTMAX_LN2_HI, SOFTMAX_LN2_LO, SOFTMAX_P5_C5},  // the extended exp
    {SOFTMAX_LOG2E, SOFTMAX_LN2, SOFTMAX_P5_C5, 0.0f},              // the Three-Pass exp
};

// e^t on the reduced argument, in [√½, √2]: five FMAs (vfmaq_f32(a, b, c) = a + b·c, fused).
INLINE float32x4_t exp_of_reduced(float32x4_t t) {
  const float32x4_t k = vld1q_f32(neon_exp_multipliers[0]);
  float32x4_t p = vfmaq_laneq_f32(vdupq_n_f32(SOFTMAX_P5_C4), t, k, 3);
  p = vfmaq_f32(vdupq_n_f32(SOFTMAX_P5_C3), p, t);
  p = vfmaq_f32(vdupq_n_f32(SOFTMAX_P5_C2), p, t);
  p = vfmaq_f32(vdupq_n_f32(SOFTMAX_P5_C1), p, t);
  return vfmaq_f32(vdupq_n_f32(1.0f), p, t);
}

// n = round(x log2 e) by the magic-number addition, t = x − n ln 2 with two constants.
INLINE float32x4_t reduce(float32x4_t x, float32x4_t *t) {
  const float32x4_t magic = vdupq_n_f32(SOFTMAX_ROUNDING_MAGIC);
  const float32x4_t k = vld1q_f32(neon_exp_multipliers[0]);
  const float32x4_t n = vsubq_f32(vfmaq_laneq_f32(magic, x, k, 0), magic);
  const float32x4_t r = vfmsq_laneq_f32(x, n, k, 1);
  *t = vfmsq_laneq_f32(r, n, k, 2);
  return n;
}

// 2^n for integer-valued n in [−127, 127] (−127 gives +0).
INLINE float32x4_t exp2_of_integer(float32x4_t n) {
  const uint32x4_t bits = vreinterpretq_u32_f32(vaddq_f32(n, vdupq_n_f32(SOFTMAX_SCALE_MAGIC)));
  return vreinterpretq_f32_u32(vshlq_n_u32(bits, 23));
}

// 2^d for integer-valued d ≤ 0; exactly 0 where d < −125 or d is NaN.
INLINE float32x4_t exp2_nonpositive(float32x4_t d) {
  const uint32x4_t keep = vcgeq_f32(d, vdupq_n_f32(SOFTMAX_MIN_SCALE_EXPONENT));
  return exp2_of_integer(select_f32(keep, d, vdupq_n_f32(-127.0f)));
}

// Clamps to ±2800; NEON's fmax and fmin return NaN when an operand is NaN, so NaN stays.
INLINE float32x4_t clamp_to_domain(float32x4_t x) {
  x = vmaxq_f32(vdupq_n_f32(-SOFTMAX_EXT_DOMAIN), x);
  return vminq_f32(vdupq_n_f32(SOFTMAX_EXT_DOMAIN), x);
}

// e^x = m · 2^n, x clamped to ±2800, m in [√½, √2]; n is returned in *n.
INLINE float32x4_t extended_exp(float32x4_t x, float32x4_t *n) {
  float32x4_t t;
  *n = reduce(clamp_to_domain(x), &t);
  return exp_of_reduced(t);
}

// e^x for x ≤ 0 (the Three-Pass exp, see exp_constants.h); +0 below the underflow cut, NaN
// stays NaN. Unlike the AVX2 exp, x is not clamped first: below the cut n and 2^n may be
// garbage (even NaN), and the lanes are cleared after the product instead (bitwise the same
// where kept; one constant and one instruction fewer).
INLINE float32x4_t exp_nonpositive(float32x4_t x) {
  const float32x4_t magic = vdupq_n_f32(SOFTMAX_ROUNDING_MAGIC);
  const float32x4_t k = vld1q_f32(neon_exp_multipliers[1]);
  const float32x4_t n = vsubq_f32(vfmaq_laneq_f32(magic, x, k, 0), magic);
  const float32x4_t t = vfmsq_laneq_f32(x, n, k, 1);
  float32x4_t p = vfmaq_laneq_f32(vdupq_n_f32(SOFTMAX_P5_C4), t, k, 2);
  p = vfmaq_f32(vdupq_n_f32(SOFTMAX_P5_C3), p, t);
  p = vfmaq_f32(vdupq_n_f32(SOFTMAX_P5_C2), p, t);
  p = vfmaq_f32(vdupq_n_f32(SOFTMAX_P5_C1), p, t);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, t);
  // Clear underflowing lanes (NaN lanes compare false and are kept).
  const uint32x4_t drop = vcltq_f32(x, vdupq_n_f32(SOFTMAX_EXP_UNDERFLOW));
  const float32x4_t e = vmulq_f32(p, exp2_of_integer(n));
  return vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(e), drop));
}

#endif
