#!/usr/bin/env bash
# The speed model of the NEON kernels, on paper: each kernel's hot loop (scripts/arm64/
# hot_loop.py on clang -O2 assembly) through llvm-mca for Apple M-class (apple-m1; LLVM models
# every Apple core with its Cyclone scheduling model) and Neoverse V2, beside the AVX-512
# kernel's loop for Zen 4 (znver4) and Sapphire Rapids (sapphirerapids). Prints a Markdown
# table: instructions and simulated cycles per element. A model of the core alone: no cache
# misses, no memory bandwidth, no frequency. Needs clang (the Swift toolchain's), the aarch64
# glibc headers (libc6-dev-arm64-cross) and llvm-mca 19 (Debian's llvm-19; LLVM 14 has no
# Neoverse V2 model). With --portable, a second table: the portable Swift kernels that arm64
# ran before, compiled for aarch64 by scripts/arm64/typecheck-swift.sh --assembly (their
# sum loops only: the output loops carry the tail's branches inside, which mca cannot weigh).
# Usage: [MCA=llvm-mca binary] scripts/arm64/mca.sh [--portable]
set -euo pipefail
cd "$(dirname "$0")/../.."

mca=${MCA:-$(command -v llvm-mca-19 || echo /usr/lib/llvm-19/bin/llvm-mca)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
include=Sources/_SoftmaxCKernels/include
clang --target=aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include -O2 -S -I "$include" \
  Sources/_SoftmaxCKernels/arm/neon_kernels.c -o "$work/neon.s"
clang --target=x86_64-linux-gnu -O2 -S -I "$include" Sources/_SoftmaxCKernels/x86/avx512_kernels.c \
  -o "$work/avx512.s"

# Simulated cycles per element of one loop: llvm-mca's total cycles over 1000 iterations.
cycles() { # triple cpu loop.s elements
  "$mca" -mtriple="$1" -mcpu="$2" -iterations=1000 "$3" 2> /dev/null |
    awk -v n="$4" '/^Total Cycles:/ { printf "%.3f", $3 / 1000 / n }'
}

# The loop of `function` in `file`, checked against the elements per iteration its name
# promises (vector loads × lanes).
loop() { # file function elements lanes
  python3 scripts/arm64/hot_loop.py "$1" "$2" > "$work/$2.s" 2> "$work/$2.loads"
  local loaded=$(($(cat "$work/$2.loads") * $4))
  if [ "$loaded" != "$3" ]; then
    echo "mca.sh: the loop found in $2 loads $loaded elements, its name says $3" >&2
    exit 1
  fi
  wc -l < "$work/$2.s"
}

echo "| pass | NEON kernel | instr/elt | apple-m1 c/elt | neoverse-v2 c/elt | AVX-512 kernel | instr/elt | znver4 c/elt | sapphirerapids c/elt |"
echo "|---|---|---|---|---|---|---|---|---|"
while read -r pass neon neon_n avx avx_n; do
  neon_instructions=$(loop "$work/neon.s" "$neon" "$neon_n" 4)
  avx_instructions=$(loop "$work/avx512.s" "$avx" "$avx_n" 16)
  printf '| %s | `%s` | %.2f | %s | %s | `%s` | %.2f | %s | %s |\n' "$pass" "$neon" \
    "$(echo "$neon_instructions / $neon_n" | bc -l)" \
    "$(cycles aarch64 apple-m1 "$work/$neon.s" "$neon_n")" \
    "$(cycles aarch64 neoverse-v2 "$work/$neon.s" "$neon_n")" "$avx" \
    "$(echo "$avx_instructions / $avx_n" | bc -l)" \
    "$(cycles x86_64 znver4 "$work/$avx.s" "$avx_n")" \
    "$(cycles x86_64 sapphirerapids "$work/$avx.s" "$avx_n")"
done << 'EOF'
max softmax_max_neon_u16_acc4 16 softmax_max_avx512_u64_acc4 64
two-pass-sum softmax_twopass_sum_neon_u16_acc2 16 softmax_twopass_sum_avx512_u64_acc1 64
two-pass-output softmax_twopass_output_neon_u8 8 softmax_twopass_output_avx512_u32 32
sum-exp softmax_sumexp_neon_u16_acc4 16 softmax_sumexp_avx512_u64_acc4 64
sum-and-store-exp softmax_sumexp_store_neon_u16_acc4 16 softmax_sumexp_store_avx512_u64_acc4 64
exp-scaled-output softmax_expscale_neon_u8 8 softmax_expscale_avx512_u32 32
scale softmax_scale_neon_u16 16 softmax_scale_avx512_u64 64
online-sum softmax_online_sum_neon_u16_acc8 16 softmax_online_sum_avx512_u64_acc4 64
EOF

[ "${1:-}" = --portable ] || exit 0
bash scripts/arm64/typecheck-swift.sh --assembly "$work/portable.s"
echo
echo "| pass | portable Swift kernel (SIMD16<Float>) | instr/elt | apple-m1 c/elt | neoverse-v2 c/elt |"
echo "|---|---|---|---|---|"
while read -r pass name symbol n; do
  instructions=$(loop "$work/portable.s" "$symbol" "$n" 4)
  printf '| %s | `%s` | %.2f | %s | %s |\n' "$pass" "$name" "$(echo "$instructions / $n" | bc -l)" \
    "$(cycles aarch64 apple-m1 "$work/$symbol.s" "$n")" \
    "$(cycles aarch64 neoverse-v2 "$work/$symbol.s" "$n")"
done << 'EOF'
max max_simd16_acc4 $s14SoftmaxKernels15max_simd16_acc4_5countSfSPySfG_SitF 64
two-pass-sum twoPassSumBlock_simd16_acc2 $s14SoftmaxKernels27twoPassSumBlock_simd16_acc2_5countAA09ScaledExpE0VSPySfG_SitF 32
sum-exp sumExp_simd16_acc2 $s14SoftmaxKernels18sumExp_simd16_acc2_5count5shiftSdSPySfG_SiSftF 32
sum-and-store-exp sumAndStoreExp_simd16_acc2 $s14SoftmaxKernels26sumAndStoreExp_simd16_acc2__5count5shiftSdSPySfG_SpySfGSiSftF 32
scale scale_simd16 $s14SoftmaxKernels12scale_simd16__5count0C09thresholdySPySfG_SpySfGSiS2ftF 16
online-sum onlineSumBlock_simd16_acc2 $s14SoftmaxKernels26onlineSumBlock_simd16_acc2_5countAA06OnlineD0VSPySfG_SitF 32
EOF
