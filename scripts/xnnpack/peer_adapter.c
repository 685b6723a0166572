// Exports XNNPACK's f32 softmax microkernels through softmax_peer.h, composed as the three
// variants of XNNPACK's bench/f32-softmax.cc compose them, so that `softmax bench
// --peer-library` times them with its own method. Our code: it includes XNNPACK's headers
// from the user's checkout (build-peer.sh gives the include paths) only for the ukernel
// prototypes and the params type, and calls the ukernels build-peer.sh compiled beside it.
//
// Each `run` is exactly the bench's sequence of ukernel calls and nothing else: no
// allocation, no extra pass. Every argument follows the ukernel's *definition* (its header
// declaration), not the microfnptr.h typedef: vscaleexpminusmax is defined
// (n, input, output, scale, max) while its typedef, which the bench calls through, reads
// (n, input, output, max, scale).
//
// Built with -DSOFTMAX_PEER_FTZ=1 (build-peer.sh --ftz), `run` sets flush-to-zero and
// denormals-are-zero around the ukernels, as the bench's DisableDenormals() did for the
// paper, and restores the caller's MXCSR afterwards.

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include <cpuid.h>
#include <xmmintrin.h>

#include "softmax_peer.h"

#include "src/xnnpack/microparams.h"
#include "src/xnnpack/raddexpminusmax.h"
#include "src/xnnpack/raddextexp.h"
#include "src/xnnpack/raddstoreexpminusmax.h"
#include "src/xnnpack/reduce.h"
#include "src/xnnpack/vbinary.h"
#include "src/xnnpack/vscaleexpminusmax.h"
#include "src/xnnpack/vscaleextexp.h"

#ifndef SOFTMAX_PEER_XNNPACK_COMMIT
#define SOFTMAX_PEER_XNNPACK_COMMIT "unknown"
#endif
#ifndef SOFTMAX_PEER_FTZ
#define SOFTMAX_PEER_FTZ 0
#endif
#if SOFTMAX_PEER_FTZ
#define FTZ_SUFFIX " ftz"
#else
#define FTZ_SUFFIX ""
#endif
#define COMMIT_SUFFIX ", XNNPACK " SOFTMAX_PEER_XNNPACK_COMMIT

enum { TWO_PASS, RECOMPUTE, RELOAD };
enum { ISA_AVX512F, ISA_AVX2 };

// The ukernels with the types of their definitions. The bench registers exactly one
// configuration per variant and ISA at 75db3c09; these are those.
typedef void (*rmax_fn)(size_t, const float *, float *, const struct xnn_f32_default_params *);
typedef void (*raddexpminusmax_fn)(size_t, const float *, float *sum, float max);
typedef void (*vscaleexpminusmax_fn)(size_t, const float *, float *, float scale, float max);
typedef void (*raddstoreexpminusmax_fn)(size_t, const float *, const float *max, float *,
                                        float *sum, const void *params);
typedef void (*vmulc_fn)(size_t, const float *, const float *, float *,
                         const struct xnn_f32_default_params *);
typedef void (*raddextexp_fn)(size_t, const float *, float *sum);
typedef void (*vscaleextexp_fn)(size_t, const float *, float *, float scale_value,
                                float scale_exp);

struct peer {
  const char *name;
  const char *detail;
  int variant, isa, reads, writes;
  rmax_fn rmax;
  raddexpminusmax_fn raddexpminusmax;
  vscaleexpminusmax_fn vscaleexpminusmax;
  raddstoreexpminusmax_fn raddstoreexpminusmax;
  vmulc_fn vmulc;
  raddextexp_fn raddextexp;
  vscaleextexp_fn vscaleextexp;
};

static const struct peer peers[] = {
  {
    .name = "xnnpack two-pass avx512f" FTZ_SUFFIX,
    .detail = "f32-raddextexp avx512f-p5-scalef-u144-acc3 + f32-vscaleextexp "
              "avx512f-p5-scalef-u16" COMMIT_SUFFIX,
    .variant = TWO_PASS, .isa = ISA_AVX512F, .reads = 2, .writes = 1,
    .raddextexp = xnn_f32_raddextexp_ukernel__avx512f_p5_scalef_u144_acc3,
    .vscaleextexp = xnn_f32_vscaleextexp_ukernel__avx512f_p5_scalef_u16,
  },
  {
    .name = "xnnpack three-pass recompute avx512f" FTZ_SUFFIX,
    .detail = "f32-rmax avx512f-u64-acc4 + f32-raddexpminusmax avx512f-p5-scalef-u128-acc4 + "
              "f32-vscaleexpminusmax avx512f-p5-scalef-u16" COMMIT_SUFFIX,
    .variant = RECOMPUTE, .isa = ISA_AVX512F, .reads = 3, .writes = 1,
    .rmax = xnn_f32_rmax_ukernel__avx512f_u64_acc4,
    .raddexpminusmax = xnn_f32_raddexpminusmax_ukernel__avx512f_p5_scalef_u128_acc4,
    .vscaleexpminusmax = xnn_f32_vscaleexpminusmax_ukernel__avx512f_p5_scalef_u16,
  },
  {
    .name = "xnnpack three-pass reload avx512f" FTZ_SUFFIX,
    .detail = "f32-rmax avx512f-u64-acc4 + f32-raddstoreexpminusmax "
              "avx512f-rr1-p5-scalef-u64-acc2 + f32-vmulc avx512f-u32" COMMIT_SUFFIX,
    .variant = RELOAD, .isa = ISA_AVX512F, .reads = 3, .writes = 2,
    .rmax = xnn_f32_rmax_ukernel__avx512f_u64_acc4,
    .raddstoreexpminusmax = xnn_f32_raddstoreexpminusmax_ukernel__avx512f_rr1_p5_scalef_u64_acc2,
    .vmulc = xnn_f32_vmulc_ukernel__avx512f_u32,
  },
  {
    .name = "xnnpack two-pass avx2" FTZ_SUFFIX,
    .detail = "f32-raddextexp avx2-p5-u96 + f32-vscaleextexp avx2-p5-u32" COMMIT_SUFFIX,
    .variant = TWO_PASS, .isa = ISA_AVX2, .reads = 2, .writes = 1,
    .raddextexp = xnn_f32_raddextexp_ukernel__avx2_p5_u96,
    .vscaleextexp = xnn_f32_vscaleextexp_ukernel__avx2_p5_u32,
  },
  {
    .name = "xnnpack three-pass recompute avx2" FTZ_SUFFIX,
    .detail = "f32-rmax avx-u32-acc4 + f32-raddexpminusmax avx2-p5-u96 + "
              "f32-vscaleexpminusmax avx2-p5-u24" COMMIT_SUFFIX,
    .variant = RECOMPUTE, .isa = ISA_AVX2, .reads = 3, .writes = 1,
    .rmax = xnn_f32_rmax_ukernel__avx_u32_acc4,
    .raddexpminusmax = xnn_f32_raddexpminusmax_ukernel__avx2_p5_u96,
    .vscaleexpminusmax = xnn_f32_vscaleexpminusmax_ukernel__avx2_p5_u24,
  },
  {
    .name = "xnnpack three-pass reload avx2" FTZ_SUFFIX,
    .detail = "f32-rmax avx-u32-acc4 + f32-raddstoreexpminusmax avx2-rr1-p5-u32-acc2 + "
              "f32-vmulc avx-u16" COMMIT_SUFFIX,
    .variant = RELOAD, .isa = ISA_AVX2, .reads = 3, .writes = 2,
    .rmax = xnn_f32_rmax_ukernel__avx_u32_acc4,
    .raddstoreexpminusmax = xnn_f32_raddstoreexpminusmax_ukernel__avx2_rr1_p5_u32_acc2,
    .vmulc = xnn_f32_vmulc_ukernel__avx_u16,
  },
};

enum { PEER_COUNT = (int)(sizeof(peers) / sizeof(peers[0])) };

static const struct peer *peer_at(int index) {
  return index >= 0 && index < PEER_COUNT ? &peers[index] : NULL;
}

int softmax_peer_abi_version(void) { return 1; }
int softmax_peer_count(void) { return PEER_COUNT; }

const char *softmax_peer_name(int index) {
  const struct peer *p = peer_at(index);
  return p ? p->name : NULL;
}

const char *softmax_peer_detail(int index) {
  const struct peer *p = peer_at(index);
  return p ? p->detail : NULL;
}

int softmax_peer_reads(int index) {
  const struct peer *p = peer_at(index);
  return p ? p->reads : 0;
}

int softmax_peer_writes(int index) {
  const struct peer *p = peer_at(index);
  return p ? p->writes : 0;
}

static uint64_t read_xcr0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

// What XNNPACK's hardware config asks of the ISA, plus the OS saving the registers: the
// AVX2 set is compiled with -mf16c -mfma -mavx2 (its rmax and vmulc with -mavx), the
// AVX-512 set with -mavx512f.
static int isa_supported(int isa) {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  const int has_fma = (ecx >> 12) & 1, has_osxsave = (ecx >> 27) & 1;
  const int has_avx = (ecx >> 28) & 1, has_f16c = (ecx >> 29) & 1;
  if (!has_osxsave || !has_avx) return 0;
  const uint64_t xcr0 = read_xcr0();
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
  const int has_avx2 = (ebx >> 5) & 1, has_avx512f = (ebx >> 16) & 1;
  switch (isa) {
    case ISA_AVX2: return (xcr0 & 0x6) == 0x6 && has_avx2 && has_fma && has_f16c;
    case ISA_AVX512F: return (xcr0 & 0xE6) == 0xE6 && has_avx512f;
    default: return 0;
  }
}

int softmax_peer_supported(int index) {
  const struct peer *p = peer_at(index);
  return p ? isa_supported(p->isa) : 0;
}

// The ukernels take no params they read (the bench passes none or uninitialized ones; the
// operator zeroed ones): a zeroed struct stands in for all of them.
static const struct xnn_f32_default_params no_params;

void softmax_peer_run(int index, const float *x, float *y, size_t n) {
  const struct peer *p = peer_at(index);
  if (p == NULL || n == 0) return;  // the ukernels assert a non-empty batch
  const size_t bytes = n * sizeof(float);
#if SOFTMAX_PEER_FTZ
  const unsigned int saved_mxcsr = _mm_getcsr();
  _mm_setcsr(saved_mxcsr | 0x8040);  // FTZ (bit 15) + DAZ (bit 6)
#endif
  switch (p->variant) {
    case TWO_PASS: {
      // raddextexp leaves the sum as sum[0] * 2^sum[1]; the output scale is its inverse.
      float sum[2];
      p->raddextexp(bytes, x, sum);
      p->vscaleextexp(bytes, x, y, 1.0f / sum[0], -sum[1]);
      break;
    }
    case RECOMPUTE: {
      float max = -INFINITY;  // rmax folds its output's initial value into the maximum
      p->rmax(bytes, x, &max, &no_params);
      float sum;
      p->raddexpminusmax(bytes, x, &sum, max);
      p->vscaleexpminusmax(bytes, x, y, /*scale=*/1.0f / sum, /*max=*/max);
      break;
    }
    case RELOAD: {
      float max = -INFINITY;
      p->rmax(bytes, x, &max, &no_params);
      float sum;
      p->raddstoreexpminusmax(bytes, x, &max, y, &sum, &no_params);
      // As the bench and XNNPACK's softmax operator (compute_reciprocal_f32): 1.0f / sum,
      // multiplied in place.
      const float scale = 1.0f / sum;
      p->vmulc(bytes, y, &scale, y, NULL);
      break;
    }
  }
#if SOFTMAX_PEER_FTZ
  _mm_setcsr(saved_mxcsr);
#endif
}
