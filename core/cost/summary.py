"""Per-sample and per-batch scaling, totals and per-module subtotals of node costs.

Rows are computed at the dummy input's batch D (metadata shapes are full-batch shapes). A per
sample figure is that value / D, a per batch figure is per sample x the requested batch B.
Fractions keep the division exact, so integer counts stay integers whenever they divide.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Iterable

from core.cost.node_cost import BATCH_METRICS, MODEL_METRICS, NodeCost

LABELS = {
    "macs": "MACs",
    "flops_core": "FLOPs core (2 x MACs)",
    "flops_elementwise": "FLOPs elementwise",
    "flops_total": "FLOPs total",
    "bitops": "BitOPs",
    "bitops_uniq": "BitOPs UNIQ",
    "act_bits": "activation bits",
    "act_bytes": "activation bytes",
    "params": "parameters",
    "param_bits": "parameter bits",
    "param_bytes": "parameter bytes",
}


def column_labels(batch_size: int) -> dict[str, str]:
    """Every label says what it is counted over."""
    labels = {k: f"{LABELS[k]} per sample" for k in (*BATCH_METRICS, "act_bytes")}
    labels.update({f"{k}@batch": f"{LABELS[k]} per batch of {batch_size}" for k in (*BATCH_METRICS, "act_bytes")})
    labels.update({k: f"{LABELS[k]} (per model)" for k in (*MODEL_METRICS, "param_bytes")})
    return labels


def plain_number(value: Fraction | int | float) -> int | float:
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _exact(value: int | float) -> Fraction | float:
    return Fraction(value) if isinstance(value, int) else value


def raw_sums(rows: Iterable[NodeCost]) -> dict[str, Any]:
    sums: dict[str, Any] = {k: 0 for k in (*BATCH_METRICS, *MODEL_METRICS)}
    sums["bitops_uniq"] = 0.0
    for row in rows:
        for key in sums:
            sums[key] += row.metric(key)
    return sums


def per_sample(raw: dict[str, Any], dummy_batch: int, uniq: bool) -> dict[str, Any]:
    out = {}
    for key in BATCH_METRICS:
        value = _exact(raw[key]) / dummy_batch
        out[key] = plain_number(value)
    out["act_bytes"] = plain_number(_exact(raw["act_bits"]) / (8 * dummy_batch))
    if not uniq:
        out["bitops_uniq"] = None
    return out


def per_batch(raw: dict[str, Any], dummy_batch: int, batch_size: int, uniq: bool) -> dict[str, Any]:
    out = {}
    for key in BATCH_METRICS:
        out[key] = plain_number(_exact(raw[key]) * batch_size / dummy_batch)
    out["act_bytes"] = plain_number(_exact(raw["act_bits"]) * batch_size / (8 * dummy_batch))
    if not uniq:
        out["bitops_uniq"] = None
    return out


def per_model(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "params": raw["params"],
        "param_bits": raw["param_bits"],
        "param_bytes": plain_number(Fraction(raw["param_bits"]) / 8),
    }


def ancestors(path: str) -> list[str]:
    """'layers.0.attn' -> ['layers', 'layers.0', 'layers.0.attn']; the root '' has none."""
    if not path:
        return []
    parts = path.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def module_subtotals(rows: list[NodeCost], dummy_batch: int, uniq: bool) -> list[dict[str, Any]]:
    """One row per module path that holds at least one node (directly or below), parents before
    children, in graph order. Batch metrics are per sample; params and param_bits per model."""
    members: dict[str, list[NodeCost]] = {}
    for row in rows:
        for path in ancestors(row.module):
            members.setdefault(path, []).append(row)
    out = []
    for path, nodes in members.items():
        raw = raw_sums(nodes)
        entry = {
            "path": path,
            "parent": path.rpartition(".")[0],
            "depth": path.count("."),
            "nodes": len(nodes),
            **per_sample(raw, dummy_batch, uniq),
            "params": raw["params"],
            "param_bits": raw["param_bits"],
        }
        out.append(entry)
    return out


def row_plain(row: NodeCost, dummy_batch: int, uniq: bool) -> dict[str, Any]:
    scaled = per_sample(raw_sums([row]), dummy_batch, uniq)
    return {
        "name": row.name,
        "op": row.op,
        "mase_op": row.mase_op,
        "mase_type": row.mase_type,
        "module": row.module,
        "rule": row.rule,
        "formula": row.formula,
        "detail": row.detail,
        "precision": dict(row.precision),
        "bits": dict(row.bits),
        **scaled,
        "params": row.params,
        "param_bits": row.param_bits,
    }
