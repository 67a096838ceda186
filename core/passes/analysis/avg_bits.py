"""calculate_avg_bits_mg_analysis_pass: the average bit width of the inputs and weights of the
linear and convolution nodes, weighted by element count (MASE's pass of the same name).

Over every ``linear`` / ``conv1d`` / ``conv2d`` node (modules and functional calls alike):
``data_avg_bit = sum(bits(data_in_0) * numel(data_in_0)) / sum(numel(data_in_0))`` and
``w_avg_bit`` the same over ``weight``. MASE takes ``bits`` as the *sum* of the precision list,
so an ``integer [8, 4]`` operand counts as 12 bits; here ``bits`` is the operand's width
(``precision[0]``: 8 for integer 8/4, 32 for float32, 4 for mxfp4), the number BitOPs and
storage use too. ``mase_sum_precision = true`` reproduces MASE's figure (numbers only; None
entries count as 0). Reads metadata only: add_common_metadata must have run.
"""

from __future__ import annotations

import logging
from typing import Any

from core.cost.bits import arith_bits, is_tensor_entry, numel
from core.errors import PassError
from core.passes.schema import Arg, mase_pass

logger = logging.getLogger(__name__)

OPS = ("linear", "conv1d", "conv2d")
TYPES = ("module", "module_related_func")


def _bits(entry: dict[str, Any], mase_sum: bool) -> float:
    if mase_sum:
        precision = entry.get("precision") or []
        return float(sum(p for p in precision if isinstance(p, (int, float)) and not isinstance(p, bool)))
    return float(arith_bits(entry)[0])


@mase_pass(
    "calculate_avg_bits_mg_analysis_pass",
    kind="analysis",
    doc="Average bit width of linear/conv inputs and weights, weighted by element count (MASE)",
    args=[
        Arg("mase_sum_precision", "bool", False,
            "count bits as MASE does, the sum of the precision list (integer 8/4 -> 12)"),
    ],
    aliases=("calculate_avg_bits", "avg_bits"),
)
def calculate_avg_bits_mg_analysis_pass(graph, pass_args: dict[str, Any] | None = None):
    """Average input and weight bit widths; returns ``(graph, info)`` with ``data_avg_bit``
    and ``w_avg_bit`` (None when the graph has no linear or conv node)."""
    args = dict(pass_args or {})
    mase_sum = bool(args.get("mase_sum_precision") or False)
    totals = {"data_in_0": [0.0, 0], "weight": [0.0, 0]}
    nodes = []
    annotated = False
    for node in graph.fx_graph.nodes:
        meta = node.meta.get("mase")
        common = meta.parameters.get("common", {}) if meta is not None else {}
        if common.get("mase_op"):
            annotated = True
        if common.get("mase_op") not in OPS or common.get("mase_type") not in TYPES:
            continue
        row: dict[str, Any] = {"name": node.name, "op": common["mase_op"]}
        for arg in totals:
            entry = (common.get("args") or {}).get(arg)
            if not is_tensor_entry(entry):
                continue
            bits, n = _bits(entry, mase_sum), numel(entry)
            totals[arg][0] += bits * n
            totals[arg][1] += n
            row[arg] = {"bits": bits, "numel": n, "type": entry.get("type")}
        nodes.append(row)
    if not annotated:
        raise PassError("calculate_avg_bits: the graph has no MASE metadata",
                        hint="run init_metadata and add_common_metadata first")

    def avg(arg: str) -> float | None:
        bits, n = totals[arg]
        return bits / n if n else None

    info = {"data_avg_bit": avg("data_in_0"), "w_avg_bit": avg("weight"),
            "data_elements": totals["data_in_0"][1], "weight_elements": totals["weight"][1],
            "bits": "sum of precision (MASE)" if mase_sum else "width", "nodes": nodes}
    if not nodes:
        logger.warning("calculate_avg_bits: no linear or conv node in the graph")
    logger.info("Average bits: data_in %s, weight %s", info["data_avg_bit"], info["w_avg_bit"])
    return graph, info
