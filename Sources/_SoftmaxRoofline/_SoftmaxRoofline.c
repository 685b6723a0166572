#include "_SoftmaxRoofline.h"

#include <stdint.h>

#if defined(__x86_64__)
#include <emmintrin.h>

int _softmax_roofline_streaming_available(void) { return 1; }

void _softmax_roofline_stream_scale(const float *x, float *y, size_t count, float scale) {
  size_t i = 0;
  // _mm_stream_ps needs a 16-byte aligned destination: finish the head with scalar stores.
  while (i < count && ((uintptr_t)(y + i) & 15) != 0) {
    y[i] = x[i] * scale;
    i++;
  }
  const __m128 s = _mm_set1_ps(scale);
  for (; i + 16 <= count; i += 16) {
    __m128 a = _mm_mul_ps(_mm_loadu_ps(x + i), s);
    __m128 b = _mm_mul_ps(_mm_loadu_ps(x + i + 4), s);
    __m128 c = _mm_mul_ps(_mm_loadu_ps(x + i + 8), s);
    __m128 d = _mm_mul_ps(_mm_loadu_ps(x + i + 12), s);
    _mm_stream_ps(y + i, a);
    _mm_stream_ps(y + i + 4, b);
    _mm_stream_ps(y + i + 8, c);
    _mm_stream_ps(y + i + 12, d);
  }
  for (; i < count; i++) {
    y[i] = x[i] * scale;
  }
  // Streaming stores are weakly ordered: fence so the timed region includes them.
  _mm_sfence();
}

#else

int _softmax_roofline_streaming_available(void) { return 0; }

void _softmax_roofline_stream_scale(const float *x, float *y, size_t count, float scale) {
  for (size_t i = 0; i < count; i++) {
    y[i] = x[i] * scale;
  }
}

#endif
