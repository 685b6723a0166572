"""The mpi4py + NumPy peer of `softmax-mpi bench`: Megatron-LM's vocabulary-parallel
cross-entropy (three all-reduces per batch: the row maxima, the target logits, the sums of
exponentials), written here from its description, on the same seeded rows as the Swift bench
(Integrations/SoftmaxMPI/Sources/SoftmaxMPI/SeededRows.swift), loss and gradient (`mean`).

    mpirun -np 2 python scripts/peer_mpi.py --shape 8x128256 --repetitions 10

Prints one CSV line per shape in the Swift bench's format (rank 0 only).
"""

import argparse
import sys

import numpy as np
from mpi4py import MPI

MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def split_mix(seed, index):
    """SplitMix64's output at positions `index` (uint64 array) of the stream of `seed`."""
    with np.errstate(over="ignore"):
        z = np.uint64(seed) + (index + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def seeded_shard(seed, rows, classes, start, end, scale):
    """Columns start..<end of the seeded rows, float32, bitwise as the Swift bench makes them."""
    out = np.empty((rows, end - start), dtype=np.float32)
    columns = np.arange(start, end, dtype=np.uint64)
    block = max(1, (1 << 22) // max(1, end - start))
    for r0 in range(0, rows, block):
        r1 = min(rows, r0 + block)
        index = np.arange(r0, r1, dtype=np.uint64)[:, None] * np.uint64(classes) + columns
        u = (split_mix(seed, index) >> np.uint64(40)).astype(np.float32) * np.float32(2.0**-24)
        out[r0:r1] = np.float32(scale) * (np.float32(2) * u - np.float32(1))
    return out


def seeded_labels(seed, rows, classes):
    z = split_mix((seed + 1) & 0xFFFFFFFFFFFFFFFF, np.arange(rows, dtype=np.uint64))
    return (z % np.uint64(classes)).astype(np.int64)


def vocab_parallel_cross_entropy(comm, logits, labels, start, end, work):
    """Megatron's algorithm: returns the mean loss; `work` receives the gradient shard."""
    rows = logits.shape[0]
    row_max = logits.max(axis=1)
    comm.Allreduce(MPI.IN_PLACE, row_max, op=MPI.MAX)  # 1: the global maximum per row
    np.subtract(logits, row_max[:, None], out=work)
    outside = (labels < start) | (labels >= end)
    local = np.where(outside, 0, labels - start)
    everyone = np.arange(rows)
    predicted = work[everyone, local].copy()
    predicted[outside] = 0
    comm.Allreduce(MPI.IN_PLACE, predicted, op=MPI.SUM)  # 2: the target logit
    np.exp(work, out=work)
    sum_exp = work.sum(axis=1)
    comm.Allreduce(MPI.IN_PLACE, sum_exp, op=MPI.SUM)  # 3: Σ exp
    loss = np.log(sum_exp) - predicted
    # Backward: (softmax − one-hot) / rows for the mean.
    work /= sum_exp[:, None]
    inside = ~outside
    work[everyone[inside], local[inside]] -= 1
    work *= np.float32(1.0 / rows)
    return float(loss.astype(np.float64).mean())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--shape", action="append", default=None)
    parser.add_argument("--repetitions", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=10)
    parser.add_argument("--header", action="store_true")
    args = parser.parse_args()
    comm = MPI.COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    if args.header and rank == 0:
        print("implementation,ranks,rows,classes,median_ms,min_ms,max_ms,runs,"
              "collective_median_ms,collectives_per_batch,bytes_per_rank_per_batch,loss")
    for shape in args.shape or ["8x128256"]:
        rows, classes = (int(v) for v in shape.split("x"))
        base, extra = divmod(classes, size)
        start = rank * base + min(rank, extra)
        end = start + base + (1 if rank < extra else 0)
        logits = seeded_shard(args.seed, rows, classes, start, end, args.scale)
        labels = seeded_labels(args.seed, rows, classes)
        work = np.empty_like(logits)
        times, collective_times = [], []
        loss = 0.0
        original = comm.Allreduce
        spent = [0.0, 0, 0]

        def timed_allreduce(send, receive, op):
            t = MPI.Wtime()
            original(send, receive, op=op)
            spent[0] += MPI.Wtime() - t
            spent[1] += 1
            spent[2] += receive.nbytes

        for run in range(args.warmup + args.repetitions):
            comm.Barrier()
            spent[:] = [0.0, 0, 0]
            t0 = MPI.Wtime()
            loss = vocab_parallel_cross_entropy(
                _Counting(comm, timed_allreduce), logits, labels, start, end, work)
            elapsed = MPI.Wtime() - t0
            slowest = comm.allreduce(elapsed, op=MPI.MAX)
            slowest_collective = comm.allreduce(spent[0], op=MPI.MAX)
            if run >= args.warmup:
                times.append(slowest)
                collective_times.append(slowest_collective)
        if rank == 0:
            t = sorted(times)
            c = sorted(collective_times)

            def ms(s):
                return f"{s * 1000:.4g}"

            print(",".join(str(v) for v in [
                "mpi4py-megatron", size, rows, classes, ms(np.median(t)), ms(t[0]), ms(t[-1]),
                len(t), ms(np.median(c)), spent[1], spent[2], loss]))
            sys.stdout.flush()


class _Counting:
    """The communicator with its Allreduce timed and counted."""

    def __init__(self, comm, allreduce):
        self._comm = comm
        self._allreduce = allreduce

    def Allreduce(self, send, receive, op):  # noqa: N802 (mpi4py's name)
        if send is MPI.IN_PLACE:
            self._allreduce(MPI.IN_PLACE, receive, op)
        else:
            self._allreduce(send, receive, op)


if __name__ == "__main__":
    main()
