#!/usr/bin/env bash
# Times the sharded cross-entropy of Integrations/SoftmaxMPI (`softmax-mpi bench`: one
# MPI_Allreduce of normalizer records per batch) against Megatron-LM's vocabulary-parallel
# cross-entropy written with mpi4py + NumPy (scripts/peer_mpi.py: three all-reduces: maximum,
# target logit, sum of exponentials), on the same seeded rows, loss and gradient, in one run:
#
#   scripts/compare-mpi.sh [--ranks "2 4"] [--shapes "8x128256 4096x32000"]
#                          [--repetitions N] [--warmup N] [--seed N] [--output FILE]
#
# Needs Open MPI (Debian: openmpi-bin, libopenmpi-dev). numpy and mpi4py go into a throw-away
# virtual environment (mpi4py builds against the system's Open MPI), deleted on exit; set
# MPI_PEER_VENV to an existing one to reuse it. Each rank is bound to a core
# (--bind-to core:overload-allowed); more ranks than cores are oversubscribed, and the numbers
# say so. Run it on a quiet machine: no build, no other benchmark.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
package="$root/Integrations/SoftmaxMPI"
ranks="2 4"
shapes="8x128256 4096x32000"
repetitions=10
warmup=2
seed=1
output="bench-results/mpi-$(date +%Y-%m-%dT%H-%M-%S).csv"
while (($#)); do
  case "$1" in
    --ranks) ranks="$2"; shift 2 ;;
    --shapes) shapes="$2"; shift 2 ;;
    --repetitions) repetitions="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --output) output="$2"; shift 2 ;;
    *) echo "compare-mpi.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
command -v mpirun > /dev/null || { echo "compare-mpi.sh: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }

swift build -c release --package-path "$package" --product softmax-mpi > /dev/null
binary="$(swift build -c release --package-path "$package" --show-bin-path)/softmax-mpi"

if [[ -n ${MPI_PEER_VENV-} ]]; then
  venv="$MPI_PEER_VENV"
else
  venv=$(mktemp -d)
  trap 'rm -rf "$venv"' EXIT
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet numpy mpi4py
fi

mkdir -p "$(dirname "$output")"
header="implementation,ranks,rows,classes,median_ms,min_ms,max_ms,runs,collective_median_ms,collectives_per_batch,bytes_per_rank_per_batch,loss"
echo "$header" > "$output"
shape_arguments=()
for s in $shapes; do shape_arguments+=(--shape "$s"); done
common=(--repetitions "$repetitions" --warmup "$warmup" --seed "$seed")
mpi=(mpirun --oversubscribe --allow-run-as-root --bind-to core:overload-allowed)
for n in $ranks; do
  "${mpi[@]}" -np "$n" "$binary" bench "${shape_arguments[@]}" "${common[@]}" | tee -a "$output"
  "${mpi[@]}" -np "$n" "$venv/bin/python" "$here/peer_mpi.py" "${shape_arguments[@]}" "${common[@]}" | tee -a "$output"
done

# One line per ranks × shape: both medians, the ratio, what each sends, and the losses.
python3 - "$output" "$(nproc)" << 'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cores = int(sys.argv[2])
ours = {(r["ranks"], r["rows"], r["classes"]): r for r in rows if r["implementation"] == "swift-softmax-mpi"}
print()
print("| ranks | rows x classes | softmax-mpi median ms | mpi4py median ms | speed-up | collectives | bytes/rank/batch | in collectives (ms) | loss difference |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    if r["implementation"] != "mpi4py-megatron":
        continue
    key = (r["ranks"], r["rows"], r["classes"])
    o = ours.get(key)
    if not o:
        continue
    ranks = int(r["ranks"])
    note = f"{ranks}" + (" (oversubscribed)" if ranks > cores else "")
    speed = float(r["median_ms"]) / float(o["median_ms"])
    print(f"| {note} | {r['rows']}x{r['classes']} | {o['median_ms']} ({o['min_ms']}–{o['max_ms']}) "
          f"| {r['median_ms']} ({r['min_ms']}–{r['max_ms']}) | {speed:.2f}x "
          f"| {o['collectives_per_batch']} vs {r['collectives_per_batch']} "
          f"| {o['bytes_per_rank_per_batch']} vs {r['bytes_per_rank_per_batch']} "
          f"| {o['collective_median_ms']} vs {r['collective_median_ms']} "
          f"| {abs(float(o['loss']) - float(r['loss'])):.2e} |")
print(f"\n{sys.argv[1]}; runs per figure: {rows[0]['runs']}")
PY
