#include "_SoftmaxCKernels.h"

#if defined(__x86_64__)
#include <cpuid.h>

static uint64_t read_xcr0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

// AMD Zen and later (family 0x17 up: the family field plus the extended family): their
// floating-point units produce subnormal results without a microcode assist.
static int fast_subnormals(unsigned int leaf1_eax) {
  unsigned int max_leaf, ebx, ecx, edx;
  if (!__get_cpuid(0, &max_leaf, &ebx, &ecx, &edx)) return 0;
  // "AuthenticAMD": ebx "Auth", edx "enti", ecx "cAMD", little-endian.
  if (ebx != 0x68747541 || edx != 0x69746e65 || ecx != 0x444d4163) return 0;
  unsigned int family = (leaf1_eax >> 8) & 0xF;
  if (family == 0xF) family += (leaf1_eax >> 20) & 0xFF;
  return family >= 0x17;
}

uint32_t softmax_x86_cpu_features(void) {
  unsigned int eax, ebx, ecx, edx;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
  const uint32_t subnormals = fast_subnormals(eax) ? SOFTMAX_X86_FAST_SUBNORMALS : 0;
  const int has_fma = (ecx >> 12) & 1;
  const int has_f16c = (ecx >> 29) & 1;
  const int has_osxsave = (ecx >> 27) & 1;
  const int has_avx = (ecx >> 28) & 1;
  if (!has_osxsave || !has_avx) return 0;
  const uint64_t xcr0 = read_xcr0();
  const int os_ymm = (xcr0 & 0x6) == 0x6;      // SSE and AVX state
  const int os_zmm = (xcr0 & 0xE6) == 0xE6;    // plus opmask and both zmm halves
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
  const int has_avx2 = (ebx >> 5) & 1;
  const int has_avx512f = (ebx >> 16) & 1;
  const int has_avx512dq = (ebx >> 17) & 1;
  const int has_avx512vl = (ebx >> 31) & 1;
  uint32_t features = subnormals;
  if (os_ymm && has_avx2 && has_fma) features |= SOFTMAX_X86_AVX2_FMA;
  if (os_ymm && has_f16c) features |= SOFTMAX_X86_F16C;
  if (os_zmm && has_avx512f && has_avx512dq && has_avx512vl && has_fma)
    features |= SOFTMAX_X86_AVX512;
  return features;
}
#else
uint32_t softmax_x86_cpu_features(void) { return 0; }
#endif
