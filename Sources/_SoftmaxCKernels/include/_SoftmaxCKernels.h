// The C part of the package: the ISA-specific pass kernels (x86/: AVX-512 and AVX2; arm/: the
// arm64 NEON set, declared in _SoftmaxNEONKernels.h) and what they share (common/: the exp
// constants, the scaled sum, the CPU count). In C because only C can compile one function for
// AVX-512 or AVX2 (`__attribute__((target(...)))`) inside a package that is built with the
// default baseline flags. Swift selects them at run time from the CPU features below (NEON is
// baseline on arm64) and falls back to its portable SIMD kernels elsewhere. Each kernel mirrors a Swift kernel of
// SoftmaxKernels one for one and keeps the same numerical contract: no subnormal is ever
// produced, probabilities below 2^-124 may be 0, NaN is reported, never hidden.
#ifndef SOFTMAX_C_KERNELS_H
#define SOFTMAX_C_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CPU features that select a kernel set.
enum {
  SOFTMAX_X86_AVX2_FMA = 1 << 0,  // AVX2 and FMA, with the OS saving ymm state
  SOFTMAX_X86_AVX512 = 1 << 1,    // AVX512F/DQ/VL, with the OS saving zmm state
  SOFTMAX_X86_F16C = 1 << 2,      // half-precision conversions, with the OS saving ymm state
  // Subnormal results at full speed: AMD Zen (family 0x17 and later). Intel cores take a
  // microcode assist for them, so kernels keep their intermediates normal there.
  SOFTMAX_X86_FAST_SUBNORMALS = 1 << 3,
};

/// The features of this CPU (cpuid and xgetbv); 0 on other architectures. About 4 µs: call
/// once and keep the result.
uint32_t softmax_x86_cpu_features(void);

/// The CPUs this process may run on (its affinity mask on Linux), at least 1. On every
/// architecture, not only x86-64.
int softmax_available_cpu_count(void);

/// A spin-wait hint (pause on x86-64, yield on arm64) for the worker pool's short waits.
static inline void softmax_cpu_relax(void) {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

/// Orders the non-temporal stores of the streaming kernels before later stores (sfence on
/// x86-64; nothing elsewhere, where no kernel streams).
static inline void softmax_store_fence(void) {
#if defined(__x86_64__)
  __builtin_ia32_sfence();
#endif
}

/// Asks for the cache lines of [start, start + bytes) ahead of use (any architecture; no
/// fault past the end of a buffer, so the bytes after a row may be named).
static inline void softmax_prefetch(const void *start, size_t bytes) {
  for (size_t offset = 0; offset < bytes; offset += 64) {
    __builtin_prefetch((const char *)start + offset, 0, 3);
  }
}

/// Asks for the cache line of `p` ready to be written: prefetchw on x86-64 (a CPU without it
/// runs it as a no-op), a prefetch for a store elsewhere. For one entry written after a row
/// that streams: its read for ownership then overlaps the row instead of stalling the stores
/// behind it.
static inline void softmax_prefetch_for_store(void *p) {
#if defined(__x86_64__)
  __asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
  __builtin_prefetch(p, 1, 3);
#endif
}

/// Copies `width` adjacent columns of `n` steps, `stride` floats apart, from `x` into `width`
/// consecutive rows of `n` at `y` (row c holds column c), prefetching steps ahead
/// (common/column_gather.c); with `avx512` (the CPU has it) groups of 16 columns are
/// transposed in registers. `y` must not overlap `x`.
void softmax_gather_columns(const float *x, size_t stride, size_t width, size_t n, float *y,
                            int avx512);

/// The inverse: `width` consecutive rows of `n` at `x` into adjacent columns of `y`, `stride`
/// floats apart; with `stream` (an array beyond the caches), full aligned lines take
/// non-temporal stores, fenced before it returns. `y` must not overlap `x`.
void softmax_scatter_columns(const float *x, size_t n, size_t width, float *y, size_t stride,
                             int avx512, int stream);

/// The whole blocks of 16 steps of a group of 16 columns on AVX-512 (x86/avx512_columns.c):
/// they return the steps done, the callers above do the rest.
size_t softmax_gather_columns_avx512_16(const float *x, size_t stride, size_t n, float *y);
size_t softmax_scatter_columns_avx512_16(const float *x, size_t n, float *y, size_t stride,
                                         int stream);

/// A sum of exponentials as mantissa · 2^exponent. `has_nan` is non-zero when an input was NaN.
typedef struct {
  double mantissa;
  float exponent;
  int32_t has_nan;
} softmax_scaled_sum;

/// Pass 1 of the online softmax: the largest element and Σ e^(x − maximum). The empty sum, and
/// a row of only −inf, is {−inf, 0}; a NaN input makes `sum` NaN; a +inf input makes `maximum`
/// +inf (the sum is then unspecified).
typedef struct {
  float maximum;
  double sum;
} softmax_max_sum;

// IEEE half precision to and from Float with F16C (vcvtph2ps, vcvtps2ph: round to nearest
// even). Call only when softmax_x86_cpu_features() reports SOFTMAX_X86_F16C.
void softmax_f16_to_f32_f16c(const uint16_t *x, float *y, size_t n);
void softmax_f32_to_f16_f16c(const float *x, uint16_t *y, size_t n);

// AVX-512 (16 lanes). `stream` non-zero: non-temporal stores for the output, which the kernels
// do not fence: call softmax_store_fence() before another thread may read it. A pass over a
// long row calls a kernel per chunk and fences once: each fence waits for the stores to drain
// (streaming 2^17-2^20 elements in 2^16-element chunks, a fence per chunk measured 2-9%
// slower than one at the end).
float softmax_max_avx512_u64_acc4(const float *x, size_t n);
softmax_scaled_sum softmax_twopass_sum_avx512_u64_acc1(const float *x, size_t n);
// The same sum, bit for bit, without the masks that keep its terms normal: for CPUs with
// SOFTMAX_X86_FAST_SUBNORMALS (avx512_kernels.c says why the bits agree).
softmax_scaled_sum softmax_twopass_sum_avx512_u64_acc1_unmasked(const float *x, size_t n);
void softmax_twopass_output_avx512_u32(const float *x, float *y, size_t n, float inverse_mantissa,
                                       float exponent_bias, int stream);
double softmax_sumexp_avx512_u64_acc4(const float *x, size_t n, float shift);
double softmax_sumexp_store_avx512_u64_acc4(const float *x, float *y, size_t n, float shift);
void softmax_expscale_avx512_u32(const float *x, float *y, size_t n, float shift, float scale,
                                 float threshold, int stream);
void softmax_scale_avx512_u64(const float *x, float *y, size_t n, float scale, float threshold, int stream);
// Three-Pass reload of a row of at most one chunk in one call (common/reload_row.h): the
// maximum, sum-and-store and scale kernels above, the same bits. Returns 0, having written
// nothing, when the row's maximum is not finite; `stream` as for the scale kernel (fenced).
int softmax_reload_row_avx512_u64(const float *x, float *y, size_t n, int stream);
// The first two passes of that row for a caller that scales the exponentials itself: *maximum
// (nothing else is written when it is not finite; the return value is then 0), *spread =
// minimum − maximum, and Σ e^(x − maximum) with each term stored into e, the bits of the
// maximum and sum-and-store kernels. A spread inside the exp's underflow cut skips the flush.
double softmax_reload_sum_avx512_u64(const float *x, float *e, size_t n, float *maximum,
                                     float *spread);
// The output pass of log-softmax: y = ((x − shift) − high) − low, the portable loop's bits;
// `stream` as for the scale kernel (not fenced).
void softmax_log_output_avx512_u64(const float *x, float *y, size_t n, float shift, float high,
                                   float low, int stream);
softmax_max_sum softmax_online_sum_avx512_u64_acc4(const float *x, size_t n);
// The effective logits of a masked, tempered row: y = (x − shift) / divisor + (bias − offset)
// computed in Double and rounded once (divisor 1, shift and offset 0: x + bias in Float), −inf
// where keep is false; null masks skip their step. y may be x.
void softmax_logits_avx512_u16(const float *x, float *y, size_t n, float divisor, float shift,
                               float offset, const bool *keep, const float *bias);

// AVX2 + FMA (8 lanes), the same operations.
float softmax_max_avx2_u32_acc4(const float *x, size_t n);
softmax_scaled_sum softmax_twopass_sum_avx2_u32_acc1(const float *x, size_t n);
void softmax_twopass_output_avx2_u16(const float *x, float *y, size_t n, float inverse_mantissa,
                                     float exponent_bias, int stream);
double softmax_sumexp_avx2_u32_acc2(const float *x, size_t n, float shift);
double softmax_sumexp_store_avx2_u32_acc2(const float *x, float *y, size_t n, float shift);
void softmax_expscale_avx2_u16(const float *x, float *y, size_t n, float shift, float scale,
                               float threshold, int stream);
void softmax_scale_avx2_u32(const float *x, float *y, size_t n, float scale, float threshold, int stream);
int softmax_reload_row_avx2_u32(const float *x, float *y, size_t n, int stream);
double softmax_reload_sum_avx2_u32(const float *x, float *e, size_t n, float *maximum,
                                   float *spread);
void softmax_log_output_avx2_u32(const float *x, float *y, size_t n, float shift, float high,
                                 float low, int stream);
softmax_max_sum softmax_online_sum_avx2_u32_acc4(const float *x, size_t n);
void softmax_logits_avx2_u8(const float *x, float *y, size_t n, float divisor, float shift,
                            float offset, const bool *keep, const float *bias);

// The passes of a softmax along an inner axis, 16 adjacent columns (x86/avx512_strided.c):
// each lane's maximum, Σ e^(x − shift) in Float blocks of `block` steps added in Double, and
// the output (probabilities, or log-probabilities when `log`), lanes in `special` keeping x.
void softmax_strided_max_avx512_u16(const float *x, size_t length, size_t stride, size_t width,
                                float *maximum);
void softmax_strided_sumexp_avx512_u16(const float *x, size_t length, size_t stride, size_t width,
                                   const float *shift, size_t block, double *total);
void softmax_strided_output_avx512_u16(const float *x, float *y, size_t length, size_t stride,
                                   size_t width, const float *shift, const float *scale,
                                   const float *threshold, const float *high, const float *low,
                                   int log, unsigned special);

// Training kernels (x86/avx512_training_kernels.c): sums and dot products in Double lanes, the
// output passes of the softmax and log-softmax backward (non-temporal stores when `stream`;
// the caller fences), the targets of a cross-entropy gradient. Outputs may be one of the inputs.
double softmax_dot_avx512_u32_acc4(const float *a, const float *b, size_t n);
double softmax_sum_avx512_u32_acc4(const float *a, size_t n);
double softmax_block_sum_avx512_u64_acc4(const float *a, size_t n);
void softmax_backward_output_avx512_u32(const float *y, const float *dy, float *dx, size_t n,
                                        float s, int stream);
double softmax_backward_step_avx512_u16(const float *ya, const float *dya, float *dxa, float sa,
                                        const float *yb, const float *dyb, size_t n, int stream);
double softmax_log_backward_step_avx512_u16(const float *log_ya, const float *dya, float *dxa,
                                            float sa, const float *dyb, size_t n, int stream);
void softmax_log_backward_output_avx512_u32(const float *log_y, const float *dy, float *dx,
                                            size_t n, float s, int stream);
double softmax_scale_gradient_avx512_u32(const float *e, float *y, size_t n, float scale,
                                         float threshold, float offset, size_t excluded,
                                         int stream);
// y = (e < threshold ? 0 : e · scale) − offset, y[entry] = base (less the sum of the other
// entries written, when less_others; the same bits at any alignment of y), streamed when asked
// (the caller fences); e may be y.
void softmax_scale_gradient_entry_avx512_u64(const float *e, float *y, size_t n, float scale,
                                             float threshold, float offset, size_t entry,
                                             double base, int less_others, int stream);
double softmax_twopass_gradient_avx512_u32(const float *x, float *y, size_t n,
                                           float inverse_mantissa, float exponent_bias,
                                           float offset, size_t excluded, int stream);
void softmax_subtract_targets_avx512_u16(float *y, const float *t, size_t n, float weight,
                                         float offset);

// The AVX2 training kernels (x86/avx2_training_kernels.c): the same contracts as the AVX-512
// ones above, on 8 lanes.
double softmax_dot_avx2_u32_acc4(const float *a, const float *b, size_t n);
double softmax_sum_avx2_u32_acc4(const float *a, size_t n);
void softmax_backward_output_avx2_u32(const float *y, const float *dy, float *dx, size_t n,
                                      float s, int stream);
void softmax_log_backward_output_avx2_u32(const float *log_y, const float *dy, float *dx,
                                          size_t n, float s, int stream);
double softmax_scale_gradient_avx2_u16(const float *e, float *y, size_t n, float scale,
                                       float threshold, float offset, size_t excluded,
                                       int stream);
void softmax_scale_gradient_entry_avx2_u16(const float *e, float *y, size_t n, float scale,
                                           float threshold, float offset, size_t entry,
                                           double base, int less_others, int stream);

// Selection kernels (x86/avx512_selection_kernels.c): masses and counts above eight cuts, and
// the compaction of a band of values, for token sampling. NaN entries are never selected.
void softmax_band_masses_avx512_u16(const float *x, const float *e, size_t n, const float *cuts,
                                    double *mass, int64_t *count);
size_t softmax_gather_band_avx512_u16(const float *x, const float *e, const int32_t *index,
                                      size_t n, float lo, float hi, float *out_x, float *out_e,
                                      int32_t *out_index);
double softmax_mass_above_avx512_u32(const float *x, const float *e, size_t n, float cut,
                                     int64_t *count);
size_t softmax_bracket_band_avx512_u16(const float *x, const float *e, size_t n, float lo,
                                       float hi, float *out_x, float *out_e, int32_t *out_index,
                                       double *above_mass, int64_t *above_count,
                                       double *band_mass);
double softmax_tempered_sumexp_store_avx512_u16(const float *x, float *y, size_t n, float shift,
                                                float inverse_hi, float inverse_lo);

#ifdef __cplusplus
}
#endif

#include "_SoftmaxGatingKernels.h"
#include "_SoftmaxNEONKernels.h"

#endif
