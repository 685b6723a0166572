#!/usr/bin/env bash
# Times NumPy's and ONNX Runtime's softmax with the method and sizes of `softmax bench`, in a
# throw-away virtual environment, and writes rows in the results.csv format:
#
#   scripts/compare-peers.sh [--output FILE] [--quick] [--sizes LIST] [--hot] [--seed N]
#                            [--repetitions N] [--distribution uniform|normal]
#   swift run -c release softmax bench --merge FILE      # same options, draws both
#
# The venv is deleted on exit; nothing is installed outside it. Pin to a core for steadier
# numbers (taskset -c 1 scripts/compare-peers.sh ...).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
output="bench-results/peers-$(date +%Y-%m-%dT%H-%M-%S).csv"
args=()
while (($#)); do
  case "$1" in
    --output) output="$2"; shift 2 ;;
    --output=*) output="${1#--output=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
python3 -m venv "$workdir/venv"
echo "compare-peers: installing numpy, onnxruntime and onnx into a temporary venv" >&2
"$workdir/venv/bin/pip" install --quiet --disable-pip-version-check numpy onnxruntime onnx
"$workdir/venv/bin/python" "$here/peer_softmax.py" --output "$output" "${args[@]+"${args[@]}"}"
echo "compare-peers: merge with: swift run -c release softmax bench --merge $output" >&2
