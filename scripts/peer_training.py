#!/usr/bin/env python3
"""Times the training operations of JAX and ONNX Runtime (softmax backward, log-softmax
backward, cross-entropy, logsumexp) on shaped arrays, reduced over the last axis, and writes
rows in the results.csv format. Run it through `scripts/compare-peers.sh training`, which
provides the packages.

Method, as in peer_softmax.py (whose helpers it imports): logits uniform in [-1000, 1000] (or
standard normal), upstream gradients standard normal, labels uniform over the classes, all
seeded; each peer's first call is checked against a NumPy float64 reference and the run stops
if it is wrong; then warm-up, each sample at least --min-sample-ms long (or one call), the
peers of one operation and shape interleaved in every round with the order rotated, median
and min/max per call, divided by the elements of the array.

JAX runs jit-compiled on the CPU with XLA told to use one thread (XLA_FLAGS and PJRT_NPROC
below, set before jax is imported); every call waits for its result (block_until_ready) and JAX
allocates its outputs itself. ONNX Runtime runs with one intra-op and one inter-op thread and
writes into preallocated outputs through IO binding; the outputs are not rotated, so rows say
"hot". Pinning to a core (taskset) is the caller's business; the process's CPU time over
wall time while timed is watched, and a peer that kept more than one CPU busy is reported.

The reads and writes per element are the compulsory traffic of the operation (every input
array read once, every output array written once), not what a peer really moves, except for
cross-entropy, whose logits are counted twice because the loss must be known, or at least the
row's logsumexp, before the gradient can be written.
"""

import os

# XLA reads these once, when jax is first imported. The flags are the customary recipe, but
# they only reach Eigen's matrix kernels: jaxlib 0.10 still splits elementwise and reduction
# fusions over a pool of one thread per core (2x the CPU time, about half the wall time on two
# cores). PJRT_NPROC sizes that pool. The user's own XLA flags go last so they still win.
os.environ["XLA_FLAGS"] = " ".join(filter(None, [
    "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
    os.environ.get("XLA_FLAGS", "")]))
os.environ["PJRT_NPROC"] = "1"

import argparse
import datetime
import platform
import re
import sys
import time

import numpy as np

# The row format and the timing method are peer_softmax.py's; importing them keeps the two
# scripts from drifting apart.
from peer_softmax import (
    cache_bytes, calibrate, cpu_model, make_input, memory_available, time_calls, write_rows)

DEFAULT_SHAPES = "8x128256,4096x1024,512x32000,1x1048576"
OPERATIONS = ["backward", "log-backward", "cross-entropy", "logsumexp"]
# Compulsory traffic per element of the array (see the module docstring).
TRAFFIC = {"backward": (2, 1), "log-backward": (2, 1), "cross-entropy": (2, 1),
           "logsumexp": (1, 0)}
# Largest accepted |peer - reference| / (|reference| + scale); see Case.check.
TOLERANCE = 1e-4


def fail(message):
    sys.exit(f"peer_training: {message}")


def parse_shapes(text):
    shapes = []
    for item in text.split(","):
        item = item.strip().lower()
        if not re.fullmatch(r"\d+(x\d+)*", item):
            fail(f"bad --shapes item {item!r} (expected dimensions joined by x, e.g. 8x1024)")
        dims = tuple(int(d) for d in item.split("x"))
        if min(dims) < 1 or int(np.prod(dims, dtype=np.int64)) > 1 << 31:
            fail(f"bad --shapes item {item!r}")
        # A 1-D shape is one row.
        shapes.append(dims if len(dims) > 1 else (1,) + dims)
    return shapes


def shape_label(shape):
    return "x".join(str(d) for d in shape)


class Case:
    """The inputs of one shape and their float64 references, made once and shared by every
    operation so that all peers see the same numbers."""

    def __init__(self, shape, distribution, seed):
        self.shape = shape
        self.n = int(np.prod(shape))
        self.rows = self.n // shape[-1]
        self.classes = shape[-1]
        self.x = make_input(self.n, distribution, seed).reshape(shape)
        # Seeded apart from the logits (and from other shapes) so that dy is not x scaled.
        rng = np.random.default_rng([seed, self.n, 1])
        self.dy = rng.standard_normal(shape, dtype=np.float32)
        # Integer labels, one per row; cross-entropy flattens the leading axes into rows.
        self.labels = rng.integers(0, self.classes, self.rows, dtype=np.int32)

        x = self.x.astype(np.float64)
        self.max = x.max(axis=-1, keepdims=True)
        self.lse = self.max + np.log(np.exp(x - self.max).sum(axis=-1, keepdims=True))
        self.p = np.exp(x - self.lse)
        self.logp = x - self.lse
        # The forward results as a training step would have kept them, in float32: the inputs
        # of the backward formulas.
        self.y = self.p.astype(np.float32)
        self.logy = self.logp.astype(np.float32)
        self._references = {}

    def reference(self, key):
        """(value, scale) in float64. The scale is the size of the terms the value is made
        of, per row where it differs by row: an element that cancels to nearly zero (the
        argmax of a one-hot softmax in the backward pass) is judged against it instead of
        against its own tiny magnitude. Where the only error in such a difference is the
        rounding of float32 values of size |x| (loss, logsumexp, log-probabilities), 1% of
        |x| is floor enough; the gradients keep the whole term, because float32 p itself is
        off by up to ~3e-5 relative when |x| is near 1000 (lse rounds to 6e-5)."""
        if key not in self._references:
            dy = self.dy.astype(np.float64)
            absmax_dy = np.abs(dy).max(axis=-1, keepdims=True)
            absmax_x = np.abs(self.x.astype(np.float64)).max(axis=-1, keepdims=True)
            if key == "backward":
                value = self.p * (dy - (dy * self.p).sum(axis=-1, keepdims=True))
                scale = absmax_dy
            elif key == "log-backward":
                total = dy.sum(axis=-1, keepdims=True)
                value = dy - self.p * total
                scale = absmax_dy + self.p.max(axis=-1, keepdims=True) * np.abs(dy).sum(
                    axis=-1, keepdims=True)
            elif key == "loss":
                rows = self.x.reshape(self.rows, self.classes).astype(np.float64)
                picked = rows[np.arange(self.rows), self.labels]
                value = np.mean(self.lse.reshape(-1) - picked)
                scale = 0.01 * (np.abs(self.lse).max() + absmax_x.max())
            elif key == "grad":
                onehot = np.zeros((self.rows, self.classes))
                onehot[np.arange(self.rows), self.labels] = 1
                value = (self.p.reshape(self.rows, self.classes) - onehot) / self.rows
                value = value.reshape(self.shape)
                scale = 1 / self.rows
            elif key == "log-probabilities":
                # As SoftmaxCrossEntropyLoss gives them: leading axes folded into rows.
                value = self.logp.reshape(self.rows, self.classes)
                scale = 0.01 * (np.abs(self.lse) + absmax_x).reshape(self.rows, 1)
            elif key == "logsumexp":
                value = self.lse[..., 0]
                scale = 0.01 * absmax_x[..., 0]
            else:
                raise KeyError(key)
            self._references[key] = (value, scale)
        return self._references[key]

    def check(self, name, outputs):
        """Refuses to time a peer whose output is wrong: a fast wrong answer is no
        comparison. outputs maps reference keys to the peer's arrays."""
        for key, actual in outputs.items():
            value, scale = self.reference(key)
            actual = np.asarray(actual, dtype=np.float64)
            if actual.shape != np.shape(value):
                fail(f"{name} gives {key} of shape {actual.shape} at {shape_label(self.shape)}"
                     f", expected {np.shape(value)}")
            with np.errstate(invalid="ignore"):
                ratio = np.abs(actual - value) / (np.abs(value) + scale)
            worst = np.max(ratio) if np.all(np.isfinite(actual)) else np.inf
            if not worst < TOLERANCE:
                fail(f"{name} is wrong at {shape_label(self.shape)}: {key} differs from the "
                     f"float64 reference by {worst:.3g} of its magnitude (allowed "
                     f"{TOLERANCE:g})")


class JaxPeer:
    """One jit-compiled JAX function of some of the case's arrays. Each call dispatches,
    then waits for the result, as a training step that uses it would."""

    peer = "jax"

    def __init__(self, label, function, inputs, outputs):
        import jax

        self.jax = jax
        self.label = label
        self.function = jax.jit(function)
        self.inputs = inputs
        self.outputs = outputs
        self.source = f"jax {jax.__version__}"
        self.detail = f"jax {jax.__version__}, jaxlib {_jaxlib_version()}, XLA CPU"

    def prepare(self, case):
        # Inputs are put on the device once so that no call copies them from NumPy.
        self.arguments = [self.jax.device_put(getattr(case, name)) for name in self.inputs]

    def call(self, slot):
        self.jax.block_until_ready(self.function(*self.arguments))

    def results(self):
        result = self.jax.block_until_ready(self.function(*self.arguments))
        if len(self.outputs) == 1:
            result = (result,)
        return dict(zip(self.outputs, (np.asarray(r) for r in result)))

    def release(self):
        self.arguments = None


def _jaxlib_version():
    try:
        import jaxlib
        return jaxlib.__version__
    except (ImportError, AttributeError):
        return "?"


class OnnxRuntimePeer:
    """An ONNX graph built in memory for one shape, one thread, inputs and outputs bound once
    through IO binding to the case's arrays and to preallocated NumPy outputs."""

    peer = "onnxruntime"
    # Opset 18: the Reduce operators take their axes as an input there.
    opset = 18

    def __init__(self, label, build, inputs, outputs):
        import onnxruntime as ort

        self.ort = ort
        self.label = label
        self.build = build
        self.inputs = inputs
        self.outputs = outputs
        self.source = f"onnxruntime {ort.__version__}"
        self.detail = f"onnxruntime {ort.__version__}, CPUExecutionProvider"

    def prepare(self, case):
        from onnx import helper

        ort = self.ort
        nodes, initializers, output_shapes = self.build(case)
        graph = helper.make_graph(
            nodes, self.label,
            [helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(getattr(case, attribute).dtype),
                getattr(case, attribute).shape)
             for name, attribute in self.inputs],
            [helper.make_tensor_value_info(name, onnx_float(), shape)
             for (name, _), shape in zip(self.outputs, output_shapes)],
            initializer=initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        # Newer onnx writes IR versions that older runtimes refuse; opset 18 needs IR 8.
        model.ir_version = min(model.ir_version, 9)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        self.buffers = [np.zeros(shape, dtype=np.float32) for shape in output_shapes]
        self.binding = self.session.io_binding()
        # The OrtValues wrap the NumPy memory without copying; self.keep holds it alive.
        self.keep = [getattr(case, attribute) for _, attribute in self.inputs] + self.buffers
        for name, attribute in self.inputs:
            self.binding.bind_ortvalue_input(
                name, ort.OrtValue.ortvalue_from_numpy(getattr(case, attribute)))
        for (name, _), buffer in zip(self.outputs, self.buffers):
            self.binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(buffer))

    def call(self, slot):
        self.session.run_with_iobinding(self.binding)

    def results(self):
        self.call(0)
        return {key: buffer.copy() for (_, key), buffer in zip(self.outputs, self.buffers)}

    def release(self):
        self.session = self.binding = self.buffers = self.keep = None


def onnx_float():
    from onnx import TensorProto
    return TensorProto.FLOAT


def last_axis():
    from onnx import TensorProto, helper
    return helper.make_tensor("last_axis", TensorProto.INT64, [1], [-1])


def onnx_backward(case):
    from onnx import helper
    # dx = y * (dy - sum(dy * y)): ONNX Runtime's inference build has no SoftmaxGrad.
    return [
        helper.make_node("Mul", ["dY", "Y"], ["product"]),
        helper.make_node("ReduceSum", ["product", "last_axis"], ["dot"], keepdims=1),
        helper.make_node("Sub", ["dY", "dot"], ["centered"]),
        helper.make_node("Mul", ["Y", "centered"], ["dX"]),
    ], [last_axis()], [case.shape]


def onnx_log_backward(case):
    from onnx import helper
    # dx = dy - exp(log y) * sum(dy)
    return [
        helper.make_node("ReduceSum", ["dY", "last_axis"], ["total"], keepdims=1),
        helper.make_node("Exp", ["logY"], ["Y"]),
        helper.make_node("Mul", ["Y", "total"], ["scaled"]),
        helper.make_node("Sub", ["dY", "scaled"], ["dX"]),
    ], [last_axis()], [case.shape]


def onnx_cross_entropy(case):
    from onnx import TensorProto, helper
    # The operator wants [N, C] scores; leading axes are folded into N with a Reshape.
    nodes = []
    scores = "X"
    initializers = []
    if len(case.shape) != 2:
        initializers.append(helper.make_tensor(
            "rows_by_classes", TensorProto.INT64, [2], [case.rows, case.classes]))
        nodes.append(helper.make_node("Reshape", ["X", "rows_by_classes"], ["scores"]))
        scores = "scores"
    nodes.append(helper.make_node(
        "SoftmaxCrossEntropyLoss", [scores, "labels"], ["loss", "log_prob"],
        reduction="mean"))
    return nodes, initializers, [(), (case.rows, case.classes)]


def onnx_logsumexp(case):
    from onnx import helper
    return [helper.make_node("ReduceLogSumExp", ["X", "last_axis"], ["lse"], keepdims=0)], \
        [last_axis()], [case.shape[:-1]]


def jax_peers(operation):
    import jax
    import jax.numpy as jnp

    if operation == "backward":
        return [
            # What a user gets from autodiff: the forward softmax is recomputed inside.
            JaxPeer("softmax-vjp",
                    lambda x, dy: jax.vjp(lambda v: jax.nn.softmax(v, axis=-1), x)[1](dy)[0],
                    ["x", "dy"], ["backward"]),
            # The backward pass alone, from the kept forward output.
            JaxPeer("backward-formula",
                    lambda y, dy: y * (dy - jnp.sum(dy * y, axis=-1, keepdims=True)),
                    ["y", "dy"], ["backward"]),
        ]
    if operation == "log-backward":
        return [
            JaxPeer("log-softmax-vjp",
                    lambda x, dy: jax.vjp(
                        lambda v: jax.nn.log_softmax(v, axis=-1), x)[1](dy)[0],
                    ["x", "dy"], ["log-backward"]),
            JaxPeer("log-backward-formula",
                    lambda logy, dy: dy - jnp.exp(logy) * jnp.sum(dy, axis=-1, keepdims=True),
                    ["logy", "dy"], ["log-backward"]),
        ]
    if operation == "cross-entropy":
        def loss(x, labels):
            rows = x.reshape(-1, x.shape[-1])
            picked = jnp.take_along_axis(rows, labels[:, None], axis=-1)[:, 0]
            return jnp.mean(jax.nn.logsumexp(rows, axis=-1) - picked)

        return [JaxPeer("cross-entropy", jax.value_and_grad(loss), ["x", "labels"],
                        ["loss", "grad"])]
    if operation == "logsumexp":
        return [JaxPeer("logsumexp", lambda x: jax.nn.logsumexp(x, axis=-1), ["x"],
                        ["logsumexp"])]
    raise KeyError(operation)


def onnxruntime_peers(operation):
    if operation == "backward":
        return [OnnxRuntimePeer("backward-formula", onnx_backward,
                                [("Y", "y"), ("dY", "dy")], [("dX", "backward")])]
    if operation == "log-backward":
        return [OnnxRuntimePeer("log-backward-formula", onnx_log_backward,
                                [("logY", "logy"), ("dY", "dy")], [("dX", "log-backward")])]
    if operation == "cross-entropy":
        # Inference has no gradient: the operator's outputs are the loss and the
        # log-probabilities, from which the gradient is one exp and subtract away.
        return [OnnxRuntimePeer("cross-entropy (value + log-probabilities)",
                                onnx_cross_entropy, [("X", "x"), ("labels", "labels")],
                                [("loss", "loss"), ("log_prob", "log-probabilities")])]
    if operation == "logsumexp":
        return [OnnxRuntimePeer("logsumexp", onnx_logsumexp, [("X", "x")],
                                [("lse", "logsumexp")])]
    raise KeyError(operation)


PEERS = {"jax": jax_peers, "onnxruntime": onnxruntime_peers}


def repetitions_for(n, args):
    if args.repetitions:
        return args.repetitions
    if args.quick:
        return 3
    return 7 if n < 1 << 23 else 5


def median_of(samples):
    samples = sorted(samples)
    middle = len(samples) // 2
    return samples[middle] if len(samples) % 2 else (samples[middle - 1] + samples[middle]) / 2


def split_list(text, known, what):
    items = [item.strip() for item in text.split(",") if item.strip()]
    for item in items:
        if item not in known:
            fail(f"unknown {what} {item!r} (known: {', '.join(known)})")
    if not items:
        fail(f"no {what} given")
    return list(dict.fromkeys(items))


def print_table(rows):
    header = ["peer", "operation", "shape", "median ns/element", "range", "runs"]
    lines = [header] + [[
        row["peer"], row["operation"], row["shape"], f"{row['median_ns_per_element']:.3f}",
        f"{row['min_ns_per_element']:.3f} – {row['max_ns_per_element']:.3f}",
        f"{row['repetitions']} × {row['calls_per_sample']}",
    ] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    numeric = {3, 4, 5}
    for index, line in enumerate(lines):
        print("  ".join(cell.rjust(w) if i in numeric else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(line, widths))).rstrip())
        if index == 0:
            print("  ".join("-" * w for w in widths))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--operation", default=",".join(OPERATIONS),
                        help=f"comma-separated, from {', '.join(OPERATIONS)} (default: all)")
    parser.add_argument("--shapes", default=DEFAULT_SHAPES,
                        help=f"comma-separated shapes, reduced over the last axis "
                             f"(default: {DEFAULT_SHAPES})")
    parser.add_argument("--repetitions", type=int)
    parser.add_argument("--min-sample-ms", type=float)
    parser.add_argument("--quick", action="store_true",
                        help="3 samples of at least 2 ms unless told otherwise")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--distribution", choices=["uniform", "normal"], default="uniform")
    parser.add_argument("--peers", default="jax,onnxruntime")
    parser.add_argument("--output", required=True, help="CSV file to write")
    args = parser.parse_args()
    operations = split_list(args.operation, OPERATIONS, "operation")
    peer_names = split_list(args.peers, list(PEERS), "peer")
    shapes = parse_shapes(args.shapes)
    if args.repetitions is not None and args.repetitions < 1:
        fail("--repetitions must be at least 1")
    target_ns = (args.min_sample_ms or (2 if args.quick else 10)) * 1e6

    l1, l2, llc = cache_bytes()
    budget = memory_available() - (1 << 30)
    cpu = cpu_model()
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = []
    started = time.perf_counter()
    for shape_index, shape in enumerate(shapes):
        n = int(np.prod(shape))
        # Inputs, float64 references and the peers' outputs, with room to spare.
        needed = n * 4 * 24
        label = f"[{shape_index + 1}/{len(shapes)}] {shape_label(shape)}"
        if needed > budget:
            print(f"{label}: skipped, needs about {needed >> 20} MiB", file=sys.stderr)
            continue
        case = Case(shape, args.distribution, args.seed)
        for operation in operations:
            peers = [peer for name in peer_names for peer in PEERS[name](operation)]
            states = []
            for peer in peers:
                peer.prepare(case)
                case.check(f"{peer.peer} {peer.label}", peer.results())
                state = {"slots": 1, "next": 0}
                state["calls"] = calibrate(peer, state, target_ns)
                state.update(samples=[], wall=0, cpu=0)
                states.append(state)
            repetitions = repetitions_for(n, args)
            for round_index in range(repetitions):
                print(f"[{time.perf_counter() - started:6.1f} s] {label} {operation}: round "
                      f"{round_index + 1}/{repetitions}", file=sys.stderr)
                for offset in range(len(peers)):
                    k = (round_index + offset) % len(peers)
                    state = states[k]
                    cpu_start = time.process_time_ns()
                    elapsed = time_calls(peers[k], state, state["calls"])
                    state["cpu"] += time.process_time_ns() - cpu_start
                    state["wall"] += elapsed
                    state["samples"].append(elapsed / state["calls"])
            reads, writes = TRAFFIC[operation]
            for peer, state in zip(peers, states):
                samples = sorted(state["samples"])
                median = median_of(samples)
                # CPU time of the whole process over wall time, learnt without a timing run
                # of its own: 1.0 when the peer computes on one thread. JAX reads about 1.3
                # on calls of tens of microseconds even on one thread (the hand-off between
                # the Python thread and XLA's worker), and about 2 on two cores when its
                # pool is not limited, hence the margin.
                busy = state["cpu"] / max(state["wall"], 1)
                if busy > 1.5:
                    print(f"  warning: {peer.peer} {peer.label} kept {busy:.2f} CPUs busy "
                          f"while timed: more than one thread worked", file=sys.stderr)
                bytes_per_element = 4 * (reads + writes)
                rows.append({
                    "source": peer.source, "kind": "peer",
                    "name": f"{peer.peer} {peer.label} {shape_label(shape)}", "n": n,
                    "output": "hot", "threads": 1, "repetitions": len(samples),
                    "calls_per_sample": state["calls"],
                    "median_ns_per_element": median / n, "min_ns_per_element": samples[0] / n,
                    "max_ns_per_element": samples[-1] / n, "elements_per_ns": n / median,
                    "reads_per_element": reads, "writes_per_element": writes,
                    "bytes_per_element": bytes_per_element,
                    "gb_per_s": bytes_per_element * n / median,
                    "distribution": args.distribution, "seed": args.seed, "cpu": cpu,
                    "cores": os.cpu_count(), "l1d_bytes": l1, "l2_bytes": l2,
                    "llc_bytes": llc,
                    "isa_path": f"{peer.detail}, Python {platform.python_version()}",
                    "build": "release", "timestamp": stamp,
                    # For the table only; DictWriter leaves them out.
                    "peer": peer.peer, "operation": peer.label, "shape": shape_label(shape),
                    "busy": busy,
                })
                print(f"  {peer.peer} {peer.label} {shape_label(shape)}: "
                      f"{median / n:8.3f} ns/element, {busy:.2f} CPUs busy", file=sys.stderr)
                peer.release()
        del case
    write_rows(args.output, rows)
    print_table(rows)
    print(f"wrote {len(rows)} rows to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
