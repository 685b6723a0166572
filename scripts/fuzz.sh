#!/usr/bin/env bash
# Fuzzes the .npy header parser and the text reader with libFuzzer for SECONDS each (default
# 30), starting from the committed seeds in Fuzz/corpus (copied: new inputs stay in a temporary
# folder). The driver and SoftmaxFiles' sources are compiled by swiftc directly, because SwiftPM
# cannot link an executable target built with -sanitize=fuzzer. A crash or a failed property
# stops with libFuzzer's report and a non-zero exit, and the input that caused it is copied to
# FUZZ_ARTIFACTS (default $TMPDIR/swift-softmax-fuzz, or /tmp/swift-softmax-fuzz): outside the
# source tree, so that it is never committed by accident. Make it a seed in Fuzz/corpus with a
# descriptive name, and a unit case in Tests/SoftmaxFilesTests, instead.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
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
    echo "fuzz-$target failed (status $status); the input(s) that caused it:"
    for f in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$work"/slow-unit-*; do
      [ -e "$f" ] || continue
      od -c "$f" | head
      cp "$f" "$artifacts/"
      echo "copied to $artifacts/$(basename "$f")"
    done
    exit 1
  fi
done
