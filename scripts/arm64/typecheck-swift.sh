#!/usr/bin/env bash
# Type-checks the library's Swift modules (SoftmaxKernels, Softmax) for arm64 Linux on an
# x86-64 machine, where `swift build` cannot target arm64: the code under `#if arch(arm64)`
# (the NEON kernel table, KernelISA.neon) is otherwise compiled by nobody here. The toolchain
# ships the standard library for x86-64 only, but as textual interfaces: this script copies
# them with the target renamed, builds the `Swift` module from its interface for aarch64
# (function bodies skipped; two Float80 bodies that call x86-only C shims are neutralized, as
# Float80 does not exist on arm64 anyway), and type-checks against the aarch64 glibc headers
# of libc6-dev-arm64-cross. Type-checking only: nothing is linked or run. The prepared
# standard library is cached in .build/arm64-typecheck (about a minute to build once).
# With `--assembly FILE` it writes SoftmaxKernels' optimized aarch64 assembly to FILE instead
# (for scripts/arm64/mca.sh --portable): that needs the standard library's inlinable bodies,
# so `Swift` is then built with them, in .build/arm64-assembly (a few minutes once).
set -euo pipefail
cd "$(dirname "$0")/../.."

assembly=
if [ "${1:-}" = --assembly ]; then assembly=$(realpath -m "$2"); fi
root=$PWD
toolchain=$(dirname "$(dirname "$(command -v swiftc)")")/lib/swift
cache=$root/.build/arm64-typecheck
skip_bodies=(-experimental-skip-all-function-bodies)
if [ -n "$assembly" ]; then
  cache=$root/.build/arm64-assembly
  skip_bodies=(-O)
fi
resource=$cache/resource
target=aarch64-unknown-linux-gnu
sysroot=/usr/aarch64-linux-gnu
[ -d "$sysroot/include" ] || { echo "typecheck-swift.sh: needs libc6-dev-arm64-cross" >&2; exit 1; }

if [ ! -f "$resource/linux/Swift.swiftmodule/$target.swiftmodule" ]; then
  rm -rf "$cache"
  mkdir -p "$resource/linux/aarch64"
  for entry in "$toolchain"/*; do
    [ "$(basename "$entry")" = linux ] || ln -s "$entry" "$resource/"
  done
  for entry in "$toolchain"/linux/*; do
    name=$(basename "$entry")
    interface=$entry/x86_64-unknown-linux-gnu.swiftinterface
    if [ -f "$interface" ]; then
      mkdir "$resource/linux/$name"
      sed 's/x86_64-unknown-linux-gnu/'"$target"'/g' "$interface" \
        > "$resource/linux/$name/$target.swiftinterface"
    elif [ "$name" != x86_64 ]; then
      ln -s "$entry" "$resource/linux/"
    fi
  done
  cp "$toolchain"/linux/x86_64/{glibc.modulemap,SwiftGlibc.h} "$resource/linux/aarch64/"
  swift_interface=$resource/linux/Swift.swiftmodule/$target.swiftinterface
  sed -i 's/self = _stdlib_remainderl(self, other)/self = self + 0/; s/self = _stdlib_squareRootl(self)/self = self + 0/' \
    "$swift_interface"
  swiftc -frontend -compile-module-from-interface -target "$target" -resource-dir "$resource" \
    -module-name Swift -parse-stdlib "${skip_bodies[@]}" "$swift_interface" \
    -o "$resource/linux/Swift.swiftmodule/$target.swiftmodule"
fi

mkdir -p "$cache/include" "$cache/modules"
printf 'module _SoftmaxCKernels {\n  umbrella "%s"\n  export *\n}\n' \
  "$root/Sources/_SoftmaxCKernels/include" > "$cache/include/module.modulemap"
flags=(-target "$target" -resource-dir "$resource" -module-cache-path "$cache/module-cache"
  -sdk "$sysroot" -Xcc -isystem -Xcc "$sysroot/include" -I "$cache/modules"
  -Xcc -fmodule-map-file="$cache/include/module.modulemap" -package-name swift_softmax
  -swift-version 6)
if [ -n "$assembly" ]; then
  swiftc "${flags[@]}" -O -wmo -parse-as-library -module-name SoftmaxKernels -S \
    $(find "$root/Sources/SoftmaxKernels" -name '*.swift' | sort) -o "$assembly"
  exit 0
fi
swiftc "${flags[@]}" -emit-module -module-name SoftmaxKernels \
  -emit-module-path "$cache/modules/SoftmaxKernels.swiftmodule" \
  $(find "$root/Sources/SoftmaxKernels" -name '*.swift' | sort)
swiftc "${flags[@]}" -typecheck -module-name Softmax \
  $(find "$root/Sources/Softmax" -name '*.swift' | sort)
echo "SoftmaxKernels and Softmax type-check for $target"
