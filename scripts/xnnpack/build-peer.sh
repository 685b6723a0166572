#!/usr/bin/env bash
# Builds XNNPACK's f32 softmax microkernels from a user's XNNPACK checkout into a peer
# library for `softmax bench --peer-library` (softmax_peer.h), then checks every kernel this
# CPU supports against Double (check-peer.c) and only then writes OUTPUT.so:
#
#   scripts/xnnpack/build-peer.sh XNNPACK_DIR OUTPUT.so [--ftz]
#
# The kernels are the three variants of XNNPACK's bench/f32-softmax.cc (Three-Pass
# recompute, Three-Pass reload, Two-Pass), each for AVX-512F and AVX2 (peer_adapter.c).
# Nothing of XNNPACK is copied into this repository, and nothing is written into
# XNNPACK_DIR. --ftz makes each run set flush-to-zero + denormals-are-zero, as XNNPACK's
# bench (and the paper) did; without it the caller's floating-point mode applies.
#
# Flags, as XNNPACK's CMake release build compiles microkernels with gcc or clang: -O2
# (its TARGET_COMPILE_OPTIONS for non-Debug builds override CMake's -O3), -DNDEBUG, gnu99
# (CMAKE_C_STANDARD 99, extensions on), and the per-source flags its CMakeLists.txt sets,
# read from XNNPACK_DIR/CMakeLists.txt so they follow the user's revision: -fno-math-errno
# and the stack flags for every microkernel, and the ISA flags of each kernel's list
# (cmake/gen/<isa>_microkernels.cmake: -mavx512f; -mf16c -mfma -mavx2; -mavx -mno-avx2 ...).
#
# CC selects the compiler (default cc). XNNPACK_COMMIT names the revision in the kernels'
# details when XNNPACK_DIR is not a git checkout (e.g. an unpacked archive).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "build-peer: $*" >&2; exit 1; }

ftz=0
positional=()
for argument in "$@"; do
  case "$argument" in
    --ftz) ftz=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) fail "unknown option '$argument' (usage: build-peer.sh XNNPACK_DIR OUTPUT.so [--ftz])" ;;
    *) positional+=("$argument") ;;
  esac
done
((${#positional[@]} == 2)) || fail "usage: build-peer.sh XNNPACK_DIR OUTPUT.so [--ftz]"
xnnpack=${positional[0]}
output=${positional[1]}

[[ $(uname -m) == x86_64 ]] || fail "the XNNPACK peer is x86-64 only (this machine: $(uname -m))"
[[ -d $xnnpack ]] || fail "no such directory '$xnnpack'"
xnnpack=$(cd "$xnnpack" && pwd -P)
for marker in CMakeLists.txt include/xnnpack.h src/xnnpack/common.h cmake/gen; do
  [[ -e $xnnpack/$marker ]] ||
    fail "'$xnnpack' does not look like an XNNPACK source tree (no $marker)"
done
output_dir=$(dirname "$output")
[[ -d $output_dir ]] || fail "no such directory '$output_dir' for $output"
output_dir=$(cd "$output_dir" && pwd -P)
case "$output_dir/" in
  "$xnnpack"/*) fail "OUTPUT.so must be outside the XNNPACK tree ($output)" ;;
esac
cc=${CC:-cc}
command -v "$cc" >/dev/null || fail "no C compiler '$cc' (set CC)"

# The ukernels bench/f32-softmax.cc registers at 75db3c09, with the CMake list each must
# be in: peer_adapter.c's cpuid check assumes exactly these ISAs.
kernels=(
  "src/f32-raddextexp/gen/f32-raddextexp-avx512f-p5-scalef-u144-acc3.c avx512f"
  "src/f32-vscaleextexp/gen/f32-vscaleextexp-avx512f-p5-scalef-u16.c avx512f"
  "src/f32-rminmax/gen/f32-rmax-avx512f-u64-acc4.c avx512f"
  "src/f32-raddexpminusmax/gen/f32-raddexpminusmax-avx512f-p5-scalef-u128-acc4.c avx512f"
  "src/f32-vscaleexpminusmax/gen/f32-vscaleexpminusmax-avx512f-p5-scalef-u16.c avx512f"
  "src/f32-raddstoreexpminusmax/gen/f32-raddstoreexpminusmax-avx512f-rr1-p5-scalef-u64-acc2.c avx512f"
  "src/f32-vbinary/gen/f32-vmulc-avx512f-u32.c avx512f"
  "src/f32-raddextexp/gen/f32-raddextexp-avx2-p5-u96.c avx2"
  "src/f32-vscaleextexp/gen/f32-vscaleextexp-avx2-p5-u32.c avx2"
  "src/f32-rminmax/gen/f32-rmax-avx-u32-acc4.c avx"
  "src/f32-raddexpminusmax/gen/f32-raddexpminusmax-avx2-p5-u96.c avx2"
  "src/f32-vscaleexpminusmax/gen/f32-vscaleexpminusmax-avx2-p5-u24.c avx2"
  "src/f32-raddstoreexpminusmax/gen/f32-raddstoreexpminusmax-avx2-rr1-p5-u32-acc2.c avx2"
  "src/f32-vbinary/gen/f32-vmulc-avx-u16.c avx"
)

# The flags XNNPACK_DIR/CMakeLists.txt appends to the sources of a list for gcc/clang (not
# its MSVC or clang-cl lines): $1 the list, $2 a flag the wanted line contains.
cmake_flags() {
  local line
  line=$(grep -F "SET_PROPERTY(SOURCE \${$1} APPEND_STRING PROPERTY COMPILE_FLAGS" \
           "$xnnpack/CMakeLists.txt" | grep -v -e '-clang:' -e '/arch:' |
           grep -F -e "$2" | head -n 1 || true)
  [[ -n $line ]] || fail "$xnnpack/CMakeLists.txt sets no '$2' flags for \${$1} (an unexpected XNNPACK revision?)"
  line=${line#*COMPILE_FLAGS \"}
  echo "${line%%\"*}"
}

if "$cc" -dM -E -x c /dev/null | grep -q '__clang__'; then
  stack_flags=$(cmake_flags ALL_MICROKERNEL_SRCS -mstack-alignment)
else
  stack_flags=$(cmake_flags ALL_MICROKERNEL_SRCS -mpreferred-stack-boundary)
fi
common_flags="-std=gnu99 -O2 -DNDEBUG -fPIC $(cmake_flags ALL_MICROKERNEL_SRCS -fno-math-errno) $stack_flags"
# XNNPACK's CMake defines XNN_ENABLE_<ISA> for every source; its headers declare a ukernel
# only when its ISA is enabled.
defines="-DXNN_ENABLE_AVX=1 -DXNN_ENABLE_F16C=1 -DXNN_ENABLE_FMA3=1 -DXNN_ENABLE_AVX2=1 -DXNN_ENABLE_AVX512F=1"

commit=unknown
if [[ -n ${XNNPACK_COMMIT-} ]]; then
  [[ $XNNPACK_COMMIT =~ ^[A-Za-z0-9._+-]{1,64}$ ]] ||
    fail "XNNPACK_COMMIT must be 1-64 letters, digits or ._+- (got '$XNNPACK_COMMIT')"
  commit=$XNNPACK_COMMIT
elif top=$(git -C "$xnnpack" rev-parse --show-toplevel 2>/dev/null) &&
     [[ $(cd "$top" && pwd -P) == "$xnnpack" ]]; then
  commit=$(git -C "$xnnpack" rev-parse --short=8 HEAD)
  kernel_paths=()
  for entry in "${kernels[@]}"; do kernel_paths+=("${entry%% *}"); done
  git -C "$xnnpack" diff --quiet HEAD -- "${kernel_paths[@]}" || commit="$commit+modified"
fi

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
# xnnpack.h includes <pthreadpool.h> only for the pthreadpool_t type; a checkout without
# its dependencies downloaded lacks it, so a one-line stand-in is searched last.
mkdir "$workdir/stub"
echo 'typedef struct pthreadpool* pthreadpool_t;' >"$workdir/stub/pthreadpool.h"
includes=(-I "$xnnpack" -idirafter "$workdir/stub")

# Every file and its list first, so a missing one is named before anything compiles.
for entry in "${kernels[@]}"; do
  source=${entry%% *}
  isa=${entry##* }
  [[ -f $xnnpack/$source ]] || fail "missing kernel file $xnnpack/$source"
  grep -qF "$source" "$xnnpack/cmake/gen/${isa}_microkernels.cmake" 2>/dev/null ||
    fail "$source is not in cmake/gen/${isa}_microkernels.cmake (an unexpected XNNPACK revision?)"
done

objects=()
for entry in "${kernels[@]}"; do
  source=${entry%% *}
  isa=${entry##* }
  list="ALL_$(tr '[:lower:]' '[:upper:]' <<<"$isa")_MICROKERNEL_SRCS"
  isa_flags=$(cmake_flags "$list" "-m$isa")
  object="$workdir/$(basename "$source" .c).o"
  # shellcheck disable=SC2086 # the flag strings are word lists
  "$cc" $common_flags $defines $isa_flags "${includes[@]}" \
    -c "$xnnpack/$source" -o "$object" ||
    fail "compiling $xnnpack/$source failed"
  objects+=("$object")
done

# shellcheck disable=SC2086
"$cc" -std=gnu11 -O2 -DNDEBUG -fPIC -Wall -Wextra $defines "${includes[@]}" -I "$here" \
  -DSOFTMAX_PEER_FTZ="$ftz" -DSOFTMAX_PEER_XNNPACK_COMMIT="\"$commit\"" \
  -c "$here/peer_adapter.c" -o "$workdir/peer_adapter.o" || fail "compiling peer_adapter.c failed"
# A fixed soname: gold (clang here) would otherwise record the temporary path.
"$cc" -shared -fPIC -Wl,-soname,softmax-xnnpack-peer.so -o "$workdir/peer.so" \
  "$workdir/peer_adapter.o" "${objects[@]}" -lm ||
  fail "linking the peer library failed"

"$cc" -std=gnu11 -O2 -Wall -Wextra -I "$here" "$here/check-peer.c" -o "$workdir/check-peer" -ldl -lm ||
  fail "compiling check-peer.c failed"
check_args=("$workdir/peer.so")
((ftz)) && check_args+=(--ftz)
"$workdir/check-peer" "${check_args[@]}" >&2 ||
  fail "the library failed its check; $output not written"

# Copied beside OUTPUT.so, then renamed: a reader never sees half a library.
partial="$output_dir/.$(basename "$output").partial.$$"
trap 'rm -rf "$workdir"; rm -f "$partial"' EXIT
cp "$workdir/peer.so" "$partial"
mv -f "$partial" "$output"
echo "build-peer: wrote $output (XNNPACK $commit$( ((ftz)) && echo ', ftz'))" >&2
