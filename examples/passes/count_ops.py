"""Lab 2's optional task as a mase-tui pass: count the FLOPs and BitOPs of every node.

Load it with ``mase-tui --passes examples/passes/count_ops.py`` (any command, or the app), or
with ``passes_files = ["examples/passes/count_ops.py"]`` in a TOML config. Loading it runs this
file: a pass file is your own Python code.

Everything the pass needs is already in the graph's metadata (run after
``add_common_metadata_analysis_pass``, which the Session does when it loads a model). For each
node, ``node.meta["mase"].parameters["common"]`` holds:

- ``mase_op``: what the node computes ("linear", "conv2d", "relu", ...);
- ``args`` / ``results``: one entry per tensor (``data_in_0``, ``weight``, ``bias``,
  ``data_out_0``), each with a ``shape`` and a ``precision`` (``[32]`` for float32,
  ``[8, 4]`` for 8-bit fixed point with 4 fractional bits).

The counting conventions (the same as the built-in ``cost_analysis_pass``):

- A linear, conv or matmul node does MACs (multiply-accumulates). One MAC is two FLOPs.
  Linear: MACs = output elements x in_features. Conv: MACs = output elements x
  (input channels / groups) x kernel size. Matmul: MACs = output elements x K.
- Adding the bias is one more FLOP per output element.
- BitOPs = MACs x (bits of the input) x (bits of the weight). A float32 multiply counts as
  32 x 32, an 8-bit fixed-point one as 8 x 8; the fractional bits do not add width.
- Elementwise ops cost FLOPs only: ReLU and other activations, add/sub/mul one per output
  element; batch norm (eval) two (scale and shift); layer norm five (mean, variance,
  normalise, scale, shift; four without weights); pooling, mean and sum one per input element.
- Everything is divided by the batch size: the numbers are per sample.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from core.passes import Arg, mase_pass

ACTIVATIONS = {"relu", "relu6", "leaky_relu", "gelu", "silu", "sigmoid", "tanh", "hardtanh", "softmax"}
ELEMENTWISE_BINARY = {"add", "sub", "mul", "div"}
BATCH_NORMS = {"batch_norm1d", "batch_norm2d", "batch_norm"}
POOLS = {"max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d"}
REDUCTIONS = {"mean", "sum"}


def count_elements(entry):
    """How many numbers a tensor entry holds: the product of its shape."""
    return math.prod(entry["shape"])


def bits_of(entry):
    """The arithmetic width of a tensor: the first number of its precision (32 for float32)."""
    precision = entry.get("precision") or [32]
    return precision[0]


def is_tensor(entry):
    return isinstance(entry, dict) and isinstance(entry.get("shape"), (list, tuple))


def count_node(common):
    """(MACs, FLOPs, BitOPs) of one node, for the whole batch."""
    op = common.get("mase_op")
    args = common.get("args", {})
    results = common.get("results", {})
    out = results.get("data_out_0")
    if not is_tensor(out):
        return 0, 0, 0  # no tensor result: nothing is computed on tensors
    out_elements = count_elements(out)
    has_bias = is_tensor(args.get("bias"))

    if op == "linear":
        weight, x = args["weight"], args["data_in_0"]
        in_features = weight["shape"][1]
        macs = out_elements * in_features
        bitops = macs * bits_of(x) * bits_of(weight)
        flops = 2 * macs + (out_elements if has_bias else 0)
        return macs, flops, bitops

    if op in ("conv1d", "conv2d"):
        weight, x = args["weight"], args["data_in_0"]
        # weight shape: [out channels, in channels / groups, *kernel]
        per_output = math.prod(weight["shape"][1:])
        macs = out_elements * per_output
        bitops = macs * bits_of(x) * bits_of(weight)
        flops = 2 * macs + (out_elements if has_bias else 0)
        return macs, flops, bitops

    if op in ("matmul", "bmm"):
        a, b = args["data_in_0"], args["data_in_1"]
        k = a["shape"][-1]
        macs = out_elements * k
        return macs, 2 * macs, macs * bits_of(a) * bits_of(b)

    if op in ACTIVATIONS or op in ELEMENTWISE_BINARY:
        return 0, out_elements, 0
    if op in BATCH_NORMS:
        return 0, 2 * count_elements(args["data_in_0"]), 0
    if op in POOLS or op in REDUCTIONS:
        return 0, count_elements(args["data_in_0"]), 0
    if op == "layer_norm":
        # mean, variance, normalise, scale, shift: 5 per element (4 without weights, as the
        # built-in cost pass counts it)
        per_element = 5 if is_tensor(args.get("weight")) else 4
        return 0, per_element * count_elements(args["data_in_0"]), 0
    return 0, 0, 0  # placeholders, views, flatten, output: no arithmetic


def batch_size_of(graph):
    """The batch size of the sample input: the first dimension of the first graph input."""
    for node in graph.fx_graph.nodes:
        if node.op == "placeholder":
            out = node.meta["mase"].parameters["common"]["results"]["data_out_0"]
            return out["shape"][0]
    return 1


@mase_pass(
    "count_ops_analysis_pass",
    kind="analysis",
    doc="FLOPs and BitOPs of every node, per sample (Lab 2's optional task, as a user pass)",
    args=[Arg("save_path", "path", None, "also write the table to this CSV file", output="count_ops.csv")],
)
def count_ops_analysis_pass(graph, pass_args=None):
    pass_args = pass_args or {}
    batch = batch_size_of(graph)
    rows = []
    for node in graph.fx_graph.nodes:
        common = node.meta["mase"].parameters["common"]
        macs, flops, bitops = count_node(common)
        rows.append({"node": node.name, "op": common.get("mase_op"),
                     "macs": macs // batch, "flops": flops // batch, "bitops": bitops // batch})
    totals = {key: sum(row[key] for row in rows) for key in ("macs", "flops", "bitops")}
    save_path = pass_args.get("save_path")
    if save_path:
        Path(save_path).parent.mkdir(parents=True, exist_ok=True)
        with open(save_path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["node", "op", "macs", "flops", "bitops"])
            writer.writeheader()
            writer.writerows(rows)
    # The graph is returned unchanged; the info is plain data (numbers, strings, lists, dicts).
    return graph, {"per_sample": True, "batch_size": batch, "totals": totals, "nodes": rows}
