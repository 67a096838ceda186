"""MASE types and ops for aten operators (the nodes of an exported graph).

An aten overload such as ``aten.linear.default`` is matched on its packet name (``linear``).
In-place variants (``relu_``, ``add_``) are their functional op. Names that differ from
MASE's (``_softmax``, ``native_layer_norm``, ``split_with_sizes`` ...) go through ``ALIASES``.
Every aten op gets a type: an op that no MASE table lists is still a torch operator, so it is
typed ``builtin_func`` under its own name rather than ``unknown``.
"""

from __future__ import annotations

import torch

from core.ir.common import OP_TO_TYPE

# aten packet name -> MASE op (only where the names differ)
ALIASES: dict[str, str] = {
    "_softmax": "softmax", "_log_softmax": "log_softmax", "native_layer_norm": "layer_norm",
    "native_batch_norm": "batch_norm", "_native_batch_norm_legit_no_training": "batch_norm",
    "native_group_norm": "group_norm", "convolution": "conv2d", "_convolution": "conv2d",
    "conv_transpose1d": "conv_transpose1d", "conv_transpose2d": "conv_transpose2d",
    "split_with_sizes": "split", "unbind": "split", "unsafe_split": "split",
    "select": "getitem", "index": "getitem", "narrow": "slice", "alias": "view", "_unsafe_view": "view",
    "view_as": "view", "unflatten": "view", "squeeze_": "squeeze", "unsqueeze_": "unsqueeze",
    "_to_copy": "to", "_assert_tensor_metadata": "_assert", "_assert_scalar": "_assert",
    "sym_size": "size", "sym_numel": "numel", "sym_stride": "size",
    "lift_fresh_copy": "clone", "copy": "clone", "copy_": "setitem", "fill_": "full", "fill": "full",
    "new_ones": "ones", "new_zeros": "zeros", "new_full": "full", "new_empty": "zeros", "empty": "zeros",
    "empty_like": "zeros", "zeros_like": "zeros", "ones_like": "ones", "full_like": "full",
    "scalar_tensor": "tensor", "constant_pad_nd": "pad", "reflection_pad2d": "pad",
    "upsample_nearest2d": "upsample", "upsample_bilinear2d": "upsample",
    "floor_divide": "floordiv", "true_divide": "div", "square": "pow",
    "logical_not": "not", "bitwise_not": "not", "__and__": "and", "__or__": "or",
    "amax": "max", "amin": "min", "maximum": "max", "minimum": "min",
    "clamp_min": "clamp", "clamp_max": "clamp", "clip": "clamp", "masked_fill": "masked_fill",
    "index_put": "setitem", "index_put_": "setitem", "slice_scatter": "setitem", "select_scatter": "setitem",
    "expand_as": "expand_as",
    "native_dropout": "dropout", "feature_dropout": "dropout", "dropout_": "dropout",
    "hardtanh_": "hardtanh", "gelu_": "gelu", "silu_": "silu", "sigmoid_": "sigmoid",
    "max_pool2d_with_indices": "max_pool2d", "_adaptive_avg_pool2d": "adaptive_avg_pool2d",
}


def aten_packet(target) -> str | None:
    """'linear' for ``torch.ops.aten.linear.default``; None for anything else."""
    if isinstance(target, torch._ops.OpOverload) and target.namespace == "aten":
        return target.overloadpacket.__name__
    return None


def aten_mase_op(name: str) -> str:
    """The MASE op for an aten packet name (its own name when no table has one)."""
    if name in ALIASES:
        return ALIASES[name]
    if name in OP_TO_TYPE:
        return name
    if name.endswith("_") and name[:-1] in OP_TO_TYPE:  # in-place variant
        return name[:-1]
    return name


def classify_aten(target) -> tuple[str, str] | None:
    """(mase_type, mase_op) for an aten call_function target, None for other targets."""
    name = aten_packet(target)
    if name is None:
        return None
    op = aten_mase_op(name)
    return OP_TO_TYPE.get(op, "builtin_func"), op


def quantizable_aten_targets() -> dict:
    """aten overload -> the op whose quantised function replaces it (same arguments): the
    multiply-accumulate ops and the elementwise ops MASE quantises. In-place variants are left
    alone (a quantised function returns a new tensor, which would drop the in-place write)."""
    aten = torch.ops.aten
    return {
        aten.linear.default: "linear", aten.conv1d.default: "conv1d", aten.conv2d.default: "conv2d",
        aten.matmul.default: "matmul", aten.bmm.default: "bmm",
        aten.add.Tensor: "add", aten.sub.Tensor: "sub", aten.mul.Tensor: "mul", aten.relu.default: "relu",
    }
