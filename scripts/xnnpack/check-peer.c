// Checks a peer library (softmax_peer.h) before anything times it: every kernel this CPU
// supports against a Double-precision softmax, so a mis-built library (wrong flags, a
// ukernel called with its arguments in the wrong order) fails here instead of producing
// fast nonsense. build-peer.sh runs it after every build.
//
//   check-peer LIB.so [--ftz]     exit 0 if every supported kernel passes, 1 otherwise
//
// Per kernel: sizes 1, 15, 1000, 65537, 2^20; inputs uniform in [-1000, 1000], standard
// normal, uniform in [90, 100] (e^x overflows Float) and all equal; x and y aligned and
// one float off. Outputs must be finite and >= 0; where the reference is >= 1e-30 (below
// that, Float outputs may underflow or flush) their relative error, and |sum - 1|, must
// be below max(1e-5, n/8 * 2^-24). The second term is the worst case of the kernels' own
// Float sums (n/8 terms per lane, at least 8 lanes): XNNPACK's Two-Pass AVX2 is 1.3e-3
// off on 2^20 equal inputs, its reload 1.4e-5 on 2^20 in [90, 100], which no build can
// fix; a mis-built kernel is off by far more. x, the floats after y[n-1] and MXCSR's
// control bits must be unchanged.

#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xmmintrin.h>

#include "softmax_peer.h"

enum { GUARD = 16 };
static const double kSmallest = 1e-30;

static double bound(size_t n) { return fmax(1e-5, (double)n / 8.0 * 0x1p-24); }

// SplitMix64: seeded and portable, so every run checks the same inputs.
static uint64_t next_u64(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double next_unit(uint64_t *state) {  // in (0, 1)
  return ((double)(next_u64(state) >> 11) + 0.5) * 0x1p-53;
}

enum { UNIFORM, NORMAL, HIGH, EQUAL, DISTRIBUTIONS };
static const char *const distribution_names[] = {
  "uniform [-1000, 1000]", "normal", "uniform [90, 100]", "all equal",
};

static void fill(float *x, size_t n, int distribution, uint64_t seed) {
  uint64_t state = seed;
  for (size_t i = 0; i < n; i++) {
    switch (distribution) {
      case UNIFORM: x[i] = (float)(-1000.0 + 2000.0 * next_unit(&state)); break;
      case NORMAL: {
        const double u = next_unit(&state), v = next_unit(&state);
        x[i] = (float)(sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v));
        break;
      }
      case HIGH: x[i] = (float)(90.0 + 10.0 * next_unit(&state)); break;
      default: x[i] = 42.0f; break;
    }
  }
}

struct result {
  double relative, small_relative, sum_error;  // small: n <= 1000, where 1e-5 applies
  int failed;  // cases; only the first is described
};

// One case; describes what is wrong with it if it is a kernel's first failing case.
static void check_case(void (*run)(int, const float *, float *, size_t), int index,
                       const char *name, const float *x, float *y, double *reference,
                       size_t n, int distribution, int offset, struct result *out) {
  float *saved = malloc(n * sizeof(float));
  if (saved == NULL) { perror("check-peer"); exit(2); }
  memcpy(saved, x, n * sizeof(float));
  const uint32_t sentinel = 0x7FC0DEADu;  // a NaN no kernel writes by chance
  for (size_t i = 0; i < n + GUARD; i++) memcpy(&y[i], &sentinel, sizeof(sentinel));

  const unsigned int mxcsr = _mm_getcsr();
  run(index, x, y, n);
  const unsigned int mxcsr_after = _mm_getcsr();

  double max = -INFINITY, sum = 0.0;
  for (size_t i = 0; i < n; i++) max = fmax(max, (double)x[i]);
  for (size_t i = 0; i < n; i++) sum += (reference[i] = exp((double)x[i] - max));
  double output_sum = 0.0, worst = 0.0;
  const char *problem = NULL;
  size_t at = 0;
  for (size_t i = 0; i < n && problem == NULL; i++) {
    const double expected = reference[i] / sum, got = y[i];
    if (!isfinite(got) || got < 0.0) { problem = "an output not finite or negative"; at = i; }
    output_sum += got;
    if (expected >= kSmallest) {
      const double relative = fabs(got - expected) / expected;
      if (relative > worst) { worst = relative; at = i; }
    } else if (got > 2.0 * kSmallest) {
      problem = "an output far above a reference below 1e-30"; at = i;
    }
  }
  if (problem == NULL && worst >= bound(n)) problem = "relative error above the bound";
  if (problem == NULL && fabs(output_sum - 1.0) >= bound(n)) problem = "outputs not summing to 1";
  if (problem == NULL && memcmp(saved, x, n * sizeof(float)) != 0) problem = "x changed";
  for (size_t i = n; i < n + GUARD && problem == NULL; i++) {
    if (memcmp(&y[i], &sentinel, sizeof(sentinel)) != 0) { problem = "a write past y[n-1]"; at = i; }
  }
  // Exception flags (bits 0-5) are sticky and set by any rounding; the rest is control.
  if (problem == NULL && (mxcsr & ~0x3Fu) != (mxcsr_after & ~0x3Fu)) problem = "MXCSR not restored";

  if (worst > out->relative) out->relative = worst;
  if (n <= 1000 && worst > out->small_relative) out->small_relative = worst;
  if (fabs(output_sum - 1.0) > out->sum_error) out->sum_error = fabs(output_sum - 1.0);
  if (problem != NULL && out->failed++ == 0) {
    fprintf(stderr,
            "check-peer: %s FAILED: %s (n = %zu, %s, offset %d, index %zu, y = %.9g, "
            "reference %.9g, max relative error %.3g, bound %.3g, sum of outputs %.9g)\n",
            name, problem, n, distribution_names[distribution], offset, at,
            at < n ? (double)y[at] : 0.0, at < n ? reference[at] / sum : 0.0, worst, bound(n), output_sum);
  }
  free(saved);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--ftz") != 0)) {
    fprintf(stderr, "usage: check-peer LIB.so [--ftz]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);  // in order with the failures on stderr
  const int ftz = argc == 3;
  void *library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (library == NULL) { fprintf(stderr, "check-peer: %s\n", dlerror()); return 2; }
#define SYMBOL(name)                                                                     \
  __typeof__(name) *const p_##name = (__typeof__(name) *)dlsym(library, #name);          \
  if (p_##name == NULL) {                                                                \
    fprintf(stderr, "check-peer: %s does not export %s\n", argv[1], #name);              \
    return 1;                                                                            \
  }
  SYMBOL(softmax_peer_abi_version)
  SYMBOL(softmax_peer_count)
  SYMBOL(softmax_peer_name)
  SYMBOL(softmax_peer_detail)
  SYMBOL(softmax_peer_reads)
  SYMBOL(softmax_peer_writes)
  SYMBOL(softmax_peer_supported)
  SYMBOL(softmax_peer_run)
#undef SYMBOL
  if (p_softmax_peer_abi_version() != 1) {
    fprintf(stderr, "check-peer: ABI version %d, expected 1\n", p_softmax_peer_abi_version());
    return 1;
  }

  static const size_t sizes[] = {1, 15, 1000, 65537, 1u << 20};
  const size_t largest = 1u << 20;
  // One float of slack in front for the offset cases, GUARD floats behind y.
  float *x_buffer = aligned_alloc(64, (largest + 64) * sizeof(float));
  float *y_buffer = aligned_alloc(64, (largest + 64 + GUARD) * sizeof(float));
  double *reference = malloc(largest * sizeof(double));
  if (x_buffer == NULL || y_buffer == NULL || reference == NULL) { perror("check-peer"); return 2; }

  int failures = 0, checked = 0;
  const int count = p_softmax_peer_count();
  for (int index = 0; index < count; index++) {
    const char *name = p_softmax_peer_name(index), *detail = p_softmax_peer_detail(index);
    if (name == NULL || detail == NULL || p_softmax_peer_reads(index) < 2 ||
        p_softmax_peer_writes(index) < 1) {
      fprintf(stderr, "check-peer: kernel %d has no name, detail or traffic\n", index);
      failures++;
      continue;
    }
    const size_t length = strlen(name);
    const int named_ftz = length >= 4 && strcmp(name + length - 4, " ftz") == 0;
    if (named_ftz != ftz) {
      fprintf(stderr, "check-peer: %s: the name says %s, the build %s\n", name,
              named_ftz ? "ftz" : "no ftz", ftz ? "--ftz" : "no --ftz");
      failures++;
      continue;
    }
    if (!p_softmax_peer_supported(index)) {
      printf("check-peer: %s: skipped, this CPU cannot run it\n", name);
      continue;
    }
    struct result result = {0.0, 0.0, 0.0, 0};
    int cases = 0;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
      for (int distribution = 0; distribution < DISTRIBUTIONS; distribution++) {
        for (int offset = 0; offset <= 1; offset++) {
          float *x = x_buffer + offset, *y = y_buffer + offset;
          fill(x, sizes[s], distribution, 0x5EED0000u + (uint64_t)(s * 8 + distribution));
          check_case(p_softmax_peer_run, index, name, x, y, reference, sizes[s], distribution,
                     offset, &result);
          cases++;
        }
      }
    }
    checked++;
    if (result.failed) {
      failures++;
      fprintf(stderr, "check-peer: %s: %d of %d cases failed\n", name, result.failed, cases);
    } else {
      printf("check-peer: %s: ok, %d cases; max relative error (outputs >= 1e-30) %.2e "
             "for n <= 1000, %.2e for all n; max |sum - 1| %.2e\n",
             name, cases, result.small_relative, result.relative, result.sum_error);
    }
  }
  if (checked == 0 && failures == 0) {
    fprintf(stderr, "check-peer: warning: this CPU supports none of the %d kernels\n", count);
  }
  free(x_buffer);
  free(y_buffer);
  free(reference);
  dlclose(library);
  return failures == 0 ? 0 : 1;
}
