"""Cost rules for the less common multiply-accumulate ops: einsum, addbmm, matrix-vector and
vector products, tensordot, bilinear, recurrent layers, embedding bags. Shapes come from
metadata only; operands are the node's ``data_in_i`` entries in call order."""

from __future__ import annotations

import math

from core.cost.bits import is_tensor_entry, numel
from core.cost.einsum import einsum_cost
from core.cost.opcost import MacPart, MissingShape, OpCost, shape_of


def _operands(args: dict) -> list[str]:
    """The tensor inputs in call order: data_in_0, data_in_1, ..."""
    names = []
    while is_tensor_entry(args.get(f"data_in_{len(names)}")):
        names.append(f"data_in_{len(names)}")
    return names


def _out_numel(results: dict) -> int:
    entry = results.get("data_out_0")
    if not is_tensor_entry(entry):
        raise MissingShape("data_out_0")
    return numel(entry)


def einsum(args: dict, results: dict) -> OpCost:
    equation = next((v for k, v in args.items() if isinstance(v, str) and (k == "equation" or "," in v or "->" in v)),
                    None)
    if equation is None:
        raise MissingShape("equation")
    names = _operands(args)
    shapes = [shape_of(args, n) for n in names]
    macs, elementwise, fan_in = einsum_cost(equation, shapes)
    a = names[0]
    b = names[1] if len(names) > 1 else names[0]
    parts = [MacPart(macs, max(1, fan_in), a, b)] if macs else []
    return OpCost(parts, elementwise, f"{equation!s} over {' , '.join('x'.join(map(str, s)) for s in shapes)}")


def addbmm(args: dict, results: dict) -> OpCost:
    """addbmm(input [n, p], batch1 [b, n, m], batch2 [b, m, p]): b x n x m x p MACs; the sum over
    the batch and the input add are elementwise."""
    b1, b2 = shape_of(args, "data_in_1"), shape_of(args, "data_in_2")
    macs = math.prod(b1) * b2[-1]
    out = _out_numel(results)
    return OpCost([MacPart(macs, b1[-1] * b1[0], "data_in_1", "data_in_2")], out * b1[0],
                  f"batch {b1[0]} x {b1[1]} x {b1[2]} x {b2[-1]}")


def matrix_vector(args: dict, results: dict) -> OpCost:
    """mv(mat, vec), addmv(input, mat, vec): numel(mat) MACs (plus the add for addmv)."""
    names = _operands(args)
    mat, vec = (names[1], names[2]) if len(names) == 3 else (names[0], names[1])
    shape = shape_of(args, mat)
    extra = _out_numel(results) if len(names) == 3 else 0
    return OpCost([MacPart(math.prod(shape), shape[-1], mat, vec)], extra, f"{shape[0]} x {shape[-1]}")


def dot(args: dict, results: dict) -> OpCost:
    """dot / vdot / inner: out_numel x K, K = data_in_0.shape[-1]."""
    a = shape_of(args, "data_in_0")
    shape_of(args, "data_in_1")
    k = a[-1] if a else 1
    n = _out_numel(results) * k
    return OpCost([MacPart(n, k, "data_in_0", "data_in_1")], 0, f"out x K {k}")


def tensordot(args: dict, results: dict) -> OpCost:
    """out_numel x K with K the contracted size: numel(a) x numel(b) = out_numel x K^2."""
    na, nb = math.prod(shape_of(args, "data_in_0")), math.prod(shape_of(args, "data_in_1"))
    out = _out_numel(results)
    k = math.isqrt(max(1, na * nb // max(1, out)))
    return OpCost([MacPart(out * k, k, "data_in_0", "data_in_1")], 0, f"out {out} x K {k}")


def bilinear(args: dict, results: dict) -> OpCost:
    """y = x1^T W x2 + b with W [out, in1, in2]: out_numel x in1 x in2 MACs (nn.Bilinear or
    F.bilinear(x1, x2, weight, bias))."""
    weight = "weight" if is_tensor_entry(args.get("weight")) else "data_in_2"
    w = shape_of(args, weight)
    out = _out_numel(results)
    has_bias = is_tensor_entry(args.get("bias")) or is_tensor_entry(args.get("data_in_3"))
    return OpCost([MacPart(out * w[1] * w[2], w[1] * w[2], "data_in_0", weight)], out if has_bias else 0,
                  f"out {out} x in1 {w[1]} x in2 {w[2]}")


def recurrent(args: dict, results: dict) -> OpCost:
    """nn.RNN / LSTM / GRU: every weight matrix (weight_ih_l*, weight_hh_l*, weight_hr_l*, both
    directions) is applied once per token: MACs = tokens x sum of their sizes; tokens = input
    numel / input_size. Gate nonlinearities and biases: elementwise, 4 ops per gate output."""
    x = shape_of(args, "data_in_0")
    w_in = shape_of(args, "weight_ih_l0")
    tokens = math.prod(x) // max(1, w_in[1])
    weights = {k: v for k, v in args.items() if k.startswith("weight_") and is_tensor_entry(v) and len(v["shape"]) == 2}
    per_token = sum(numel(v) for v in weights.values())
    gate_rows = sum(int(v["shape"][0]) for k, v in weights.items() if k.startswith("weight_ih"))
    parts = [MacPart(tokens * numel(v), int(v["shape"][1]), "data_in_0", k) for k, v in weights.items()]
    return OpCost(parts, 4 * tokens * gate_rows, f"{tokens} tokens x {per_token} weights")


def embedding_bag(args: dict, results: dict) -> OpCost:
    """Sum/mean of the looked-up rows: one add per looked-up element (indices x dim), one
    multiply more with per_sample_weights, one division per output for mode='mean'."""
    indices = math.prod(shape_of(args, "data_in_0"))
    weight = "weight" if is_tensor_entry(args.get("weight")) else "data_in_1"
    dim = shape_of(args, weight)[-1]
    flops = indices * dim
    if any(is_tensor_entry(args.get(k)) for k in ("per_sample_weights", "data_in_3")):
        flops += indices * dim
    if str(args.get("mode", "mean")) == "mean":
        flops += _out_numel(results)
    return OpCost([], flops, f"{indices} indices x dim {dim}")


def stochastic_depth(args: dict, results: dict) -> OpCost:
    """0 in eval (identity); in a training graph a multiply and a divide per element."""
    training = args.get("training", args.get("arg_3", False))
    if not training:
        return OpCost([], 0, "identity (training=False)")
    return OpCost([], 2 * _out_numel(results), "mask x scale")
