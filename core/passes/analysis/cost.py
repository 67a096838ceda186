"""cost_analysis_pass: MACs, FLOPs, BitOPs, parameters, storage and activation memory.

Everything is computed from the metadata written by add_common_metadata_analysis_pass (shapes
and precisions), so no forward run is needed and meta-device graphs give the same numbers. The
rules live in core/cost/rules.py (one table). Node rows and module subtotals are per sample;
totals are given per sample, per batch (stated batch size) and, for parameters, per model.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from typing import Any

from core.cost.bits import is_tensor_entry, numel, storage_bits
from core.cost.node_cost import UNRULED, NodeCost, cost_of_node
from core.cost.rules import BITOPS_FORMULA, UNIQ_FORMULA, ZERO
from core.cost.summary import (
    column_labels,
    module_subtotals,
    per_batch,
    per_model,
    per_sample,
    raw_sums,
    row_plain,
)
from core.errors import PassError
from core.ir.metadata import read_mase
from core.passes.schema import Arg, mase_pass

logger = logging.getLogger(__name__)



def _validate(pass_args: dict[str, Any] | None) -> dict[str, Any]:
    given = dict(pass_args or {})
    args = {"batch_size": given.get("batch_size"), "uniq": given.get("uniq") or False}
    batch = args["batch_size"]
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise PassError(f"cost_analysis: batch_size must be a positive integer, got {batch!r}",
                        hint="omit it to use the dummy input's batch")
    if not isinstance(args["uniq"], bool):
        raise PassError(f"cost_analysis: uniq must be true or false, got {args['uniq']!r}")
    return args


def _dummy_batch(nodes, commons) -> int | None:
    for node, common in zip(nodes, commons, strict=True):
        if node.op != "placeholder":
            continue
        entry = (common.get("results") or {}).get("data_out_0")
        if is_tensor_entry(entry) and len(entry["shape"]) >= 1 and int(entry["shape"][0]) > 0:
            return int(entry["shape"][0])
    return None


def _is_parameter(model, target: str) -> bool:
    try:
        model.get_parameter(target)
    except (AttributeError, TypeError):
        return False
    return True


def _add_parameters(graph, nodes, commons, rows: list[NodeCost]) -> None:
    """Count each parameter once, at its owner: the call_module node that holds it, or the
    get_attr node that reads it (its storage width taken from the widest consumer, since a
    quantised consumer records the parameter's precision on its own arg)."""
    consumers: dict[str, list[dict]] = defaultdict(list)
    for common in commons:
        for entry in (common.get("args") or {}).values():
            if is_tensor_entry(entry) and entry.get("from"):
                consumers[entry["from"]].append(entry)
    seen: set[str] = set()
    for node, common, row in zip(nodes, commons, rows, strict=True):
        if node.op == "call_module":
            for key, entry in (common.get("args") or {}).items():
                if key.startswith("data_in") or not is_tensor_entry(entry) or entry.get("from") is not None:
                    continue
                ident = f"{node.target}.{key}"
                if ident not in seen:
                    seen.add(ident)
                    row.params += numel(entry)
                    row.param_bits += storage_bits(entry)
        elif node.op == "get_attr" and _is_parameter(graph.model, str(node.target)):
            # tied weights (GPT-2's lm_head and wte) are one tensor under two names: count it once
            ident = f"id:{id(graph.model.get_parameter(str(node.target)))}"
            if ident in seen:
                continue
            seen.add(ident)
            result = (common.get("results") or {}).get("data_out_0")
            if not is_tensor_entry(result):
                continue
            entries = [e for e in consumers.get(node.name, []) if numel(e) == numel(result)] or [result]
            row.params += numel(result)
            row.param_bits += max(storage_bits(e) for e in entries)


@mase_pass(
    "cost_analysis_pass",
    kind="analysis",
    doc="MACs, FLOPs, BitOPs, parameters, storage and activation memory",
    args=[
        Arg("batch_size", "int", None, "report per-batch totals for this batch (default: the dummy input's)"),
        Arg("uniq", "bool", False, "also count accumulator-aware UNIQ/Hawks BitOPs"),
    ],
    aliases=("calculate_cost_analysis_pass", "flop_bitop_analysis_pass"),
    renderer="cost",
)
def cost_analysis_pass(graph, pass_args=None):
    args = _validate(pass_args)
    nodes = list(graph.fx_graph.nodes)
    commons = [read_mase(n).parameters.get("common") or {} for n in nodes]
    if not any(c.get("mase_op") for c in commons):
        raise PassError("cost_analysis needs node metadata",
                        hint="run init_metadata and add_common_metadata_analysis_pass first")
    warnings: list[str] = []
    dummy = _dummy_batch(nodes, commons)
    if dummy is None:
        dummy = 1
        warnings.append("no batch dimension found on the graph inputs: 'per sample' figures are for the whole input")
    batch = args["batch_size"] or dummy
    uniq = args["uniq"]

    rows = [cost_of_node(n, c) for n, c in zip(nodes, commons, strict=True)]
    _add_parameters(graph, nodes, commons, rows)
    for row in rows:
        warnings.extend(row.warnings)

    unruled = [{"name": r.name, "mase_op": r.mase_op, "module": r.module, "reason": r.formula}
               for r in rows if r.rule == UNRULED]
    if unruled:
        names = ", ".join(f"{u['name']} ({u['mase_op']})" for u in unruled)
        warnings.append(f"{len(unruled)} node(s) have no cost rule and count as 0: {names}")
    for message in warnings:
        logger.warning("cost_analysis: %s", message)

    raw = raw_sums(rows)
    info = {
        "unit": {
            "nodes": "per sample (params and param_bits: per model; detail: at the dummy batch)",
            "modules": "per sample (params and param_bits: per model)",
        },
        "batch_size": batch,
        "dummy_batch_size": dummy,
        "uniq": uniq,
        "columns": column_labels(batch),
        "formulas": {"flops_core": "FLOPs core = 2 x MACs (bias excluded; FlopCounterMode convention)",
                     "bitops": BITOPS_FORMULA, "bitops_uniq": UNIQ_FORMULA,
                     "act_bits": "sum of result bits of every node that produces new data (views excluded)",
                     "param_bits": "numel x width per parameter (+ shared exponent bits per block for block formats)"},
        "totals_per_sample": per_sample(raw, dummy, uniq),
        "totals_per_batch": per_batch(raw, dummy, batch, uniq),
        "totals_model": per_model(raw),
        "nodes": [row_plain(r, dummy, uniq) for r in rows],
        "modules": module_subtotals(rows, dummy, uniq),
        "unruled_ops": unruled,
        "zero_cost_ops": dict(Counter(r.mase_op for r in rows if r.rule == ZERO)),
        "warnings": warnings,
    }
    return graph, info
