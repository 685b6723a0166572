#include "_SoftmaxRoofline.h"

#include <math.h>
#include <stdint.h>

#include "_SoftmaxCKernels.h"

// The roofline loops run on the widest vectors the CPU has, like the softmax kernels they
// bound: with SSE2 loops a roofline would be limited by instruction throughput in cache and
// understate what the memory system delivers.

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f")))

static int use_avx512(void) {
  static int cached = -1;  // benign race: every thread computes the same value
  if (cached < 0) cached = (softmax_x86_cpu_features() & SOFTMAX_X86_AVX512) != 0;
  return cached;
}

int _softmax_roofline_streaming_available(void) { return 1; }

AVX512 static float sum_avx512(const float *x, size_t count, float start) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 64 <= count; i += 64) {
    a = _mm512_add_ps(a, _mm512_loadu_ps(x + i));
    b = _mm512_add_ps(b, _mm512_loadu_ps(x + i + 16));
    c = _mm512_add_ps(c, _mm512_loadu_ps(x + i + 32));
    d = _mm512_add_ps(d, _mm512_loadu_ps(x + i + 48));
  }
  float total = start + _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
  for (; i < count; i++) total += x[i];
  return total;
}

AVX512 static void scale_avx512(const float *x, float *y, size_t count, float scale, int stream) {
  size_t i = 0;
  if (stream) {
    // _mm512_stream_ps needs a 64-byte aligned destination.
    for (; i < count && ((uintptr_t)(y + i) & 63) != 0; i++) y[i] = x[i] * scale;
  }
  const __m512 s = _mm512_set1_ps(scale);
  for (; i + 32 <= count; i += 32) {
    const __m512 a = _mm512_mul_ps(_mm512_loadu_ps(x + i), s);
    const __m512 b = _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), s);
    if (stream) {
      _mm512_stream_ps(y + i, a);
      _mm512_stream_ps(y + i + 16, b);
    } else {
      _mm512_storeu_ps(y + i, a);
      _mm512_storeu_ps(y + i + 16, b);
    }
  }
  for (; i < count; i++) y[i] = x[i] * scale;
  if (stream) _mm_sfence();
}

AVX512 static void multiply_difference_avx512(const float *x, const float *y, float *z,
                                              size_t count, float c, int stream, int fence) {
  size_t i = 0;
  if (stream) {
    for (; i < count && ((uintptr_t)(z + i) & 63) != 0; i++) z[i] = x[i] * (y[i] - c);
  }
  const __m512 s = _mm512_set1_ps(c);
  for (; i + 32 <= count; i += 32) {
    const __m512 a =
        _mm512_mul_ps(_mm512_loadu_ps(x + i), _mm512_sub_ps(_mm512_loadu_ps(y + i), s));
    const __m512 b =
        _mm512_mul_ps(_mm512_loadu_ps(x + i + 16), _mm512_sub_ps(_mm512_loadu_ps(y + i + 16), s));
    if (stream) {
      _mm512_stream_ps(z + i, a);
      _mm512_stream_ps(z + i + 16, b);
    } else {
      _mm512_storeu_ps(z + i, a);
      _mm512_storeu_ps(z + i + 16, b);
    }
  }
  for (; i < count; i++) z[i] = x[i] * (y[i] - c);
  if (stream && fence) _mm_sfence();
}

// Σ x[i] + Σ y[i]: one read-only sweep over two arrays, as the first pass of a softmax
// backward reads a row's y and dy.
AVX512 static float sum_two_avx512(const float *x, const float *y, size_t count) {
  __m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 32 <= count; i += 32) {
    a = _mm512_add_ps(a, _mm512_loadu_ps(x + i));
    b = _mm512_add_ps(b, _mm512_loadu_ps(y + i));
    c = _mm512_add_ps(c, _mm512_loadu_ps(x + i + 16));
    d = _mm512_add_ps(d, _mm512_loadu_ps(y + i + 16));
  }
  float total = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
  for (; i < count; i++) total += x[i] + y[i];
  return total;
}

// One step of the by-rows kernel, pipelined as the library's backward pass is: z = x · (y − c)
// over the previous row (px, py, pz) while it sums the next row's first-sweep arrays (nx may
// be NULL: then only ny is summed), so that reads and writes overlap instead of alternating.
// Returns the next row's sum.
AVX512 static float row_step_avx512(const float *px, const float *py, float *pz, float c,
                                    const float *nx, const float *ny, size_t count,
                                    int stream, int prefetch) {
  // Prefetches past the arrays' ends are harmless: prefetches never fault.
  __m512 a = _mm512_setzero_ps(), b = a;
  const __m512 s = _mm512_set1_ps(c);
  size_t i = 0;
  float total = 0;
  if (stream) {
    for (; i < count && ((uintptr_t)(pz + i) & 63) != 0; i++) {
      pz[i] = px[i] * (py[i] - c);
      total += (nx ? nx[i] : 0) + ny[i];
    }
  }
  for (; i + 32 <= count; i += 32) {
    if (prefetch) {
      // The hardware prefetcher of the Zen 5 measured here follows these streams poorly:
      // fetch the arrays read from memory 1024 floats ahead into L1, as the library's
      // backward steps do.
      _mm_prefetch((const char *)(ny + i + 1024), _MM_HINT_T0);
      _mm_prefetch((const char *)(ny + i + 1040), _MM_HINT_T0);
      // The other array is the summed one's partner: the next row's x, or (when the first
      // sweep reads y alone) this row's x, which this sweep reads for the first time.
      const float *other = nx ? nx : px;
      _mm_prefetch((const char *)(other + i + 1024), _MM_HINT_T0);
      _mm_prefetch((const char *)(other + i + 1040), _MM_HINT_T0);
    }
    a = _mm512_add_ps(a, _mm512_loadu_ps(ny + i));
    b = _mm512_add_ps(b, _mm512_loadu_ps(ny + i + 16));
    if (nx) {
      a = _mm512_add_ps(a, _mm512_loadu_ps(nx + i));
      b = _mm512_add_ps(b, _mm512_loadu_ps(nx + i + 16));
    }
    const __m512 u =
        _mm512_mul_ps(_mm512_loadu_ps(px + i), _mm512_sub_ps(_mm512_loadu_ps(py + i), s));
    const __m512 v =
        _mm512_mul_ps(_mm512_loadu_ps(px + i + 16), _mm512_sub_ps(_mm512_loadu_ps(py + i + 16), s));
    if (stream) {
      _mm512_stream_ps(pz + i, u);
      _mm512_stream_ps(pz + i + 16, v);
    } else {
      _mm512_storeu_ps(pz + i, u);
      _mm512_storeu_ps(pz + i + 16, v);
    }
  }
  for (; i < count; i++) {
    pz[i] = px[i] * (py[i] - c);
    total += (nx ? nx[i] : 0) + ny[i];
  }
  return total + _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

// The by-rows kernel on AVX-512: row 0's sum, then one pipelined step per further row, then
// the last row's output. A shorter last row is swept on its own.
AVX512 static void rows_avx512(const float *x, const float *y, float *z, size_t count,
                               size_t row_length, int first_inputs, int stream) {
  const size_t rows = count / row_length;
  const int both = first_inputs == 2;
  if (rows > 0) {
    float total = both ? sum_two_avx512(x, y, row_length) : sum_avx512(y, row_length, 0);
    for (size_t r = 1; r < rows; r++) {
      const size_t p = (r - 1) * row_length, n = r * row_length;
      // The difference depends on the sums, so no sweep can be dropped; it is 0 in practice
      // (the sums of the bench's arrays are finite).
      const float c = total == INFINITY ? 1 : 0;
      total = row_step_avx512(x + p, y + p, z + p, c, both ? x + n : NULL, y + n, row_length,
                              stream, 1);
    }
    const size_t p = (rows - 1) * row_length;
    multiply_difference_avx512(x + p, y + p, z + p, row_length, total == INFINITY ? 1 : 0,
                               stream, 0);
  }
  const size_t done = rows * row_length;
  if (done < count) {
    const size_t n = count - done;
    const float total =
        both ? sum_two_avx512(x + done, y + done, n) : sum_avx512(y + done, n, 0);
    multiply_difference_avx512(x + done, y + done, z + done, n, total == INFINITY ? 1 : 0,
                               stream, 0);
  }
}

static float sum_sse2(const float *x, size_t count, float start) {
  __m128 a = _mm_setzero_ps(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 16 <= count; i += 16) {
    a = _mm_add_ps(a, _mm_loadu_ps(x + i));
    b = _mm_add_ps(b, _mm_loadu_ps(x + i + 4));
    c = _mm_add_ps(c, _mm_loadu_ps(x + i + 8));
    d = _mm_add_ps(d, _mm_loadu_ps(x + i + 12));
  }
  float lanes[4];
  _mm_storeu_ps(lanes, _mm_add_ps(_mm_add_ps(a, b), _mm_add_ps(c, d)));
  float total = start + lanes[0] + lanes[1] + lanes[2] + lanes[3];
  for (; i < count; i++) total += x[i];
  return total;
}

static void scale_sse2(const float *x, float *y, size_t count, float scale, int stream) {
  size_t i = 0;
  if (stream) {
    for (; i < count && ((uintptr_t)(y + i) & 15) != 0; i++) y[i] = x[i] * scale;
  }
  const __m128 s = _mm_set1_ps(scale);
  for (; i + 8 <= count; i += 8) {
    const __m128 a = _mm_mul_ps(_mm_loadu_ps(x + i), s);
    const __m128 b = _mm_mul_ps(_mm_loadu_ps(x + i + 4), s);
    if (stream) {
      _mm_stream_ps(y + i, a);
      _mm_stream_ps(y + i + 4, b);
    } else {
      _mm_storeu_ps(y + i, a);
      _mm_storeu_ps(y + i + 4, b);
    }
  }
  for (; i < count; i++) y[i] = x[i] * scale;
  // Streaming stores are weakly ordered: fence so the timed region includes them.
  if (stream) _mm_sfence();
}

static void multiply_difference_sse2(const float *x, const float *y, float *z, size_t count,
                                     float c, int stream, int fence) {
  size_t i = 0;
  if (stream) {
    for (; i < count && ((uintptr_t)(z + i) & 15) != 0; i++) z[i] = x[i] * (y[i] - c);
  }
  const __m128 s = _mm_set1_ps(c);
  for (; i + 8 <= count; i += 8) {
    const __m128 a = _mm_mul_ps(_mm_loadu_ps(x + i), _mm_sub_ps(_mm_loadu_ps(y + i), s));
    const __m128 b = _mm_mul_ps(_mm_loadu_ps(x + i + 4), _mm_sub_ps(_mm_loadu_ps(y + i + 4), s));
    if (stream) {
      _mm_stream_ps(z + i, a);
      _mm_stream_ps(z + i + 4, b);
    } else {
      _mm_storeu_ps(z + i, a);
      _mm_storeu_ps(z + i + 4, b);
    }
  }
  for (; i < count; i++) z[i] = x[i] * (y[i] - c);
  if (stream && fence) _mm_sfence();
}

static float sum_two_sse2(const float *x, const float *y, size_t count) {
  return sum_sse2(y, count, sum_sse2(x, count, 0));
}

float _softmax_roofline_sum(const float *x, size_t count, float start) {
  return use_avx512() ? sum_avx512(x, count, start) : sum_sse2(x, count, start);
}

void _softmax_roofline_scale(const float *x, float *y, size_t count, float scale) {
  if (use_avx512()) scale_avx512(x, y, count, scale, 0); else scale_sse2(x, y, count, scale, 0);
}

void _softmax_roofline_stream_scale(const float *x, float *y, size_t count, float scale) {
  if (use_avx512()) scale_avx512(x, y, count, scale, 1); else scale_sse2(x, y, count, scale, 1);
}

void _softmax_roofline_multiply_difference(const float *x, const float *y, float *z,
                                           size_t count, float c) {
  if (use_avx512()) multiply_difference_avx512(x, y, z, count, c, 0, 1);
  else multiply_difference_sse2(x, y, z, count, c, 0, 1);
}

void _softmax_roofline_stream_multiply_difference(const float *x, const float *y, float *z,
                                                  size_t count, float c) {
  if (use_avx512()) multiply_difference_avx512(x, y, z, count, c, 1, 1);
  else multiply_difference_sse2(x, y, z, count, c, 1, 1);
}

void _softmax_roofline_rows_multiply_difference(const float *x, const float *y, float *z,
                                                size_t count, size_t row_length,
                                                int first_inputs, int stream) {
  if (use_avx512()) {
    rows_avx512(x, y, z, count, row_length, first_inputs, stream);
  } else {
    for (size_t start = 0; start < count; start += row_length) {
      const size_t n = count - start < row_length ? count - start : row_length;
      const float *xr = x + start, *yr = y + start;
      const float total =
          first_inputs == 2 ? sum_two_sse2(xr, yr, n) : sum_sse2(yr, n, 0);
      multiply_difference_sse2(xr, yr, z + start, n, total == INFINITY ? 1 : 0, stream, 0);
    }
  }
  // Streaming stores are weakly ordered: one fence, so the timed region includes them.
  if (stream) _mm_sfence();
}

#else

int _softmax_roofline_streaming_available(void) { return 0; }

float _softmax_roofline_sum(const float *x, size_t count, float start) {
  float total = start;
  for (size_t i = 0; i < count; i++) total += x[i];
  return total;
}

void _softmax_roofline_scale(const float *x, float *y, size_t count, float scale) {
  for (size_t i = 0; i < count; i++) y[i] = x[i] * scale;
}

void _softmax_roofline_stream_scale(const float *x, float *y, size_t count, float scale) {
  _softmax_roofline_scale(x, y, count, scale);
}

void _softmax_roofline_multiply_difference(const float *x, const float *y, float *z,
                                           size_t count, float c) {
  for (size_t i = 0; i < count; i++) z[i] = x[i] * (y[i] - c);
}

void _softmax_roofline_stream_multiply_difference(const float *x, const float *y, float *z,
                                                  size_t count, float c) {
  _softmax_roofline_multiply_difference(x, y, z, count, c);
}

void _softmax_roofline_rows_multiply_difference(const float *x, const float *y, float *z,
                                                size_t count, size_t row_length,
                                                int first_inputs, int stream) {
  (void)stream;
  for (size_t start = 0; start < count; start += row_length) {
    const size_t n = count - start < row_length ? count - start : row_length;
    float total = 0;
    for (size_t i = 0; i < n; i++) total += (first_inputs == 2 ? x[start + i] : 0) + y[start + i];
    const float c = total == INFINITY ? 1 : 0;
    for (size_t i = 0; i < n; i++) z[start + i] = x[start + i] * (y[start + i] - c);
  }
}

#endif
