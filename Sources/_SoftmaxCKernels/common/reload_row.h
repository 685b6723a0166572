// Three-Pass reload of one short row in a single call, composed from a kernel set's own
// maximum, sum-and-store and scale kernels: each set's `softmax_reload_row_<isa>_<unroll>`,
// named by the unroll of its scale kernel.
#ifndef SOFTMAX_RELOAD_ROW_H
#define SOFTMAX_RELOAD_ROW_H

#include <math.h>
#include <stddef.h>

#include "_SoftmaxCKernels.h"

// The same three calls, scale Float(1 / Σ) and threshold 2^-125 / scale as the library's
// chunked reload makes for a row of one chunk, so the same bits. Why one C call: the one-row
// entry point reaches it through a plain function pointer, without the class of kernel
// tables, whose retain is an atomic instruction that kept each call from starting before the
// previous one's stores were done (a row of 16 floats: 50 ns through the table, 23 ns this
// way; BENCHMARKS.md, "Short rows in one C call"). Returns 0, having written nothing, when the
// maximum is not finite (the caller then applies the special-value contract); a NaN that the
// maximum skipped makes the whole row NaN, as the contract says.
static inline int softmax_reload_row(
    const float *x, float *y, size_t n, int stream, float (*maximum_of)(const float *, size_t),
    double (*sum_and_store)(const float *, float *, size_t, float),
    void (*scale_by)(const float *, float *, size_t, float, float, int)) {
  const float maximum = maximum_of(x, n);
  if (!isfinite(maximum)) return 0;
  const double sum = sum_and_store(x, y, n, maximum);
  if (isnan(sum)) {
    for (size_t i = 0; i < n; i++) y[i] = NAN;
    return 1;
  }
  const float scale = (float)(1 / sum);
  scale_by(y, y, n, scale, 0x1p-125f / scale, stream);
  if (stream) softmax_store_fence();
  return 1;
}

#endif
