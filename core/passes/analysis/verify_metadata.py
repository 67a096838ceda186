"""verify_common_metadata_analysis_pass: a metadata check that works on today's layout.

MASE's verifier reads keys the metadata no longer has; this one checks what the passes write:
known MASE types, valid precisions per number format, and that each ``data_in`` shape agrees
with the ``data_out`` shape of the node it comes from.
"""

from __future__ import annotations

import logging

from core.ir.common import MASE_TYPES
from core.ir.metadata import read_mase
from core.passes.schema import mase_pass

logger = logging.getLogger(__name__)

KNOWN_TYPES = {
    "float", "int", "bool", "complex", "fixed", "integer", "minifloat_ieee", "minifloat_denorm",
    "log", "block_fp", "block_minifloat", "block_log", "binary", "ternary", "NA",
}


def _precision_problem(entry: dict) -> str | None:
    kind, precision = entry.get("type"), entry.get("precision")
    if kind not in KNOWN_TYPES:
        return f"unknown type {kind!r}"
    if not isinstance(precision, (list, tuple)) or not precision:
        return f"precision {precision!r} is not a non-empty list"
    width = precision[0]
    if not isinstance(width, int) or isinstance(width, bool) or width <= 0:
        return f"width {width!r} must be a positive integer"
    if kind == "float" and width not in (16, 32, 64):
        return f"float width {width} is not 16, 32 or 64"
    if kind in ("fixed", "integer"):
        if len(precision) < 2 or not isinstance(precision[1], int):
            return f"{kind} precision needs [width, frac_width], got {precision}"
    return None


@mase_pass(
    "verify_common_metadata_analysis_pass",
    kind="analysis",
    doc="Check shapes between producers and consumers, types and precisions",
    renderer="verify_metadata",
)
def verify_common_metadata_analysis_pass(graph, pass_args=None):
    problems: list[dict] = []
    names = set()
    results_by_node = {}
    for node in graph.fx_graph.nodes:
        common = read_mase(node).parameters["common"]
        if node.name in names:
            problems.append({"node": node.name, "problem": "duplicate node name"})
        names.add(node.name)
        if not common:
            problems.append({"node": node.name, "problem": "no common metadata (run add_common_metadata first)"})
            continue
        if common.get("mase_type") not in MASE_TYPES:
            problems.append({"node": node.name, "problem": f"unknown mase_type {common.get('mase_type')!r}"})
        elif common.get("mase_type") == "unknown":
            problems.append({"node": node.name, "problem": f"op {common.get('mase_op')!r} is in no MASE op table"})
        results_by_node[node.name] = common.get("results", {})
        for side in ("args", "results"):
            for key, entry in common.get(side, {}).items():
                if not isinstance(entry, dict) or "torch_dtype" not in entry:
                    continue
                problem = _precision_problem(entry)
                if problem:
                    problems.append({"node": node.name, "problem": f"{side}.{key}: {problem}"})
    for node in graph.fx_graph.nodes:
        args = read_mase(node).parameters["common"].get("args", {})
        for key, entry in args.items():
            if not isinstance(entry, dict) or not entry.get("from"):
                continue
            produced = results_by_node.get(entry["from"], {})
            shapes = [r.get("shape") for r in produced.values() if isinstance(r, dict)]
            if shapes and entry.get("shape") not in shapes:
                problems.append({
                    "node": node.name,
                    "problem": f"{key} shape {entry.get('shape')} differs from {entry['from']} output {shapes[0]}",
                })
    for p in problems:
        logger.warning("metadata problem at %s: %s", p["node"], p["problem"])
    checked = len(list(graph.fx_graph.nodes))
    return graph, {"ok": not problems, "checked_nodes": checked, "problems": problems}
