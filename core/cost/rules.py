"""The per-op cost rules: one table, op -> (rule function, formula shown to users).

Rules read only metadata shapes (``common["args"]`` / ``common["results"]``), so they work on
meta-device graphs. Module hyper-parameters come from weight shapes: Linear in_features =
weight.shape[1]; Conv C_in/groups = weight.shape[1] and the kernel = weight.shape[2:] (stride,
padding and dilation do not matter because the output shape is known).

Buckets:
- ``mac``: MACs; core FLOPs = 2 x MACs (FlopCounterMode's convention, bias excluded);
  BitOPs = MACs x b(operand a) x b(operand b); the bias add goes to the elementwise bucket.
- ``elementwise``: FLOPs only (no MACs, no BitOPs).
- ``zero``: zero cost by rule (views, indexing, shape queries, copies, lookups).
Ops not in the table are reported by name with zero cost and a warning by the pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from core.cost import attention, linalg_rules
from core.cost.bits import is_tensor_entry, numel
from core.cost.opcost import MacPart, MissingShape, OpCost

MAC, ELEMENTWISE, ZERO = "mac", "elementwise", "zero"


@dataclass(frozen=True)
class CostRule:
    fn: Callable[[dict, dict], OpCost]
    formula: str
    bucket: str
    # Views and aliases produce no new activation memory; everything else does.
    allocates: bool = True


def _tensor(args: dict, name: str) -> dict:
    entry = args.get(name)
    if not is_tensor_entry(entry):
        raise MissingShape(name)
    return entry


def _has(args: dict, name: str) -> bool:
    return is_tensor_entry(args.get(name))


def _out(results: dict) -> dict:
    return _tensor(results, "data_out_0")


def _shape(entry: dict) -> str:
    return "x".join(str(d) for d in entry["shape"]) or "scalar"


def _bias(args: dict, out_n: int) -> int:
    return out_n if _has(args, "bias") else 0


# ---------------------------------------------------------------- MAC rules
def _linear(args: dict, results: dict) -> OpCost:
    out, w = _out(results), _tensor(args, "weight")
    _tensor(args, "data_in_0")
    k = int(w["shape"][1])
    n = numel(out)
    return OpCost([MacPart(n * k, k, "data_in_0", "weight")], _bias(args, n),
                  f"out {_shape(out)} ({n}) x in_features {k}")


def _conv(args: dict, results: dict) -> OpCost:
    out, w, x = _out(results), _tensor(args, "weight"), _tensor(args, "data_in_0")
    per_out = math.prod(int(d) for d in w["shape"][1:])
    groups = int(x["shape"][1]) // max(1, int(w["shape"][1])) if len(x["shape"]) > 1 else 1
    n = numel(out)
    kernel = "x".join(str(d) for d in w["shape"][2:])
    return OpCost([MacPart(n * per_out, per_out, "data_in_0", "weight")], _bias(args, n),
                  f"out {_shape(out)} ({n}) x C_in/groups {w['shape'][1]} x k {kernel} (groups {groups})")


def _conv_transpose(args: dict, results: dict) -> OpCost:
    # weight is [C_in, C_out/groups, *k]: every input element is scattered to C_out/groups x k outputs
    out, w, x = _out(results), _tensor(args, "weight"), _tensor(args, "data_in_0")
    per_in = math.prod(int(d) for d in w["shape"][1:])
    n_in = numel(x)
    c_out = int(out["shape"][1]) if len(out["shape"]) > 1 else 1
    groups = max(1, c_out // max(1, int(w["shape"][1])))
    kernel = math.prod(int(d) for d in w["shape"][2:])
    fan_in = (int(w["shape"][0]) // groups) * kernel
    return OpCost([MacPart(n_in * per_in, fan_in, "data_in_0", "weight")], _bias(args, numel(out)),
                  f"in {_shape(x)} ({n_in}) x C_out/groups {w['shape'][1]} x k {kernel} (groups {groups})")


def _matmul(args: dict, results: dict) -> OpCost:
    # out_numel x K covers mm, bmm, broadcast matmul and the 1-D cases alike
    out, a = _out(results), _tensor(args, "data_in_0")
    _tensor(args, "data_in_1")
    k = int(a["shape"][-1])
    n = numel(out)
    return OpCost([MacPart(n * k, k, "data_in_0", "data_in_1")], 0, f"out {_shape(out)} ({n}) x K {k}")


def _addmm(args: dict, results: dict) -> OpCost:
    # addmm(input, mat1, mat2) / baddbmm(input, batch1, batch2): the input add is elementwise
    out, m1 = _out(results), _tensor(args, "data_in_1")
    _tensor(args, "data_in_2")
    k = int(m1["shape"][-1])
    n = numel(out)
    return OpCost([MacPart(n * k, k, "data_in_1", "data_in_2")], n, f"out {_shape(out)} ({n}) x K {k}")


# ---------------------------------------------------------------- elementwise rules
def _out_numel(args: dict, results: dict) -> OpCost:
    n = numel(_out(results))
    return OpCost([], n, f"out {n}")


def _in_numel(args: dict, results: dict) -> OpCost:
    n = numel(_tensor(args, "data_in_0"))
    return OpCost([], n, f"in {n}")


def _twice_numel(args: dict, results: dict) -> OpCost:
    n = numel(_tensor(args, "data_in_0"))
    return OpCost([], 2 * n, f"2 x {n}")


def _norm(args: dict, results: dict) -> OpCost:
    n = numel(_tensor(args, "data_in_0"))
    per = 5 if _has(args, "weight") else 4
    return OpCost([], per * n, f"{per} x {n}")


def _largest(args: dict, results: dict) -> OpCost:
    sizes = [numel(e) for e in list(args.values()) + list(results.values()) if is_tensor_entry(e)]
    if not sizes:
        raise MissingShape("data_in_0")
    return OpCost([], max(sizes), f"max numel {max(sizes)}")


def _zero(args: dict, results: dict) -> OpCost:
    return OpCost()


def _times(k: int, what: str):
    def rule(args: dict, results: dict) -> OpCost:
        n = numel(_tensor(args, "data_in_0")) if what == "in" else numel(_out(results))
        return OpCost([], k * n, f"{k} x {n}")
    return rule


def _cdist(args: dict, results: dict) -> OpCost:
    n, m = numel(_out(results)), int(_tensor(args, "data_in_0")["shape"][-1])
    return OpCost([], 3 * n * m, f"3 x {n} x M {m}")


def _rms_norm(args: dict, results: dict) -> OpCost:
    n = numel(_tensor(args, "data_in_0"))
    per = 4 if _has(args, "weight") else 3
    return OpCost([], per * n, f"{per} x {n}")


_ACTIVATION = "FLOPs = numel (one op per element)"
_BINARY = "FLOPs = out_numel (one op per output element, broadcast included)"
_POOL = "FLOPs = input numel (each input element read into one compare/add)"
_REDUCE = "FLOPs = input numel (one add per input element)"
_VIEW = "0 by rule: view/alias or shape query, no arithmetic, no new memory"
_COPY = "0 by rule: data movement or lookup, no arithmetic (output memory counted)"
_LINEAR_F = "MACs = out_numel x in_features (weight.shape[1]); bias add = out_numel (elementwise)"
_CONV_F = ("MACs = out_numel x (C_in/groups) x prod(kernel) (= weight.shape[1:]; groups = C_in/weight.shape[1]); "
           "bias add = out_numel (elementwise)")
_CONVT_F = "MACs = in_numel x (C_out/groups) x prod(kernel) (= weight.shape[1:]); bias add = out_numel (elementwise)"
_MHA_F = ("MACs = B x L x E x E (q proj) + B x S x E x (kdim + vdim) (k, v proj) + 2 x B x L x S' x E (QK^T, AV; "
          "S' = S + bias_k + zero_attn) + B x L x E x E (out proj); biases, scale, softmax elementwise")
_SWIN_F = ("MACs = T x 3C x C (qkv) + 2 x T x N x C (QK^T, AV in windows of N tokens) + T x C x C (proj); "
           "T = B x padded H x padded W")
_TRANSFORMER_F = ("MACs = tokens x weight size for every linear weight (encoder: source tokens, decoder: target "
                  "tokens, cross-attention k/v: memory tokens) + 2 x B x L x S x E per attention")
_EINSUM_F = ("MACs = product of the label sizes of each pairwise bmm, contracted as torch does (left to right, "
             "labels no later operand needs summed out first); no shared summed label: elementwise multiply")
_RNN_F = "MACs = tokens x sum of the weight matrices' sizes (every weight applied once per token, per layer and direction)"
_MATMUL_F = "MACs = out_numel x K (K = data_in_0.shape[-1]); activation x activation: BitOPs use both widths"
_ADDMM_F = "MACs = out_numel x K (K = mat1.shape[-1]); input add = out_numel (elementwise)"

_ACTIVATIONS = (
    "relu", "relu6", "leaky_relu", "hardtanh", "gelu", "silu", "sigmoid", "tanh", "elu", "selu",
    "hardswish", "hardsigmoid", "softplus", "softsign", "logsigmoid", "hardshrink", "softshrink",
    "erf", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "sqrt", "rsqrt", "pow", "neg",
    "abs", "clamp",
    # beyond MASE's tables (core/ir/common.py EXTRA_BUILTIN_FUNCS)
    "prelu", "mish", "celu", "rrelu", "threshold", "tanhshrink", "reciprocal", "sign", "sgn",
    "floor", "ceil", "round", "trunc", "frac", "atan", "asin", "acos", "asinh", "acosh", "atanh",
    "expm1", "log1p", "log2", "log10", "exp2", "square", "erfc", "erfinv", "lgamma", "digamma",
    "sinc", "logit", "nan_to_num", "isnan", "isinf", "isfinite", "clamp_min", "clamp_max", "clip",
    "logical_not", "bitwise_not", "sigmoid_", "relu_", "neg_", "exp_", "clamp_", "hardtanh_",
    "leaky_relu_", "elu_", "tanh_", "sqrt_", "pow_", "abs_", "glu",
)
_BINARIES = (
    "add", "sub", "mul", "div", "truediv", "floordiv", "iadd", "isub", "imul", "gt", "lt", "le",
    "ge", "eq", "ne", "greater", "less", "where", "masked_fill", "masked_fill_", "not", "invert",
    "remainder", "fmod", "mod", "atan2", "maximum", "minimum", "fmax", "fmin", "logical_and",
    "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor", "and_", "or_", "xor",
    "lshift", "rshift", "xlogy", "hypot", "heaviside", "rsub", "true_divide", "floor_divide",
    "add_", "sub_", "mul_", "div_", "outer", "ger", "kron",
    # aten operators of exported graphs (core/ir/aten_ops.py names them)
    "and", "or", "xor", "diff", "rsub", "remainder", "fmod", "reciprocal", "sign", "isinf", "isnan",
)
_POOLS = (
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "max_pool3d", "avg_pool3d",
    "adaptive_avg_pool3d", "adaptive_max_pool3d", "lp_pool1d", "lp_pool2d",
)
_VIEWS = (
    "output", "constant", "size", "view", "to", "bool", "int", "float", "long",
    "flatten", "squeeze", "unsqueeze", "t", "transpose", "permute", "reshape", "getattr",
    "getitem", "_assert", "type_as", "cast", "shape", "slice", "split", "chunk", "expand",
    "expand_as", "dim", "finfo", "detach", "type", "numel", "identity", "dropout",
    # beyond MASE's tables: views, aliases, shape and dtype queries, bookkeeping
    "unbind", "unflatten", "movedim", "moveaxis", "narrow", "select", "view_as", "reshape_as",
    "broadcast_to", "broadcast_tensors", "swapaxes", "swapdims", "hsplit", "vsplit", "dsplit",
    "tensor_split", "diagonal", "as_strided", "squeeze_", "unsqueeze_", "t_", "transpose_",
    "dtype", "device", "is_floating_point", "is_contiguous", "element_size", "ndim", "ndimension",
    "nelement", "stride", "storage_offset", "data_ptr", "item", "tolist", "iinfo", "is_tensor",
    "len", "isinstance", "hasattr", "_assert_is_none", "sym_size", "requires_grad_", "atleast_1d",
    "atleast_2d", "atleast_3d", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
    "feature_alpha_dropout", "drop_path", "unflatten", "cpu", "cuda",
)
_COPIES = (
    "contiguous", "stack", "cat", "gather", "tile", "full", "ones", "zeros", "arange", "range",
    "index_select", "tensor", "flip", "repeat", "clone", "embedding", "pad", "setitem",
    # beyond MASE's tables: data movement, constructors, index and sort ops (no arithmetic)
    "roll", "new_zeros", "new_ones", "new_empty", "new_full", "new_tensor", "zeros_like",
    "ones_like", "empty", "empty_like", "full_like", "rand", "randn", "rand_like", "randn_like",
    "randint", "bernoulli", "triu", "tril", "meshgrid", "index", "fill", "fill_", "zero_", "double",
    "half", "bfloat16", "short", "char", "byte", "take", "take_along_dim", "masked_select",
    "index_fill", "index_copy", "index_put", "scatter", "scatter_", "nonzero", "argwhere", "one_hot",
    "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "diag", "diag_embed", "eye", "linspace",
    "logspace", "unfold", "fold", "hstack", "vstack", "dstack", "column_stack", "resize_",
    "as_tensor", "from_numpy", "copy_", "set_", "argsort", "sort", "topk", "unique", "bincount",
    "searchsorted", "bucketize", "chunk", "sum_to_size",
    "_get_relative_position_bias", "_patch_merging_pad",
)
_REDUCTIONS = (
    "amax", "amin", "argmax", "argmin", "prod", "all", "any", "cumprod", "cummax", "cummin",
    "logcumsumexp",
)

# THE TABLE. mase_op -> rule. README section "Cost rules" mirrors it.
RULES: dict[str, CostRule] = {
    "placeholder": CostRule(_zero, "0 by rule: graph input (its memory counts as an activation)", ZERO),
    "linear": CostRule(_linear, _LINEAR_F, MAC),
    "conv1d": CostRule(_conv, _CONV_F, MAC),
    "conv2d": CostRule(_conv, _CONV_F, MAC),
    "conv3d": CostRule(_conv, _CONV_F, MAC),
    "convtranspose1d": CostRule(_conv_transpose, _CONVT_F, MAC),
    "convtranspose2d": CostRule(_conv_transpose, _CONVT_F, MAC),
    "conv_transpose1d": CostRule(_conv_transpose, _CONVT_F, MAC),
    "conv_transpose2d": CostRule(_conv_transpose, _CONVT_F, MAC),
    "convtranspose3d": CostRule(_conv_transpose, _CONVT_F, MAC),
    "conv_transpose3d": CostRule(_conv_transpose, _CONVT_F, MAC),
    "matmul": CostRule(_matmul, _MATMUL_F, MAC),
    "mm": CostRule(_matmul, _MATMUL_F, MAC),
    "bmm": CostRule(_matmul, _MATMUL_F, MAC),
    "addmm": CostRule(_addmm, _ADDMM_F, MAC),
    "baddbmm": CostRule(_addmm, _ADDMM_F, MAC),
    "scaled_dot_product_attention": CostRule(
        attention.sdpa, "MACs = batch x L x S x (E + Ev) (QK^T and AV; causal or masked: the same, as the math kernel); "
        "scale + softmax (+ mask add) = 2 (3) x batch x L x S (elementwise)", MAC),
    "batch_norm1d": CostRule(_twice_numel, "FLOPs = 2 x numel (eval: scale + shift)", ELEMENTWISE),
    "batch_norm2d": CostRule(_twice_numel, "FLOPs = 2 x numel (eval: scale + shift)", ELEMENTWISE),
    "batch_norm": CostRule(_twice_numel, "FLOPs = 2 x numel (eval: scale + shift)", ELEMENTWISE),
    "layer_norm": CostRule(_norm, "FLOPs = 5 x numel with affine, 4 x numel without (mean, var, normalise, scale, shift)", ELEMENTWISE),
    "group_norm": CostRule(_norm, "FLOPs = 5 x numel with affine, 4 x numel without", ELEMENTWISE),
    "instance_norm": CostRule(_norm, "FLOPs = 5 x numel with affine, 4 x numel without", ELEMENTWISE),
    "instance_norm2d": CostRule(_norm, "FLOPs = 5 x numel with affine, 4 x numel without", ELEMENTWISE),
    "softmax": CostRule(_out_numel, "FLOPs = numel (DeepSpeed/calflops convention)", ELEMENTWISE),
    "log_softmax": CostRule(_out_numel, "FLOPs = numel (DeepSpeed/calflops convention)", ELEMENTWISE),
    "mean": CostRule(_in_numel, _REDUCE, ELEMENTWISE),
    "sum": CostRule(_in_numel, _REDUCE, ELEMENTWISE),
    "cumsum": CostRule(_in_numel, _REDUCE, ELEMENTWISE),
    "max": CostRule(_largest, "FLOPs = max(input numel, output numel) (reduction or elementwise)", ELEMENTWISE),
    "min": CostRule(_largest, "FLOPs = max(input numel, output numel) (reduction or elementwise)", ELEMENTWISE),
    # attention (core/cost/attention.py): FlopCounterMode with the math kernel counts the same MACs
    "multihead_attention": CostRule(attention.multihead_attention, _MHA_F, MAC),
    "shifted_window_attention": CostRule(attention.shifted_window_attention, _SWIN_F, MAC),
    **{op: CostRule(attention.transformer, _TRANSFORMER_F, MAC) for op in (
        "transformer_encoder_layer", "transformer_encoder", "transformer_decoder_layer", "transformer_decoder",
        "transformer")},
    # other multiply-accumulate ops (core/cost/linalg_rules.py)
    "einsum": CostRule(linalg_rules.einsum, _EINSUM_F, MAC),
    "addbmm": CostRule(linalg_rules.addbmm, "MACs = b x n x m x p (batch1 [b,n,m] @ batch2 [b,m,p]); batch sum + input add elementwise", MAC),
    "mv": CostRule(linalg_rules.matrix_vector, "MACs = numel(mat)", MAC),
    "addmv": CostRule(linalg_rules.matrix_vector, "MACs = numel(mat); input add = out_numel (elementwise)", MAC),
    "dot": CostRule(linalg_rules.dot, "MACs = out_numel x K", MAC),
    "vdot": CostRule(linalg_rules.dot, "MACs = out_numel x K", MAC),
    "inner": CostRule(linalg_rules.dot, "MACs = out_numel x K", MAC),
    "tensordot": CostRule(linalg_rules.tensordot, "MACs = out_numel x K (K = contracted size)", MAC),
    "bilinear": CostRule(linalg_rules.bilinear, "MACs = out_numel x in1 x in2 (weight [out, in1, in2]); bias add elementwise", MAC),
    **{op: CostRule(linalg_rules.recurrent, _RNN_F, MAC) for op in ("lstm", "gru", "rnn")},
    "embedding_bag": CostRule(linalg_rules.embedding_bag, "FLOPs = indices x dim (+ indices x dim with per_sample_weights, + out_numel for mean)", ELEMENTWISE),
    "stochastic_depth": CostRule(linalg_rules.stochastic_depth, "0 in eval (identity); 2 x numel in a training graph", ELEMENTWISE),
    # norms (elementwise bucket)
    "batch_norm3d": CostRule(_twice_numel, "FLOPs = 2 x numel (eval: scale + shift)", ELEMENTWISE),
    "instance_norm1d": CostRule(_norm, "FLOPs = 5 x numel with affine, 4 x numel without", ELEMENTWISE),
    "instance_norm3d": CostRule(_norm, "FLOPs = 5 x numel with affine, 4 x numel without", ELEMENTWISE),
    "rms_norm": CostRule(_rms_norm, "FLOPs = 4 x numel with weight, 3 x numel without (square, mean, rsqrt-scale, weight)", ELEMENTWISE),
    "local_response_norm": CostRule(_norm, "FLOPs = 5 x numel (approximation: square, window average, power, divide)", ELEMENTWISE),
    "normalize": CostRule(_times(3, "in"), "FLOPs = 3 x numel (square-sum, norm, divide)", ELEMENTWISE),
    "cosine_similarity": CostRule(_times(3, "in"), "FLOPs = 3 x input numel", ELEMENTWISE),
    "pairwise_distance": CostRule(_times(3, "in"), "FLOPs = 3 x input numel", ELEMENTWISE),
    "var": CostRule(_times(3, "in"), "FLOPs = 3 x input numel (mean, squared deviation, sum)", ELEMENTWISE),
    "std": CostRule(_times(3, "in"), "FLOPs = 3 x input numel (mean, squared deviation, sum)", ELEMENTWISE),
    "var_mean": CostRule(_times(3, "in"), "FLOPs = 3 x input numel", ELEMENTWISE),
    "std_mean": CostRule(_times(3, "in"), "FLOPs = 3 x input numel", ELEMENTWISE),
    "norm": CostRule(_times(2, "in"), "FLOPs = 2 x input numel (square, sum)", ELEMENTWISE),
    "logsumexp": CostRule(_times(3, "in"), "FLOPs = 3 x input numel (max, exp, sum)", ELEMENTWISE),
    "softmin": CostRule(_out_numel, "FLOPs = numel (as softmax)", ELEMENTWISE),
    "gumbel_softmax": CostRule(_out_numel, "FLOPs = numel (as softmax)", ELEMENTWISE),
    "lerp": CostRule(_times(2, "out"), "FLOPs = 2 x out_numel", ELEMENTWISE),
    "addcmul": CostRule(_times(2, "out"), "FLOPs = 2 x out_numel", ELEMENTWISE),
    "addcdiv": CostRule(_times(2, "out"), "FLOPs = 2 x out_numel", ELEMENTWISE),
    "addr": CostRule(_times(2, "out"), "FLOPs = 2 x out_numel (outer product + add)", ELEMENTWISE),
    "interpolate": CostRule(_out_numel, "FLOPs = out_numel (one interpolation per output element)", ELEMENTWISE),
    "upsample": CostRule(_out_numel, "FLOPs = out_numel (one interpolation per output element)", ELEMENTWISE),
    "grid_sample": CostRule(_out_numel, "FLOPs = out_numel (one interpolation per output element)", ELEMENTWISE),
    "cdist": CostRule(_cdist, "FLOPs = 3 x out_numel x M (difference, square, sum per coordinate)", ELEMENTWISE),
    **{op: CostRule(_in_numel, _REDUCE, ELEMENTWISE) for op in _REDUCTIONS},
    **{op: CostRule(_out_numel, _ACTIVATION, ELEMENTWISE) for op in _ACTIVATIONS},
    **{op: CostRule(_out_numel, _BINARY, ELEMENTWISE) for op in _BINARIES},
    **{op: CostRule(_in_numel, _POOL, ELEMENTWISE) for op in _POOLS},
    **{op: CostRule(_zero, _VIEW, ZERO, allocates=False) for op in _VIEWS},
    **{op: CostRule(_zero, _COPY, ZERO) for op in _COPIES},
}

# Applies to any node whose results hold no tensor (Python int arithmetic on sizes, e.g.
# ``b * heads``): nothing runs on the accelerator.
SCALAR_RULE = CostRule(_zero, "0 by rule: Python scalar arithmetic (no tensor result)", ZERO, allocates=False)

# Applies to implicit_func nodes no rule names: constructors of result containers (a named
# tuple such as GoogLeNetOutputs, a dataclass) and other bookkeeping the op tables type as
# implicit; they gather existing values and compute nothing.
IMPLICIT_RULE = CostRule(_zero, "0 by rule: implicit op (builds a value from existing ones, no arithmetic)", ZERO,
                         allocates=False)

FLOPS_PER_MAC = 2
BITOPS_FORMULA = "BitOPs = MACs x b(a) x b(b); b = precision[0] (float32 32, fp16/bf16 16, integer/fixed width)"
UNIQ_FORMULA = "BitOPs_uniq = MACs x (b(a) x b(b) + b(a) + b(b) + log2(fan_in))"


def rule_for(mase_op: str | None) -> CostRule | None:
    return RULES.get(mase_op or "")


def rule_table() -> list[dict[str, Any]]:
    """The table as plain rows (op, bucket, formula), for the README and the app."""
    return [{"op": op, "bucket": r.bucket, "formula": r.formula} for op, r in RULES.items()]
