"""Per-sample and per-batch scaling, totals and per-module subtotals of node costs.

Rows are computed at the dummy input's batch D (metadata shapes are full-batch shapes). A per
sample figure is that value / D, a per batch figure is per sample x the requested batch B.
Integer counts stay exact integers whenever they divide (floats only when they do not).
"""

from __future__ import annotations

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


def plain_number(value: int | float) -> int | float:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def scaled(value: int | float, numerator: int, denominator: int) -> int | float:
    """value x numerator / denominator, exact (an int) whenever it divides."""
    if isinstance(value, int):
        q, r = divmod(value * numerator, denominator)
        return q if r == 0 else value * numerator / denominator
    return plain_number(value * numerator / denominator)


def raw_sums(rows: Iterable[NodeCost]) -> dict[str, Any]:
    sums: dict[str, Any] = {k: 0 for k in (*BATCH_METRICS, *MODEL_METRICS)}
    sums["bitops_uniq"] = 0.0
    for row in rows:
        for key in sums:
            sums[key] += row.metric(key)
    return sums


def per_batch(raw: dict[str, Any], dummy_batch: int, batch_size: int, uniq: bool) -> dict[str, Any]:
    """Metrics for ``batch_size`` samples from sums over the dummy batch (1 = per sample)."""
    out = {key: scaled(raw[key], batch_size, dummy_batch) for key in BATCH_METRICS}
    out["act_bytes"] = scaled(raw["act_bits"], batch_size, 8 * dummy_batch)
    if not uniq:
        out["bitops_uniq"] = None
    return out


def per_sample(raw: dict[str, Any], dummy_batch: int, uniq: bool) -> dict[str, Any]:
    return per_batch(raw, dummy_batch, 1, uniq)


def per_model(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "params": raw["params"],
        "param_bits": raw["param_bits"],
        "param_bytes": scaled(raw["param_bits"], 1, 8),
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
    raw = {key: row.metric(key) for key in BATCH_METRICS}
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
        **per_sample(raw, dummy_batch, uniq),
        "params": row.params,
        "param_bits": row.param_bits,
    }
