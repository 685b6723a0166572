// The NEON (AdvSIMD) pass kernels of arm64 (arm/neon_kernels.c): 4 lanes, the operations and
// contract of the x86 sets in _SoftmaxCKernels.h, declared only when compiling for aarch64,
// where NEON is always present. The `stream` arguments are accepted and ignored: NEON has no
// non-temporal vector store worth using, so there is nothing to fence either.
#ifndef SOFTMAX_NEON_KERNELS_H
#define SOFTMAX_NEON_KERNELS_H

#include "_SoftmaxCKernels.h"

#if defined(__aarch64__)
#ifdef __cplusplus
extern "C" {
#endif

float softmax_max_neon_u16_acc4(const float *x, size_t n);
softmax_scaled_sum softmax_twopass_sum_neon_u16_acc2(const float *x, size_t n);
void softmax_twopass_output_neon_u8(const float *x, float *y, size_t n, float inverse_mantissa,
                                    float exponent_bias, int stream);
double softmax_sumexp_neon_u16_acc4(const float *x, size_t n, float shift);
double softmax_sumexp_store_neon_u16_acc4(const float *x, float *y, size_t n, float shift);
void softmax_expscale_neon_u8(const float *x, float *y, size_t n, float shift, float scale,
                              float threshold, int stream);
void softmax_scale_neon_u16(const float *x, float *y, size_t n, float scale, float threshold, int stream);
softmax_max_sum softmax_online_sum_neon_u16_acc8(const float *x, size_t n);
void softmax_logits_neon_u4(const float *x, float *y, size_t n, float divisor, float shift,
                            float offset, const bool *keep, const float *bias);

#ifdef __cplusplus
}
#endif
#endif

#endif
