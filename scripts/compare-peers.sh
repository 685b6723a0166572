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
# With --xnnpack, it times XNNPACK's f32 softmax microkernels (the three variants of its
# bench/f32-softmax.cc, AVX-512F and AVX2) built from your checkout by
# scripts/xnnpack/build-peer.sh (checked against Double first) inside `softmax bench` itself
# (--peer-library, --peers-only), so in the same rounds and with exactly its method; the
# other options go to the bench. --ftz sets flush-to-zero + denormals-are-zero around each
# call, as XNNPACK's bench and the paper did; --peer-library-output keeps the library.
# SOFTMAX_BIN names the bench binary (default .build/release/softmax, built if absent):
#
#   scripts/compare-peers.sh --xnnpack XNNPACK_DIR [--ftz] [--output FILE]
#                            [--peer-library-output LIB.so] [bench options: --sizes, --quick ...]
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
fail() { echo "compare-peers: $*" >&2; exit 2; }
args=()
xnnpack=""
ftz=0
library_output=""
while (($#)); do
  case "$1" in
    --output|--xnnpack|--peer-library-output)
      (($# >= 2)) || fail "$1 needs a value" ;;&
    --output) output="$2"; shift 2 ;;
    --output=*) output="${1#--output=}"; shift ;;
    --xnnpack) xnnpack="$2"; shift 2 ;;
    --xnnpack=*) xnnpack="${1#--xnnpack=}"; shift ;;
    --ftz) ftz=1; shift ;;
    --peer-library-output) library_output="$2"; shift 2 ;;
    --peer-library-output=*) library_output="${1#--peer-library-output=}"; shift ;;
    *) args+=("$1"); shift ;;
  esac
done

if [[ -z $xnnpack ]]; then
  ((ftz == 0)) || fail "--ftz needs --xnnpack"
  [[ -z $library_output ]] || fail "--peer-library-output needs --xnnpack"
else
  mode=${script#peer_}
  [[ $script == peer_softmax.py ]] || fail "--xnnpack times softmax only, not with ${mode%.py}"
  repo=$(cd "$here/.." && pwd)
  if [[ -n ${SOFTMAX_BIN-} ]]; then
    bin=$SOFTMAX_BIN
    [[ -x $bin ]] || fail "SOFTMAX_BIN '$bin' is not an executable"
  else
    bin=$repo/.build/release/softmax
    if [[ ! -x $bin ]]; then
      echo "compare-peers: building softmax (swift build -c release --product softmax)" >&2
      swift build --package-path "$repo" -c release --product softmax >&2
    fi
  fi
  workdir=$(mktemp -d)
  trap 'rm -rf "$workdir"' EXIT
  library=${library_output:-$workdir/xnnpack-peer.so}
  build_args=("$xnnpack" "$library")
  ((ftz)) && build_args+=(--ftz)
  "$here/xnnpack/build-peer.sh" "${build_args[@]}"
  "$bin" bench --peer-library "$library" --peers-only --output "$workdir/bench" \
    "${args[@]+"${args[@]}"}"
  mkdir -p "$(dirname "$output")"
  cp "$workdir/bench/results.csv" "$output"
  echo "compare-peers: wrote $output; merge with: swift run -c release softmax bench --merge $output" >&2
  exit 0
fi

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
