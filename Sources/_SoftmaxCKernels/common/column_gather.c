// Gathers and scatters of adjacent columns for operations along an inner axis (Float), in C
// for the prefetch: each step of the axis is one line `stride` floats from the last, a stride
// no hardware prefetcher follows far enough ahead, so a plain loop waited on one miss after
// another (a softmax backward along axis 0 of 1024×4096: 5 ns/element with the columns
// gathered together in Swift; BENCHMARKS.md, "Inner axes"). Full groups of 16 columns take
// the AVX-512 transposes of x86/avx512_columns.c when the caller says the CPU has them (it
// knows from its kernel table; asking CPUID here cost a VM exit per call).
#include "_SoftmaxCKernels.h"

// Steps ahead that the loops ask for: enough misses in flight to cover the memory's latency.
#define COLUMN_PREFETCH_STEPS 16

// The lines of step s + COLUMN_PREFETCH_STEPS (a run of `width` floats may cross a line).
static inline void prefetch_step(const float *p, size_t width, int write) {
  if (write) {
    __builtin_prefetch(p, 1, 3);
    __builtin_prefetch(p + width - 1, 1, 3);
  } else {
    __builtin_prefetch(p, 0, 3);
    __builtin_prefetch(p + width - 1, 0, 3);
  }
}

void softmax_gather_columns(const float *x, size_t stride, size_t width, size_t n, float *y,
                            int avx512) {
  if (width == 0) return;
  size_t s = 0;
#if defined(__x86_64__)
  if (width == 16 && avx512) {
    s = softmax_gather_columns_avx512_16(x, stride, n, y);
  }
#endif
  // Tiles of 8 steps: each column's 8 values are stored side by side.
  for (; s + 8 <= n; s += 8) {
    for (size_t k = 0; k < 8; k++) {
      if (s + k + COLUMN_PREFETCH_STEPS < n) {
        prefetch_step(x + (s + k + COLUMN_PREFETCH_STEPS) * stride, width, 0);
      }
    }
    for (size_t c = 0; c < width; c++) {
      float *row = y + c * n + s;
      for (size_t k = 0; k < 8; k++) row[k] = x[(s + k) * stride + c];
    }
  }
  for (; s < n; s++) {
    for (size_t c = 0; c < width; c++) y[c * n + s] = x[s * stride + c];
  }
}

void softmax_scatter_columns(const float *x, size_t n, size_t width, float *y, size_t stride,
                             int avx512, int stream) {
  if (width == 0) return;
  size_t s = 0;
#if defined(__x86_64__)
  if (width == 16 && avx512) {
    s = softmax_scatter_columns_avx512_16(x, n, y, stride, stream);
  }
#endif
  for (; s + 8 <= n; s += 8) {
    for (size_t k = 0; k < 8; k++) {
      if (s + k + COLUMN_PREFETCH_STEPS < n) {
        prefetch_step(y + (s + k + COLUMN_PREFETCH_STEPS) * stride, width, 1);
      }
    }
    for (size_t k = 0; k < 8; k++) {
      float *line = y + (s + k) * stride;
      for (size_t c = 0; c < width; c++) line[c] = x[c * n + s + k];
    }
  }
  for (; s < n; s++) {
    for (size_t c = 0; c < width; c++) y[s * stride + c] = x[c * n + s];
  }
}
