// What the NEON kernel checks share: seeded inputs (SplitMix64, as SoftmaxKernels/SplitMix64
// and the Swift tests' distributions), the Double references (Neumaier sums, exact maxima),
// buffers at chosen misalignments with sentinels around them, and the failure report: every
// violation prints the kernel, the input and the values, and makes the program exit non-zero.
#ifndef NEON_CHECK_SUPPORT_H
#define NEON_CHECK_SUPPORT_H

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long checks_run, checks_failed;

// Records one check; prints the first 30 failures in full, counts the rest.
static bool check(bool ok, const char *kernel, const char *format, ...) {
  checks_run++;
  if (ok) return true;
  if (++checks_failed <= 30) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "FAIL %s: ", kernel);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
  }
  return false;
}

// SplitMix64: the package's seeded generator.
typedef struct {
  uint64_t state;
} generator;

static uint64_t next_u64(generator *g) {
  uint64_t z = (g->state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits.
static double next_unit(generator *g) { return (double)(next_u64(g) >> 11) * 0x1p-53; }

enum distribution { NORMAL, UNIFORM, PAPER_UNIFORM };

// `n` values of the distribution times `scale` (in Float, as the Swift tests' randomInputs).
static void random_inputs(float *x, size_t n, enum distribution d, float scale, uint64_t seed) {
  generator g = {seed};
  for (size_t i = 0; i < n; i++) {
    float v;
    if (d == NORMAL) {
      const double u1 = fmax(next_unit(&g), DBL_EPSILON), u2 = next_unit(&g);
      v = (float)(sqrt(-2 * log(u1)) * cos(2 * M_PI * u2));
    } else if (d == UNIFORM) {
      v = (float)(2 * next_unit(&g) - 1);
    } else {
      v = (float)(2000 * next_unit(&g) - 1000);
    }
    x[i] = v * scale;
  }
}

// Neumaier's compensated sum of Double terms.
static double compensated_sum(const double *terms, size_t n) {
  double sum = 0, compensation = 0;
  for (size_t i = 0; i < n; i++) {
    const double t = sum + terms[i];
    compensation += fabs(sum) >= fabs(terms[i]) ? (sum - t) + terms[i] : (terms[i] - t) + sum;
    sum = t;
  }
  return sum + compensation;
}

static float exact_max(const float *x, size_t n) {
  float m = -INFINITY;
  for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

// Distance in units in the last place between two finite floats of the same sign region.
static int64_t ulp_distance(float a, float b) {
  int32_t ia, ib;
  memcpy(&ia, &a, 4);
  memcpy(&ib, &b, 4);
  if (ia < 0) ia = INT32_MIN - ia;
  if (ib < 0) ib = INT32_MIN - ib;
  return llabs((int64_t)ia - (int64_t)ib);
}

// A row of `n` floats at `offset` floats past a 64-byte boundary, with NaN sentinels in the 16
// floats before and after it, so that writes outside the row are seen.
typedef struct {
  float *base, *row;
  size_t n;
} guarded_row;

static guarded_row guarded(size_t n, size_t offset) {
  guarded_row g;
  g.base = aligned_alloc(64, ((n + offset + 32) * sizeof(float) + 63) / 64 * 64);
  for (size_t i = 0; i < n + offset + 32; i++) g.base[i] = NAN;
  g.row = g.base + 16 + offset;
  g.n = n;
  return g;
}

static bool sentinels_intact(const guarded_row *g) {
  for (int k = 1; k <= 16; k++) {
    if (!isnan(g->row[-k]) || !isnan(g->row[g->n + k - 1])) return false;
  }
  return true;
}

// The constants of Two-Pass pass 2 for a total m · 2^e (ScaledExpSum.outputParameters):
// 1/m = mi · 2^k with mi in [1, 2); bias = e − k.
static void output_parameters(double mantissa, float exponent, float *mi, float *bias) {
  int k;
  const double f = frexp(1 / mantissa, &k);
  *mi = (float)(2 * f);
  *bias = exponent - (float)(k - 1);
}

#endif
