"""Assign ``mase_type`` and ``mase_op`` to fx nodes."""

from __future__ import annotations

import re

import torch.fx as fx

from core.ir.aten_ops import classify_aten
from core.ir.common import MODULE_OPS, OP_TO_TYPE, match_function_op, target_name

UNKNOWN = "unknown"
_TENSOR_CONSTANT = re.compile(r"_tensor_constant\d+$")


def classify_node(node: fx.Node, model, user_leaf_modules: tuple[type, ...] = ()) -> tuple[str, str]:
    """(mase_type, mase_op) of one node; unknown ops get type 'unknown' and their own name."""
    if node.op in ("placeholder", "output"):
        return node.op, node.op
    if node.op == "get_attr":
        if _TENSOR_CONSTANT.match(node.name):
            return "implicit_func", "constant"
        return "get_attr", "constant"
    if node.op == "call_module":
        module = model.get_submodule(node.target)
        for cls in type(module).__mro__:
            for cls_name, op, mase_type in MODULE_OPS:
                if cls.__name__ == cls_name and cls.__module__.startswith("torch.nn"):
                    return mase_type, op
        if isinstance(module, user_leaf_modules):
            return "module", "user_defined_module"
        return UNKNOWN, type(module).__name__.lower()
    aten = classify_aten(node.target)  # exported graphs: aten operators
    if aten is not None:
        return aten
    name = target_name(node.target)
    op = match_function_op(name)
    if op is None:
        return UNKNOWN, name
    return OP_TO_TYPE[op], op
