// The Double totals of a row's block sums (Two-Pass pairs, online (maximum, sum)), shared by
// the kernel files of every ISA.
#ifndef SOFTMAX_SCALED_SUM_H
#define SOFTMAX_SCALED_SUM_H

#include <math.h>

// Merges a Float block sum m · 2^e into the total *total_m · 2^*total_e, rescaling the one with
// the smaller exponent by an exact power of two (scales below 2^-1100 are 0 in Double anyway).
static inline void merge_sum(double *total_m, float *total_e, float m, float e) {
  if (e > *total_e) {
    *total_m = ldexp(*total_m, (int)fmaxf(*total_e - e, -1100.0f)) + (double)m;
    *total_e = e;
  } else {
    *total_m += ldexp((double)m, (int)fmaxf(e - *total_e, -1100.0f));
  }
}

// s · e^(from − to) for from ≤ to. An empty sum stays exactly 0 (the difference of two −inf
// maximums would be NaN), equal maximums need no exponential, a NaN sum stays NaN.
static inline double rescale_sum(double s, float from, float to) {
  return s == 0 || from == to ? s : s * exp((double)from - (double)to);
}

// Merges a block's online (maximum m, Float sum s of e^(x − m)) into the row's running total,
// rescaling the sum with the smaller maximum in Double. An empty block is (−inf, 0).
static inline void merge_max_sum(float *total_max, double *total_sum, float m, float s) {
  const float target = m > *total_max ? m : *total_max;
  *total_sum = rescale_sum(*total_sum, *total_max, target) + rescale_sum((double)s, m, target);
  *total_max = target;
}

#endif
