// The C ABI of a peer library that `softmax bench --peer-library PATH` dlopens and times
// beside our kernels. The Swift side mirrors these declarations; change both together and
// bump the version.
#ifndef SOFTMAX_PEER_H
#define SOFTMAX_PEER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

int softmax_peer_abi_version(void);               // returns 1
int softmax_peer_count(void);                     // number of kernels
const char *softmax_peer_name(int index);         // e.g. "xnnpack two-pass avx512f" (+ " ftz" when built --ftz)
const char *softmax_peer_detail(int index);       // which ukernels, and the XNNPACK commit (or 'unknown')
int softmax_peer_reads(int index);                // memory traffic per element: two-pass 2, three-pass recompute 3, reload 3
int softmax_peer_writes(int index);               // 1, 1, 2
int softmax_peer_supported(int index);            // 1 if this CPU (cpuid+xgetbv) can run it
void softmax_peer_run(int index, const float *x, float *y, size_t n); // a full softmax of n floats, y may not alias x

#ifdef __cplusplus
}
#endif

#endif
