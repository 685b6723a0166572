// Gathers and scatters of 16 adjacent Float columns on AVX-512 (common/column_gather.c calls
// them for full groups): 16 steps of the axis are 16 lines, loaded as 16 vectors, transposed
// in registers (8 unpacks, 8 more, 16 lane shuffles) and stored as 16 runs of 16 steps, one
// per column; the scatter does the inverse. The plain C loops move one Float per load and
// store, which bounded them by instructions, not by memory.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define KERNEL __attribute__((target("avx512f")))
#define INLINE static inline __attribute__((always_inline, target("avx512f")))

// Steps ahead that the loops prefetch (as column_gather.c).
#define PREFETCH_STEPS 16

// r[k] = row k of a 16×16 block → r[k] = column k.
INLINE void transpose16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; i++) {
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 4; i++) {
    t[i] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0x88);
    t[i + 4] = _mm512_shuffle_f32x4(r[i], r[4 + i], 0xdd);
    t[i + 8] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0x88);
    t[i + 12] = _mm512_shuffle_f32x4(r[8 + i], r[12 + i], 0xdd);
  }
  for (int i = 0; i < 4; i++) {
    r[i] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0x88);
    r[i + 8] = _mm512_shuffle_f32x4(t[i], t[8 + i], 0xdd);
    r[i + 4] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0x88);
    r[i + 12] = _mm512_shuffle_f32x4(t[4 + i], t[12 + i], 0xdd);
  }
}

// The whole blocks of 16 steps; returns the steps done (the caller does the rest).
KERNEL size_t softmax_gather_columns_avx512_16(const float *x, size_t stride, size_t n, float *y) {
  size_t s = 0;
  for (; s + 16 <= n; s += 16) {
    __m512 r[16];
    for (int k = 0; k < 16; k++) {
      const float *line = x + (s + k) * stride;
      _mm_prefetch((const char *)(line + PREFETCH_STEPS * stride), _MM_HINT_T0);
      _mm_prefetch((const char *)(line + PREFETCH_STEPS * stride + 15), _MM_HINT_T0);
      r[k] = _mm512_loadu_ps(line);
    }
    transpose16(r);
    for (int c = 0; c < 16; c++) _mm512_storeu_ps(y + c * n + s, r[c]);
  }
  return s;
}

// `stream`: lines whose 16 floats fill them (y and the stride keep 64-byte alignment) take
// non-temporal stores, which skip their read for ownership; the function fences them.
KERNEL size_t softmax_scatter_columns_avx512_16(const float *x, size_t n, float *y, size_t stride,
                                                int stream) {
  stream = stream && ((uintptr_t)y & 63) == 0 && ((stride * sizeof(float)) & 63) == 0;
  size_t s = 0;
  for (; s + 16 <= n; s += 16) {
    __m512 r[16];
    for (int c = 0; c < 16; c++) r[c] = _mm512_loadu_ps(x + c * n + s);
    transpose16(r);
    for (int k = 0; k < 16; k++) {
      float *line = y + (s + k) * stride;
      if (stream) {
        _mm512_stream_ps(line, r[k]);
      } else {
        softmax_prefetch_for_store(line + PREFETCH_STEPS * stride);
        softmax_prefetch_for_store(line + PREFETCH_STEPS * stride + 15);
        _mm512_storeu_ps(line, r[k]);
      }
    }
  }
  if (stream) _mm_sfence();
  return s;
}

#endif
