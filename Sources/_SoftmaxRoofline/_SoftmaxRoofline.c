#include "_SoftmaxRoofline.h"

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
                                              size_t count, float c, int stream) {
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
  if (stream) _mm_sfence();
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
                                     float c, int stream) {
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
  if (stream) _mm_sfence();
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
  if (use_avx512()) multiply_difference_avx512(x, y, z, count, c, 0);
  else multiply_difference_sse2(x, y, z, count, c, 0);
}

void _softmax_roofline_stream_multiply_difference(const float *x, const float *y, float *z,
                                                  size_t count, float c) {
  if (use_avx512()) multiply_difference_avx512(x, y, z, count, c, 1);
  else multiply_difference_sse2(x, y, z, count, c, 1);
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

#endif
