// The online pass 1 (softmax_online_sum_neon_u16_acc8) against Double, as OnlineKernelTests:
// the maximum exact, the sum within 2e-6 (3e-6 on sorted rows and ramps, 1e-6 on extremes), NaN
// reported, −inf ignored, rows of only −inf (−inf, 0), +inf giving a +inf maximum.
// Included by neon_kernel_check.c.

// The relative error of the kernel's sum, after checking its maximum; 0 for an empty row
// (whose sum must be 0).
static double online_error(const float *x, size_t n, const char *label) {
  const softmax_max_sum got = softmax_online_sum_neon_u16_acc8(x, n);
  const float maximum = exact_max(x, n);
  check(got.maximum == maximum, "online_sum", "%s n=%zu: maximum %g, exact %g", label, n,
        got.maximum, maximum);
  if (maximum == -INFINITY) {
    check(got.sum == 0, "online_sum", "%s n=%zu: sum %g of an empty row", label, n, got.sum);
    return 0;
  }
  double *terms = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) terms[i] = exp((double)x[i] - (double)maximum);
  const double exact = compensated_sum(terms, n);
  free(terms);
  return fabs(got.sum - exact) / exact;
}

static void check_online(void) {
  const size_t lengths[] = {127, 128, 129, 4095, 4096, 4097, 10001, 70000};
  const struct {
    enum distribution d;
    float scale;
  } kinds[] = {{NORMAL, 1}, {NORMAL, 10}, {PAPER_UNIFORM, 1}, {UNIFORM, 1e-3f}};
  for (size_t k = 0; k < 71 + 8; k++) {
    const size_t n = k <= 70 ? k : lengths[k - 71];
    guarded_row x = guarded(n, n % 13);
    for (int d = 0; d < 4; d++) {
      random_inputs(x.row, n, kinds[d].d, kinds[d].scale, n + 11);
      const double error = online_error(x.row, n, "random");
      check(error <= 2e-6, "online_sum", "n=%zu distribution %d ×%g: relative error %g", n, d,
            kinds[d].scale, error);
    }
    if (n > 0) {
      // Every other entry −inf; then −inf except the last (exactly (−3, 1)); then all −inf.
      random_inputs(x.row, n, NORMAL, 5, 9);
      for (size_t i = 0; i < n; i += 2) x.row[i] = -INFINITY;
      const double error = online_error(x.row, n, "half −inf");
      check(error <= 2e-6, "online_sum", "n=%zu half −inf: %g", n, error);
      for (size_t i = 0; i < n; i++) x.row[i] = -INFINITY;
      softmax_max_sum got = softmax_online_sum_neon_u16_acc8(x.row, n);
      check(got.maximum == -INFINITY && got.sum == 0, "online_sum", "n=%zu all −inf: (%g, %g)", n,
            got.maximum, got.sum);
      x.row[n - 1] = -3;
      got = softmax_online_sum_neon_u16_acc8(x.row, n);
      check(got.maximum == -3 && got.sum == 1, "online_sum", "n=%zu one finite: (%g, %g)", n,
            got.maximum, got.sum);
    }
    free(x.base);
  }
  // Sorted rows (a new maximum at every step, or never), shifted and constant rows.
  const size_t sorted_lengths[] = {1, 17, 64, 1000, 4096, 4097, 50000};
  for (int c = 0; c < 7; c++) {
    const size_t n = sorted_lengths[c];
    guarded_row x = guarded(n, 3);
    for (int shape = 0; shape < 5; shape++) {
      random_inputs(x.row, n, NORMAL, 3, 5);
      for (size_t i = 0; i < n; i++) {
        if (shape == 0) x.row[i] = (float)i * 1e-4f;                     // slow ramp
        if (shape == 1) x.row[i] = (float)(n - i) * 1e-3f;               // descending
        if (shape == 2) x.row[i] += 10000;                               // shifted +1e4
        if (shape == 3) x.row[i] -= 1e30f;                               // shifted −1e30
        if (shape == 4) x.row[i] = 7;                                    // constant
      }
      const double error = online_error(x.row, n, "sorted or shifted");
      check(error <= 3e-6, "online_sum", "n=%zu shape %d: relative error %g", n, shape, error);
    }
    free(x.base);
  }
  // Ascending ramps: every element a new maximum, each lane rescaled at every step.
  float *ramp = malloc(8192 * sizeof(float));
  for (int k = 1; k <= 400; k += 3) {
    const float step = (float)k * 2.5e-6f;
    for (int i = 0; i < 8192; i++) ramp[i] = (float)i * step;
    const double error = online_error(ramp, 8192, "ramp");
    check(error <= 3e-6, "online_sum", "ramp step %g: relative error %g", step, error);
  }
  free(ramp);
  // NaN anywhere (also among −inf) makes the sum NaN and leaves the maximum a number; +inf
  // makes the maximum +inf; rows of ±FLT_MAX and ±1e30 give no NaN.
  const size_t counts[] = {1, 5, 7, 8, 16, 33, 40, 64, 65, 100, 200, 4097, 5000, 9000};
  for (int c = 0; c < 14; c++) {
    const size_t n = counts[c], positions[] = {0, n / 3, n / 2, n - 1};
    guarded_row x = guarded(n, 1);
    for (int p = 0; p < 4; p++) {
      random_inputs(x.row, n, NORMAL, 1, 2);
      x.row[positions[p]] = NAN;
      softmax_max_sum got = softmax_online_sum_neon_u16_acc8(x.row, n);
      check(isnan(got.sum) && !isnan(got.maximum), "online_sum", "n=%zu NaN at %zu: (%g, %g)", n,
            positions[p], got.maximum, got.sum);
      for (size_t i = 0; i < n; i++) x.row[i] = i == positions[p] ? NAN : -INFINITY;
      got = softmax_online_sum_neon_u16_acc8(x.row, n);
      check(isnan(got.sum), "online_sum", "n=%zu NaN among −inf at %zu: sum %g", n, positions[p],
            got.sum);
      random_inputs(x.row, n, NORMAL, 1, 4);
      x.row[positions[p]] = INFINITY;
      got = softmax_online_sum_neon_u16_acc8(x.row, n);
      check(got.maximum == INFINITY, "online_sum", "n=%zu +inf at %zu: maximum %g", n,
            positions[p], got.maximum);
    }
    for (int shape = 0; shape < 4; shape++) {
      for (size_t i = 0; i < n; i++) {
        const float big = FLT_MAX;
        x.row[i] = shape == 0   ? (i % 2 ? big : -big)
                   : shape == 1 ? (i % 3 ? -big : big)
                   : shape == 2 ? -big
                                : (i % 2 ? 1e30f : -1e30f);
      }
      const double error = online_error(x.row, n, "extremes");
      check(error <= 1e-6, "online_sum", "n=%zu extremes %d: relative error %g", n, shape, error);
    }
    free(x.base);
  }
  const softmax_max_sum empty = softmax_online_sum_neon_u16_acc8(NULL, 0);
  check(empty.maximum == -INFINITY && empty.sum == 0, "online_sum", "empty row: (%g, %g)",
        empty.maximum, empty.sum);
}
