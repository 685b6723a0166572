// Where the softmax backward's time goes on long rows: a probe over the library's AVX-512
// training kernels, outside Swift (BENCHMARKS.md, "The softmax backward on long rows").
//
// The pipelined backward (Operations/BackwardRows.swift) runs one step per row: it writes row
// r − 1's dx = y · (dy − s) while it reads row r for its sum Σ dy · y. Row r − 1's y and dy are
// read twice, once for the sum one step earlier and once for the output; the two-input 2R+1W
// roofline counts them once. This probe times, in one run:
//   pipelined     the library's steps, as BackwardRows does them;
//   per row       each row's dot, then its output (no pipelining);
//   roofline      y and dy read once, dx = y · (dy − c) streamed;
//   re-read ring  the pipelined steps with the output's re-read pointed at a small ring of
//                 KiB per array (8: stays in L1, 128: in L2, 512: partly beyond a 2 MiB L2),
//                 while the sums read the real rows: what the re-read costs where it lives;
//   parts         the first row's dot, the steps, the last row's output, each per element.
// Inputs are read once before each sample, outputs rotate over 1 GiB (always cold), buffers
// are on huge pages, 15 samples, medians (min–max).
//
//   K=Sources/_SoftmaxCKernels
//   clang -O2 -I$K/include scripts/probes/backward-reread.c $K/x86/avx512_training_kernels.c \
//     $K/x86/avx512_kernels.c -o /tmp/backward-reread -lm
//   taskset -c 1 /tmp/backward-reread 8 128256     # rows, row length
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "_SoftmaxCKernels.h"

#define SAMPLES 15
#define KERNEL __attribute__((target("avx512f"), noinline))

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

static int compare(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static float *huge_buffer(size_t floats) {
  const size_t bytes = (floats * sizeof(float) + (2 << 20) - 1) / (2 << 20) * (2 << 20);
  float *p = aligned_alloc(2 << 20, bytes);
  if (!p) { perror("aligned_alloc"); exit(1); }
  madvise(p, bytes, MADV_HUGEPAGE);
  memset(p, 0, bytes);
  return p;
}

// Reads every line once (the inputs' state before each sample, as `softmax bench` leaves it).
KERNEL static float touch(const float *a, size_t n) {
  __m512 s = _mm512_setzero_ps();
  for (size_t i = 0; i + 16 <= n; i += 16) s = _mm512_add_ps(s, _mm512_loadu_ps(a + i));
  return _mm512_reduce_add_ps(s);
}

KERNEL static void roofline(const float *y, const float *dy, float *dx, size_t n, float c) {
  const __m512 vc = _mm512_set1_ps(c);
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm512_stream_ps(dx + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), _mm512_sub_ps(_mm512_loadu_ps(dy + i), vc)));
  for (; i < n; i++) dx[i] = y[i] * (dy[i] - c);
}

// The pipelined steps; `ring` > 0 points each output's re-read at the first `ring` floats of
// y and dy instead of row r − 1 (the sums still read every row). Returns the last sum.
static double pipelined(const float *y, const float *dy, float *dx, size_t rows, size_t n,
                        size_t ring) {
  double s = softmax_dot_avx512_u32_acc4(dy, y, n);
  for (size_t r = 1; r < rows; r++) {
    const size_t a = (r - 1) * n, b = r * n;
    if (!ring) {
      s = softmax_backward_step_avx512_u16(y + a, dy + a, dx + a, (float)s, y + b, dy + b, n, 1);
      continue;
    }
    double next = 0;
    for (size_t q = 0; q < n; q += ring) {
      const size_t m = n - q < ring ? n - q : ring;
      next += softmax_backward_step_avx512_u16(y, dy, dx + a + q, (float)s, y + b + q, dy + b + q, m, 1);
    }
    s = next;
  }
  const size_t last = (rows - 1) * n;
  softmax_backward_output_avx512_u32(y + last, dy + last, dx + last, n, (float)s, 1);
  return s;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: %s rows length\n", argv[0]); return 2; }
  const size_t rows = strtoul(argv[1], NULL, 10), n = strtoul(argv[2], NULL, 10);
  if (rows < 2 || n < 1024) { fprintf(stderr, "need rows >= 2 and length >= 1024\n"); return 2; }
  const size_t count = rows * n, slots = ((size_t)1 << 30) / (count * sizeof(float)) + 2;
  float *y = huge_buffer(count), *dy = huge_buffer(count), *outputs = huge_buffer(slots * count);
  srand(1);
  for (size_t i = 0; i < count; i++) {
    y[i] = (float)((double)rand() / RAND_MAX) / (float)n;
    dy[i] = (float)((double)rand() / RAND_MAX * 2 - 1);
  }
  enum { PIPELINED, PER_ROW, ROOFLINE, RING8, RING128, RING512, VARIANTS };
  static const char *names[VARIANTS] = {"pipelined (the library's steps)", "per row: dot, then output",
                                        "roofline 2R+1W, streaming", "re-read ring", "re-read ring",
                                        "re-read ring"};
  static const size_t rings[VARIANTS] = {0, 0, 0, 2048, 32768, 131072};
  double t[VARIANTS][SAMPLES], parts[3][SAMPLES];
  size_t slot = 0;
  float sink = 0;
  for (int sample = 0; sample < SAMPLES; sample++) {
    for (int v = 0; v < VARIANTS; v++) {
      float *dx = outputs + (slot++ % slots) * count;
      sink += touch(y, count) + touch(dy, count);
      const double start = now_ns();
      if (v == PER_ROW) {
        for (size_t r = 0; r < rows; r++) {
          const size_t o = r * n;
          const double s = softmax_dot_avx512_u32_acc4(dy + o, y + o, n);
          softmax_backward_output_avx512_u32(y + o, dy + o, dx + o, n, (float)s, 1);
        }
      } else if (v == ROOFLINE) {
        roofline(y, dy, dx, count, 0.5f);
      } else {
        sink += (float)pipelined(y, dy, dx, rows, n, rings[v]);
      }
      _mm_sfence();
      t[v][sample] = (now_ns() - start) / (double)count;
    }
    // The pipeline's parts on a fresh output.
    float *dx = outputs + (slot++ % slots) * count;
    sink += touch(y, count) + touch(dy, count);
    const double t0 = now_ns();
    double s = softmax_dot_avx512_u32_acc4(dy, y, n);
    const double t1 = now_ns();
    for (size_t r = 1; r < rows; r++) {
      const size_t a = (r - 1) * n, b = r * n;
      s = softmax_backward_step_avx512_u16(y + a, dy + a, dx + a, (float)s, y + b, dy + b, n, 1);
    }
    _mm_sfence();
    const double t2 = now_ns();
    const size_t last = (rows - 1) * n;
    softmax_backward_output_avx512_u32(y + last, dy + last, dx + last, n, (float)s, 1);
    _mm_sfence();
    const double t3 = now_ns();
    parts[0][sample] = (t1 - t0) / n;
    parts[1][sample] = (t2 - t1) / ((rows - 1) * n);
    parts[2][sample] = (t3 - t2) / n;
  }
  printf("%zu x %zu, ns/element, median of %d (min-max)\n", rows, n, SAMPLES);
  for (int v = 0; v < VARIANTS; v++) {
    qsort(t[v], SAMPLES, sizeof(double), compare);
    char name[64];
    const size_t ring = rings[v] < n ? rings[v] : n;
    if (rings[v]) snprintf(name, sizeof name, "%s %zu KiB/array", names[v], ring * sizeof(float) / 1024);
    else snprintf(name, sizeof name, "%s", names[v]);
    printf("  %-34s %.3f (%.3f-%.3f)\n", name, t[v][SAMPLES / 2], t[v][0], t[v][SAMPLES - 1]);
  }
  for (int p = 0; p < 3; p++) qsort(parts[p], SAMPLES, sizeof(double), compare);
  printf("  parts: first dot %.3f, steps %.3f, last output %.3f (per element of their rows)\n",
         parts[0][SAMPLES / 2], parts[1][SAMPLES / 2], parts[2][SAMPLES / 2]);
  return sink == 12345.0f;
}
