// Proof that scripts/sanitize.sh's UBSan flags trap: a signed overflow and a float-to-int
// conversion out of range, the undefined behavior a kernel could have. Built with the flags
// of the C kernels, this program must die on the first one; if it exits 0, UBSan only warns
// (or is off) and a finding in the kernels would not fail CI.
#include <limits.h>
#include <stdio.h>

int main(int argc, char **argv) {
  (void)argv;
  volatile int big = INT_MAX;
  volatile float huge = 1e30f;
  int sum = big + argc;       // argc ≥ 1: overflows
  int converted = (int)huge;  // out of int's range
  printf("UBSan did not trap: %d %d\n", sum, converted);
  return 0;
}
