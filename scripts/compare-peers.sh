#!/usr/bin/env bash
# Times NumPy's and ONNX Runtime's softmax with the method and sizes of `softmax bench`, in a
# throw-away virtual environment, and writes rows in the results.csv format:
#
#   scripts/compare-peers.sh [--output FILE] [--quick] [--sizes LIST] [--hot] [--seed N]
#                            [--repetitions N] [--distribution uniform|normal]
#   swift run -c release softmax bench --merge FILE      # same options, draws both
#
# With `training` first, it times the training operations of JAX and ONNX Runtime instead
# (scripts/peer_training.py: softmax and log-softmax backward, cross-entropy value and
# gradient, logsumexp, over the last axis of shaped arrays), with jax installed as well:
#
#   scripts/compare-peers.sh training [--output FILE] [--quick] [--shapes 8x128256,...]
#                            [--operation backward,log-backward,cross-entropy,logsumexp]
#                            [--peers jax,onnxruntime] [--repetitions N] [--min-sample-ms MS]
#                            [--seed N] [--distribution uniform|normal]
#
# With `sampling` first, it times token sampling in llama.cpp (its sampler chain through
# llama-cpp-python, which builds llama.cpp from source: a few minutes) and NumPy
# (scripts/peer_sampling.py), on the chains of `softmax bench --operation sampling`:
#
#   scripts/compare-peers.sh sampling [--output FILE] [--shapes 1x128256,1x256000]
#                            [--chains top-k,full,top-p,min-p] [--peers llama.cpp,numpy]
#                            [--repetitions N] [--min-sample-ms MS] [--distribution normal|uniform]
#
# With `gating` first, it times mixture-of-experts router gating in NumPy and JAX
# (scripts/peer_gating.py: softmax over the experts, top k, renormalized; jax.lax.top_k):
#
#   scripts/compare-peers.sh gating [--output FILE] [--shapes 4096x64,...] [--k 8]
#                            [--peers numpy,jax] [--repetitions N] [--min-sample-ms MS]
#                            [--seed N] [--distribution normal|uniform]
#   swift run -c release softmax bench --operation gating --shape 4096x64 --threads 1
#
# The MPI peer (Megatron's vocabulary-parallel cross-entropy with mpi4py) has a script of its
# own: scripts/compare-mpi.sh.
#
# The venv is deleted on exit; nothing is installed outside it. Set SOFTMAX_PEER_VENV to a
# directory to keep the venv there and reuse it (llama.cpp is then built once). Pin to a core
# for steadier numbers (taskset -c 1 scripts/compare-peers.sh ...).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
script=peer_softmax.py
packages=(numpy onnxruntime onnx)
listed="numpy, onnxruntime and onnx"
output="bench-results/peers-$(date +%Y-%m-%dT%H-%M-%S).csv"
if [[ ${1-} == training ]]; then
  shift
  script=peer_training.py
  packages+=(jax)
  listed="numpy, onnxruntime, onnx and jax"
  output="bench-results/peers-training-$(date +%Y-%m-%dT%H-%M-%S).csv"
elif [[ ${1-} == gating ]]; then
  shift
  script=peer_gating.py
  packages=(numpy jax)
  listed="numpy and jax"
  output="bench-results/peers-gating-$(date +%Y-%m-%dT%H-%M-%S).csv"
fi
if [[ ${1-} == sampling ]]; then
  shift
  script=peer_sampling.py
  packages=(numpy llama-cpp-python)
  listed="numpy and llama-cpp-python (built from source)"
  output="bench-results/peers-sampling-$(date +%Y-%m-%dT%H-%M-%S).csv"
fi
args=()
while (($#)); do
  case "$1" in
    --output) output="$2"; shift 2 ;;
    --output=*) output="${1#--output=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [[ -n ${SOFTMAX_PEER_VENV-} ]]; then
  venv=$SOFTMAX_PEER_VENV
  [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
  echo "compare-peers: installing $listed into $venv (kept)" >&2
else
  workdir=$(mktemp -d)
  trap 'rm -rf "$workdir"' EXIT
  venv=$workdir/venv
  python3 -m venv "$venv"
  echo "compare-peers: installing $listed into a temporary venv" >&2
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
"$venv/bin/python" "$here/$script" --output "$output" "${args[@]+"${args[@]}"}"
if [[ $script == peer_softmax.py ]]; then
  echo "compare-peers: merge with: swift run -c release softmax bench --merge $output" >&2
fi
