// The Double total of a row's block sums, shared by the kernel files of every ISA.
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

#endif
