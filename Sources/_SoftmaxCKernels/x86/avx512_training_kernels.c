// AVX-512 kernels of the training operations: dot products and sums accumulated in Double
// lanes, and the element-wise output passes of the backward passes and the cross-entropy
// gradient. 16 Floats per vector, masked tails; outputs may be one of the inputs.
#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <stdint.h>

#include "avx512_exp.h"

// Each half of a Float vector widened to Double.
INLINE __m512d low_doubles(__m512 v) { return _mm512_cvtps_pd(_mm512_castps512_ps256(v)); }
INLINE __m512d high_doubles(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// Σ a·b: every product and sum in Double, four accumulators (two per half) so the adds
// overlap; memory-bound, the conversions are free beside the loads.
KERNEL double softmax_dot_avx512_u32_acc4(const float *a, const float *b, size_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a0 = _mm512_loadu_ps(a + i), b0 = _mm512_loadu_ps(b + i);
    const __m512 a1 = _mm512_loadu_ps(a + i + 16), b1 = _mm512_loadu_ps(b + i + 16);
    s0 = _mm512_fmadd_pd(low_doubles(a0), low_doubles(b0), s0);
    s1 = _mm512_fmadd_pd(high_doubles(a0), high_doubles(b0), s1);
    s2 = _mm512_fmadd_pd(low_doubles(a1), low_doubles(b1), s2);
    s3 = _mm512_fmadd_pd(high_doubles(a1), high_doubles(b1), s3);
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 av = loadz_lanes(a + i, lanes), bv = loadz_lanes(b + i, lanes);
    s0 = _mm512_fmadd_pd(low_doubles(av), low_doubles(bv), s0);
    s1 = _mm512_fmadd_pd(high_doubles(av), high_doubles(bv), s1);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
}

// Σ a in Double lanes.
KERNEL double softmax_sum_avx512_u32_acc4(const float *a, size_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512 a0 = _mm512_loadu_ps(a + i), a1 = _mm512_loadu_ps(a + i + 16);
    s0 = _mm512_add_pd(s0, low_doubles(a0));
    s1 = _mm512_add_pd(s1, high_doubles(a0));
    s2 = _mm512_add_pd(s2, low_doubles(a1));
    s3 = _mm512_add_pd(s3, high_doubles(a1));
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 av = loadz_lanes(a + i, lanes);
    s0 = _mm512_add_pd(s0, low_doubles(av));
    s1 = _mm512_add_pd(s1, high_doubles(av));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
}

// Σ a over a block of at most 4096: Float lanes (64 terms each at most), added in Double.
KERNEL double softmax_block_sum_avx512_u64_acc4(const float *a, size_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(a + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(a + i + 16));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(a + i + 32));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(a + i + 48));
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    s0 = _mm512_add_ps(s0, loadz_lanes(a + i, lanes));
  }
  const __m512d d = _mm512_add_pd(_mm512_add_pd(low_doubles(s0), high_doubles(s0)),
                                  _mm512_add_pd(low_doubles(s1), high_doubles(s1)));
  const __m512d e = _mm512_add_pd(_mm512_add_pd(low_doubles(s2), high_doubles(s2)),
                                  _mm512_add_pd(low_doubles(s3), high_doubles(s3)));
  return _mm512_reduce_add_pd(_mm512_add_pd(d, e));
}

// Elements before dx reaches a 64-byte boundary when streaming (0 otherwise), so that the
// streaming stores are aligned.
static size_t stream_head(const float *dx, size_t n, int stream) {
  if (!stream) return 0;
  const size_t misalignment = ((uintptr_t)dx & 63) / sizeof(float);
  const size_t head = misalignment ? 16 - misalignment : 0;
  return head < n ? head : n;
}

#define STORE(stream, dst, v) \
  do { if (stream) _mm512_stream_ps((dst), (v)); else _mm512_storeu_ps((dst), (v)); } while (0)

// dx = y · (dy − s); non-temporal stores when `stream` (the caller fences).
INLINE __m512 backward_vector(__m512 y, __m512 dy, __m512 s) { return _mm512_mul_ps(y, _mm512_sub_ps(dy, s)); }

KERNEL void softmax_backward_output_avx512_u32(const float *y, const float *dy, float *dx, size_t n,
                                               float s, int stream) {
  const __m512 vs = _mm512_set1_ps(s);
  const size_t head = stream_head(dx, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(dx, lanes, backward_vector(_mm512_maskz_loadu_ps(lanes, y), _mm512_maskz_loadu_ps(lanes, dy), vs));
  }
  size_t i = head;
  for (; i + 32 <= n; i += 32) {
    const __m512 r0 = backward_vector(_mm512_loadu_ps(y + i), _mm512_loadu_ps(dy + i), vs);
    const __m512 r1 = backward_vector(_mm512_loadu_ps(y + i + 16), _mm512_loadu_ps(dy + i + 16), vs);
    STORE(stream, dx + i, r0);
    STORE(stream, dx + i + 16, r1);
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 r = backward_vector(loadz_lanes(y + i, lanes), loadz_lanes(dy + i, lanes), vs);
    store_lanes(dx + i, lanes, r);
  }
}

// e^x for any x: the extended exp's m · 2^floor(k/32), 0 below 2^-125 (never subnormal), +inf
// beyond the Float range (x is clamped to ±2800 first, where 2^floor(k/32) is still ±inf or 0),
// NaN for NaN. The clamp turns a quiet NaN into ±2800 (vrangeps follows IEEE minNum), which
// gave dy or −inf for a NaN log-probability, so NaN lanes are put back after it.
INLINE __m512 exp_any(__m512 x) {
  __m512 k32;
  const __m512 m = extended_exp(x, &k32);
  return _mm512_mask_mov_ps(scale_by_exp2(m, k32), _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

// dx = dy − e^logY · s.
INLINE __m512 log_backward_vector(__m512 log_y, __m512 dy, __m512 s) {
  return _mm512_fnmadd_ps(exp_any(log_y), s, dy);
}

KERNEL void softmax_log_backward_output_avx512_u32(const float *log_y, const float *dy, float *dx,
                                                   size_t n, float s, int stream) {
  const __m512 vs = _mm512_set1_ps(s);
  const size_t head = stream_head(dx, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(dx, lanes, log_backward_vector(_mm512_maskz_loadu_ps(lanes, log_y), _mm512_maskz_loadu_ps(lanes, dy), vs));
  }
  size_t i = head;
  for (; i + 32 <= n; i += 32) {
    const __m512 r0 = log_backward_vector(_mm512_loadu_ps(log_y + i), _mm512_loadu_ps(dy + i), vs);
    const __m512 r1 = log_backward_vector(_mm512_loadu_ps(log_y + i + 16), _mm512_loadu_ps(dy + i + 16), vs);
    STORE(stream, dx + i, r0);
    STORE(stream, dx + i + 16, r1);
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 r = log_backward_vector(loadz_lanes(log_y + i, lanes), loadz_lanes(dy + i, lanes), vs);
    store_lanes(dx + i, lanes, r);
  }
}

// Asks for the two lines at p + SOFTMAX_BACKWARD_PREFETCH_FLOATS into L1: the 32 elements that
// a step reads from memory 1024 floats later (on rows of 1024, in the next row). For the
// softmax step, the rows it sums: the hardware prefetcher alone left the pipelined steps at
// 57% of the two-input roofline on 4096×1024 on the Zen 5 of 2026-12-02 (per row, dot then
// output: 75%); with this, a C loop over the steps ran at the roofline (0.24-0.26 ns/element
// against 0.23-0.25), and 512×32000 went from 0.50-0.54 to 0.36-0.38 (BENCHMARKS.md, "The
// pipelined backward, prefetched"). A hint: it never faults, even past the end of the arrays.
INLINE void prefetch_ahead(const float *p) {
  _mm_prefetch((const char *)(p + SOFTMAX_BACKWARD_PREFETCH_FLOATS), _MM_HINT_T0);
  _mm_prefetch((const char *)(p + SOFTMAX_BACKWARD_PREFETCH_FLOATS + 16), _MM_HINT_T0);
}

// One step of the pipelined backward over rows of n elements: the output of row a and the
// first pass of the next row b in one loop, so that row b's reads from memory overlap row a's
// writes (two passes over one row leave the memory idle in turn). Returns Σ dy_b · y_b in
// Double lanes, as softmax_dot_avx512_u32_acc4 computes it (the same products and sums, in
// the same lanes, so a row's result does not depend on whether it was pipelined).
KERNEL double softmax_backward_step_avx512_u16(const float *ya, const float *dya, float *dxa,
                                               float sa, const float *yb, const float *dyb,
                                               size_t n, int stream) {
  const __m512 vs = _mm512_set1_ps(sa);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  const size_t head = stream_head(dxa, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(dxa, lanes, backward_vector(_mm512_maskz_loadu_ps(lanes, ya), _mm512_maskz_loadu_ps(lanes, dya), vs));
  }
  // The dot of row b runs from 0 in steps of 32 like the plain kernel; the output of row a
  // from `head` (aligned for streaming), its first `head` elements done above.
  size_t i = 0, j = head;
  for (; i + 32 <= n; i += 32) {
    prefetch_ahead(dyb + i);
    prefetch_ahead(yb + i);
    const __m512 a0 = _mm512_loadu_ps(dyb + i), b0 = _mm512_loadu_ps(yb + i);
    const __m512 a1 = _mm512_loadu_ps(dyb + i + 16), b1 = _mm512_loadu_ps(yb + i + 16);
    s0 = _mm512_fmadd_pd(low_doubles(a0), low_doubles(b0), s0);
    s1 = _mm512_fmadd_pd(high_doubles(a0), high_doubles(b0), s1);
    s2 = _mm512_fmadd_pd(low_doubles(a1), low_doubles(b1), s2);
    s3 = _mm512_fmadd_pd(high_doubles(a1), high_doubles(b1), s3);
    if (j + 32 <= n) {
      const __m512 r0 = backward_vector(_mm512_loadu_ps(ya + j), _mm512_loadu_ps(dya + j), vs);
      const __m512 r1 = backward_vector(_mm512_loadu_ps(ya + j + 16), _mm512_loadu_ps(dya + j + 16), vs);
      STORE(stream, dxa + j, r0);
      STORE(stream, dxa + j + 16, r1);
      j += 32;
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 av = loadz_lanes(dyb + i, lanes), bv = loadz_lanes(yb + i, lanes);
    s0 = _mm512_fmadd_pd(low_doubles(av), low_doubles(bv), s0);
    s1 = _mm512_fmadd_pd(high_doubles(av), high_doubles(bv), s1);
  }
  for (; j < n; j += 16) {
    const __mmask16 lanes = n - j >= 16 ? (__mmask16)0xFFFF : first_lanes(n - j);
    const __m512 r = backward_vector(loadz_lanes(ya + j, lanes), loadz_lanes(dya + j, lanes), vs);
    store_lanes(dxa + j, lanes, r);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
}

// One step of the pipelined log-softmax backward: row a's output dx = dy − e^logY · s and
// the sum Σ dy of the next row b in one loop. Returns the sum as softmax_sum_avx512_u32_acc4
// computes it (the same lanes and order). Unlike the softmax step it reads row a's log y for
// the first time, so with `prefetch` it asks for that row as well as the one it sums, 1024
// floats ahead. On the Zen 5 of 2026-12-02 that took 4096×1024 from 75–78% of the two-input
// roofline to 97–99% and 512×32000 from 75% to 92–99%, but chunks of 62720–65536 elements
// (8×128256) 5–15% slower, whose two streams are far apart and which the hardware prefetcher
// follows: only rows shorter than SOFTMAX_BACKWARD_PREFETCH_BELOW prefetch (BENCHMARKS.md,
// "The pipelined backward, prefetched"). Prefetching the summed row alone made every shape
// slower.
INLINE double log_backward_step(const float *log_ya, const float *dya, float *dxa, float sa,
                                const float *dyb, size_t n, int stream, int prefetch) {
  const __m512 vs = _mm512_set1_ps(sa);
  __m512d s0 = _mm512_setzero_pd(), s1 = s0, s2 = s0, s3 = s0;
  const size_t head = stream_head(dxa, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    _mm512_mask_storeu_ps(dxa, lanes, log_backward_vector(_mm512_maskz_loadu_ps(lanes, log_ya), _mm512_maskz_loadu_ps(lanes, dya), vs));
  }
  size_t i = 0, j = head;
  for (; i + 32 <= n; i += 32) {
    if (prefetch) {
      prefetch_ahead(dyb + i);
      prefetch_ahead(log_ya + i);
    }
    const __m512 a0 = _mm512_loadu_ps(dyb + i), a1 = _mm512_loadu_ps(dyb + i + 16);
    s0 = _mm512_add_pd(s0, low_doubles(a0));
    s1 = _mm512_add_pd(s1, high_doubles(a0));
    s2 = _mm512_add_pd(s2, low_doubles(a1));
    s3 = _mm512_add_pd(s3, high_doubles(a1));
    if (j + 32 <= n) {
      const __m512 r0 = log_backward_vector(_mm512_loadu_ps(log_ya + j), _mm512_loadu_ps(dya + j), vs);
      const __m512 r1 = log_backward_vector(_mm512_loadu_ps(log_ya + j + 16), _mm512_loadu_ps(dya + j + 16), vs);
      STORE(stream, dxa + j, r0);
      STORE(stream, dxa + j + 16, r1);
      j += 32;
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 av = loadz_lanes(dyb + i, lanes);
    s0 = _mm512_add_pd(s0, low_doubles(av));
    s1 = _mm512_add_pd(s1, high_doubles(av));
  }
  for (; j < n; j += 16) {
    const __mmask16 lanes = n - j >= 16 ? (__mmask16)0xFFFF : first_lanes(n - j);
    const __m512 r = log_backward_vector(loadz_lanes(log_ya + j, lanes), loadz_lanes(dya + j, lanes), vs);
    store_lanes(dxa + j, lanes, r);
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(_mm512_add_pd(s0, s1), _mm512_add_pd(s2, s3)));
}

KERNEL double softmax_log_backward_step_avx512_u16(const float *log_ya, const float *dya,
                                                   float *dxa, float sa, const float *dyb,
                                                   size_t n, int stream) {
  return n < SOFTMAX_BACKWARD_PREFETCH_BELOW
             ? log_backward_step(log_ya, dya, dxa, sa, dyb, n, stream, 1)
             : log_backward_step(log_ya, dya, dxa, sa, dyb, n, stream, 0);
}

// The lanes of the vector at i that count toward a sum leaving out entry `excluded`.
INLINE __mmask16 counted_lanes(size_t excluded, size_t i) {
  const size_t d = excluded - i;  // wraps to a huge value when excluded < i
  return d < 16 ? (__mmask16)~(1u << d) : (__mmask16)0xFFFF;
}

// The first element of the `width`-element step of block [start, end) that holds `excluded`
// (steps counted from start), or SIZE_MAX when the block does not hold it. The gradient
// kernels add every other step without masks.
INLINE size_t excluded_step(size_t excluded, size_t start, size_t end, size_t width) {
  const size_t d = excluded - start;  // wraps when excluded < start
  return d < end - start ? start + d / width * width : SIZE_MAX;
}

// Stores of vectors computed on the element grid (elements 16k…16k+15 of y, in order of k),
// with streaming stores when asked. The sums of the gradient kernels must not depend on where
// y happens to be aligned (a row's gradient is bitwise the same in any buffer, in place or
// not), so their vectors stay on the element grid; streaming stores need 64-byte aligned
// addresses, so when y is not aligned each one joins two neighbouring vectors with one
// permutation. Ordinary stores go straight to the grid.
//
// The 16 elements stored with the one at `ordinary` (the label, whose entry the caller writes
// after the kernel) take an ordinary store even when the row streams: the caller's store then
// finds the line in the cache. A store to a line that was just streamed costs a partial
// write of that line to memory: on the Zen 5 of 2026-12-02 it made the cross-entropy of
// 4096×1024 1.9–2.0× the softmax instead of 1.06–1.12× (BENCHMARKS.md, "The label's line").
typedef struct {
  float *y;
  size_t n;
  size_t head;  // elements before y + head is 64-byte aligned (when streaming and misaligned)
  size_t ordinary;
  int stream;
  __m512i join;
  __m512 previous;
} grid_stores;

// 16 elements of y from `at` with a streaming store, or an ordinary one for the line of
// `ordinary` (at + 16 <= n, y + at 64-byte aligned).
INLINE void stream_line(const grid_stores *s, size_t at, __m512 v) {
  if (s->ordinary - at < 16) {
    _mm512_storeu_ps(s->y + at, v);
  } else {
    _mm512_stream_ps(s->y + at, v);
  }
}

INLINE grid_stores grid_stores_start(float *y, size_t n, int stream, size_t ordinary) {
  grid_stores s;
  s.y = y;
  s.n = n;
  s.ordinary = ordinary;
  s.stream = stream;
  s.head = stream_head(y, n, stream);
  s.join = _mm512_add_epi32(_mm512_set1_epi32((int)s.head),
                            _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  s.previous = _mm512_setzero_ps();
  return s;
}

// The vector of elements k…k+15 (`lanes` of them exist), k a multiple of 16, in order.
INLINE void grid_store(grid_stores *s, size_t k, __mmask16 lanes, __m512 r) {
  if (!s->stream || s->head == 0) {
    if (lanes == 0xFFFF && s->stream) {
      stream_line(s, k, r);
    } else {
      store_lanes(s->y + k, lanes, r);
    }
    return;
  }
  if (k == 0) {
    // The head: elements 0…head−1 of the first vector, with an ordinary store.
    _mm512_mask_storeu_ps(s->y, first_lanes(s->head) & lanes, r);
  } else {
    // Elements k−16+head … k+head−1: the previous vector's top lanes and this one's bottom.
    const __m512 joined = _mm512_permutex2var_ps(s->previous, s->join, r);
    const size_t at = k - 16 + s->head;
    if (at + 16 <= s->n) {
      stream_line(s, at, joined);
    } else {
      _mm512_mask_storeu_ps(s->y + at, first_lanes(s->n - at), joined);
    }
  }
  s->previous = r;
}

// After the last vector: what it holds beyond the last joined store, elements from the last
// multiple of 16 at or after n − 16 + head … n − 1.
INLINE void grid_stores_finish(grid_stores *s) {
  if (!s->stream || s->head == 0 || s->n <= s->head) return;
  const size_t last = (s->n - 1) / 16 * 16;  // the last vector's first element
  const size_t at = last + s->head;
  if (at < s->n) {
    const __m512 rest = _mm512_permutex2var_ps(s->previous, s->join, _mm512_setzero_ps());
    _mm512_mask_storeu_ps(s->y + at, first_lanes(s->n - at), rest);
  }
}

// One pair of gradient vectors y = (e < threshold ? 0 : e · scale) − offset at i and i + 16,
// stored on the element grid and added to a0 and a1 except at `excluded`.
INLINE void scale_gradient_pair(const float *e, grid_stores *out, size_t i, size_t excluded,
                                __m512 vs, __m512 vt, __m512 vo, __m512 *a0, __m512 *a1) {
  const __m512 e0 = _mm512_loadu_ps(e + i), e1 = _mm512_loadu_ps(e + i + 16);
  const __mmask16 k0 = _mm512_cmp_ps_mask(e0, vt, _CMP_GE_OQ), k1 = _mm512_cmp_ps_mask(e1, vt, _CMP_GE_OQ);
  const __m512 r0 = _mm512_sub_ps(_mm512_maskz_mul_ps(k0, e0, vs), vo);
  const __m512 r1 = _mm512_sub_ps(_mm512_maskz_mul_ps(k1, e1, vs), vo);
  grid_store(out, i, 0xFFFF, r0);
  grid_store(out, i + 16, 0xFFFF, r1);
  *a0 = _mm512_mask_add_ps(*a0, counted_lanes(excluded, i), *a0, r0);
  *a1 = _mm512_mask_add_ps(*a1, counted_lanes(excluded, i + 16), *a1, r1);
}

// Pairs of gradient vectors y = (e < threshold ? 0 : e · scale) − offset from i while
// i + 32 <= stop, stored plainly (the caller checked that no joining is needed), the first of
// each pair added to a0, the second to a1; returns where it stopped.
INLINE size_t scale_gradient_pairs(const float *e, float *y, size_t i, size_t stop, __m512 vs,
                                   __m512 vt, __m512 vo, __m512 *a0, __m512 *a1, int stream) {
  __m512 s0 = *a0, s1 = *a1;
  for (; i + 32 <= stop; i += 32) {
    const __m512 e0 = _mm512_loadu_ps(e + i), e1 = _mm512_loadu_ps(e + i + 16);
    const __mmask16 k0 = _mm512_cmp_ps_mask(e0, vt, _CMP_GE_OQ), k1 = _mm512_cmp_ps_mask(e1, vt, _CMP_GE_OQ);
    const __m512 r0 = _mm512_sub_ps(_mm512_maskz_mul_ps(k0, e0, vs), vo);
    const __m512 r1 = _mm512_sub_ps(_mm512_maskz_mul_ps(k1, e1, vs), vo);
    STORE(stream, y + i, r0);
    STORE(stream, y + i + 16, r1);
    s0 = _mm512_add_ps(s0, r0);
    s1 = _mm512_add_ps(s1, r1);
  }
  *a0 = s0;
  *a1 = s1;
  return i;
}

// The output pass of a cross-entropy gradient after Three-Pass reload's first pass, fused:
// y = (e < threshold ? 0 : e · scale) − offset from the exponentials e (which may be y
// itself, or a scratch of them: then y streams when asked, and the caller fences), and Σ y
// over every entry but `excluded` (the label, whose entry is the large one; n or more for
// none) in Float lanes per 4096-element block, the blocks added in Double. Within a block the
// vectors at 32j go to one accumulator and those at 32j + 16 to another, except a last lone
// vector (the block's length not a multiple of 32), which goes to the first.
KERNEL double softmax_scale_gradient_avx512_u32(const float *e, float *y, size_t n, float scale,
                                                float threshold, float offset, size_t excluded,
                                                int stream) {
  const __m512 vs = _mm512_set1_ps(scale), vt = _mm512_set1_ps(threshold), vo = _mm512_set1_ps(offset);
  grid_stores out = grid_stores_start(y, n, stream, excluded);
  // Where no joining is needed (y aligned for streaming, or not streamed), the pairs before
  // and after the label's take plain stores and unmasked adds to the same accumulators: the
  // same sum on either path. Bound by arithmetic (a row in cache, or a slow core), the general
  // loop alone took 2.6-3.0 times the softmax's scale pass; now 2.0-2.2.
  const int direct = !stream || out.head == 0;
  const int prefetch = n >= SOFTMAX_SUM_PREFETCH_FROM;
  double total = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    const size_t label = excluded_step(excluded, start, end, 32);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0;
    size_t i = start;
    if (direct) {
      i = scale_gradient_pairs(e, y, i, label < end ? label : end, vs, vt, vo, &a0, &a1, stream);
      if (i == label && i + 32 <= end) {
        scale_gradient_pair(e, &out, i, excluded, vs, vt, vo, &a0, &a1);
        i = scale_gradient_pairs(e, y, i + 32, end, vs, vt, vo, &a0, &a1, stream);
      }
    }
    for (; i + 32 <= end; i += 32) scale_gradient_pair(e, &out, i, excluded, vs, vt, vo, &a0, &a1);
    for (; i < end; i += 16) {
      const __mmask16 lanes = end - i >= 16 ? (__mmask16)0xFFFF : first_lanes(end - i);
      const __m512 v = loadz_lanes(e + i, lanes);
      const __mmask16 k = _mm512_cmp_ps_mask(v, vt, _CMP_GE_OQ);
      const __m512 r = _mm512_sub_ps(_mm512_maskz_mul_ps(k, v, vs), vo);
      grid_store(&out, i, lanes, r);
      a0 = _mm512_mask_add_ps(a0, lanes & counted_lanes(excluded, i), a0, r);
    }
    total += _mm512_reduce_add_pd(_mm512_add_pd(
        _mm512_add_pd(low_doubles(a0), high_doubles(a0)), _mm512_add_pd(low_doubles(a1), high_doubles(a1))));
  }
  grid_stores_finish(&out);
  return total;
}

// The output pass of a labelled cross-entropy row of one chunk with its label's entry:
// y = (e < threshold ? 0 : e · scale) − offset, and y[entry] = base, less the sum of the other
// entries written when `less_others`. The entry's vector is written last, once that sum is
// known, so that every line of the row streams when asked (the caller fences). The kernel
// above leaves the label's line to ordinary stores, written again after the row: that line's
// read for ownership and the late store cost the staged rows of 4096×1024 about a tenth of
// their time (2026-12-02, BENCHMARKS.md "The label's entry in the stream").
INLINE __m512 gradient_vector(const float *e, size_t i, __mmask16 lanes, __m512 vs, __m512 vt,
                              __m512 vo) {
  const __m512 v = loadz_lanes(e + i, lanes);
  return _mm512_sub_ps(_mm512_maskz_mul_ps(_mm512_cmp_ps_mask(v, vt, _CMP_GE_OQ), v, vs), vo);
}

// The lanes of the 16 from i that are not `entry`.
INLINE __mmask16 other_lanes(size_t entry, size_t i) {
  return entry - i < 16 ? (__mmask16) ~(1u << (entry - i)) : (__mmask16)0xFFFF;
}

// The sum of the others, on the element grid whatever the output's alignment, so that a row
// gives the same bits wherever it lies: vectors at 16k go to accumulator k mod 4 in Float
// lanes, flushed into Double lanes every 4096 elements; a last partial group of vectors goes
// to accumulator 0.
typedef struct {
  __m512 a[4];
  __m512d total;
} grid_sum;

INLINE void grid_sum_flush(grid_sum *g) {
  const __m512 t = _mm512_add_ps(_mm512_add_ps(g->a[0], g->a[1]), _mm512_add_ps(g->a[2], g->a[3]));
  g->total = _mm512_add_pd(g->total, _mm512_add_pd(low_doubles(t), high_doubles(t)));
  g->a[0] = g->a[1] = g->a[2] = g->a[3] = _mm512_setzero_ps();
}

INLINE void grid_sum_add(grid_sum *g, int k, __m512 r, __mmask16 lanes) {
  g->a[k] = _mm512_mask_add_ps(g->a[k], lanes, g->a[k], r);
}

// The sum alone, for an output whose streaming stores do not start on the element grid.
INLINE double grid_sum_of_gradient(const float *e, size_t n, __m512 vs, __m512 vt, __m512 vo,
                                   size_t entry) {
  grid_sum g = {{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()},
                _mm512_setzero_pd()};
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    if (i && (i & (SOFTMAX_SUM_BLOCK - 1)) == 0) grid_sum_flush(&g);
    for (int k = 0; k < 4; k++) {
      grid_sum_add(&g, k, gradient_vector(e, i + 16 * k, 0xFFFF, vs, vt, vo), other_lanes(entry, i + 16 * k));
    }
  }
  if (i && i < n && (i & (SOFTMAX_SUM_BLOCK - 1)) == 0) grid_sum_flush(&g);
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    grid_sum_add(&g, 0, gradient_vector(e, i, lanes, vs, vt, vo), lanes & other_lanes(entry, i));
  }
  grid_sum_flush(&g);
  return _mm512_reduce_add_pd(g.total);
}

// The stores of the row, the entry's lane set to `value` (its line stored with the others).
INLINE void gradient_stores(const float *e, float *y, size_t n, __m512 vs, __m512 vt, __m512 vo,
                            size_t entry, float value, int stream) {
  const __m512 vv = _mm512_set1_ps(value);
  const size_t head = stream_head(y, n, stream);
  if (head) {
    const __mmask16 lanes = first_lanes(head);
    const __m512 r = gradient_vector(e, 0, lanes, vs, vt, vo);
    _mm512_mask_storeu_ps(y, lanes, _mm512_mask_mov_ps(r, (__mmask16)~other_lanes(entry, 0), vv));
  }
  size_t i = head;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; k++) {
      const __m512 r = gradient_vector(e, i + 16 * k, 0xFFFF, vs, vt, vo);
      STORE(stream, y + i + 16 * k, _mm512_mask_mov_ps(r, (__mmask16)~other_lanes(entry, i + 16 * k), vv));
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 r = _mm512_mask_mov_ps(gradient_vector(e, i, lanes, vs, vt, vo),
                                        (__mmask16)~other_lanes(entry, i), vv);
    if (stream && lanes == 0xFFFF) {
      _mm512_stream_ps(y + i, r);
    } else {
      store_lanes(y + i, lanes, r);
    }
  }
}

KERNEL void softmax_scale_gradient_entry_avx512_u64(const float *e, float *y, size_t n,
                                                    float scale, float threshold, float offset,
                                                    size_t entry, double base, int less_others,
                                                    int stream) {
  const __m512 vs = _mm512_set1_ps(scale), vt = _mm512_set1_ps(threshold), vo = _mm512_set1_ps(offset);
  if (entry >= n) return gradient_stores(e, y, n, vs, vt, vo, entry, 0, stream);
  if (!less_others) return gradient_stores(e, y, n, vs, vt, vo, entry, (float)base, stream);
  if (stream_head(y, n, stream)) {
    // Streaming stores off the element grid: the sum first, then the stores.
    const double others = grid_sum_of_gradient(e, n, vs, vt, vo, entry);
    return gradient_stores(e, y, n, vs, vt, vo, entry, (float)(base - others), stream);
  }
  // On the element grid: one pass, the sum as grid_sum_of_gradient takes it, and the entry's
  // vector stored at the end.
  grid_sum g = {{_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()},
                _mm512_setzero_pd()};
  const size_t entry_at = entry & ~(size_t)15;
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    if (i && (i & (SOFTMAX_SUM_BLOCK - 1)) == 0) grid_sum_flush(&g);
    const __m512 r0 = gradient_vector(e, i, 0xFFFF, vs, vt, vo);
    const __m512 r1 = gradient_vector(e, i + 16, 0xFFFF, vs, vt, vo);
    const __m512 r2 = gradient_vector(e, i + 32, 0xFFFF, vs, vt, vo);
    const __m512 r3 = gradient_vector(e, i + 48, 0xFFFF, vs, vt, vo);
    if (entry - i < 64) {
      const __m512 r[4] = {r0, r1, r2, r3};
      for (int k = 0; k < 4; k++) {
        grid_sum_add(&g, k, r[k], other_lanes(entry, i + 16 * k));
        if (i + 16 * k != entry_at) STORE(stream, y + i + 16 * k, r[k]);
      }
      continue;
    }
    STORE(stream, y + i, r0);
    STORE(stream, y + i + 16, r1);
    STORE(stream, y + i + 32, r2);
    STORE(stream, y + i + 48, r3);
    grid_sum_add(&g, 0, r0, 0xFFFF);
    grid_sum_add(&g, 1, r1, 0xFFFF);
    grid_sum_add(&g, 2, r2, 0xFFFF);
    grid_sum_add(&g, 3, r3, 0xFFFF);
  }
  if (i && i < n && (i & (SOFTMAX_SUM_BLOCK - 1)) == 0) grid_sum_flush(&g);
  for (; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 r = gradient_vector(e, i, lanes, vs, vt, vo);
    grid_sum_add(&g, 0, r, lanes & other_lanes(entry, i));
    if (i == entry_at) continue;
    if (stream && lanes == 0xFFFF) {
      _mm512_stream_ps(y + i, r);
    } else {
      store_lanes(y + i, lanes, r);
    }
  }
  grid_sum_flush(&g);
  const float value = (float)(base - _mm512_reduce_add_pd(g.total));
  const __mmask16 lanes = n - entry_at >= 16 ? (__mmask16)0xFFFF : first_lanes(n - entry_at);
  const __m512 r = _mm512_mask_mov_ps(gradient_vector(e, entry_at, lanes, vs, vt, vo),
                                      (__mmask16)~other_lanes(entry, entry_at), _mm512_set1_ps(value));
  if (stream && lanes == 0xFFFF) {
    _mm512_stream_ps(y + entry_at, r);
  } else {
    store_lanes(y + entry_at, lanes, r);
  }
}

// The gradient vector at k (its lanes below `end`), stored on the element grid and added to
// acc except at `excluded`.
INLINE void twopass_gradient_vector(const float *x, grid_stores *out, size_t k, size_t end,
                                    size_t excluded, __m512 lo, __m512 hi, __m512 bias, __m512 vo,
                                    __m512 *acc) {
  const __mmask16 lanes = end - k >= 16 ? (__mmask16)0xFFFF : first_lanes(end - k);
  const __m512 r = _mm512_sub_ps(twopass_output_vector(loadz_lanes(x + k, lanes), lo, hi, bias), vo);
  *acc = _mm512_mask_add_ps(*acc, lanes & counted_lanes(excluded, k), *acc, r);
  grid_store(out, k, lanes, r);
}

// Pairs of gradient vectors from k while k + 32 <= stop, stored plainly (the caller checked
// that no joining is needed) and added to `acc` in element order; returns where it stopped.
INLINE size_t twopass_gradient_pairs(const float *x, float *y, size_t k, size_t stop, __m512 lo,
                                     __m512 hi, __m512 bias, __m512 vo, __m512 *acc, int stream,
                                     int prefetch) {
  __m512 a = *acc;
  for (; k + 32 <= stop; k += 32) {
    if (prefetch) {
      // As pass 2 of the softmax does (softmax_twopass_output_avx512_u32), but one distance:
      // its far prefetch measured 0.94–1.01× here (softmax bench, 2^24–2^28, three runs).
      _mm_prefetch((const char *)(x + k + SOFTMAX_GRADIENT_PREFETCH_FLOATS), _MM_HINT_T0);
      _mm_prefetch((const char *)(x + k + SOFTMAX_GRADIENT_PREFETCH_FLOATS + 16), _MM_HINT_T0);
    }
    const __m512 r0 = _mm512_sub_ps(twopass_output_vector(_mm512_loadu_ps(x + k), lo, hi, bias), vo);
    const __m512 r1 = _mm512_sub_ps(twopass_output_vector(_mm512_loadu_ps(x + k + 16), lo, hi, bias), vo);
    STORE(stream, y + k, r0);
    STORE(stream, y + k + 16, r1);
    a = _mm512_add_ps(_mm512_add_ps(a, r0), r1);
  }
  *acc = a;
  return k;
}

// The output pass of a cross-entropy gradient after Two-Pass's pass 1, fused:
// y = (m · inverse_mantissa) · 2^(n − bias) − offset (the scaled softmax minus the smoothing
// offset), streamed when `stream` (the caller fences), and Σ y over every entry but
// `excluded` in Float lanes per 4096-element block (the blocks added in Double), summed from
// registers, so the output is never read back. The vectors stay on the element grid
// (`grid_stores`).
KERNEL double softmax_twopass_gradient_avx512_u32(const float *x, float *y, size_t n,
                                                  float inverse_mantissa, float exponent_bias,
                                                  float offset, size_t excluded, int stream) {
  float table[32] __attribute__((aligned(64)));
  scaled_table(inverse_mantissa, table);
  const __m512 lo = _mm512_load_ps(table), hi = _mm512_load_ps(table + 16);
  const __m512 bias = _mm512_set1_ps(exponent_bias), vo = _mm512_set1_ps(offset);
  grid_stores out = grid_stores_start(y, n, stream, excluded);
  // Where no joining is needed (y aligned for streaming, or not streamed), the pairs before and
  // after the label's take plain stores and unmasked adds; every vector goes to one
  // accumulator in element order either way, so the sum does not depend on the path. Bound by
  // arithmetic, the general loop alone took 1.5 times the softmax's output pass; now 1.2.
  const int direct = !stream || out.head == 0;
  const int prefetch = n >= SOFTMAX_SUM_PREFETCH_FROM;
  double total = 0;
  for (size_t start = 0; start < n; start += SOFTMAX_SUM_BLOCK) {
    const size_t end = n - start < SOFTMAX_SUM_BLOCK ? n : start + SOFTMAX_SUM_BLOCK;
    const size_t full = start + (end - start) / 16 * 16, label = excluded_step(excluded, start, end, 32);
    __m512 acc = _mm512_setzero_ps();
    size_t k = start;
    if (direct) {
      k = twopass_gradient_pairs(x, y, k, label < full ? label : full, lo, hi, bias, vo, &acc, stream,
                                 prefetch);
      if (k == label && k + 32 <= full) {
        twopass_gradient_vector(x, &out, k, end, excluded, lo, hi, bias, vo, &acc);
        twopass_gradient_vector(x, &out, k + 16, end, excluded, lo, hi, bias, vo, &acc);
        k = twopass_gradient_pairs(x, y, k + 32, full, lo, hi, bias, vo, &acc, stream, prefetch);
      }
    }
    for (; k < end; k += 16) twopass_gradient_vector(x, &out, k, end, excluded, lo, hi, bias, vo, &acc);
    total += _mm512_reduce_add_pd(_mm512_add_pd(low_doubles(acc), high_doubles(acc)));
  }
  grid_stores_finish(&out);
  return total;
}

// y −= offset + weight · t (t null: y −= offset).
KERNEL void softmax_subtract_targets_avx512_u16(float *y, const float *t, size_t n, float weight,
                                                float offset) {
  const __m512 w = _mm512_set1_ps(weight), o = _mm512_set1_ps(offset);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 lanes = n - i >= 16 ? (__mmask16)0xFFFF : first_lanes(n - i);
    const __m512 target = t ? _mm512_fmadd_ps(w, loadz_lanes(t + i, lanes), o) : o;
    store_lanes(y + i, lanes, _mm512_sub_ps(loadz_lanes(y + i, lanes), target));
  }
}

#endif
