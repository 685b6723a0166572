#!/usr/bin/env bash
# Fuzzes the .npy header parser and the text reader with libFuzzer for SECONDS each (default
# 30), starting from the committed seeds in Fuzz/corpus (copied: new inputs stay in a temporary
# folder). The driver and SoftmaxFiles' sources are compiled by swiftc directly, because SwiftPM
# cannot link an executable target built with -sanitize=fuzzer. A crash or a failed property
# stops with libFuzzer's report and the input that caused it, and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
# The Swift runtime's crash backtracer keeps the output pipe open and fights ASan; libFuzzer
# reports crashes itself.
export SWIFT_BACKTRACE=enable=no
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for target in npy text; do
  flags=()
  [ "$target" = text ] && flags=(-D FUZZ_TEXT)
  swiftc -sanitize=fuzzer,address -parse-as-library -O -g -package-name swift_softmax \
    -module-name SoftmaxFilesFuzz "${flags[@]}" Sources/SoftmaxFiles/*.swift Fuzz/FuzzParsers.swift \
    -o "$work/fuzz-$target"
  mkdir -p "$work/corpus-$target"
  cp Fuzz/corpus/$target/* "$work/corpus-$target/"
  echo "fuzzing the $target parser for ${seconds}s"
  status=0
  "$work/fuzz-$target" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$work/" "$work/corpus-$target" >"$work/log-$target" 2>&1 || status=$?
  tail -n 12 "$work/log-$target"
  if [ "$status" -ne 0 ]; then
    echo "fuzz-$target failed (status $status); the crashing input:"
    ls "$work"/crash-* "$work"/leak-* 2>/dev/null | while read -r f; do od -c "$f" | head; cp "$f" .; done
    exit 1
  fi
done
