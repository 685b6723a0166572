#!/usr/bin/env bash
# Runs focused parts of the test suite under sanitizers, built without SwiftPM (which would
# build every target of the package again per sanitizer: minutes each):
#   address: AddressSanitizer on the library and UndefinedBehaviorSanitizer on its C kernels
#            (-fno-sanitize-recover: UB traps; the build the kernel fuzzer uses), running
#            Tests/SoftmaxKernelsTests (every kernel of every kernel set, every tail and
#            misalignment) and the special-value, threading and concurrency suites of
#            Tests/SoftmaxTests;
#   thread:  ThreadSanitizer on the library and its C kernels, running the threading and
#            concurrency suites (the worker pool, Engine/WorkerPool.swift).
# A few slow tests are skipped (see `skip` below). SANITIZER_BUILD names a folder to keep the
# sanitized library builds in between runs (default: a temporary one).
# The library is optimized (-O, as users build it), the tests are debug builds (-DDEBUG
# sizes). `sanitize.sh address` or `sanitize.sh thread` runs one. A finding stops the run
# with the sanitizer's report and a non-zero exit. Prints each run's Swift Testing summary.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizers=${1:-address thread}
# More arguments go to the test executables (e.g. --filter ConcurrencyStress).
test_options=("${@:2}")
work=$(mktemp -d)
# A failed run stops the ThreadSanitizer build it started beside the others.
trap 'kill "${thread_build:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# The Swift runtime's crash backtracer fights the sanitizers for the signal handlers.
export SWIFT_BACKTRACE=enable=no
# shellcheck source=scripts/swiftc-library.sh
source scripts/swiftc-library.sh

ubsan="-fsanitize=undefined -fno-sanitize-recover=all"

# A program with undefined behavior, built with the kernels' UBSan flags, must die: otherwise
# a finding would only print a warning and CI would pass.
clang $ubsan -fsanitize=address scripts/sanitize/ub-canary.c -o "$work/ub-canary"
if "$work/ub-canary" >"$work/ub-canary.log" 2>&1; then
  cat "$work/ub-canary.log"
  echo "sanitize.sh: UBSan did not trap on the canary's undefined behavior" >&2
  exit 1
fi
echo "UBSan traps: $(grep -m 1 -o 'runtime error: .*' "$work/ub-canary.log")"

thread_library() { swiftc_library "${SANITIZER_BUILD:-$work}/thread" "-O1 -fsanitize=thread" -O -sanitize=thread; }
# The ThreadSanitizer build runs beside the AddressSanitizer build and tests: a whole-module
# compile keeps one core busy, and CI has two.
if [[ " $sanitizers " == *" thread "* ]]; then
  thread_library >"$work/thread-build.log" 2>&1 &
  thread_build=$!
fi

for sanitizer in $sanitizers; do
  started=$SECONDS
  case $sanitizer in
    address)
      swiftc_asan_library "$work"
      out=$asan_library
      kernel_tests=(Tests/SoftmaxKernelsTests/*.swift)
      softmax_tests=(SpecialValueTests ThreadingTests ConcurrencyStressTests)
      # Left out, for time (each 10-100 s here): accuracy on long ramps and sorted rows,
      # whose kernels and lengths the other tests and the kernel fuzzer already run, and
      # thread-count determinism up to 2^20 elements, whose chunk boundaries the fuzzer's long
      # rows and the other threading tests cross.
      skip='ThreadingTests/deterministic|OnlineKernelTests/(ramps|sortedAndShifted)'
      ;;
    thread)
      wait "$thread_build" || {
        cat "$work/thread-build.log"
        exit 1
      }
      thread_library # sets swiftc_module_flags; the build is done
      out="${SANITIZER_BUILD:-$work}/thread"
      kernel_tests=()
      softmax_tests=(ThreadingTests ConcurrencyStressTests)
      # Thread-count determinism on rows up to 2^20 takes minutes under TSan; the pool's
      # synchronization is the same for every length, and the other tests use it.
      skip='ThreadingTests/deterministic'
      ;;
    *)
      echo "sanitize.sh: unknown sanitizer '$sanitizer' (address or thread)" >&2
      exit 2
      ;;
  esac
  # The test modules go beside the library's, which another script may reuse.
  tests_out="$work/tests-$sanitizer"
  mkdir -p "$tests_out/Modules"
  tests=(-sanitize="$sanitizer" "${swiftc_module_flags[@]}" -I "$tests_out/Modules" -Onone -DDEBUG -wmo -c)
  swiftc "${tests[@]}" -module-name _SoftmaxTestSupport \
    -emit-module-path "$tests_out/Modules/_SoftmaxTestSupport.swiftmodule" \
    Tests/_SoftmaxTestSupport/*.swift -o "$tests_out/_SoftmaxTestSupport.o"
  if [ ${#kernel_tests[@]} -gt 0 ]; then
    swiftc "${tests[@]}" -module-name SoftmaxKernelsTests "${kernel_tests[@]}" \
      -o "$tests_out/SoftmaxKernelsTests.o" \
      -emit-module-path "$tests_out/Modules/SoftmaxKernelsTests.swiftmodule"
  fi
  files=(Tests/SoftmaxTests/Helpers.swift)
  for name in "${softmax_tests[@]}"; do files+=("Tests/SoftmaxTests/$name.swift"); done
  swiftc "${tests[@]}" -module-name SoftmaxTests "${files[@]}" -o "$tests_out/SoftmaxTests.o" \
    -emit-module-path "$tests_out/Modules/SoftmaxTests.swiftmodule"
  swiftc -sanitize="$sanitizer" -parse-as-library -module-name SanitizedTestRunner \
    -module-cache-path "$tests_out/ModuleCache" scripts/sanitize/TestRunner.swift "$out"/obj/*.o "$tests_out"/*.o -o "$tests_out/tests" 2>&1 |
    { grep -v 'Cannot export local symbol' || true; }
  echo "built the $sanitizer-sanitized tests in $((SECONDS - started)) s"
  started=$SECONDS
  ASAN_OPTIONS=halt_on_error=1 TSAN_OPTIONS=halt_on_error=1 "$tests_out/tests" --skip "$skip" "${test_options[@]}"
  echo "ran the $sanitizer-sanitized tests in $((SECONDS - started)) s"
done
