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
from dataclasses import dataclass, field
from typing import Any, Callable

from core.cost.bits import is_tensor_entry, numel

MAC, ELEMENTWISE, ZERO = "mac", "elementwise", "zero"


class MissingShape(KeyError):
    """A rule needs a tensor entry the metadata does not have."""


@dataclass(frozen=True)
class MacPart:
    """One multiply-accumulate block: ``macs`` MACs with accumulation depth ``fan_in`` whose
    operands are the tensors named ``a`` and ``b`` in the node's args."""

    macs: int
    fan_in: int
    a: str
    b: str


@dataclass
class OpCost:
    mac_parts: list[MacPart] = field(default_factory=list)
    elementwise: int = 0
    detail: str = ""

    @property
    def macs(self) -> int:
        return sum(p.macs for p in self.mac_parts)


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


def _sdpa(args: dict, results: dict) -> OpCost:
    q, k, v = _tensor(args, "data_in_0"), _tensor(args, "data_in_1"), _tensor(args, "data_in_2")
    length, e = int(q["shape"][-2]), int(q["shape"][-1])
    s, ev = int(k["shape"][-2]), int(v["shape"][-1])
    batch = numel(q) // max(1, length * e)
    scores = batch * length * s
    parts = [MacPart(scores * e, e, "data_in_0", "data_in_1"), MacPart(scores * ev, s, "data_in_0", "data_in_2")]
    return OpCost(parts, 2 * scores, f"batch {batch} x L {length} x S {s} x (E {e} + Ev {ev})")


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
_MATMUL_F = "MACs = out_numel x K (K = data_in_0.shape[-1]); activation x activation: BitOPs use both widths"
_ADDMM_F = "MACs = out_numel x K (K = mat1.shape[-1]); input add = out_numel (elementwise)"

_ACTIVATIONS = (
    "relu", "relu6", "leaky_relu", "hardtanh", "gelu", "silu", "sigmoid", "tanh", "elu", "selu",
    "hardswish", "hardsigmoid", "softplus", "softsign", "logsigmoid", "hardshrink", "softshrink",
    "erf", "exp", "log", "sin", "cos", "tan", "sinh", "cosh", "sqrt", "rsqrt", "pow", "neg",
    "abs", "clamp",
)
_BINARIES = (
    "add", "sub", "mul", "div", "truediv", "floordiv", "iadd", "isub", "imul", "gt", "lt", "le",
    "ge", "eq", "ne", "greater", "less", "where", "masked_fill", "masked_fill_", "not", "invert",
    # aten operators of exported graphs (core/ir/aten_ops.py names them)
    "and", "or", "xor", "diff", "rsub", "remainder", "fmod", "reciprocal", "sign", "isinf", "isnan",
)
_POOLS = (
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
)
_VIEWS = (
    "output", "constant", "size", "view", "to", "bool", "int", "float", "long",
    "flatten", "squeeze", "unsqueeze", "t", "transpose", "permute", "reshape", "getattr",
    "getitem", "_assert", "type_as", "cast", "shape", "slice", "split", "chunk", "expand",
    "expand_as", "dim", "finfo", "detach", "type", "numel", "identity", "dropout",
)
_COPIES = (
    "contiguous", "stack", "cat", "gather", "tile", "full", "ones", "zeros", "arange", "range",
    "index_select", "tensor", "flip", "repeat", "clone", "embedding", "pad", "setitem",
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
    "matmul": CostRule(_matmul, _MATMUL_F, MAC),
    "mm": CostRule(_matmul, _MATMUL_F, MAC),
    "bmm": CostRule(_matmul, _MATMUL_F, MAC),
    "addmm": CostRule(_addmm, _ADDMM_F, MAC),
    "baddbmm": CostRule(_addmm, _ADDMM_F, MAC),
    "scaled_dot_product_attention": CostRule(
        _sdpa, "MACs = batch x L x S x (E + Ev) (QK^T and AV); scale + softmax = 2 x batch x L x S (elementwise)", MAC),
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
    **{op: CostRule(_out_numel, _ACTIVATION, ELEMENTWISE) for op in _ACTIVATIONS},
    **{op: CostRule(_out_numel, _BINARY, ELEMENTWISE) for op in _BINARIES},
    **{op: CostRule(_in_numel, _POOL, ELEMENTWISE) for op in _POOLS},
    **{op: CostRule(_zero, _VIEW, ZERO, allocates=False) for op in _VIEWS},
    **{op: CostRule(_zero, _COPY, ZERO) for op in _COPIES},
}

# Applies to any node whose results hold no tensor (Python int arithmetic on sizes, e.g.
# ``b * heads``): nothing runs on the accelerator.
SCALAR_RULE = CostRule(_zero, "0 by rule: Python scalar arithmetic (no tensor result)", ZERO, allocates=False)

FLOPS_PER_MAC = 2
BITOPS_FORMULA = "BitOPs = MACs x b(a) x b(b); b = precision[0] (float32 32, fp16/bf16 16, integer/fixed width)"
UNIQ_FORMULA = "BitOPs_uniq = MACs x (b(a) x b(b) + b(a) + b(b) + log2(fan_in))"


def rule_for(mase_op: str | None) -> CostRule | None:
    return RULES.get(mase_op or "")


def rule_table() -> list[dict[str, Any]]:
    """The table as plain rows (op, bucket, formula), for the README and the app."""
    return [{"op": op, "bucket": r.bucket, "formula": r.formula} for op, r in RULES.items()]
