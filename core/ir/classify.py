"""Assign ``mase_type`` and ``mase_op`` to fx nodes.

MASE's tables first (core/ir/common.py), then the torch ops real models use that MASE does not
list (``EXTRA_OP_TO_TYPE``). Anything else is still a real, named op: a class called in the
graph (a named tuple such as GoogLeNetOutputs, a dataclass, ``torch.Size``) builds a value and
is an ``implicit_func``; another function or method (``stochastic_depth``, ``atan2``) is a
``builtin_func`` named by itself; a torch.nn module no table lists is a ``module_related_func``
named after its class. Only a module that is neither a torch.nn class nor a registered leaf
(which the tracer cannot produce) keeps the type ``unknown``.
"""

from __future__ import annotations

import re

import torch.fx as fx

from core.ir.aten_ops import classify_aten
from core.ir.common import EXTRA_OP_TO_TYPE, MODULE_OPS, OP_TO_TYPE, match_function_op, target_name

UNKNOWN = "unknown"
_TENSOR_CONSTANT = re.compile(r"_tensor_constant\d+$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def classify_node(node: fx.Node, model, user_leaf_modules: tuple[type, ...] = ()) -> tuple[str, str]:
    """(mase_type, mase_op) of one node."""
    if node.op in ("placeholder", "output"):
        return node.op, node.op
    if node.op == "get_attr":
        if _TENSOR_CONSTANT.match(node.name):
            return "implicit_func", "constant"
        return "get_attr", "constant"
    if node.op == "call_module":
        return _classify_module(model.get_submodule(node.target), user_leaf_modules)
    aten = classify_aten(node.target)  # exported graphs: aten operators
    if aten is not None:
        return aten
    name = target_name(node.target)
    op = match_function_op(name)
    if op is not None:
        return OP_TO_TYPE[op], op
    if name in EXTRA_OP_TO_TYPE:
        return EXTRA_OP_TO_TYPE[name], name
    if isinstance(node.target, type):
        return "implicit_func", name  # a constructor: a named tuple, a dataclass, torch.Size
    return "builtin_func", name


def _classify_module(module, user_leaf_modules: tuple[type, ...]) -> tuple[str, str]:
    for cls in type(module).__mro__:
        for cls_name, op, mase_type in MODULE_OPS:
            if cls.__name__ == cls_name and cls.__module__.startswith("torch.nn"):
                return mase_type, op
    if isinstance(module, user_leaf_modules):
        return "module", "user_defined_module"
    if type(module).__module__.startswith("torch.nn"):
        return "module_related_func", snake_case(type(module).__name__)
    return UNKNOWN, type(module).__name__.lower()


def snake_case(name: str) -> str:
    """``TransformerEncoderLayer`` -> ``transformer_encoder_layer``."""
    return _CAMEL.sub("_", name).lower()

