"""Compare two cost_analysis_pass infos (e.g. original vs quantised), node by node and in total.

Nodes are matched by name: transforms keep node names. Ratios are b / a (quantised over
original); a ratio is None when a is 0 (nothing to compare against). Deltas are b - a.
"""

from __future__ import annotations

from typing import Any

from core.cost.summary import plain_number

_NODE_KEYS = ("macs", "flops_total", "bitops", "bitops_uniq", "param_bits", "act_bits")
_TOTAL_KEYS = ("macs", "flops_core", "flops_elementwise", "flops_total", "bitops", "bitops_uniq", "act_bits", "act_bytes")
_MODEL_KEYS = ("params", "param_bits", "param_bytes")


def ratio(a: Any, b: Any) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return float(b) / float(a)


def delta(a: Any, b: Any) -> int | float | None:
    if a is None or b is None:
        return None
    return plain_number(b - a)


def _pair(a: dict[str, Any], b: dict[str, Any], keys) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in keys:
        va, vb = a.get(key), b.get(key)
        out[key] = {"a": va, "b": vb, "delta": delta(va, vb), "ratio": ratio(va, vb)}
    return out


def _status(a: dict | None, b: dict | None) -> str:
    if a is None:
        return "added"
    if b is None:
        return "removed"
    # a metric one side did not count (UNIQ off) is no difference
    same = all(a.get(k) == b.get(k) for k in _NODE_KEYS if a.get(k) is not None and b.get(k) is not None)
    same = same and a.get("precision") == b.get("precision")
    return "unchanged" if same else "changed"


def compare_costs(info_a: dict[str, Any], info_b: dict[str, Any], *,
                  label_a: str = "original", label_b: str = "quantised") -> dict[str, Any]:
    """Per-node and total deltas: BitOPs ratio, storage (parameter bits) ratio, FLOPs delta."""
    nodes_a = {n["name"]: n for n in info_a["nodes"]}
    nodes_b = {n["name"]: n for n in info_b["nodes"]}
    order = [n["name"] for n in info_a["nodes"]] + [n["name"] for n in info_b["nodes"] if n["name"] not in nodes_a]
    rows = []
    for name in order:
        a, b = nodes_a.get(name), nodes_b.get(name)
        ea, eb = a or {}, b or {}
        rows.append({
            "name": name,
            "mase_op": (b or a)["mase_op"],
            "module": (b or a)["module"],
            "status": _status(a, b),
            "precision_a": ea.get("precision", {}),
            "precision_b": eb.get("precision", {}),
            **_pair(ea, eb, _NODE_KEYS),
            "bitops_ratio": ratio(ea.get("bitops"), eb.get("bitops")),
            "storage_ratio": ratio(ea.get("param_bits"), eb.get("param_bits")),
            "flops_delta": delta(ea.get("flops_total"), eb.get("flops_total")),
        })
    ta, tb = info_a["totals_per_sample"], info_b["totals_per_sample"]
    ma, mb = info_a["totals_model"], info_b["totals_model"]
    return {
        "unit": "per sample (parameters: per model); ratio = b / a, delta = b - a",
        "labels": {"a": label_a, "b": label_b},
        "batch_size_a": info_a.get("batch_size"),
        "batch_size_b": info_b.get("batch_size"),
        "nodes": rows,
        "totals_per_sample": _pair(ta, tb, _TOTAL_KEYS),
        "totals_model": _pair(ma, mb, _MODEL_KEYS),
        "bitops_ratio": ratio(ta.get("bitops"), tb.get("bitops")),
        "storage_ratio": ratio(ma.get("param_bits"), mb.get("param_bits")),
        "flops_delta": delta(ta.get("flops_total"), tb.get("flops_total")),
        "changed_nodes": [r["name"] for r in rows if r["status"] != "unchanged"],
    }
