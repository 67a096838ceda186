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
    # Beyond MASE's tables: torch.nn modules real models use (torchvision, timm, HF). fx keeps
    # every torch.nn module as one node, so each needs a name (and a cost rule, core/cost/rules.py).
    ("MultiheadAttention", "multihead_attention", "module_related_func"),
    ("Conv3d", "conv3d", "module_related_func"),
    ("ConvTranspose1d", "convtranspose1d", "module_related_func"),
    ("ConvTranspose3d", "convtranspose3d", "module_related_func"),
    ("BatchNorm3d", "batch_norm3d", "module"),
    ("InstanceNorm1d", "instance_norm1d", "module_related_func"),
    ("InstanceNorm3d", "instance_norm3d", "module_related_func"),
    ("RMSNorm", "rms_norm", "module_related_func"),
    ("LocalResponseNorm", "local_response_norm", "module_related_func"),
    ("EmbeddingBag", "embedding_bag", "implicit_func"),
    ("MaxPool3d", "max_pool3d", "module_related_func"),
    ("AvgPool3d", "avg_pool3d", "module_related_func"),
    ("AdaptiveAvgPool3d", "adaptive_avg_pool3d", "module_related_func"),
    ("AdaptiveMaxPool3d", "adaptive_max_pool3d", "module_related_func"),
    ("LPPool1d", "lp_pool1d", "module_related_func"),
    ("LPPool2d", "lp_pool2d", "module_related_func"),
    ("PReLU", "prelu", "module_related_func"),
    ("Mish", "mish", "module_related_func"),
    ("GLU", "glu", "module_related_func"),
    ("CELU", "celu", "module_related_func"),
    ("RReLU", "rrelu", "module_related_func"),
    ("Threshold", "threshold", "module_related_func"),
    ("Tanhshrink", "tanhshrink", "module_related_func"),
    ("Softmin", "softmin", "module_related_func"),
    ("Softmax2d", "softmax", "module_related_func"),
    ("Dropout1d", "dropout", "module_related_func"),
    ("Dropout2d", "dropout", "module_related_func"),
    ("Dropout3d", "dropout", "module_related_func"),
    ("AlphaDropout", "dropout", "module_related_func"),
    ("Bilinear", "bilinear", "module_related_func"),
    ("Unflatten", "unflatten", "implicit_func"),
    ("PixelShuffle", "pixel_shuffle", "implicit_func"),
    ("PixelUnshuffle", "pixel_unshuffle", "implicit_func"),
    ("ZeroPad1d", "pad", "module_related_func"),
    ("ZeroPad2d", "pad", "module_related_func"),
    ("ConstantPad1d", "pad", "module_related_func"),
    ("ConstantPad2d", "pad", "module_related_func"),
    ("ConstantPad3d", "pad", "module_related_func"),
    ("ReflectionPad1d", "pad", "module_related_func"),
    ("ReflectionPad2d", "pad", "module_related_func"),
    ("ReplicationPad1d", "pad", "module_related_func"),
    ("ReplicationPad2d", "pad", "module_related_func"),
    ("ChannelShuffle", "channel_shuffle", "implicit_func"),
    ("UpsamplingNearest2d", "upsample", "module_related_func"),
    ("UpsamplingBilinear2d", "upsample", "module_related_func"),
)

# Torch functions and methods outside MASE's tables that real models call. They are typed here
# so that they are named ops, not "unknown": no arithmetic (views, shape queries, constructors,
# data movement) -> implicit_func; arithmetic -> builtin_func (each has a cost rule).
EXTRA_IMPLICIT_FUNCS = (
    "roll", "unbind", "unflatten", "movedim", "moveaxis", "narrow", "select", "view_as", "reshape_as",
    "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "zeros_like", "ones_like",
    "empty", "empty_like", "full_like", "rand", "randn", "rand_like", "randn_like", "randint", "bernoulli",
    "triu", "tril", "meshgrid", "broadcast_to", "broadcast_tensors", "index", "fill", "fill_", "zero_",
    "requires_grad_", "item", "tolist", "dtype", "device", "is_floating_point", "is_contiguous",
    "element_size", "ndim", "ndimension", "nelement", "cpu", "cuda", "double", "half", "bfloat16",
    "short", "char", "byte", "swapaxes", "swapdims", "hsplit", "vsplit", "tensor_split", "take",
    "take_along_dim", "masked_select", "index_fill", "index_copy", "index_put", "scatter", "scatter_",
    "nonzero", "argwhere", "one_hot", "pixel_shuffle", "pixel_unshuffle",
    "channel_shuffle", "diag", "diagonal", "diag_embed", "eye", "linspace", "logspace", "as_strided",
    "unfold", "fold", "stride", "storage_offset", "data_ptr", "iinfo", "is_tensor", "numel", "len",
    "isinstance", "hasattr", "_assert_is_none", "sym_size", "chunk", "dsplit", "hstack", "vstack",
    "dstack", "column_stack", "atleast_1d", "atleast_2d", "atleast_3d", "squeeze_", "unsqueeze_",
    "t_", "transpose_", "resize_", "as_tensor", "from_numpy", "copy_", "set_", "argsort", "sort",
    "topk", "unique", "bincount", "searchsorted", "bucketize",
    # torchvision helpers it keeps as one fx node (fx.wrap): gathers, pads and slices
    "_get_relative_position_bias", "_patch_merging_pad", 
)
EXTRA_BUILTIN_FUNCS = (
    "einsum", "addbmm", "addmv", "addr", "mv", "dot", "vdot", "inner", "outer", "ger", "kron",
    "tensordot", "chain_matmul", "multi_dot", "bilinear", "embedding_bag", "rms_norm",
    "local_response_norm", "normalize", "lp_pool1d", "lp_pool2d", "max_pool3d", "avg_pool3d",
    "adaptive_avg_pool3d", "adaptive_max_pool3d", "conv3d", "conv_transpose1d", "conv_transpose3d",
    "interpolate", "upsample", "grid_sample", "affine_grid", "prelu", "mish", "glu", "celu", "rrelu",
    "threshold", "tanhshrink", "softmin", "gumbel_softmax", "reciprocal", "sign", "sgn", "floor",
    "ceil", "round", "trunc", "frac", "remainder", "fmod", "atan", "asin", "acos", "atan2", "asinh",
    "acosh", "atanh", "expm1", "log1p", "log2", "log10", "exp2", "square", "lerp", "addcmul", "addcdiv",
    "maximum", "minimum", "fmax", "fmin", "clamp_min", "clamp_max", "clip", "logical_and", "logical_or",
    "logical_xor", "logical_not", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "and_",
    "or_", "xor", "lshift", "rshift", "amax", "amin", "argmax", "argmin", "var", "std", "var_mean",
    "std_mean", "norm", "prod", "logsumexp", "all", "any", "cumprod", "logcumsumexp", "cummax",
    "cummin", "nan_to_num", "isnan", "isinf", "isfinite", "sigmoid_", "relu_", "add_", "sub_",
    "mul_", "div_", "neg_", "exp_", "clamp_", "hardtanh_", "leaky_relu_", "elu_", "tanh_", "sqrt_",
    "pow_", "erfc", "erfinv", "lgamma", "digamma", "sinc", "logit", "xlogy", "hypot", "heaviside",
    "mod", "matrix_power", "cross", "cdist", "pdist", "cosine_similarity", "pairwise_distance",
    "stochastic_depth", "drop_path", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "shifted_window_attention", "rsub", "true_divide",
    "floor_divide", "abs_", "sum_to_size",
)
# Matched on the exact name only (the part matching below is for MASE's quantised function
# names such as add_integer, and must not turn a user's add_index into index).
EXTRA_OP_TO_TYPE: dict[str, str] = {op: "implicit_func" for op in EXTRA_IMPLICIT_FUNCS}
EXTRA_OP_TO_TYPE.update({op: "builtin_func" for op in EXTRA_BUILTIN_FUNCS if op not in OP_TO_TYPE})

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
