"""Quantised Linear, Conv1d, Conv2d and ReLU.

Each class subclasses its torch.nn counterpart, so metadata passes still see a ``linear`` or a
``relu``. The stored parameters stay float (``.weight``, ``.bias``); the forward pass applies
the quantisers to the input, weight, bias (and output when ``data_out_*`` is configured).
``quantized_weight()`` / ``quantized_bias()`` give the effective values the layer computes with.

Class names follow MASE: ``LinearInteger``, ``Conv2dMinifloatIEEE``, ``ReLULog``, ...
(``fixed`` uses the ``Integer`` classes). ``quantize_module(module, config)`` builds one from a
float module, copying every weight and bias and keeping device and dtype.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.ir.leaves import register_leaf_module
from core.mx_names import is_mx
from core.quant.config import (
    canonical_name,
    has_operand,
    mx_axis,
    operand_kwargs,
    skipped_operands,
    validate_config,
)
from core.quant.quantizers import quantize, residual_sign_quantizer

CLASS_SUFFIX = {
    "integer": "Integer",
    "minifloat_ieee": "MinifloatIEEE",
    "minifloat_denorm": "MinifloatDenorm",
    "log": "Log",
    "block_fp": "BlockFP",
    "block_minifloat": "BlockMinifloat",
    "block_log": "BlockLog",
    "binary": "Binary",
    "ternary": "Ternary",
    "mxint8": "MXInt8",
    "mxfp8_e4m3": "MXFP8E4M3",
    "mxfp8_e5m2": "MXFP8E5M2",
    "mxfp6_e3m2": "MXFP6E3M2",
    "mxfp6_e2m3": "MXFP6E2M3",
    "mxfp4_e2m1": "MXFP4E2M1",
}

class _QuantizedMixin:
    """Shared operand handling. Subclasses set ``op`` and ``quantizer``."""

    op: str = ""
    quantizer: str = ""
    config: dict[str, Any]
    bypass: bool

    def _set_config(self, config: dict[str, Any], has_bias: bool) -> None:
        where = f"{type(self).__name__} config"
        parsed = validate_config(config, self.op, has_bias=has_bias, where=where)
        if canonical_name(parsed["name"]) != self.quantizer:
            raise ValueError(f"{type(self).__name__} takes '{self.quantizer}' configs, got '{parsed['name']}'")
        self.config = parsed
        self.bypass = bool(parsed.get("bypass", False))

    def quantize_operand(self, x: Any, operand: str) -> Any:
        if self.bypass or x is None or not has_operand(self.config, operand):
            return x
        if operand in skipped_operands(self.op, self.config, "module"):
            return x
        kwargs = operand_kwargs(self.config, operand)
        if self.op == "relu" and self.quantizer == "integer":
            kwargs["is_signed"] = False  # MASE: a ReLU's fixed-point input is unsigned
        if is_mx(self.quantizer):
            kwargs["axis"] = mx_axis(self.op, operand, x.ndim)
        return quantize(x, self.quantizer, **kwargs)

    @classmethod
    def quantised_operands(cls) -> tuple[str, ...]:
        """The operands this class quantises when the config has keys for them."""
        operands = ("data_in", "weight", "bias", "data_out") if cls.op != "relu" else ("data_in", "data_out")
        skipped = skipped_operands(cls.op, {"name": cls.quantizer}, "module")
        return tuple(o for o in operands if o not in skipped)

    def quantize_input(self, x: Tensor) -> Tensor:
        return self.quantize_operand(x, "data_in")

    def quantize_output(self, y: Tensor) -> Tensor:
        return self.quantize_operand(y, "data_out")

    def extra_repr(self) -> str:  # type: ignore[override]
        base = super().extra_repr()  # type: ignore[misc]
        keys = ", ".join(f"{k}={v}" for k, v in self.config.items() if k != "name")
        return f"{base}, quant={self.config['name']}({keys})"


class _WeightedMixin(_QuantizedMixin):
    weight: nn.Parameter
    bias: nn.Parameter | None

    def quantized_weight(self) -> Tensor:
        return self.quantize_operand(self.weight, "weight")

    def quantized_bias(self) -> Tensor | None:
        return self.quantize_operand(self.bias, "bias")


class QuantizedLinear(_WeightedMixin, nn.Linear):
    op = "linear"

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None,
                 dtype=None, *, config: dict[str, Any]) -> None:
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self._set_config(config, has_bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        if self.bypass:
            return F.linear(x, self.weight, self.bias)
        y = F.linear(self.quantize_input(x), self.quantized_weight(), self.quantized_bias())
        return self.quantize_output(y)

    @classmethod
    def from_float(cls, module: nn.Linear, config: dict[str, Any], memo: dict | None = None):
        new = cls(module.in_features, module.out_features, bias=module.bias is not None,
                  device=module.weight.device, dtype=module.weight.dtype, config=config)
        _copy_parameters(module, new, memo)
        return new


class _QuantizedConvMixin(_WeightedMixin):
    def forward(self, x: Tensor) -> Tensor:
        if self.bypass:
            return self._conv_forward(x, self.weight, self.bias)  # type: ignore[attr-defined]
        y = self._conv_forward(self.quantize_input(x), self.quantized_weight(),  # type: ignore[attr-defined]
                               self.quantized_bias())
        return self.quantize_output(y)

    @classmethod
    def from_float(cls, module, config: dict[str, Any], memo: dict | None = None):
        new = cls(module.in_channels, module.out_channels, module.kernel_size, stride=module.stride,
                  padding=module.padding, dilation=module.dilation, groups=module.groups,
                  bias=module.bias is not None, padding_mode=module.padding_mode,
                  device=module.weight.device, dtype=module.weight.dtype, config=config)
        _copy_parameters(module, new, memo)
        return new


class QuantizedConv1d(_QuantizedConvMixin, nn.Conv1d):
    op = "conv1d"

    def __init__(self, *args: Any, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_config(config, has_bias=self.bias is not None)


class QuantizedConv2d(_QuantizedConvMixin, nn.Conv2d):
    op = "conv2d"

    def __init__(self, *args: Any, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_config(config, has_bias=self.bias is not None)


class QuantizedReLU(_QuantizedMixin, nn.ReLU):
    op = "relu"

    def __init__(self, inplace: bool = False, *, config: dict[str, Any]) -> None:
        super().__init__(inplace=inplace)
        self._set_config(config, has_bias=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.bypass:
            return F.relu(x, inplace=self.inplace)
        # The quantised input is a new tensor, so ``inplace`` never touches the caller's input.
        return self.quantize_output(F.relu(self.quantize_input(x), inplace=self.inplace))

    @classmethod
    def from_float(cls, module: nn.ReLU, config: dict[str, Any], memo: dict | None = None):
        new = cls(inplace=module.inplace, config=config)
        new.train(module.training)
        return new


class _BinaryResidualMixin(_WeightedMixin):
    """MASE's ``*BinaryResidualSign`` layers (ReBNet): the input becomes the sum of
    ``data_in_levels`` residual binarisations with learnable ``means`` (initialised to
    ``[L, L-1, ..., 1] / sum``), the weight is binarised when ``binary_training`` is true and
    otherwise clamped to [-1, 1] (MASE clamps the stored weight in place; here the stored
    weight is left alone), both scaled by a learnable ``|gamma|`` (initially 1). The bias
    stays float."""

    quantizer = "binary_residual"

    def _init_residual(self) -> None:
        levels = int(self.config.get("data_in_levels", 2))
        ranks = torch.arange(levels, 0, -1, dtype=torch.float32)
        self.gamma = nn.Parameter(torch.tensor(1.0, device=self.weight.device, dtype=self.weight.dtype))
        self.means = (nn.Parameter((ranks / ranks.sum()).to(self.weight.device, self.weight.dtype))
                      if self.config.get("data_in_residual_sign", True) else None)

    def quantize_input(self, x: Tensor) -> Tensor:
        if self.bypass or self.means is None:
            return x
        return residual_sign_quantizer(len(self.means), None, self.means, x).sum(dim=0)

    def quantized_weight(self) -> Tensor:
        w = self.quantize_operand(self.weight, "weight") if self.config.get("binary_training") else \
            torch.clamp(self.weight, -1, 1)
        return w * self.gamma.abs()

    def quantized_bias(self) -> Tensor | None:
        return self.bias

    @classmethod
    def quantised_operands(cls) -> tuple[str, ...]:
        return ("data_in", "weight")


class LinearBinaryResidualSign(_BinaryResidualMixin, QuantizedLinear):
    def __init__(self, *args: Any, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, config=config, **kwargs)
        self._init_residual()


class Conv2dBinaryResidualSign(_BinaryResidualMixin, QuantizedConv2d):
    def __init__(self, *args: Any, config: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, config=config, **kwargs)
        self._init_residual()


def _copy_parameters(src: nn.Module, dst: nn.Module, memo: dict | None) -> None:
    """Copy weight and bias values (MASE drops the conv bias), keep requires_grad and mode.
    ``memo`` maps id(old parameter) -> new parameter so tied weights stay tied."""
    memo = {} if memo is None else memo
    for name in ("weight", "bias"):
        old = getattr(src, name, None)
        if old is None:
            continue
        if id(old) in memo:
            setattr(dst, name, memo[id(old)])
            continue
        new = getattr(dst, name)
        with torch.no_grad():
            new.copy_(old)
        new.requires_grad_(old.requires_grad)
        memo[id(old)] = new
    dst.train(src.training)


_BASES: dict[str, type] = {
    "linear": QuantizedLinear,
    "conv1d": QuantizedConv1d,
    "conv2d": QuantizedConv2d,
    "relu": QuantizedReLU,
}
_PREFIX = {"linear": "Linear", "conv1d": "Conv1d", "conv2d": "Conv2d", "relu": "ReLU"}
_FLOAT_CLASSES = {"linear": nn.Linear, "conv1d": nn.Conv1d, "conv2d": nn.Conv2d, "relu": nn.ReLU}

# (op, quantiser) -> class, e.g. ("linear", "integer") -> LinearInteger
QUANTIZED_MODULES: dict[tuple[str, str], type] = {}
for _op, _base in _BASES.items():
    for _q, _suffix in CLASS_SUFFIX.items():
        _name = f"{_PREFIX[_op]}{_suffix}"
        _cls = type(_name, (_base,), {"quantizer": _q, "__module__": __name__, "__qualname__": _name})
        globals()[_name] = _cls
        QUANTIZED_MODULES[(_op, _q)] = _cls

QUANTIZED_MODULES[("linear", "binary_residual")] = LinearBinaryResidualSign
QUANTIZED_MODULES[("conv2d", "binary_residual")] = Conv2dBinaryResidualSign
QUANTIZED_MODULE_CLASSES: tuple[type, ...] = tuple(QUANTIZED_MODULES.values())


def module_op(module: nn.Module) -> str | None:
    """The quantisable op of a float or quantised module, or None."""
    for op, cls in _FLOAT_CLASSES.items():
        if isinstance(module, cls):
            return op
    return None


def quantize_module(module: nn.Module, config: dict[str, Any], memo: dict | None = None) -> nn.Module:
    """A quantised copy of ``module`` (Linear, Conv1d, Conv2d or ReLU, float or quantised)."""
    op = module_op(module)
    if op is None:
        raise TypeError(f"cannot quantise a {type(module).__name__}")
    cls = QUANTIZED_MODULES.get((op, canonical_name(config["name"])))
    if cls is None:
        raise TypeError(f"no quantised {type(module).__name__} for '{config['name']}'")
    return cls.from_float(module, config, memo)


# Quantised layers stay single nodes when a quantised model is traced again.
for _cls in QUANTIZED_MODULE_CLASSES:
    register_leaf_module(_cls)
