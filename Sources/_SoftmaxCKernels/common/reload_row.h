// Three-Pass reload of one short row in a single call, composed from a kernel set's own
// maximum, sum-and-store and scale kernels: each set's `softmax_reload_row_<isa>_<unroll>`,
// named by the unroll of its scale kernel.
#ifndef SOFTMAX_RELOAD_ROW_H
#define SOFTMAX_RELOAD_ROW_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "_SoftmaxCKernels.h"
#include "exp_constants.h"

// The same three calls, scale Float(1 / Σ) and threshold 2^-125 / scale as the library's
// chunked reload makes for a row of one chunk, so the same bits. Why one C call: the one-row
// entry point reaches it through a plain function pointer, without the class of kernel
// tables, whose retain is an atomic instruction that kept each call from starting before the
// previous one's stores were done (a row of 16 floats: 50 ns through the table, 23 ns this
// way; BENCHMARKS.md, "Short rows in one C call"). Returns 0, having written nothing, when the
// maximum is not finite (the caller then applies the special-value contract); a NaN that the
// maximum skipped makes the whole row NaN, as the contract says.
//
// `maximum_of` also gives the row's minimum (−inf for a set that does not look): when
// minimum − maximum is at least the exp's underflow cut, no exponential is flushed to 0, and
// when e^(minimum − maximum) is well above the threshold, no output is; `sum_and_store` (told
// `underflows`) and `scale_by` (given threshold 0) then skip their compares and masks. Their
// masks would have kept every lane, so the bits are the same. Why the threshold test holds:
// x − maximum rounds monotonically and the kernels' exponentials are within 4.1e-7 relative,
// so every one is at least e^(minimum − maximum) · (1 − 4.1e-7); the threshold is below
// 2^(E+1), E its binary exponent, so minimum − maximum ≥ (E + 2) ln 2 leaves a factor of 2 to
// spare (the rule of `flushThreshold(inverseSum:spread:)` on the Swift side). No libm call: at
// 256 floats exp() cost a tenth of the row.
static inline int softmax_reload_row(
    const float *x, float *y, size_t n, int stream,
    float (*maximum_of)(const float *, size_t, float *minimum),
    double (*sum_and_store)(const float *, float *, size_t, float, int underflows),
    void (*scale_by)(const float *, float *, size_t, float, float, int)) {
  float minimum;
  const float maximum = maximum_of(x, n, &minimum);
  if (!isfinite(maximum)) return 0;
  const float spread = minimum - maximum;
  const int underflows = !(spread >= SOFTMAX_EXP_UNDERFLOW);
  const double sum = sum_and_store(x, y, n, maximum, underflows);
  if (isnan(sum)) {
    for (size_t i = 0; i < n; i++) y[i] = NAN;
    return 1;
  }
  const float scale = (float)(1 / sum);
  float threshold = 0x1p-125f / scale;
  // E from the bits: the threshold is normal (2^-125 · Σ with Σ ≥ 1, the maximum's own term).
  uint32_t bits;
  memcpy(&bits, &threshold, sizeof bits);
  const int E = (int)((bits >> 23) & 0xFF) - 127;
  if (!underflows && spread >= (float)(E + 2) * 0x1.62E430p-1f) threshold = 0;
  scale_by(y, y, n, scale, threshold, stream);
  if (stream) softmax_store_fence();
  return 1;
}

#endif
