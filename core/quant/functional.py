"""Quantised functions: relu, add, sub, mul, matmul, bmm (and linear, conv1d, conv2d).

Each takes the arguments of the torch function it replaces plus a ``config`` keyword (a
normalised node config, see ``core.quant.config.validate_config``). Operands as in MASE:
add/sub/mul quantise both inputs with ``data_in``; matmul/bmm quantise the first with
``data_in`` and the second with ``weight``; relu quantises its input (unsigned for integer);
``data_out`` keys, when present, quantise the result.

The named variants (``add_integer``, ``matmul_minifloat_ieee``, ``relu_log``, ...) are module
level functions, so a GraphModule that calls them can be pickled and re-traced; the quantise
pass puts them in the graph. ``QUANTIZED_FUNCTIONS[(op, quantiser)]`` finds them.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

from core.ir.leaves import register_leaf_function
from core.mx_names import MX_WIDTHS, is_mx
from core.quant.config import canonical_name, has_operand, operand_kwargs
from core.quant.quantizers import quantize

_QUANTIZER_NAMES = ("integer", "minifloat_ieee", "minifloat_denorm", "log", "block_fp",
                    "block_minifloat", "block_log", "binary", "ternary", *MX_WIDTHS)


def _q(x: Any, config: dict | None, operand: str, quantizer: str, unsigned: bool = False,
       axis: Any = -1) -> Any:
    """``axis``: where MX blocks run (the reduction axis of the operand; ignored otherwise)."""
    if config is None or config.get("bypass") or not has_operand(config, operand):
        return x
    kwargs = operand_kwargs(config, operand)
    if unsigned and quantizer == "integer":
        kwargs["is_signed"] = False
    if is_mx(quantizer):
        kwargs["axis"] = axis
    return quantize(x, quantizer, **kwargs)


def _quantizer_of(config: dict | None, default: str) -> str:
    if config is None or "name" not in config:
        return default
    return canonical_name(config["name"])


def _make(op: str, quantizer: str) -> Callable:
    def relu(input, inplace=False, *, config=None):  # noqa: A002 (torch's argument name)
        q = _quantizer_of(config, quantizer)
        out = F.relu(_q(input, config, "data_in", q, unsigned=True), inplace=inplace)
        return _q(out, config, "data_out", q, unsigned=True)

    def add(input, other, *, alpha=1, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        a, b = _q(input, config, "data_in", q), _q(other, config, "data_in", q)
        out = a + b if alpha == 1 else torch.add(a, b, alpha=alpha)
        return _q(out, config, "data_out", q)

    def sub(input, other, *, alpha=1, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        a, b = _q(input, config, "data_in", q), _q(other, config, "data_in", q)
        out = a - b if alpha == 1 else torch.sub(a, b, alpha=alpha)
        return _q(out, config, "data_out", q)

    def mul(input, other, *, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        out = _q(input, config, "data_in", q) * _q(other, config, "data_in", q)
        return _q(out, config, "data_out", q)

    def matmul(input, other, *, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        # MX: the second operand's blocks run down its rows (the reduction axis); a 1-D one is a vector
        axis = -2 if isinstance(other, torch.Tensor) and other.ndim > 1 else -1
        out = torch.matmul(_q(input, config, "data_in", q), _q(other, config, "weight", q, axis=axis))
        return _q(out, config, "data_out", q)

    def bmm(input, mat2, *, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        out = torch.bmm(_q(input, config, "data_in", q), _q(mat2, config, "weight", q, axis=-2))
        return _q(out, config, "data_out", q)

    def linear(input, weight, bias=None, *, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        out = F.linear(_q(input, config, "data_in", q), _q(weight, config, "weight", q),
                       _q(bias, config, "bias", q))
        return _q(out, config, "data_out", q)

    def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        out = F.conv1d(_q(input, config, "data_in", q, axis=1), _q(weight, config, "weight", q, axis=(1, 2)),
                       _q(bias, config, "bias", q), stride, padding, dilation, groups)
        return _q(out, config, "data_out", q, axis=1)

    def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *, config=None):  # noqa: A002
        q = _quantizer_of(config, quantizer)
        out = F.conv2d(_q(input, config, "data_in", q, axis=1), _q(weight, config, "weight", q, axis=(1, 2, 3)),
                       _q(bias, config, "bias", q), stride, padding, dilation, groups)
        return _q(out, config, "data_out", q, axis=1)

    fn = {"relu": relu, "add": add, "sub": sub, "mul": mul, "matmul": matmul, "bmm": bmm,
          "linear": linear, "conv1d": conv1d, "conv2d": conv2d}[op]
    name = f"{op}_{quantizer}"
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = __name__
    fn.__doc__ = f"Quantised {op} ({quantizer} arithmetic); same arguments as torch's plus ``config``."
    return fn


FUNCTION_OPS = ("relu", "add", "sub", "mul", "matmul", "bmm", "linear", "conv1d", "conv2d")

# (op, quantiser) -> function, e.g. ("add", "integer") -> add_integer
QUANTIZED_FUNCTIONS: dict[tuple[str, str], Callable] = {}
for _op in FUNCTION_OPS:
    for _quantizer in _QUANTIZER_NAMES:
        _fn = _make(_op, _quantizer)
        globals()[_fn.__name__] = _fn
        QUANTIZED_FUNCTIONS[(_op, _quantizer)] = _fn

# quantised function -> its op (to re-quantise an already quantised graph)
FUNCTION_TO_OP: dict[Callable, str] = {fn: op for (op, _), fn in QUANTIZED_FUNCTIONS.items()}


def quantized_function(op: str, quantizer: str) -> Callable:
    return QUANTIZED_FUNCTIONS[(op, canonical_name(quantizer))]


# Quantised functions stay single nodes when a quantised model is traced again.
for _fn in QUANTIZED_FUNCTIONS.values():
    register_leaf_function(_fn)
