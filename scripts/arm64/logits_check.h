// The effective logits (softmax_logits_neon_u4) bit for bit against their scalar definition,
// as LogitKernelTests: (x − shift) · (1 / divisor) + (bias − offset) in Double rounded once
// (divisor 1, shift and offset 0: x + bias in Float), −inf where keep is false; NaN, ±inf,
// huge, tiny and signed zero logits; in place and not; nothing written outside the row.
// Included by neon_kernel_check.c. Compiled with -ffp-contract=off, so the reference rounds
// each operation as the definition says.

static float definition(float x, float divisor, float shift, float offset, const bool *keep,
                        const float *bias, size_t i) {
  float v;
  if (divisor == 1 && shift == 0 && offset == 0) {
    v = bias ? x + bias[i] : x;
  } else {
    const double quotient = ((double)x - (double)shift) * (1 / (double)divisor);
    v = (float)(bias ? quotient + ((double)bias[i] - (double)offset) : quotient - (double)offset);
  }
  return keep && !keep[i] ? -INFINITY : v;
}

static bool identical(float a, float b) {
  return isnan(a) ? isnan(b) : memcmp(&a, &b, sizeof a) == 0;
}

static void check_logits(void) {
  const float specials[] = {NAN, INFINITY, -INFINITY, 3e38f, -3e38f, 0x1p-133f, 0, -0.0f};
  const float settings[][3] = {
      {1, 0, 0},     {0.7f, 0, 0},  {3, 0, 0},        {1e-3f, 0, 0}, {1e-30f, 0, 0},
      {7e30f, 0, 0}, {0x1p-149f, 0, 0}, {0.01f, 14.5f, 0}, {1, -3, 0},    {2e-38f, 3e38f, 0},
      {1, 0, 2.5f},  {0.5f, 1, -1e30f}};
  const size_t extra[] = {127, 4095, 4097};
  for (size_t k = 0; k < 71 + 3; k++) {
    const size_t n = k <= 70 ? k : extra[k - 71];
    float *x = malloc((n + 1) * sizeof(float)), *bias = malloc((n + 1) * sizeof(float));
    bool *keep = malloc(n + 1);
    random_inputs(x, n, NORMAL, 8, n);
    for (size_t i = n % 5; i < n; i += 7) x[i] = specials[i % 8];
    generator g = {n + 100};
    for (size_t i = 0; i < n; i++) {
      keep[i] = next_u64(&g) % 10 != 0;
      bias[i] = i % 6 == 0 ? -INFINITY : (float)(10 * next_unit(&g) - 5);
    }
    for (int s = 0; s < 12; s++) {
      const float divisor = settings[s][0], shift = settings[s][1], offset = settings[s][2];
      for (int masks = 0; masks < 3; masks++) {
        const bool *k_mask = masks == 1 ? keep : NULL;
        const float *b_mask = masks == 2 ? bias : NULL;
        for (int in_place = 0; in_place < 2; in_place++) {
          guarded_row in = guarded(n, (n + (size_t)s) % 16), out = guarded(n, (n + (size_t)s + 3) % 16);
          memcpy(in.row, x, n * sizeof(float));
          guarded_row *target = in_place ? &in : &out;
          softmax_logits_neon_u4(in.row, target->row, n, divisor, shift, offset, k_mask, b_mask);
          size_t mismatch = n;
          for (size_t i = 0; i < n && mismatch == n; i++) {
            if (!identical(target->row[i], definition(x[i], divisor, shift, offset, k_mask, b_mask, i)))
              mismatch = i;
          }
          check(mismatch == n, "logits",
                "n=%zu T=%g s=%g o=%g keep=%d bias=%d in place=%d: differs at [%zu] (x=%g)", n,
                divisor, shift, offset, masks == 1, masks == 2, in_place, mismatch,
                mismatch < n ? x[mismatch] : 0.0f);
          check(sentinels_intact(target), "logits", "n=%zu T=%g wrote outside the row", n, divisor);
          free(in.base);
          free(out.base);
        }
      }
    }
    free(x);
    free(bias);
    free(keep);
  }
}
