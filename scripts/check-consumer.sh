#!/usr/bin/env bash
# Proves that swift-softmax works for an ordinary versioned consumer (issue 4, "Prove it"):
#   1. clones the repository's committed HEAD into a temporary folder and tags it locally
#      (SOFTMAX_CHECK_TAG, default 9.9.9), so that it can be depended on by version;
#   2. builds Examples/ConsumerCheck (from the working tree) against that clone with
#      `.package(url: "file://…", from: tag)` and a plain `swift build -c release`: no
#      -Xswiftc, no unsafe flags, exactly what a user's package gets;
#   3. runs it: the kernel set it reports must be the widest this CPU's /proc/cpuinfo flags
#      allow, SOFTMAX_ISA must switch it, and every set must pass the consumer's check
#      against a Double reference;
#   4. disassembles the consumer's binary and checks that the AVX-512 kernels
#      (softmax_*_avx512_*) use zmm FMAs and vscalefps, and that the AVX2 kernels
#      (softmax_*_avx2_*) use ymm FMAs and nothing that needs AVX-512; prints the counts.
# Leaves the working tree alone; everything it makes is removed on exit. Prints
# `consumer check: OK` last on success, or one `consumer check: FAILED: reason` line.
# Needs git, the Swift toolchain, objdump (binutils) and awk. Takes about 2-3 minutes on
# 2 cores (a release build of the library from scratch).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
tag="${SOFTMAX_CHECK_TAG:-9.9.9}"
[[ "$tag" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || {
  echo "consumer check: FAILED: SOFTMAX_CHECK_TAG '$tag' is not a version like 9.9.9" >&2
  exit 1
}
started=$SECONDS

fail() {
  echo "consumer check: FAILED: $*" >&2
  exit 1
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/softmax-consumer.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# SwiftPM leaves lock files named after the scratch and cache paths in $TMPDIR; keep them in
# the folder that is removed.
mkdir "$tmp/tmpdir"
export TMPDIR="$tmp/tmpdir"

# --- 1. A tagged copy of the committed HEAD (uncommitted library edits are not part of it).
git clone --quiet "$repo" "$tmp/swift-softmax" || fail "git clone of $repo"
git -C "$tmp/swift-softmax" tag "$tag" || fail "cannot tag the clone with $tag"
echo "library: $(git -C "$tmp/swift-softmax" log -1 --format='%h %s') (tagged $tag locally)"

# --- 2. The consumer, built as a user would build it. Its manifest reads the dependency's URL
# and version from the environment; a private SwiftPM cache keeps the temporary repository
# out of ~/.cache.
[[ -f "$repo/Examples/ConsumerCheck/Package.swift" ]] || fail "Examples/ConsumerCheck is missing"
cp -R "$repo/Examples/ConsumerCheck" "$tmp/consumer"
rm -rf "$tmp/consumer/.build" "$tmp/consumer/.swiftpm"
export SOFTMAX_PACKAGE_URL="file://$tmp/swift-softmax"
export SOFTMAX_PACKAGE_VERSION="$tag"
build=(swift build -c release --package-path "$tmp/consumer" --scratch-path "$tmp/build"
  --cache-path "$tmp/cache")
echo "building: ${build[*]}"
"${build[@]}" >"$tmp/build.log" 2>&1 || {
  tail -n 30 "$tmp/build.log" >&2
  fail "swift build -c release of the consumer failed (log above)"
}
resolved="$(grep -o '"version" *: *"[^"]*"' "$tmp/consumer/Package.resolved" 2>/dev/null || true)"
grep -q "\"$tag\"" <<<"$resolved" || fail "the consumer did not resolve swift-softmax $tag"
bin="$("${build[@]}" --show-bin-path)/ConsumerCheck"
[[ -x "$bin" ]] || fail "no consumer binary at $bin"
echo "built in $((SECONDS - started)) s, resolved swift-softmax $tag by version"

# --- 3. Run it: default selection, then each set forced by SOFTMAX_ISA.
run_consumer() { # $1: value of SOFTMAX_ISA, empty for none; prints the consumer's output
  local out
  if [[ -z "$1" ]]; then
    out="$(env -u SOFTMAX_ISA "$bin" 2>&1)" || { echo "$out" >&2; return 1; }
  else
    out="$(SOFTMAX_ISA="$1" "$bin" 2>&1)" || { echo "$out" >&2; return 1; }
  fi
  echo "$out"
}
selected_of() { sed -n 's/^selected kernel set: //p' <<<"$1"; }

flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has_flag() { [[ "$flags" == *" $1 "* ]]; }
# The library's own criterion (cpuid + xgetbv); Linux drops these flags from /proc/cpuinfo
# when the kernel does not save the wider registers, so the flags tell the same story.
expected=portable
if [[ "$(uname -m)" == x86_64 ]]; then
  if has_flag avx2 && has_flag fma; then expected=avx2; fi
  if has_flag avx512f && has_flag avx512dq && has_flag avx512vl && has_flag fma; then
    expected=avx512
  fi
fi

out="$(run_consumer "")" || fail "the consumer's softmax check failed with the default kernels"
echo "$out" | sed 's/^/  /'
selected="$(selected_of "$out")"
[[ "$selected" == "$expected" ]] ||
  fail "selected kernel set is '$selected', but this CPU's flags call for '$expected'"
echo "default selection: $selected (expected from /proc/cpuinfo: $expected)"

forced_sets=(portable)
case "$expected" in
  avx512) forced_sets=(avx2 portable avx512) ;;
  avx2) forced_sets=(avx2 portable) ;;
esac
for isa in "${forced_sets[@]}"; do
  out="$(run_consumer "$isa")" || fail "the consumer's softmax check failed with SOFTMAX_ISA=$isa"
  selected="$(selected_of "$out")"
  [[ "$selected" == "$isa" ]] || fail "SOFTMAX_ISA=$isa selected '$selected'"
  echo "SOFTMAX_ISA=$isa: selected $selected, $(grep '^max relative error' <<<"$out")," \
    "$(sed -n 's/^kernel path: //p' <<<"$out")"
done

# --- 4. What the C kernels compiled to, in the binary the consumer actually ships.
if [[ "$(uname -m)" != x86_64 ]]; then
  echo "disassembly check skipped: not x86_64"
else
  command -v objdump >/dev/null || fail "objdump not found (install binutils)"
  objdump -d --no-show-raw-insn "$bin" >"$tmp/disasm.txt" || fail "objdump -d failed"
  # One row per kernel: its instructions, and how many of them use zmm/ymm registers, are
  # packed-single FMAs on zmm/ymm, vscalefps, non-temporal stores (zmm/ymm), masked (EVEX
  # opmask) operations, and ymm16-31 (EVEX-only registers).
  awk '
    /^[0-9a-f]+ <[^>]+>:$/ {
      fn = $2; gsub(/[<>:]/, "", fn)
      if (fn ~ /^softmax_[a-z0-9_]*_avx(512|2)_/) order[++n] = fn; else fn = ""
      next
    }
    fn == "" || !/^ +[0-9a-f]+:\t/ { next }
    {
      insn[fn]++
      zmm = /%zmm/; ymm = /%ymm/
      fma = /\tvfn?m(add|sub)[0-9]*ps /
      zmmc[fn] += zmm; ymmc[fn] += ymm
      fmaz[fn] += fma && zmm; fmay[fn] += fma && ymm && !zmm
      scalef[fn] += /\tvscalefps /
      ntz[fn] += /\tvmovntps / && zmm; nty[fn] += /\tvmovntps / && ymm && !zmm
      masked[fn] += /%k[0-7]/
      hiy[fn] += /%ymm(1[6-9]|2[0-9]|3[01])/
    }
    END {
      for (i = 1; i <= n; i++) {
        f = order[i]
        printf "%s %d %d %d %d %d %d %d %d %d %d\n", f, insn[f], zmmc[f], ymmc[f], fmaz[f],
          fmay[f], scalef[f], ntz[f], nty[f], masked[f], hiy[f]
      }
    }' "$tmp/disasm.txt" >"$tmp/counts.txt"

  header="$tmp/swift-softmax/Sources/_SoftmaxCKernels/include/_SoftmaxCKernels.h"
  for isa in avx512 avx2; do
    declared="$(grep -oE "softmax_[a-z0-9_]*_${isa}_[a-z0-9_]*\(" "$header" | sort -u | wc -l)"
    found="$(grep -cE "^softmax_[a-z0-9_]*_${isa}_" "$tmp/counts.txt" || true)"
    [[ "$found" -eq "$declared" ]] ||
      fail "$found $isa kernels in the binary, $declared declared in _SoftmaxCKernels.h"
  done

  echo
  echo "Disassembly of the consumer's release binary (objdump -d), instructions per kernel:"
  echo
  echo "| kernel | instructions | FMA zmm | vscalefps | vmovntps zmm | FMA ymm | vmovntps ymm |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  while read -r f total _ _ fz fy sc nz ny _ _; do
    echo "| \`$f\` | $total | $fz | $sc | $nz | $fy | $ny |"
  done < <(grep -E '_avx512_' "$tmp/counts.txt"; grep -E '_avx2_' "$tmp/counts.txt")
  echo

  # The AVX-512 set: every kernel works on zmm registers; those that compute exp use zmm FMAs;
  # the set scales by powers of two with vscalefps.
  read -r a512_fma a512_scalef < <(awk '$1 ~ /_avx512_/ { f += $5; s += $7 } END { print f+0, s+0 }' \
    "$tmp/counts.txt")
  while read -r f total zmm _ fz _; do
    [[ "$zmm" -gt 0 ]] || fail "$f uses no zmm register"
    if [[ "$f" =~ (twopass|sumexp|expscale) ]]; then
      [[ "$fz" -gt 0 ]] || fail "$f computes exp but has no zmm FMA"
    fi
  done < <(grep -E '^softmax_[a-z0-9_]*_avx512_' "$tmp/counts.txt")
  [[ "$a512_fma" -gt 0 ]] || fail "no zmm FMA (vfmadd…ps/vfnmadd…ps) in the AVX-512 kernels"
  [[ "$a512_scalef" -gt 0 ]] || fail "no vscalefps in the AVX-512 kernels"

  # The AVX2 set: ymm FMAs, and nothing a CPU without AVX-512 would fault on (zmm, opmask
  # registers, ymm16-31, vscalefps).
  read -r a2_fma < <(awk '$1 ~ /_avx2_/ { f += $6 } END { print f+0 }' "$tmp/counts.txt")
  while read -r f total zmm ymm _ fy sc _ _ masked hiy; do
    [[ "$ymm" -gt 0 ]] || fail "$f uses no ymm register"
    [[ "$zmm" -eq 0 && "$sc" -eq 0 && "$masked" -eq 0 && "$hiy" -eq 0 ]] ||
      fail "$f contains AVX-512 instructions (zmm $zmm, vscalefps $sc, opmask $masked, ymm16+ $hiy)"
    if [[ "$f" =~ (twopass|sumexp|expscale) ]]; then
      [[ "$fy" -gt 0 ]] || fail "$f computes exp but has no ymm FMA"
    fi
  done < <(grep -E '^softmax_[a-z0-9_]*_avx2_' "$tmp/counts.txt")
  [[ "$a2_fma" -gt 0 ]] || fail "no ymm FMA in the AVX2 kernels"
  echo "AVX-512 kernels: $a512_fma zmm FMAs, $a512_scalef vscalefps; AVX2 kernels: $a2_fma ymm FMAs, no AVX-512 instructions"
fi

echo "took $((SECONDS - started)) s"
echo "consumer check: OK"
