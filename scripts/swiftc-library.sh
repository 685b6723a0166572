# Sourced by scripts/fuzz.sh and scripts/sanitize.sh (from the repository's root): compiles
# the library (the C kernels, SoftmaxKernels, Softmax) with swiftc and clang directly, with
# sanitizer flags, into a folder of objects and modules that a driver or a test runner links.
# Why not SwiftPM: `swift build --sanitize=...` builds every target of the package (the tool,
# the benchmark, ArgumentParser) and cannot link a libFuzzer executable; this builds the
# three library modules only, in about a minute on two cores.

# swiftc_library OUT CFLAGS SWIFTFLAGS...: CFLAGS is one string of clang flags for the C
# kernels (sanitizers, -O); SWIFTFLAGS go to both swiftc invocations (sanitizers, -O or
# -Onone). Leaves OUT/obj/*.o, OUT/Modules/*.swiftmodule and OUT/module.modulemap;
# swiftc_module_flags (set here) are what a module that imports the library needs. OUT is
# reused when it holds a build of the same sources, flags and compiler (OUT/stamp), so that
# the fuzzer and the AddressSanitizer tests of one CI run share their build.
swiftc_library() {
  local out=$1 cflags=$2
  shift 2
  local root include stamp
  root=$(pwd -P)
  include="$root/Sources/_SoftmaxCKernels/include"
  swiftc_module_flags=(-parse-as-library -swift-version 6 -package-name swift_softmax
    -I "$out/Modules" -Xcc "-fmodule-map-file=$out/module.modulemap" -Xcc -I -Xcc "$include"
    -module-cache-path "$out/ModuleCache" -g)
  stamp=$({
    echo "$root $cflags $*"
    swiftc --version 2>&1
    find Sources/_SoftmaxCKernels Sources/SoftmaxKernels Sources/Softmax -type f | sort | xargs cat
  } | sha256sum)
  if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ]; then
    echo "reusing the library build in $out"
    return
  fi
  rm -rf "$out"
  mkdir -p "$out/obj" "$out/Modules"
  # The module map SwiftPM generates for a C target with an umbrella header of its name.
  printf 'module _SoftmaxCKernels {\n  umbrella header "%s/_SoftmaxCKernels.h"\n  export *\n}\n' \
    "$include" >"$out/module.modulemap"
  local c
  for c in Sources/_SoftmaxCKernels/*/*.c; do
    # shellcheck disable=SC2086 # cflags is a list of flags
    clang -g -fno-omit-frame-pointer $cflags -I "$include" -c "$c" \
      -o "$out/obj/$(basename "$c").o"
  done
  local module
  for module in SoftmaxKernels Softmax; do
    swiftc "${swiftc_module_flags[@]}" "$@" -module-name "$module" -wmo -c \
      -emit-module-path "$out/Modules/$module.swiftmodule" -o "$out/obj/$module.o" \
      $(find "Sources/$module" -name '*.swift' | sort)
  done
  echo "$stamp" >"$out/stamp"
}

# The library as scripts/fuzz.sh's kernel fuzzer and scripts/sanitize.sh's AddressSanitizer
# tests both use it: ASan everywhere, UBSan (trapping) on the C kernels, libFuzzer's coverage
# (a test executable without libFuzzer gets the ASan runtime's empty coverage callbacks), in
# SANITIZER_BUILD (default: a folder of the caller's temporary one, $2).
swiftc_asan_library() {
  swiftc_library "${SANITIZER_BUILD:-$1}/asan-fuzzer" \
    "-O2 -fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all" \
    -O -sanitize=fuzzer,address
  asan_library="${SANITIZER_BUILD:-$1}/asan-fuzzer"
}
