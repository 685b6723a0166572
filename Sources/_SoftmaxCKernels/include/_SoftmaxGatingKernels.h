// Mixture-of-experts gating kernels (x86/avx512_gating_kernels.c), included by
// _SoftmaxCKernels.h.
#ifndef SOFTMAX_GATING_KERNELS_H
#define SOFTMAX_GATING_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The k ≤ 8 largest logits of up to 16 consecutive rows of n experts each (row r at
/// x + r·n, n·15 < 2^31), one row per vector lane: for slot j < k and row r,
/// ids[j·16 + r] is the expert of the j-th largest logit (ties: the lower index) and
/// terms[j·16 + r] = e^(that logit − the row's largest), by the Three-Pass exponential; the
/// row's largest logit goes to maxima[r]. Returns a mask of the rows whose results are not
/// usable and must be computed otherwise: a NaN or a largest logit of ±inf (−inf logits
/// below a finite maximum are chosen by the lower index, with terms of 0). Rows ≥ `rows` are
/// not read. k ≤ n.
uint32_t softmax_gating_top16_avx512(const float *x, size_t rows, size_t n, size_t k,
                                     float *maxima, float *terms, int32_t *ids);

#ifdef __cplusplus
}
#endif

#endif
