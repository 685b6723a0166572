// Half-precision conversions with F16C, so that Float16 rows convert at memory speed instead
// of one library call per element (a default x86-64 build has no F16C).
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define KERNEL __attribute__((target("avx,f16c")))

KERNEL void softmax_f16_to_f32_f16c(const uint16_t *x, float *y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
  }
  if (i < n) {
    uint16_t in[8] = {0};
    float out[8];
    memcpy(in, x + i, (n - i) * sizeof(uint16_t));
    _mm256_storeu_ps(out, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)in)));
    memcpy(y + i, out, (n - i) * sizeof(float));
  }
}

KERNEL void softmax_f32_to_f16_f16c(const float *x, uint16_t *y, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm_storeu_si128((__m128i *)(y + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  }
  if (i < n) {
    float in[8] = {0};
    uint16_t out[8];
    memcpy(in, x + i, (n - i) * sizeof(float));
    _mm_storeu_si128((__m128i *)out, _mm256_cvtps_ph(_mm256_loadu_ps(in), _MM_FROUND_TO_NEAREST_INT));
    memcpy(y + i, out, (n - i) * sizeof(uint16_t));
  }
}

#else
void softmax_f16_to_f32_f16c(const uint16_t *x, float *y, size_t n) { (void)x; (void)y; (void)n; }
void softmax_f32_to_f16_f16c(const float *x, uint16_t *y, size_t n) { (void)x; (void)y; (void)n; }
#endif
