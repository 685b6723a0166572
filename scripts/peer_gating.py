#!/usr/bin/env python3
"""Times mixture-of-experts router gating in NumPy and JAX (softmax over the experts, the top
k, renormalized: Mixtral's router) on logits of shape [tokens, experts], and writes rows in the
results.csv format. Run it through `scripts/compare-peers.sh gating`, which provides the
packages; `softmax bench --operation gating --shape 4096x64` times the library's moeGating
with the same method.

Method, as in peer_softmax.py and peer_training.py (whose helpers it imports): logits standard
normal (or uniform in [-1000, 1000]) from their seeded generator (the bench's distribution, not
its numbers: timing does not depend on them), float32; each peer's
first call is checked against a NumPy float64 reference (the same experts per token, weights
within 1e-5) and the run stops if it is wrong; then warm-up, each sample at least
--min-sample-ms long, the peers of one shape interleaved in every round with the order
rotated, median and min/max per call, divided by the elements of the array.

The peers do the least the method needs: NumPy takes argpartition's k (unsorted) and JAX
lax.top_k's (sorted); neither counts tokens per expert. The library also lists each token's
experts by weight and returns the per-expert counts, so the comparison favours the peers.

JAX runs jit-compiled on the CPU held to one thread (XLA_FLAGS and PJRT_NPROC, set before jax
is imported, as peer_training.py explains); every call waits for its result
(block_until_ready). Pinning to a core (taskset) is the caller's business; a peer that kept
more than one CPU busy while timed is reported.
"""

import os

os.environ["XLA_FLAGS"] = " ".join(filter(None, [
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    os.environ.get("XLA_FLAGS", "")]))
os.environ["PJRT_NPROC"] = "1"

import argparse
import datetime
import platform
import sys
import time

import numpy as np

from peer_softmax import (
    cache_bytes, calibrate, cpu_model, make_input, time_calls, write_rows)
from peer_training import median_of, parse_shapes, shape_label, split_list

DEFAULT_SHAPES = "4096x64"
WEIGHT_TOLERANCE = 1e-5


def fail(message):
    sys.exit(f"peer_gating: {message}")


def reference(x, k):
    """The experts of each token (as sets) and their renormalized weights, in float64,
    ordered by expert id."""
    x64 = x.astype(np.float64)
    order = np.argsort(-x64, axis=-1, kind="stable")[:, :k]
    top = np.take_along_axis(x64, order, axis=-1)
    e = np.exp(top - top[:, :1])
    weights = e / e.sum(axis=-1, keepdims=True)
    by_id = np.argsort(order, axis=-1)
    return np.take_along_axis(order, by_id, -1), np.take_along_axis(weights, by_id, -1)


def check(name, x, k, weights, ids):
    """Refuses to time a peer whose answer is wrong."""
    expected_ids, expected_weights = reference(x, k)
    weights = np.asarray(weights, dtype=np.float64)
    ids = np.asarray(ids).astype(np.int64)
    by_id = np.argsort(ids, axis=-1)
    ids = np.take_along_axis(ids, by_id, -1)
    weights = np.take_along_axis(weights, by_id, -1)
    if not np.array_equal(ids, expected_ids):
        fail(f"{name} chooses other experts than the float64 reference")
    worst = np.max(np.abs(weights - expected_weights))
    if not worst <= WEIGHT_TOLERANCE:
        fail(f"{name}: weights differ from the float64 reference by {worst:.3g}")


class NumPyPeer:
    """softmax (max, subtract, exp, sum, divide), argpartition for the k largest, gather,
    renormalize."""

    peer = "numpy"

    def __init__(self, k):
        self.k = k
        self.source = f"numpy {np.__version__}"
        self.detail = self.source

    def prepare(self, x):
        self.x = x

    def compute(self):
        x = self.x
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        ids = np.argpartition(-p, self.k - 1, axis=-1)[:, :self.k]
        weights = np.take_along_axis(p, ids, axis=-1)
        return weights / weights.sum(axis=-1, keepdims=True), ids

    def call(self, slot):
        self.compute()

    def results(self):
        return self.compute()

    def release(self):
        self.x = None


class JaxPeer:
    """jax.nn.softmax, jax.lax.top_k, renormalize; jit-compiled, one thread."""

    peer = "jax"

    def __init__(self, k):
        import jax

        self.jax = jax
        self.k = k

        def gate(x):
            p = jax.nn.softmax(x, axis=-1)
            weights, ids = jax.lax.top_k(p, k)
            return weights / weights.sum(axis=-1, keepdims=True), ids

        self.function = jax.jit(gate)
        try:
            import jaxlib
            jaxlib_version = jaxlib.__version__
        except (ImportError, AttributeError):
            jaxlib_version = "?"
        self.source = f"jax {jax.__version__}"
        self.detail = f"jax {jax.__version__}, jaxlib {jaxlib_version}, XLA CPU"

    def prepare(self, x):
        self.argument = self.jax.device_put(x)

    def call(self, slot):
        self.jax.block_until_ready(self.function(self.argument))

    def results(self):
        weights, ids = self.jax.block_until_ready(self.function(self.argument))
        return np.asarray(weights), np.asarray(ids)

    def release(self):
        self.argument = None


PEERS = {"numpy": NumPyPeer, "jax": JaxPeer}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default=DEFAULT_SHAPES,
                        help=f"comma-separated [tokens]x[experts] (default: {DEFAULT_SHAPES})")
    parser.add_argument("--k", type=int, default=8, help="experts per token (default: 8)")
    parser.add_argument("--repetitions", type=int, default=7)
    parser.add_argument("--min-sample-ms", type=float, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--distribution", choices=["uniform", "normal"], default="normal")
    parser.add_argument("--peers", default="numpy,jax")
    parser.add_argument("--output", required=True, help="CSV file to write")
    args = parser.parse_args()
    peer_names = split_list(args.peers, list(PEERS), "peer")
    shapes = parse_shapes(args.shapes)
    if args.repetitions < 1:
        fail("--repetitions must be at least 1")
    target_ns = args.min_sample_ms * 1e6

    l1, l2, llc = cache_bytes()
    cpu = cpu_model()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    started = time.perf_counter()
    for shape in shapes:
        if len(shape) != 2:
            fail(f"shape {shape_label(shape)} is not [tokens, experts]")
        tokens, experts = shape
        if not 1 <= args.k <= experts:
            fail(f"--k {args.k} is not in 1...{experts}")
        n = tokens * experts
        # The bench's logits: the same generator, seed and size.
        x = make_input(n, args.distribution, args.seed).reshape(shape)
        peers = [PEERS[name](args.k) for name in peer_names]
        states = []
        for peer in peers:
            peer.prepare(x)
            weights, ids = peer.results()
            check(peer.peer, x, args.k, weights, ids)
            state = {"slots": 1, "next": 0}
            state["calls"] = calibrate(peer, state, target_ns)
            state.update(samples=[], wall=0, cpu=0)
            states.append(state)
        for round_index in range(args.repetitions):
            print(f"[{time.perf_counter() - started:6.1f} s] {shape_label(shape)}: round "
                  f"{round_index + 1}/{args.repetitions}", file=sys.stderr)
            for offset in range(len(peers)):
                index = (round_index + offset) % len(peers)
                state = states[index]
                cpu_start = time.process_time_ns()
                elapsed = time_calls(peers[index], state, state["calls"])
                state["cpu"] += time.process_time_ns() - cpu_start
                state["wall"] += elapsed
                state["samples"].append(elapsed / state["calls"])
        for peer, state in zip(peers, states):
            samples = sorted(state["samples"])
            median = median_of(samples)
            busy = state["cpu"] / max(state["wall"], 1)
            if busy > 1.5:
                print(f"  warning: {peer.peer} kept {busy:.2f} CPUs busy while timed",
                      file=sys.stderr)
            rows.append({
                "source": peer.source, "kind": "peer",
                "name": f"{peer.peer} gating k{args.k} {shape_label(shape)}", "n": n,
                "output": "hot", "threads": 1, "repetitions": len(samples),
                "calls_per_sample": state["calls"],
                "median_ns_per_element": median / n, "min_ns_per_element": samples[0] / n,
                "max_ns_per_element": samples[-1] / n, "elements_per_ns": n / median,
                "reads_per_element": 1, "writes_per_element": 0, "bytes_per_element": 4,
                "gb_per_s": 4 * n / median, "distribution": args.distribution,
                "seed": args.seed, "cpu": cpu, "cores": os.cpu_count(), "l1d_bytes": l1,
                "l2_bytes": l2, "llc_bytes": llc,
                "isa_path": f"{peer.detail}, Python {platform.python_version()}",
                "build": "release", "timestamp": stamp,
            })
            print(f"  {peer.peer} gating {shape_label(shape)} k {args.k}: "
                  f"median {median / 1e3:.1f} us per call ({samples[0] / 1e3:.1f}–"
                  f"{samples[-1] / 1e3:.1f}), {median / n:.3f} ns/element, {busy:.2f} CPUs busy",
                  file=sys.stderr)
            peer.release()
    write_rows(args.output, rows)
    print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
