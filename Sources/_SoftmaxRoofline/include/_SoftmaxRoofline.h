// The loops of the roofline kernels of `softmax bench`, in C because Swift can neither ask
// for a non-temporal store nor compile a loop for AVX-512 in a default build. On x86-64 they
// use AVX-512 when the CPU has it, else SSE2; elsewhere plain loops.
#ifndef SOFTMAX_ROOFLINE_H
#define SOFTMAX_ROOFLINE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// 1 when this build has non-temporal (streaming) stores, 0 otherwise (then
/// `_softmax_roofline_stream_scale` falls back to ordinary stores and must not be reported as
/// a streaming kernel).
int _softmax_roofline_streaming_available(void);

/// start + Σ x[i] for i < count: a read-only sweep.
float _softmax_roofline_sum(const float *x, size_t count, float start);

/// y[i] = x[i] * scale for i < count with ordinary stores. `x` and `y` may be the same buffer.
void _softmax_roofline_scale(const float *x, float *y, size_t count, float scale);

/// y[i] = x[i] * scale for i < count, writing `y` with non-temporal stores that bypass the
/// caches. `x` and `y` may be the same buffer (in place) but must not partly overlap.
void _softmax_roofline_stream_scale(const float *x, float *y, size_t count, float scale);

/// z[i] = x[i] * (y[i] - c) for i < count with ordinary stores: reads two distinct arrays and
/// writes a third, the traffic of a softmax backward pass (y and dy read, dx written). `z`
/// must not overlap `x` or `y`.
void _softmax_roofline_multiply_difference(const float *x, const float *y, float *z,
                                           size_t count, float c);

/// z[i] = x[i] * (y[i] - c) for i < count, writing `z` with non-temporal stores that bypass
/// the caches. `z` must not overlap `x` or `y`.
void _softmax_roofline_stream_multiply_difference(const float *x, const float *y, float *z,
                                                  size_t count, float c);

/// Row by row (rows of `row_length`, the last one possibly shorter): first a read-only sweep
/// of the row's `y` (`first_inputs` 1, as a log-softmax backward sums dy) or of its `x` and
/// `y` (`first_inputs` 2, as a softmax backward sums dy · y), then z[i] = x[i] * (y[i] - c)
/// over the row, with non-temporal stores if `stream` (and if the build has them). The traffic
/// of a two-pass backward: a row whose inputs fit in the caches is read the second time from
/// them. `z` must not overlap `x` or `y`.
void _softmax_roofline_rows_multiply_difference(const float *x, const float *y, float *z,
                                                size_t count, size_t row_length,
                                                int first_inputs, int stream);

#ifdef __cplusplus
}
#endif

#endif
