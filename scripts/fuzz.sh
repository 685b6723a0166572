#!/usr/bin/env bash
# Fuzzes the .npy header parser, the text reader and the kernels (FuzzKernels.swift: every
# algorithm on every kernel set against softmax check's reference and bounds) with libFuzzer
# for SECONDS (default 30; the targets side by side), starting from the committed seeds in
# Fuzz/corpus (copied: new inputs stay in a temporary folder); `fuzz.sh SECONDS kernels` runs
# one target. The drivers and the sources they test are compiled by swiftc directly, because
# SwiftPM cannot link an executable target built with -sanitize=fuzzer; the C kernels also under UBSan, which traps
# (the library build is shared with scripts/sanitize.sh through SANITIZER_BUILD). A crash or a
# failed property stops with libFuzzer's report and a non-zero exit, and the input that caused
# it is copied to FUZZ_ARTIFACTS (default $TMPDIR/swift-softmax-fuzz, or
# /tmp/swift-softmax-fuzz): outside the source tree, so that it is never committed by
# accident. Make it a seed in Fuzz/corpus with a descriptive name (scripts/make-kernel-seeds.py
# for the kernels), and a unit case in Tests/, instead.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
targets=${2:-npy text kernels}
artifacts=${FUZZ_ARTIFACTS:-${TMPDIR:-/tmp}/swift-softmax-fuzz}
mkdir -p "$artifacts"
artifacts=$(cd "$artifacts" && pwd -P)
case "$artifacts/" in
  "$(pwd -P)"/*)
    echo "fuzz.sh: FUZZ_ARTIFACTS=$artifacts is inside the source tree; choose a folder outside it" >&2
    exit 2
    ;;
esac
echo "failing inputs, if any, go to $artifacts"
# The Swift runtime's crash backtracer keeps the output pipe open and fights ASan; libFuzzer
# reports crashes itself.
export SWIFT_BACKTRACE=enable=no
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# shellcheck source=scripts/swiftc-library.sh
source scripts/swiftc-library.sh

build() { # $1: target
  if [ "$1" = kernels ]; then
    swiftc_asan_library "$work"
    # The driver and the reference are not instrumented for coverage: their loops over every
    # output would take most of the time and steer nothing in the library.
    swiftc -sanitize=address "${swiftc_module_flags[@]}" -O -wmo -c -module-name SoftmaxKernelsFuzz \
      Fuzz/FuzzKernels.swift Fuzz/KernelFuzzInput.swift \
      Sources/SoftmaxCheck/{AccuracyBounds,ExactSoftmax,RowMeasurement}.swift -o "$work/driver.o" \
      -emit-module-path "$work/SoftmaxKernelsFuzz.swiftmodule"
    swiftc -sanitize=fuzzer,address "$work/driver.o" "$asan_library"/obj/*.o -o "$work/fuzz-kernels" \
      2>&1 | { grep -v 'Cannot export local symbol' || true; }
    return
  fi
  local flags=()
  [ "$1" = text ] && flags=(-D FUZZ_TEXT)
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name swift_softmax \
    -module-name SoftmaxFilesFuzz "${flags[@]}" Sources/SoftmaxFiles/*.swift Fuzz/FuzzParsers.swift \
    -o "$work/fuzz-$1"
}

# The targets are built side by side, then fuzzed side by side: each fuzzer is one process,
# and -max_total_time is wall time, so on two cores all of them take SECONDS, not one after
# another (each gets a core's share of the runs).
declare -A jobs
for target in $targets; do
  build "$target" >"$work/build-$target.log" 2>&1 &
  jobs[$target]=$!
done
for target in $targets; do
  if ! wait "${jobs[$target]}"; then
    cat "$work/build-$target.log"
    echo "building fuzz-$target failed"
    exit 1
  fi
  { grep -v '^$' "$work/build-$target.log" || true; } | head -n 20
done
for target in $targets; do
  mkdir -p "$work/corpus-$target"
  cp Fuzz/corpus/$target/* "$work/corpus-$target/"
  echo "fuzzing $target for ${seconds}s"
  "$work/fuzz-$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$work/$target-" "$work/corpus-$target" >"$work/log-$target" 2>&1 &
  jobs[$target]=$!
done
failed=0
for target in $targets; do
  status=0
  wait "${jobs[$target]}" || status=$?
  echo "--- fuzz-$target"
  tail -n 12 "$work/log-$target"
  if [ "$status" -ne 0 ]; then
    # The property that failed (a Swift trap's message, a sanitizer's first line), which the
    # tail of a long report may not show.
    grep -m 3 -E 'Fatal error|Precondition failed|runtime error|ERROR: [A-Za-z]+Sanitizer' \
      "$work/log-$target" || true
    echo "fuzz-$target failed (status $status); the input(s) that caused it:"
    for f in "$work/$target"-crash-* "$work/$target"-leak-* "$work/$target"-timeout-* \
      "$work/$target"-oom-* "$work/$target"-slow-unit-*; do
      [ -e "$f" ] || continue
      od -c "$f" | head
      cp "$f" "$artifacts/"
      echo "copied to $artifacts/$(basename "$f")"
    done
    failed=1
  fi
done
exit "$failed"
