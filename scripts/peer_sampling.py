#!/usr/bin/env python3
"""Times token sampling in llama.cpp (its sampler chain through llama-cpp-python's low-level
API, no model needed) and in NumPy, on rows of logits, and writes rows in the results.csv
format. Run it through `scripts/compare-peers.sh sampling`, which provides the packages
(llama-cpp-python builds llama.cpp from source with the system compiler: a few minutes).

The chains are `softmax bench --operation sampling`'s, in the library's documented order
(temperature, top-k, top-p, min-p, then the draw): "top-k" is T 0.8, top-k 40, top-p 0.95;
"full" is T 0.8 with no truncation; "top-p" is top-p 0.9 alone; "min-p" is T 0.8, min-p 0.05.
llama.cpp gets the same order (its `temp` sampler first, then `top_k`, `top_p`, `min_p`,
`dist`), so both keep the same tokens.

Method: logits standard normal (or uniform in [-1, 1]) scaled by --scale, seeded, one row per
shape row; before each llama.cpp call the candidate array ({id, logit, p} per token) is filled
again from the logits, outside the timed region (llama.cpp's samplers sort and truncate it in
place; filling it is what `llama_sampler_sample` does before the chain, so this leaves that
copy out, in llama.cpp's favour). NumPy's sampler is timed whole: temperature, then
argpartition for top-k (a full argsort when top-p or min-p run without top-k), softmax in
float64, the cumulative sums, and `Generator.choice`-style inverse CDF. Each sample is at least
--min-sample-ms long; median and min/max per step over the repetitions, divided by the row's
length. The kept count of each peer's first call is printed beside NumPy's (they must agree).
"""

import argparse
import ctypes
import os
import sys
import time

import numpy as np

from peer_softmax import cache_bytes, cpu_model, write_rows

CHAINS = {
    "top-k": dict(temperature=0.8, top_k=40, top_p=0.95, min_p=0.0),
    "full": dict(temperature=0.8, top_k=0, top_p=1.0, min_p=0.0),
    "top-p": dict(temperature=1.0, top_k=0, top_p=0.9, min_p=0.0),
    "min-p": dict(temperature=0.8, top_k=0, top_p=1.0, min_p=0.05),
}


def fail(message):
    print(f"peer_sampling.py: {message}", file=sys.stderr)
    sys.exit(1)


def numpy_kept(z, chain):
    """The kept token ids (most probable first) and their probabilities, in float64."""
    if chain["top_k"] > 0:
        k = min(chain["top_k"], z.size)
        ids = np.argpartition(-z, k - 1)[:k]
        ids = ids[np.lexsort((ids, -z[ids]))]
    elif chain["top_p"] < 1 or chain["min_p"] > 0:
        ids = np.lexsort((np.arange(z.size), -z))
    else:
        ids = None
    if ids is None:
        w = np.exp(z.astype(np.float64) - z.max())
        return None, w / w.sum()
    w = np.exp(z[ids].astype(np.float64) - z[ids[0]])
    if chain["top_p"] < 1:
        c = np.cumsum(w)
        length = int(np.searchsorted(c, chain["top_p"] * c[-1])) + 1
        ids, w = ids[:length], w[:length]
    if chain["min_p"] > 0:
        keep = w >= chain["min_p"]
        ids, w = ids[keep], w[keep]
    return ids, w / w.sum()


class NumPySampler:
    name = "numpy"

    def __init__(self, logits, chain, seed):
        self.logits, self.chain = logits, chain
        self.rng = np.random.default_rng(seed)

    def step(self):
        z = self.logits / np.float32(self.chain["temperature"])
        ids, p = numpy_kept(z, self.chain)
        u = self.rng.random()
        i = min(int(np.searchsorted(np.cumsum(p), u * p.sum(), side="right")), p.size - 1)
        return int(i if ids is None else ids[i])

    def kept(self):
        ids, p = numpy_kept(self.logits / np.float32(self.chain["temperature"]), self.chain)
        return p.size if ids is None else ids.size


class LlamaSampler:
    name = "llama.cpp"

    def __init__(self, logits, chain, seed):
        import llama_cpp as L
        self.L = L
        n = logits.size
        self.n = n
        self.template = (L.llama_token_data * n)()
        view = np.ctypeslib.as_array(
            ctypes.cast(self.template, ctypes.POINTER(ctypes.c_float)), shape=(n * 3,))
        ids = view.view(np.int32).reshape(n, 3)
        ids[:, 0] = np.arange(n, dtype=np.int32)
        view.reshape(n, 3)[:, 1] = logits
        view.reshape(n, 3)[:, 2] = 0
        self.work = (L.llama_token_data * n)()
        self.array = L.llama_token_data_array(
            data=ctypes.cast(self.work, ctypes.POINTER(L.llama_token_data)), size=n,
            selected=-1, sorted=False)
        self.chain_with_draw = self.make_chain(chain, seed, draw=True)
        self.chain_only = self.make_chain(chain, seed, draw=False)

    def make_chain(self, chain, seed, draw):
        L = self.L
        s = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params())
        if chain["temperature"] != 1:
            L.llama_sampler_chain_add(s, L.llama_sampler_init_temp(chain["temperature"]))
        if chain["top_k"] > 0:
            L.llama_sampler_chain_add(s, L.llama_sampler_init_top_k(chain["top_k"]))
        if chain["top_p"] < 1:
            L.llama_sampler_chain_add(s, L.llama_sampler_init_top_p(chain["top_p"], 1))
        if chain["min_p"] > 0:
            L.llama_sampler_chain_add(s, L.llama_sampler_init_min_p(chain["min_p"], 1))
        if draw:
            L.llama_sampler_chain_add(s, L.llama_sampler_init_dist(seed))
        return s

    def refill(self):
        ctypes.memmove(self.work, self.template, ctypes.sizeof(self.template))
        self.array.size = self.n
        self.array.selected = -1
        self.array.sorted = False

    def timed_step(self):
        self.refill()
        start = time.perf_counter_ns()
        self.L.llama_sampler_apply(self.chain_with_draw, ctypes.byref(self.array))
        elapsed = time.perf_counter_ns() - start
        return elapsed, self.work[self.array.selected].id

    def kept(self):
        self.refill()
        self.L.llama_sampler_apply(self.chain_only, ctypes.byref(self.array))
        # The chain truncates the array (top-k, top-p, min-p) or leaves every token (a
        # temperature alone); -inf logits are never drawn.
        return sum(1 for i in range(self.array.size) if self.work[i].logit > -np.inf)


def time_peer(peer, target_ns, repetitions):
    """Per-step times in ns: repetitions samples, each of as many steps as fill target_ns."""
    def run(steps):
        total = 0
        for _ in range(steps):
            if isinstance(peer, LlamaSampler):
                elapsed, _ = peer.timed_step()
            else:
                start = time.perf_counter_ns()
                peer.step()
                elapsed = time.perf_counter_ns() - start
            total += elapsed
        return total

    steps = 1
    while run(steps) < target_ns and steps < 1 << 16:
        steps *= 2
    return [run(steps) / steps for _ in range(repetitions)], steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shapes", default="1x128256,1x256000")
    parser.add_argument("--chains", default=",".join(CHAINS))
    parser.add_argument("--peers", default="llama.cpp,numpy")
    parser.add_argument("--repetitions", type=int, default=11)
    parser.add_argument("--min-sample-ms", type=float, default=20)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--distribution", choices=["normal", "uniform"], default="normal")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    chains = [c.strip() for c in args.chains.split(",")]
    for c in chains:
        if c not in CHAINS:
            fail(f"unknown chain '{c}' (known: {', '.join(CHAINS)})")
    peers = [p.strip() for p in args.peers.split(",")]
    classes = {"llama.cpp": LlamaSampler, "numpy": NumPySampler}
    for p in peers:
        if p not in classes:
            fail(f"unknown peer '{p}' (known: llama.cpp, numpy)")
    rows = []
    l1, l2, llc = cache_bytes()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for text in args.shapes.split(","):
        rows_count, n = (int(v) for v in text.split("x"))
        if rows_count != 1:
            fail("one row per shape (1xN): the peers sample one row per step")
        rng = np.random.default_rng(args.seed ^ n)
        if args.distribution == "normal":
            logits = (rng.standard_normal(n) * args.scale).astype(np.float32)
        else:
            logits = (rng.uniform(-1, 1, n) * args.scale).astype(np.float32)
        for chain_name in chains:
            chain = CHAINS[chain_name]
            made = [classes[p](logits, chain, args.seed) for p in peers]
            counts = {peer.name: peer.kept() for peer in made}
            print(f"{text} {chain_name}: kept " +
                  ", ".join(f"{k} {v}" for k, v in counts.items()), file=sys.stderr)
            for peer in made:
                samples, steps = time_peer(peer, args.min_sample_ms * 1e6, args.repetitions)
                samples.sort()
                median = samples[len(samples) // 2]
                print(f"  {peer.name} {chain_name} {text}: {median / 1000:9.1f} us per step "
                      f"({median / n:.3f} ns/element), range {samples[0] / 1000:.1f}-"
                      f"{samples[-1] / 1000:.1f} us", file=sys.stderr)
                rows.append({
                    "source": peer.name, "kind": "peer",
                    "name": f"{peer.name} sample {chain_name} {text}", "n": n,
                    "output": "hot", "threads": 1, "repetitions": len(samples),
                    "calls_per_sample": steps, "median_ns_per_element": median / n,
                    "min_ns_per_element": samples[0] / n, "max_ns_per_element": samples[-1] / n,
                    "elements_per_ns": n / median, "reads_per_element": 1,
                    "writes_per_element": 0, "bytes_per_element": 4,
                    "gb_per_s": 4 * n / median, "distribution": args.distribution,
                    "seed": args.seed, "cpu": cpu_model(), "cores": os.cpu_count(),
                    "l1d_bytes": l1, "l2_bytes": l2, "llc_bytes": llc,
                    "isa_path": f"{peer.name}, kept {counts[peer.name]}", "build": "release",
                    "timestamp": stamp,
                })
    write_rows(args.output, rows)
    print(f"peer_sampling.py: wrote {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
