"""One node's cost from its metadata, at the dummy input's batch (the pass scales per sample)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from core.cost.bits import arith_bits, is_tensor_entry, storage_bits
from core.cost.rules import (
    FLOPS_PER_MAC,
    IMPLICIT_RULE,
    MAC,
    SCALAR_RULE,
    MissingShape,
    OpCost,
    rule_for,
)
from core.ir.view import entry_label

UNRULED = "unruled"
# Metrics that grow with the batch (reported per sample and per batch) and those that do not.
BATCH_METRICS = ("macs", "flops_core", "flops_elementwise", "flops_total", "bitops", "bitops_uniq", "act_bits")
MODEL_METRICS = ("params", "param_bits")


@dataclass
class NodeCost:
    name: str
    op: str
    mase_op: str
    mase_type: str
    module: str
    rule: str  # mac | elementwise | zero | unruled
    formula: str
    detail: str = ""
    precision: dict[str, str] = field(default_factory=dict)
    bits: dict[str, int] = field(default_factory=dict)
    macs: int = 0
    flops_core: int = 0
    flops_elementwise: int = 0
    bitops: int = 0
    bitops_uniq: float = 0.0
    params: int = 0
    param_bits: int = 0
    act_bits: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def flops_total(self) -> int:
        return self.flops_core + self.flops_elementwise

    def metric(self, key: str) -> Any:
        return getattr(self, key)


def module_path(node) -> str:
    """The module a node belongs to: its own target for call_module, the innermost module on
    the trace stack for functions and methods, the owner of the attribute for get_attr."""
    if node.op == "call_module":
        return str(node.target)
    if node.op == "get_attr":
        return str(node.target).rpartition(".")[0]
    stack = node.meta.get("nn_module_stack")
    if stack:
        last = list(stack.values())[-1]
        path = last[0] if isinstance(last, (tuple, list)) else last
        return str(path)
    return ""


def _has_tensor(entries: dict) -> bool:
    return any(is_tensor_entry(e) for e in entries.values())


def _operand_bits(node_name: str, args: dict, name: str, warnings: list[str]) -> int:
    bits, known = arith_bits(args[name])
    if not known:
        warnings.append(f"{node_name}: no bit width for {name}; 32 assumed")
    return bits


def cost_of_node(node, common: dict[str, Any]) -> NodeCost:
    """Apply the rule table to one node. Parameters and activation memory are added by the pass
    (parameters need graph-wide de-duplication)."""
    mase_op = str(common.get("mase_op") or node.op)
    args = common.get("args") or {}
    results = common.get("results") or {}
    rule = rule_for(mase_op)
    if node.op in ("call_function", "call_method") and not _has_tensor(results) and not _has_tensor(args):
        rule = SCALAR_RULE  # pure Python on sizes and constants, whatever the function
    elif rule is None and common.get("mase_type") == "implicit_func":
        rule = IMPLICIT_RULE
    row = NodeCost(
        name=node.name, op=node.op, mase_op=mase_op, mase_type=str(common.get("mase_type")),
        module=module_path(node), rule=UNRULED if rule is None else rule.bucket,
        formula="no rule: counted as 0" if rule is None else rule.formula,
    )
    if rule is None:
        row.act_bits = activation_bits(common)
        return row
    try:
        cost: OpCost = rule.fn(args, results)
    except (MissingShape, IndexError, TypeError, ValueError) as exc:
        row.rule, row.formula = UNRULED, f"no rule applies: metadata lacks {exc}"
        row.act_bits = activation_bits(common)
        return row
    row.detail = cost.detail
    row.flops_elementwise = cost.elementwise
    for part in cost.mac_parts:
        ba = _operand_bits(node.name, args, part.a, row.warnings)
        bb = _operand_bits(node.name, args, part.b, row.warnings)
        row.bits[part.a], row.bits[part.b] = ba, bb
        row.precision[part.a] = entry_label(args[part.a])
        row.precision[part.b] = entry_label(args[part.b])
        row.macs += part.macs
        row.bitops += part.macs * ba * bb
        row.bitops_uniq += part.macs * (ba * bb + ba + bb + math.log2(max(1, part.fan_in)))
    row.flops_core = FLOPS_PER_MAC * row.macs
    if rule.bucket != MAC and is_tensor_entry(args.get("data_in_0")):
        row.precision["data_in_0"] = entry_label(args["data_in_0"])
    if rule.allocates:
        row.act_bits = activation_bits(common)
    return row


def activation_bits(common: dict[str, Any]) -> int:
    results = common.get("results") or {}
    return sum(storage_bits(e) for e in results.values() if is_tensor_entry(e))
