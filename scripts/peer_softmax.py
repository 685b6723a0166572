#!/usr/bin/env python3
"""Times the softmax of NumPy and ONNX Runtime the way `softmax bench` times its own kernels
and writes rows in the results.csv format, so that `softmax bench --merge FILE` draws them
on the same charts. Run it through scripts/compare-peers.sh, which provides the packages.

Method, as in the Swift tool: inputs uniform in [-1000, 1000] (or standard normal), one
input row kept hot, outputs rotated over at least 8x the last-level cache and 256 MiB unless
--hot (on huge pages where Linux offers them, as the Swift tool's buffers are),
warm-up, each sample at least --min-sample-ms long (or one call), the peers interleaved in
every round with the order rotated, median and min/max per call. ONNX Runtime runs with one
intra-op and one inter-op thread and writes into preallocated outputs through IO binding.
"""

import argparse
import csv
import datetime
import mmap
import os
import platform
import re
import sys
import tempfile
import time

import numpy as np

COLUMNS = [
    "source", "kind", "name", "n", "output", "threads", "repetitions", "calls_per_sample",
    "median_ns_per_element", "min_ns_per_element", "max_ns_per_element", "elements_per_ns",
    "reads_per_element", "writes_per_element", "bytes_per_element", "gb_per_s",
    "speedup_vs_best_three_pass", "roofline", "roofline_ns_per_element", "roofline_nt",
    "roofline_nt_ns_per_element", "roofline_percent", "distribution", "seed", "cpu", "cores",
    "l1d_bytes", "l2_bytes", "llc_bytes", "isa_path", "build", "timestamp",
]

# The same default sweep as `softmax bench`.
DEFAULT_SIZES = [1 << e for e in range(10, 21, 2)] + [1 << e for e in range(21, 29)]
QUICK_SIZES = [1 << e for e in range(10, 21, 2)]


def parse_size(text):
    if text.startswith("2^"):
        exponent = int(text[2:])
        if not 0 <= exponent < 62:
            raise ValueError(text)
        return 1 << exponent
    suffix = {"K": 10, "M": 20, "G": 30}.get(text[-1:].upper())
    value = int(text[:-1]) << suffix if suffix else int(text)
    if not 1 <= value <= 1 << 34:
        raise ValueError(text)
    return value


def parse_sizes(text):
    """The --sizes syntax of `softmax bench`: 4096, 4K, 2^20, 1K..1M, 1K..1M:4."""
    sizes = set()
    for item in text.split(","):
        item = item.strip()
        match = re.fullmatch(r"(.+)\.\.([^:]+)(?::(\d+))?", item)
        if match:
            low, high = parse_size(match[1]), parse_size(match[2])
            factor = int(match[3] or 2)
            if low > high or factor < 2:
                raise ValueError(item)
            n = low
            while n <= high:
                sizes.add(n)
                n *= factor
        else:
            sizes.add(parse_size(item))
    return sorted(sizes)


def huge_page_zeros(count):
    """count zeroed float32 on an anonymous mapping advised MADV_HUGEPAGE (where the platform
    has it), touched now so that page faults stay out of the timings."""
    size = max(1, count * 4)
    mapping = mmap.mmap(-1, size)
    if hasattr(mmap, "MADV_HUGEPAGE") and size >= 2 << 20:
        mapping.madvise(mmap.MADV_HUGEPAGE)
    array = np.frombuffer(mapping, dtype=np.float32, count=count)
    array[:] = 0
    return array


def read(path, default=""):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def cache_bytes():
    caches = {}
    for index in range(8):
        base = f"/sys/devices/system/cpu/cpu0/cache/index{index}"
        level, size, kind = read(f"{base}/level"), read(f"{base}/size"), read(f"{base}/type")
        if not level or not size:
            continue
        multiplier = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(size[-1], 1)
        value = int(size.rstrip("KMG")) * multiplier
        if kind != "Instruction":
            caches[int(level)] = value
    l1 = caches.get(1, 0)
    l2 = caches.get(2, 0)
    llc = caches[max(caches)] if caches else 32 << 20
    return l1, l2, llc


def memory_available():
    for line in read("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 8 << 30


def cpu_model():
    for line in read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def make_input(n, distribution, seed):
    rng = np.random.default_rng(seed ^ n)
    if distribution == "normal":
        return rng.standard_normal(n, dtype=np.float32)
    return rng.uniform(-1000, 1000, n).astype(np.float32)


class NumPyPeer:
    """The textbook NumPy softmax into a preallocated output: max, subtract, exp, sum,
    scale. Five reads and three writes per element."""

    name = "numpy"
    reads, writes = 5, 3

    def __init__(self):
        self.source = f"numpy {np.__version__}"

    def prepare(self, x, outputs):
        self.x = x
        self.outputs = outputs

    def call(self, slot):
        y = self.outputs[slot]
        np.subtract(self.x, self.x.max(), out=y)
        np.exp(y, out=y)
        np.multiply(y, np.float32(1) / y.sum(dtype=np.float32), out=y)


class OnnxRuntimePeer:
    """An ONNX graph with a single Softmax node on a [1, N] input, one thread, outputs bound
    to preallocated buffers. MLAS computes it as Three-Pass reload: 3R + 2W."""

    name = "onnxruntime"
    reads, writes = 3, 2

    def __init__(self):
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper

        self.ort = ort
        self.source = f"onnxruntime {ort.__version__}"
        graph = helper.make_graph(
            [helper.make_node("Softmax", ["X"], ["Y"], axis=-1)], "softmax",
            [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, "N"])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, "N"])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = min(model.ir_version, 9)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"])

    def prepare(self, x, outputs):
        ort = self.ort
        self.x = ort.OrtValue.ortvalue_from_numpy(x.reshape(1, -1))
        self.keep = (x, outputs)
        self.bound = []
        for y in outputs:
            binding = self.session.io_binding()
            binding.bind_ortvalue_input("X", self.x)
            binding.bind_ortvalue_output("Y", ort.OrtValue.ortvalue_from_numpy(y.reshape(1, -1)))
            self.bound.append(binding)

    def call(self, slot):
        self.session.run_with_iobinding(self.bound[slot])


def check(peer, x, output, n):
    """Refuses to time a peer whose output is wrong: a fast wrong answer is no comparison."""
    peer.call(0)
    reference = np.exp(x.astype(np.float64) - x.max())
    reference /= reference.sum()
    error = np.max(np.abs(output.astype(np.float64) - reference))
    if not error <= 1e-5:
        sys.exit(f"peer_softmax: {peer.name} is wrong at N = {n}: max abs error {error:g}")


def write_rows(path, rows):
    """Writes rows in the results.csv format to path, whole or not at all: a temporary file in
    the same directory, renamed over path. Keys outside COLUMNS (table-only fields) are left
    out."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=directory, delete=False, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(f.name, path)


def time_calls(peer, state, calls):
    start = time.perf_counter_ns()
    slots = state["slots"]
    slot = state["next"]
    for _ in range(calls):
        peer.call(slot)
        slot = slot + 1 if slot + 1 < slots else 0
    state["next"] = slot
    return time.perf_counter_ns() - start


def calibrate(peer, state, target_ns):
    calls = 1
    elapsed = time_calls(peer, state, 1)
    if elapsed >= target_ns:
        return 1
    while elapsed < target_ns / 4 and calls < 1 << 24:
        calls *= 2
        elapsed = time_calls(peer, state, calls)
    needed = max(1, int(-(-target_ns * calls // max(elapsed, 1))))
    time_calls(peer, state, needed)
    return needed


def repetitions_for(n, args):
    if args.repetitions:
        return args.repetitions
    if args.quick:
        return 5
    return 7 if n < 1 << 23 else 5 if n < 1 << 26 else 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes")
    parser.add_argument("--repetitions", type=int)
    parser.add_argument("--hot", action="store_true")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--distribution", choices=["uniform", "normal"], default="uniform")
    parser.add_argument("--min-sample-ms", type=float)
    parser.add_argument("--peers", default="numpy,onnxruntime")
    parser.add_argument("--output", required=True, help="CSV file to write")
    args = parser.parse_args()
    try:
        sizes = parse_sizes(args.sizes) if args.sizes else (
            QUICK_SIZES if args.quick else DEFAULT_SIZES)
    except ValueError as error:
        sys.exit(f"peer_softmax: bad --sizes item {error}")
    if args.repetitions is not None and args.repetitions < 1:
        sys.exit("peer_softmax: --repetitions must be at least 1")
    target_ns = (args.min_sample_ms or (5 if args.quick else 10)) * 1e6
    classes = {"numpy": NumPyPeer, "onnxruntime": OnnxRuntimePeer}
    peers = []
    for name in args.peers.split(","):
        if name not in classes:
            sys.exit(f"peer_softmax: unknown peer {name!r} (known: numpy, onnxruntime)")
        peers.append(classes[name]())

    l1, l2, llc = cache_bytes()
    budget = memory_available() - (1 << 30)
    cpu = cpu_model()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    started = time.perf_counter()
    for index, n in enumerate(sizes):
        stride = (n + 15) // 16 * 16
        span = max(256 << 20, 8 * llc)
        slots = 1 if args.hot else max(1, -(-span // (stride * 4)))
        needed = stride * 4 * (1 + slots)
        label = f"[{index + 1}/{len(sizes)}] N = {n}"
        if needed > budget:
            print(f"{label}: skipped, needs {needed >> 20} MiB", file=sys.stderr)
            continue
        x = make_input(n, args.distribution, args.seed)
        storage = huge_page_zeros(stride * slots)
        outputs = [storage[i * stride:i * stride + n] for i in range(slots)]
        states = []
        for peer in peers:
            peer.prepare(x, outputs)
            if n <= 1 << 22:
                check(peer, x, outputs[0], n)
            state = {"slots": slots, "next": 0}
            state["calls"] = calibrate(peer, state, target_ns)
            state["samples"] = []
            states.append(state)
        repetitions = repetitions_for(n, args)
        for round_index in range(repetitions):
            print(f"[{time.perf_counter() - started:6.1f} s] {label}: round "
                  f"{round_index + 1}/{repetitions}", file=sys.stderr)
            for offset in range(len(peers)):
                k = (round_index + offset) % len(peers)
                state = states[k]
                elapsed = time_calls(peers[k], state, state["calls"])
                state["samples"].append(elapsed / state["calls"])
        for peer, state in zip(peers, states):
            samples = sorted(state["samples"])
            middle = len(samples) // 2
            median = samples[middle] if len(samples) % 2 else (
                samples[middle - 1] + samples[middle]) / 2
            bytes_per_element = 4 * (peer.reads + peer.writes)
            rows.append({
                "source": peer.source, "kind": "peer", "name": peer.name, "n": n,
                "output": "hot" if args.hot else "cold", "threads": 1,
                "repetitions": len(samples), "calls_per_sample": state["calls"],
                "median_ns_per_element": median / n, "min_ns_per_element": samples[0] / n,
                "max_ns_per_element": samples[-1] / n, "elements_per_ns": n / median,
                "reads_per_element": peer.reads, "writes_per_element": peer.writes,
                "bytes_per_element": bytes_per_element,
                "gb_per_s": bytes_per_element * n / median,
                "distribution": args.distribution, "seed": args.seed, "cpu": cpu,
                "cores": os.cpu_count(), "l1d_bytes": l1, "l2_bytes": l2, "llc_bytes": llc,
                "isa_path": f"{peer.source}, Python {platform.python_version()}",
                "build": "release", "timestamp": stamp,
            })
            print(f"  {peer.name:12} N = {n:>10}: {median / n:8.3f} ns/element", file=sys.stderr)
        del outputs, storage, x
    write_rows(args.output, rows)
    print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
