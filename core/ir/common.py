"""MASE types and op tables.

The lists cover both MASE's lab-era and newest tables. Function and method targets are matched
on the target's own name (``operator.add`` -> ``add``, ``F.relu`` -> ``relu``), an exact name
first, then the longest table entry that appears in the name as a whole ``_``-separated part
(``add_integer`` -> ``add``, ``_max_pool2d`` -> ``max_pool2d``). MASE's lab-era matched node
names with first-match substrings, which turned ``matmul_1`` into ``mul``.
"""

from __future__ import annotations

import re

MASE_TYPES = (
    "module",
    "module_related_func",
    "builtin_func",
    "implicit_func",
    "placeholder",
    "get_attr",
    "output",
    "unknown",
)

MASE_MODULE_RELATED_FUNCS = (
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "avg_pool1d", "avg_pool2d", "batch_norm", "conv1d", "conv2d", "conv_transpose2d",
    "layer_norm", "group_norm", "instance_norm", "linear", "max_pool1d", "max_pool2d", "relu",
    "relu6", "hardtanh", "hardswish", "hardsigmoid", "identity", "hardshrink", "silu", "elu",
    "sigmoid", "softshrink", "logsigmoid", "softmax", "log_softmax", "selu", "tanh", "gelu",
    "softplus", "softsign", "leaky_relu", "dropout", "embedding", "pad",
)

MASE_BUILTIN_FUNCS = (
    "mul", "baddbmm", "addmm", "sub", "add", "matmul", "bmm", "mm", "mean", "sum", "pow", "sqrt",
    "rsqrt", "div", "truediv", "floordiv", "max", "min", "cumsum", "erf", "exp", "sin", "cos",
    "tan", "sinh", "cosh", "greater", "gt", "less", "le", "lt", "not", "neg", "log", "arange",
    "range", "scaled_dot_product_attention", "einsum", "df_split", "zeros", "setitem",
    "invert", "iadd", "isub", "imul",
)

MASE_IMPLICIT_FUNCS = (
    "size", "view", "to", "bool", "int", "float", "flatten", "squeeze", "unsqueeze", "t",
    "transpose", "permute", "reshape", "contiguous", "eq", "ne", "gemm", "ge", "where",
    "_assert", "getattr", "getitem", "long", "type_as", "clamp", "abs", "stack", "cast",
    "shape", "gather", "slice", "cat", "split", "chunk", "tile", "expand", "expand_as", "full",
    "ones", "dim", "finfo", "masked_fill", "masked_fill_", "index_select", "detach", "tensor",
    "flip", "repeat", "clone", "type", "numel",
)

# Ops that live in more than one MASE list resolve to the first category here.
_CATEGORY_ORDER = (
    ("module_related_func", MASE_MODULE_RELATED_FUNCS),
    ("builtin_func", MASE_BUILTIN_FUNCS),
    ("implicit_func", MASE_IMPLICIT_FUNCS),
)

OP_TO_TYPE: dict[str, str] = {}
for _type, _ops in _CATEGORY_ORDER:
    for _op in _ops:
        OP_TO_TYPE.setdefault(_op, _type)

# nn.Module class name -> (mase_op, mase_type). Quantised modules subclass these classes, so a
# re-analysed quantised graph still reports linear / conv2d / relu.
MODULE_OPS: tuple[tuple[str, str, str], ...] = (
    ("AdaptiveAvgPool1d", "adaptive_avg_pool1d", "module_related_func"),
    ("AdaptiveAvgPool2d", "adaptive_avg_pool2d", "module_related_func"),
    ("AdaptiveMaxPool1d", "adaptive_max_pool1d", "module_related_func"),
    ("AdaptiveMaxPool2d", "adaptive_max_pool2d", "module_related_func"),
    ("AvgPool1d", "avg_pool1d", "module_related_func"),
    ("AvgPool2d", "avg_pool2d", "module_related_func"),
    ("MaxPool1d", "max_pool1d", "module_related_func"),
    ("MaxPool2d", "max_pool2d", "module_related_func"),
    ("BatchNorm1d", "batch_norm1d", "module"),
    ("BatchNorm2d", "batch_norm2d", "module"),
    ("ConvTranspose2d", "convtranspose2d", "module_related_func"),
    ("Conv2d", "conv2d", "module_related_func"),
    ("Conv1d", "conv1d", "module_related_func"),
    ("LayerNorm", "layer_norm", "module_related_func"),
    ("GroupNorm", "group_norm", "module_related_func"),
    ("InstanceNorm2d", "instance_norm2d", "module_related_func"),
    ("Linear", "linear", "module_related_func"),
    ("ReLU6", "relu6", "module_related_func"),
    ("ReLU", "relu", "module_related_func"),
    ("LeakyReLU", "leaky_relu", "module_related_func"),
    ("Hardtanh", "hardtanh", "module_related_func"),
    ("Embedding", "embedding", "implicit_func"),
    ("Dropout", "dropout", "module_related_func"),
    ("Hardswish", "hardswish", "module_related_func"),
    ("Hardsigmoid", "hardsigmoid", "module_related_func"),
    ("SELU", "selu", "module_related_func"),
    ("Tanh", "tanh", "module_related_func"),
    ("GELU", "gelu", "module_related_func"),
    ("Softsign", "softsign", "module_related_func"),
    ("Softplus", "softplus", "module_related_func"),
    ("Sigmoid", "sigmoid", "module_related_func"),
    ("Softmax", "softmax", "module_related_func"),
    ("LogSoftmax", "log_softmax", "module_related_func"),
    ("Hardshrink", "hardshrink", "module_related_func"),
    ("SiLU", "silu", "module_related_func"),
    ("ELU", "elu", "module_related_func"),
    ("Softshrink", "softshrink", "module_related_func"),
    ("LogSigmoid", "logsigmoid", "module_related_func"),
    ("CrossEntropyLoss", "crossentropyloss", "module_related_func"),
    ("Flatten", "flatten", "implicit_func"),
    ("Identity", "identity", "module_related_func"),
    ("Upsample", "upsample", "module_related_func"),
)

_ALL_FUNC_OPS = tuple(OP_TO_TYPE)


def match_function_op(name: str) -> str | None:
    """The table op for a function or method name, or None when no table knows it."""
    if name in OP_TO_TYPE:
        return name
    best: str | None = None
    for op in _ALL_FUNC_OPS:
        if len(op) < 2 or (best is not None and len(op) <= len(best)):
            continue
        if re.search(rf"(^|_){re.escape(op)}(_|\d|$)", name):
            best = op
    return best


def target_name(target) -> str:
    """The name MASE matches a call_function target on."""
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", None) or type(target).__name__
