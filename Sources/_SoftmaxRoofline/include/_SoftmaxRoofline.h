// Streaming-store loops for the roofline kernels of `softmax bench`. They live in C only
// because Swift has no way to ask for a non-temporal store; every other roofline loop is Swift.
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

/// y[i] = x[i] * scale for i < count, writing `y` with non-temporal stores that bypass the
/// caches. `x` and `y` may be the same buffer (in place) but must not partly overlap.
void _softmax_roofline_stream_scale(const float *x, float *y, size_t count, float scale);

#ifdef __cplusplus
}
#endif

#endif
