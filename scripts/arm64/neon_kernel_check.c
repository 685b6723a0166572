// Checks every NEON pass kernel (Sources/_SoftmaxCKernels/arm) against Double references,
// with the inputs and bounds of the Swift kernel tests (Tests/SoftmaxKernelsTests:
// PassKernelTests, KernelExpTests, OnlineKernelTests, LogitKernelTests): lengths 0…70 and long
// rows, misaligned inputs and outputs, NaN, ±inf, −0, huge and tiny values, rows of only −inf,
// and nothing written outside a row. Built for aarch64 and run under qemu by
// scripts/test-arm64.sh; exits 1 after printing each violation with its kernel and input.
#include "_SoftmaxCKernels.h"
#include "check_support.h"

static const size_t long_lengths[] = {127, 128, 129, 4095, 4096, 4097, 10001};
#define LONG_COUNT (sizeof long_lengths / sizeof long_lengths[0])

// Lengths 0…70 (every tail of 4-, 8- and 16-element loops), then the long ones.
static size_t length_at(size_t k) { return k <= 70 ? k : long_lengths[k - 71]; }
#define LENGTH_COUNT (71 + LONG_COUNT)

static void check_max(void) {
  for (size_t k = 0; k < LENGTH_COUNT; k++) {
    const size_t n = length_at(k);
    guarded_row x = guarded(n, n % 16);
    random_inputs(x.row, n, PAPER_UNIFORM, 1, n);
    float got = softmax_max_neon_u16_acc4(x.row, n);
    check(got == exact_max(x.row, n), "max", "n=%zu paper uniform: %g", n, got);
    // ±inf and −0 anywhere: the maximum is still exact; a row of −inf gives −inf.
    if (n > 0) {
      x.row[n / 3] = INFINITY;
      got = softmax_max_neon_u16_acc4(x.row, n);
      check(got == INFINITY, "max", "n=%zu +inf at %zu: %g", n, n / 3, got);
      for (size_t i = 0; i < n; i++) x.row[i] = i == n - 1 ? -0.0f : -INFINITY;
      got = softmax_max_neon_u16_acc4(x.row, n);
      check(got == 0 && !isnan(got), "max", "n=%zu −inf row ending in −0: %g", n, got);
      for (size_t i = 0; i < n; i++) x.row[i] = -INFINITY;
      got = softmax_max_neon_u16_acc4(x.row, n);
      check(got == -INFINITY, "max", "n=%zu all −inf: %g", n, got);
    } else {
      check(got == -INFINITY, "max", "empty row: %g", got);
    }
    free(x.base);
  }
}

// log(m · 2^e) against log Σ e^x = max + log Σ e^(x − max), within 2e-6.
static void check_twopass_sum(void) {
  const float scales[] = {1, 30, 500};
  for (size_t k = 1; k < LENGTH_COUNT; k++) {
    const size_t n = length_at(k);
    for (int s = 0; s < 3; s++) {
      guarded_row x = guarded(n, n % 7);
      random_inputs(x.row, n, NORMAL, scales[s], 3);
      const softmax_scaled_sum sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      const double maximum = exact_max(x.row, n);
      double *terms = malloc(n * sizeof(double));
      for (size_t i = 0; i < n; i++) terms[i] = exp((double)x.row[i] - maximum);
      const double reference = maximum + log(compensated_sum(terms, n));
      const double error = fabs(log(sum.mantissa) + sum.exponent * log(2.0) - reference);
      check(error <= 2e-6 && !sum.has_nan, "twopass_sum", "n=%zu normal×%g: log-sum error %g",
            n, scales[s], error);
      free(terms);
      free(x.base);
    }
  }
  check(softmax_twopass_sum_neon_u16_acc2(NULL, 0).exponent == -INFINITY, "twopass_sum",
        "the empty sum's exponent is not −inf");
  // NaN anywhere is reported; rows of −inf, +inf or huge values give no NaN and an exponent
  // outside the exact range (−3850…4000), so the caller re-sums them.
  const size_t counts[] = {1, 7, 16, 33, 64, 65, 200, 4097};
  for (int c = 0; c < 8; c++) {
    const size_t n = counts[c], positions[] = {0, n / 2, n - 1};
    for (int p = 0; p < 3; p++) {
      guarded_row x = guarded(n, 3);
      random_inputs(x.row, n, UNIFORM, 1, 1);
      x.row[positions[p]] = NAN;
      softmax_scaled_sum sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      check(sum.has_nan && isnan(sum.mantissa), "twopass_sum", "n=%zu NaN at %zu not reported",
            n, positions[p]);
      for (size_t i = 0; i < n; i++) x.row[i] = -INFINITY;
      x.row[positions[p]] = NAN;
      sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      check(sum.has_nan, "twopass_sum", "n=%zu NaN among −inf at %zu not reported", n, positions[p]);
      x.row[positions[p]] = -INFINITY;
      sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      check(!sum.has_nan && sum.mantissa > 0 && isfinite(sum.mantissa) && sum.exponent < -3850,
            "twopass_sum", "n=%zu all −inf: (%g, %g)", n, sum.mantissa, sum.exponent);
      x.row[positions[p]] = INFINITY;
      sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      check(!sum.has_nan && isfinite(sum.mantissa) && sum.exponent > 4000, "twopass_sum",
            "n=%zu +inf at %zu: (%g, %g)", n, positions[p], sum.mantissa, sum.exponent);
      for (size_t i = 0; i < n; i++) x.row[i] = i % 2 ? FLT_MAX : -FLT_MAX;
      sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      check(!sum.has_nan && isfinite(sum.mantissa) && (n == 1 || sum.exponent > 4000),
            "twopass_sum", "n=%zu ±FLT_MAX: (%g, %g)", n, sum.mantissa, sum.exponent);
      free(x.base);
    }
  }
}

// Pass 2 with the parameters of pass 1 against the Double softmax: within 1e-6 relative where
// the probability is at least 2^-120, 0 or normal everywhere, nothing written outside the
// output (misaligned differently from the input), `stream` changing nothing.
static void check_twopass_output(void) {
  for (size_t k = 0; k < LENGTH_COUNT; k++) {
    const size_t n = length_at(k);
    const size_t offsets[] = {0, 1, 7};
    for (int o = 0; o < 3; o++) {
      guarded_row x = guarded(n, offsets[o]), y = guarded(n, (offsets[o] + 5) % 16);
      random_inputs(x.row, n, NORMAL, 5, 4);
      if (n > 3) x.row[n / 2] = -INFINITY;
      if (n > 5) x.row[1] = -0.0f;
      const softmax_scaled_sum sum = softmax_twopass_sum_neon_u16_acc2(x.row, n);
      float mi, bias;
      output_parameters(sum.mantissa, sum.exponent, &mi, &bias);
      double *terms = malloc((n + 1) * sizeof(double));
      const double maximum = exact_max(x.row, n);
      for (size_t i = 0; i < n; i++) terms[i] = exp((double)x.row[i] - maximum);
      const double total = compensated_sum(terms, n);
      for (int stream = 0; stream < 2; stream++) {
        softmax_twopass_output_neon_u8(x.row, y.row, n, mi, bias, stream);
        for (size_t i = 0; i < n; i++) {
          const double exact = terms[i] / total, got = y.row[i];
          const bool normal_or_zero = got == 0 || fabs(got) >= 0x1p-126;
          const bool close = exact < 0x1p-120 || fabs(got - exact) <= 1e-6 * exact;
          check(normal_or_zero && close, "twopass_output",
                "n=%zu offset %zu stream %d [%zu]: %g, exact %g", n, offsets[o], stream, i, got,
                exact);
        }
        check(sentinels_intact(&y), "twopass_output", "n=%zu wrote outside the row", n);
      }
      free(terms);
      free(x.base);
      free(y.base);
    }
  }
}

// The Three-Pass exp through sumexp_store (shift 0, so the stored terms are e^x): within
// 4.1e-7 relative on [−87.33, 0] (a sweep plus the points where n changes), e^0 = e^−0 = 1
// exactly, 0 below the cut, NaN kept.
static void check_threepass_exp(void) {
  const size_t sweep = 1 << 20;
  const size_t n = sweep + 130;
  float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
  generator g = {21};
  for (size_t i = 0; i < sweep; i++) x[i] = (float)(-87.33 * next_unit(&g));
  size_t count = sweep;
  for (int j = 0; j < 126 && count < n - 4; j++) {
    const float edge = (float)(-(j + 0.5) * log(2.0));
    if (edge >= -87.33f) x[count++] = edge;
  }
  x[count++] = 0.0f;
  x[count++] = -0.0f;
  x[count++] = -0x1p-149f;
  x[count++] = -1e-30f;
  const double sum = softmax_sumexp_store_neon_u16_acc4(x, y, count, 0);
  double worst = 0, *terms = malloc(count * sizeof(double));
  float worst_x = 0;
  for (size_t i = 0; i < count; i++) {
    terms[i] = exp((double)x[i]);
    const double error = fabs(y[i] - terms[i]) / terms[i];
    if (error > worst) worst = error, worst_x = x[i];
  }
  check(worst <= 4.1e-7, "sumexp_store (exp)", "relative error %g at x = %a", worst, worst_x);
  check(y[count - 4] == 1 && y[count - 3] == 1, "sumexp_store (exp)", "e^0 = %a, e^−0 = %a",
        y[count - 4], y[count - 3]);
  const double reference = compensated_sum(terms, count);
  check(fabs(sum - reference) <= 1e-6 * reference, "sumexp_store (exp)", "sum %g vs %g", sum,
        reference);
  const float below[] = {-87.35f, -88, -100, -1e6f, -FLT_MAX, -INFINITY};
  float zeros[6];
  softmax_sumexp_store_neon_u16_acc4(below, zeros, 6, 0);
  for (int i = 0; i < 6; i++) {
    check(zeros[i] == 0 && !signbit(zeros[i]), "sumexp_store (exp)", "e^%g = %a, not +0",
          below[i], zeros[i]);
  }
  const float nan_row[5] = {-1, NAN, -2, -3, -4};
  float nan_terms[5];
  const double nan_sum = softmax_sumexp_store_neon_u16_acc4(nan_row, nan_terms, 5, 0);
  check(isnan(nan_terms[1]) && isnan(nan_sum) && isnan(softmax_sumexp_neon_u16_acc4(nan_row, 5, 0)),
        "sumexp (exp)", "NaN must stay NaN: %g, %g", nan_terms[1], nan_sum);
  free(terms);
  free(x);
  free(y);
}

// Σ e^(x − max) with and without storing: within 1e-6 of the compensated Double sum of the
// same Float differences, the two sums bitwise equal, each stored term within 5e-7.
static void check_sumexp(void) {
  for (size_t k = 1; k < LENGTH_COUNT; k++) {
    const size_t n = length_at(k);
    guarded_row x = guarded(n, n % 9), y = guarded(n, (n % 9 + 5) % 16);
    random_inputs(x.row, n, NORMAL, 10, 8);
    const float shift = exact_max(x.row, n);
    double *terms = malloc(n * sizeof(double));
    for (size_t i = 0; i < n; i++) terms[i] = exp((double)(x.row[i] - shift));
    const double reference = compensated_sum(terms, n);
    const double plain = softmax_sumexp_neon_u16_acc4(x.row, n, shift);
    const double stored = softmax_sumexp_store_neon_u16_acc4(x.row, y.row, n, shift);
    check(fabs(plain - reference) <= 1e-6 * reference, "sumexp", "n=%zu: %.17g vs %.17g", n,
          plain, reference);
    check(plain == stored, "sumexp_store", "n=%zu: %.17g differs from sumexp %.17g", n, stored,
          plain);
    for (size_t i = 0; i < n; i++) {
      if (terms[i] < 0x1p-125) continue;
      check(fabs(y.row[i] - terms[i]) <= 5e-7 * terms[i], "sumexp_store", "n=%zu [%zu]: %g vs %g",
            n, i, y.row[i], terms[i]);
    }
    check(sentinels_intact(&y), "sumexp_store", "n=%zu wrote outside the row", n);
    free(terms);
    free(x.base);
    free(y.base);
  }
}

// y = e^(x − shift) · scale and y *= scale, 0 where the term is below the threshold, against
// Double: away from the threshold (by the exp's bound) each value is either 0 or within 1e-6.
static void check_scaled_outputs(void) {
  for (size_t k = 0; k < LENGTH_COUNT; k++) {
    const size_t n = length_at(k);
    guarded_row x = guarded(n, k % 8), y = guarded(n, (k + 3) % 16);
    random_inputs(x.row, n, NORMAL, 30, 4);
    if (n > 2) x.row[n - 2] = -INFINITY;
    const float shift = n ? exact_max(x.row, n) : 0, scale = 0.5f, threshold = 1e-30f;
    softmax_expscale_neon_u8(x.row, y.row, n, shift, scale, threshold, (int)(k % 2));
    for (size_t i = 0; i < n; i++) {
      const double e = exp((double)(x.row[i] - shift)), got = y.row[i];
      const bool ok = e < threshold * (1 - 1e-6)   ? got == 0
                      : e > threshold * (1 + 1e-6) ? fabs(got - e * scale) <= 1e-6 * e * scale
                                                   : true;
      check(ok, "expscale", "n=%zu [%zu] x=%g: %g, exact %g", n, i, x.row[i], got, e * scale);
    }
    check(sentinels_intact(&y), "expscale", "n=%zu wrote outside the row", n);
    // Scale in place, a threshold that drops some of them (and keeps a term equal to it).
    if (n > 0) y.row[n / 2] = 1e-29f;
    float *before = malloc((n + 1) * sizeof(float));
    memcpy(before, y.row, n * sizeof(float));
    softmax_scale_neon_u16(y.row, y.row, n, 3, 1e-29f, (int)(k % 2));
    for (size_t i = 0; i < n; i++) {
      const float expected = before[i] >= 1e-29f ? before[i] * 3 : 0;
      check(y.row[i] == expected, "scale", "n=%zu [%zu]: %g · 3 gave %g", n, i, before[i],
            y.row[i]);
    }
    check(sentinels_intact(&y), "scale", "n=%zu wrote outside the row", n);
    // From a separate buffer of exponentials into the row (where reload stages them).
    softmax_scale_neon_u16(before, y.row, n, 0.5f, 1e-29f, (int)(k % 2));
    for (size_t i = 0; i < n; i++) {
      const float expected = before[i] >= 1e-29f ? before[i] * 0.5f : 0;
      check(y.row[i] == expected, "scale into", "n=%zu [%zu]: %g · 0.5 gave %g", n, i,
            before[i], y.row[i]);
    }
    check(sentinels_intact(&y), "scale into", "n=%zu wrote outside the row", n);
    free(before);
    free(x.base);
    free(y.base);
  }
}

// The extended exp of Two-Pass through pass 2 (inverse mantissa 1): e^x · 2^−bias within 2 ulp
// on [−2800, 2800], windows of width 50 with their own bias so that every output is normal.
static void check_extended_exp(void) {
  const size_t per_window = 2048;
  float x[2048 + 200], y[2048 + 200];
  int64_t worst = 0;
  float worst_x = 0;
  for (float low = -2800; low < 2800; low += 50) {
    const float high = low + 50;
    generator g = {(uint64_t)(low + 3000)};
    size_t n = 0;
    for (; n < per_window; n++) x[n] = (float)(low + 50 * next_unit(&g));
    for (double j = ceil(low / log(2.0) - 0.5); (j + 0.5) * log(2.0) <= high && n < 2240; j++) {
      x[n++] = (float)((j + 0.5) * log(2.0));
    }
    const float bias = (float)ceil(high / log(2.0));
    softmax_twopass_output_neon_u8(x, y, n, 1, bias, 0);
    for (size_t i = 0; i < n; i++) {
      const float exact = (float)exp((double)x[i] - (double)bias * log(2.0));
      const int64_t distance = ulp_distance(y[i], exact);
      if (distance > worst) worst = distance, worst_x = x[i];
    }
  }
  check(worst <= 2, "twopass_output (exp)", "%lld ulp at x = %a", (long long)worst, worst_x);
}

#include "online_check.h"
#include "logits_check.h"

int main(void) {
  check_max();
  check_twopass_sum();
  check_twopass_output();
  check_extended_exp();
  check_threepass_exp();
  check_sumexp();
  check_scaled_outputs();
  check_online();
  check_logits();
  printf("NEON kernels: %ld checks, %ld failed\n", checks_run, checks_failed);
  return checks_failed ? 1 : 0;
}
