"""OCP Microscaling (MX v1.0) formats as fake quantisers: MXINT8, MXFP8 (E4M3, E5M2), MXFP6
(E3M2, E2M3), MXFP4 (E2M1). A block of ``block_size`` (default 32) consecutive elements
shares one E8M0 scale ``X = 2^s``; each element is stored in the element format.

Per block, exactly as torchao's reference ``to_mx`` / ``to_dtype`` with its default
``ScaleCalculationMode.FLOOR`` (the OCP v1.0 section 6.3 algorithm):

* ``s = clamp(floor(log2 max|x|) - emax_elem, -127, 128)``, ``emax_elem`` the exponent of the
  element format's largest power of two (E4M3 8, E5M2 15, E3M2 4, E2M3 2, E2M1 2, INT8 0).
  ``floor(log2)`` is read from the float32 exponent field, so a zero (or float32-subnormal)
  maximum gives ``s = -127``; an infinite maximum gives 128 - emax_elem. A NaN anywhere in the
  block makes the scale NaN (E8M0 0xFF), so the whole block dequantises to NaN.
* element ``q = round_to_element(x / max(X, 2^-126))``: saturating (``|v| > max`` -> ``±max``,
  also for ±inf), round to nearest even on the element grid, subnormals kept (E4M3 down to
  2^-9, E5M2 2^-16, E3M2 2^-4, E2M3 2^-3, E2M1 0.5). The 2^-126 floor on the divisor is
  torchao's (a float32 normal); the dequantised value is ``q * X`` with ``X = 2^s`` itself.
* MXINT8 (not in torchao; OCP definition): elements are ``k / 64``, ``k`` an 8-bit integer,
  saturated symmetrically to ``±127/64`` as the OCP reference library does, round to nearest
  even.

Blocks run along one axis (``axis``, default the last): the caller picks the reduction axis
(a Linear's in_features, a conv weight's flattened ``C_in*kh*kw``, a conv input's channels, a
matmul's second operand's rows). When the axis length is not a multiple of the block size, the
last block of each row is partial: it is padded with zeros (which never change a block maximum)
and the padding is dropped again, so storage counts ``ceil(L / block_size)`` scales per row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from core.mx_names import MX_ALIASES, MX_DEFAULT_BLOCK_SIZE, MX_SCALE_BITS
from core.quant.quantizers import _ste

__all__ = ["MX_FORMATS", "MXFormat", "mx_quantizer", "mx_scale_exponents"]

SCALE_BITS = MX_SCALE_BITS  # E8M0
DEFAULT_BLOCK_SIZE = MX_DEFAULT_BLOCK_SIZE


@dataclass(frozen=True)
class MXFormat:
    name: str
    width: int  # element bits
    exponent_width: int  # 0 for MXINT8
    mantissa_width: int
    emax: int  # exponent of the largest power of two of the element format
    max_value: float
    min_normal_exp: int  # exponent of the smallest normal (elements below are subnormal)

    @property
    def is_int(self) -> bool:
        return self.exponent_width == 0


MX_FORMATS: dict[str, MXFormat] = {
    "mxint8": MXFormat("mxint8", 8, 0, 6, 0, 127 / 64, 0),
    "mxfp8_e4m3": MXFormat("mxfp8_e4m3", 8, 4, 3, 8, 448.0, -6),
    "mxfp8_e5m2": MXFormat("mxfp8_e5m2", 8, 5, 2, 15, 57344.0, -14),
    "mxfp6_e3m2": MXFormat("mxfp6_e3m2", 6, 3, 2, 4, 28.0, -2),
    "mxfp6_e2m3": MXFormat("mxfp6_e2m3", 6, 2, 3, 2, 7.5, 0),
    "mxfp4_e2m1": MXFormat("mxfp4_e2m1", 4, 2, 1, 2, 6.0, 0),
}


def mx_format(name: str) -> MXFormat:
    return MX_FORMATS[MX_ALIASES.get(name, name)]


def _float32_exponent(m: Tensor) -> Tensor:
    """floor(log2 m) as the float32 exponent field reads it: -127 for 0 and float32
    subnormals, 128 for inf; m >= 0 or NaN (NaN gives 0, the caller masks it)."""
    m32 = m.to(torch.float32).to(torch.float64)
    finite = torch.isfinite(m32) & (m32 >= 2.0**-126)
    _, e = torch.frexp(torch.where(finite, m32, torch.ones_like(m32)))
    out = torch.where(finite, (e - 1).to(torch.float64), torch.full_like(m32, -127.0))
    return torch.where(torch.isinf(m32), torch.full_like(m32, 128.0), out)


def mx_scale_exponents(block_abs_max: Tensor, fmt: MXFormat) -> Tensor:
    """The unbiased E8M0 exponent ``s`` of each block (NaN for a block holding a NaN)."""
    s = torch.clamp(_float32_exponent(block_abs_max) - fmt.emax, -127, 128)
    return torch.where(torch.isnan(block_abs_max), torch.full_like(s, math.nan), s)


def _round_to_element(v: Tensor, fmt: MXFormat) -> Tensor:
    """Saturate to ±max, then round to nearest even on the element grid (float64 in/out)."""
    v = torch.clamp(v, -fmt.max_value, fmt.max_value)
    if fmt.is_int:
        return torch.round(v * 64) / 64
    a = v.abs()
    safe = torch.where(a > 0, a, torch.ones_like(a))
    _, e = torch.frexp(safe)
    exp = torch.clamp((e - 1).to(torch.float64), min=fmt.min_normal_exp)
    quantum_exp = exp - fmt.mantissa_width
    q = torch.ldexp(torch.round(torch.ldexp(v, -quantum_exp)), quantum_exp)
    return torch.where(torch.isnan(v), v, q)


def _mx_forward(x: Tensor, fmt: MXFormat, block_size: int, axis: int | tuple[int, ...]) -> Tensor:
    moved, restore = _to_rows(x, axis)
    length = moved.shape[-1]
    pad = (-length) % block_size
    v = moved.to(torch.float64)
    if pad:
        v = F.pad(v, (0, pad))
    blocks = v.reshape(*v.shape[:-1], -1, block_size)
    s = mx_scale_exponents(blocks.abs().amax(dim=-1, keepdim=True), fmt)
    s_safe = torch.nan_to_num(s, nan=0.0)
    divisor = torch.exp2(torch.clamp(s_safe, min=-126.0))
    q = _round_to_element(blocks / divisor, fmt)
    out = q * torch.exp2(s_safe)
    out = torch.where(torch.isnan(s), torch.full_like(out, math.nan), out)
    out = out.reshape(v.shape)[..., :length]
    return restore(out.to(x.dtype))


def _to_rows(x: Tensor, axis: int | tuple[int, ...]):
    """View ``x`` with the blocked axis last (a tuple of trailing dims is flattened into one)."""
    if x.ndim == 0:
        return x.reshape(1), lambda y: y.reshape(x.shape)
    if isinstance(axis, (tuple, list)):
        dims = sorted(d % x.ndim for d in axis)
        if dims != list(range(x.ndim - len(dims), x.ndim)):
            raise ValueError(f"MX block dims {tuple(axis)} must be the trailing dims of a {x.ndim}-D tensor")
        lead = x.shape[: x.ndim - len(dims)]
        return x.reshape(*lead, -1), lambda y: y.reshape(x.shape)
    d = axis % x.ndim
    if d == x.ndim - 1:
        return x, lambda y: y
    return x.movedim(d, -1), lambda y: y.movedim(-1, d)


def mx_quantizer(
    x: Tensor,
    name: str = "mxfp8_e4m3",
    block_size: int = DEFAULT_BLOCK_SIZE,
    axis: int | Sequence[int] = -1,
) -> Tensor:
    """Fake-quantise ``x`` to MX format ``name`` with blocks of ``block_size`` along ``axis``
    (an int, or a tuple of trailing dims blocked as one flattened axis)."""
    fmt = mx_format(name)
    ax = tuple(axis) if isinstance(axis, (list, tuple)) else int(axis)
    return _ste(_mx_forward, x, fmt=fmt, block_size=int(block_size), axis=ax)


def _named(fmt_name: str):
    def quantizer(x: Tensor, width: int | None = None, block_size: int = DEFAULT_BLOCK_SIZE,
                  axis: int | Sequence[int] = -1) -> Tensor:
        fmt = mx_format(fmt_name)
        if width is not None and int(width) != fmt.width:
            raise ValueError(f"{fmt_name} elements are {fmt.width} bits wide, got width={width}")
        return mx_quantizer(x, fmt_name, block_size, axis)

    quantizer.__name__ = quantizer.__qualname__ = f"{fmt_name}_quantizer"
    quantizer.__doc__ = f"OCP MX {fmt_name}: see ``mx_quantizer``."
    return quantizer


MX_QUANTIZERS = {name: _named(name) for name in MX_FORMATS}
for _name, _fn in MX_QUANTIZERS.items():
    globals()[_fn.__name__] = _fn
