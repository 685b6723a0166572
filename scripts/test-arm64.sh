#!/usr/bin/env bash
# Cross-compiles the NEON kernels (Sources/_SoftmaxCKernels/arm) for aarch64 with the C checks
# of scripts/arm64 and runs them under qemu-aarch64: every kernel against Double references
# (lengths 0…70 and long rows, misalignment, special values). The kernels are compiled by
# clang, as SwiftPM compiles them, at -O0 (a debug build) and -O2 (a release build); the
# checks themselves with -ffp-contract=off, so their references round every operation.
# The aarch64 glibc linker and libraries come from Debian's gcc-aarch64-linux-gnu and
# libc6-dev-arm64-cross, qemu-aarch64 from qemu-user (.ci/run installs them); this script
# installs nothing. Exits non-zero, naming the kernel and input, on any violation.
# Usage: scripts/test-arm64.sh [a copy of Sources/_SoftmaxCKernels to test instead]
set -euo pipefail
cd "$(dirname "$0")/.."

kernels=${1:-Sources/_SoftmaxCKernels}
for tool in clang aarch64-linux-gnu-gcc qemu-aarch64; do
  command -v "$tool" > /dev/null || {
    echo "test-arm64.sh: $tool not found (apt-get install gcc-aarch64-linux-gnu" \
      "libc6-dev-arm64-cross qemu-user; clang comes with the Swift toolchain)" >&2
    exit 1
  }
done

sysroot=/usr/aarch64-linux-gnu
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cflags=(--target=aarch64-linux-gnu -isystem "$sysroot/include" -std=gnu11 -Wall -Wextra -Werror
  -I "$kernels/include")

# Every C file of the module must compile for aarch64 (the x86 files to nothing), and the arm
# files to nothing on x86-64, as SwiftPM compiles every file of the target on both (warnings
# are fatal only for the NEON files, compiled below).
for file in "$kernels"/*/*.c; do
  clang --target=aarch64-linux-gnu -isystem "$sysroot/include" -std=gnu11 -I "$kernels/include" \
    -O0 -c "$file" -o "$work/any.o"
  clang --target=x86_64-linux-gnu -std=gnu11 -I "$kernels/include" -c "$file" -o "$work/x86.o"
  case $file in
  */arm/*)
    if nm "$work/x86.o" | grep -q ' T '; then
      echo "test-arm64.sh: $file defines functions on x86-64" >&2
      exit 1
    fi
    ;;
  esac
done

for level in -O0 -O2; do
  clang "${cflags[@]}" "$level" -c "$kernels/arm/neon_kernels.c" -o "$work/kernels$level.o"
  clang "${cflags[@]}" -O1 -ffp-contract=off -I scripts/arm64 \
    -c scripts/arm64/neon_kernel_check.c -o "$work/check.o"
  aarch64-linux-gnu-gcc -static "$work/kernels$level.o" "$work/check.o" -lm -o "$work/check$level"
  echo "NEON kernels compiled with clang $level, run under qemu-aarch64:"
  qemu-aarch64 -L "$sysroot" "$work/check$level"
done
