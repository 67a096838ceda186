"""Quantisers: pure tensor functions, fake quantisation (float in, float on a grid out).

Every quantiser has a straight-through gradient: the backward pass returns the incoming
gradient unchanged, with no mask outside the representable range (as MASE does; torch's
fake-quant zeroes it there). Forward arithmetic follows MASE (see README, "Quantisers"):

* ``integer`` (alias ``fixed``): ``clamp(round(x * 2^f), lo, hi) / 2^f``, round half to even,
  ``lo, hi = -2^(w-1), 2^(w-1)-1`` (signed) or ``0, 2^w-1`` (unsigned); ``floor=True`` floors.
* ``minifloat_denorm`` / ``minifloat_ieee``: sign, exponent and mantissa without / with an
  implicit leading bit, no inf or NaN (large values saturate).
* ``log``: ``sign * 2^round(log2|x|)``; zero is not representable and becomes ``+2^-bias``.
* ``block_fp``: one exponent shared by each block, mantissas of ``width - 1`` bits plus sign.
* ``binary``: ``{-1, +1}`` (bipolar) or ``{0, mean|x|}``; ``ternary``: ``{-a, 0, +a}``.

Exponent arithmetic uses ``frexp``/``ldexp`` in float64, so grid points are exact.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "QUANTIZERS",
    "binary_quantizer",
    "block_log_quantizer",
    "block_minifloat_quantizer",
    "mx_quantizer",
    "residual_sign_quantizer",
    "block_exponents",
    "block_fp_quantizer",
    "integer_floor_quantizer",
    "integer_quantizer",
    "log_quantizer",
    "minifloat_denorm_quantizer",
    "minifloat_ieee_quantizer",
    "quantize",
    "ternary_quantizer",
]


class _StraightThrough(torch.autograd.Function):
    """Forward: ``fn(x, **kwargs)``; backward: identity."""

    @staticmethod
    def forward(ctx, x: Tensor, fn: Callable[..., Tensor], kwargs: dict[str, Any]) -> Tensor:
        return fn(x, **kwargs)

    @staticmethod
    def backward(ctx, grad: Tensor):
        return grad, None, None


def _ste(fn: Callable[..., Tensor], x: Tensor, **kwargs: Any) -> Tensor:
    if torch.is_grad_enabled() and x.requires_grad:
        return _StraightThrough.apply(x, fn, kwargs)
    with torch.no_grad():
        return fn(x, **kwargs)


def _default_bias(exponent_width: int) -> int:
    return 2 ** (exponent_width - 1) - 1


def _is_none(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.lower() in ("na", "none"))


def _floor_log2(a: Tensor) -> Tensor:
    """floor(log2 a) for a > 0, exact (frexp gives a = m * 2^e with m in [0.5, 1))."""
    _, e = torch.frexp(a)
    return (e - 1).to(torch.float64)


def _ceil_log2(a: Tensor) -> Tensor:
    m, e = torch.frexp(a)
    return torch.where(m == 0.5, e - 1, e).to(torch.float64)


def _sign_no_zero(x: Tensor) -> Tensor:
    return torch.where(x < 0, -1.0, 1.0).to(torch.float64)


# --------------------------------------------------------------------------- integer


def _integer_forward(x: Tensor, width: int, frac_width: int, is_signed: bool, floor: bool) -> Tensor:
    if is_signed:
        lo, hi = -(2 ** (width - 1)), 2 ** (width - 1) - 1
    else:
        lo, hi = 0, 2**width - 1
    scale = 2.0**frac_width
    scaled = x * scale
    scaled = torch.floor(scaled) if floor else torch.round(scaled)
    return torch.clamp(scaled, lo, hi) / scale


def integer_quantizer(
    x: Tensor,
    width: int,
    frac_width: int | None = None,
    is_signed: bool = True,
    floor: bool = False,
) -> Tensor:
    """Fixed point with ``width`` bits of which ``frac_width`` are fractional (default w // 2)."""
    if _is_none(frac_width):
        frac_width = width // 2
    return _ste(_integer_forward, x, width=int(width), frac_width=int(frac_width),
                is_signed=bool(is_signed), floor=bool(floor))


def integer_floor_quantizer(
    x: Tensor, width: int, frac_width: int | None = None, is_signed: bool = True
) -> Tensor:
    """MASE's floor variant (config ``floor = true``): ``floor`` instead of round to even."""
    return integer_quantizer(x, width, frac_width, is_signed, floor=True)


# --------------------------------------------------------------------------- minifloat


def _minifloat_fields(
    x: Tensor, width: int, exponent_width: int, exponent_bias: int | Tensor,
    log2: Callable[[Tensor], Tensor],
) -> tuple[int, Any, Tensor, Tensor, Tensor]:
    """(mantissa bits, lowest exponent, |x| in float64, x != 0, exponent of |x| by ``log2``
    clamped to the representable range). ``exponent_bias`` may be a tensor broadcasting to
    ``x`` (block minifloat: one bias per block)."""
    mant_bits = width - exponent_width - 1
    v = x.abs().to(torch.float64)
    nonzero = v > 0
    e = log2(torch.where(nonzero, v, torch.ones_like(v)))
    if isinstance(exponent_bias, Tensor):
        e_min = (-exponent_bias.to(torch.float64)).expand_as(e)
        e = torch.minimum(torch.maximum(e, e_min), 2.0**exponent_width - 1 + e_min)
    else:
        e_min = -exponent_bias
        e = torch.clamp(e, e_min, 2**exponent_width - 1 - exponent_bias)
    return mant_bits, e_min, v, nonzero, e


def _signed(x: Tensor, magnitude: Tensor, nonzero: Tensor) -> Tensor:
    """``magnitude`` with the sign of ``x``; zero stays zero."""
    q = _sign_no_zero(x) * magnitude
    return torch.where(nonzero, q, torch.zeros_like(q)).to(x.dtype)


def _minifloat_denorm_forward(x: Tensor, width: int, exponent_width: int, exponent_bias: int) -> Tensor:
    mant_bits, _, v, nonzero, e = _minifloat_fields(x, width, exponent_width, exponent_bias, _ceil_log2)
    k = torch.clamp(torch.round(torch.ldexp(v, mant_bits - e)), 0, 2**mant_bits - 1)
    return _signed(x, torch.ldexp(k, e - mant_bits), nonzero)


def _minifloat_ieee_forward(x: Tensor, width: int, exponent_width: int, exponent_bias: int) -> Tensor:
    mant_bits, e_min, v, nonzero, e = _minifloat_fields(x, width, exponent_width, exponent_bias, _floor_log2)
    k_max = 2**mant_bits - 1
    shifted = torch.ldexp(v, mant_bits - e)  # mantissa * 2^m, in [2^m, 2^(m+1)) when normal
    normal = e != e_min
    k_normal = torch.clamp(torch.round(shifted - 2**mant_bits), 0, k_max)
    k_sub = torch.clamp(torch.round(shifted / 2), 0, k_max)
    magnitude = torch.where(
        normal,
        torch.ldexp(k_normal + 2**mant_bits, e - mant_bits),
        torch.ldexp(k_sub, e + 1 - mant_bits),
    )
    return _signed(x, magnitude, nonzero)


def _minifloat(forward: Callable[..., Tensor], x: Tensor, width: int, exponent_width: int,
               exponent_bias: int | None) -> Tensor:
    bias = _default_bias(exponent_width) if _is_none(exponent_bias) else int(exponent_bias)
    return _ste(forward, x, width=int(width), exponent_width=int(exponent_width), exponent_bias=bias)


def minifloat_denorm_quantizer(
    x: Tensor, width: int, exponent_width: int, exponent_bias: int | None = None
) -> Tensor:
    """Minifloat without an implicit leading bit: ``sign * 2^e * k / 2^m``, k < 2^m."""
    return _minifloat(_minifloat_denorm_forward, x, width, exponent_width, exponent_bias)


def minifloat_ieee_quantizer(
    x: Tensor, width: int, exponent_width: int, exponent_bias: int | None = None
) -> Tensor:
    """IEEE-style minifloat (implicit leading 1, subnormals at the lowest exponent, no inf/NaN)."""
    return _minifloat(_minifloat_ieee_forward, x, width, exponent_width, exponent_bias)


# --------------------------------------------------------------------------- log


def _log_forward_biased(x: Tensor, width: int, exponent_bias: int | Tensor) -> Tensor:
    """``exponent_bias`` an int or a tensor broadcasting to ``x`` (block log)."""
    exp_bits = width - 1
    v = x.abs().to(torch.float64)
    if isinstance(exponent_bias, Tensor):
        e_min = (-exponent_bias.to(torch.float64)).expand_as(v)
    else:
        e_min = torch.full_like(v, float(-exponent_bias))
    e_max = e_min + (2.0**exp_bits - 1)
    safe = torch.where(v > 0, v, torch.exp2(e_min))
    e = torch.minimum(torch.maximum(torch.round(torch.log2(safe)), e_min), e_max)
    return (_sign_no_zero(x) * torch.exp2(e)).to(x.dtype)


def _log_forward(x: Tensor, width: int, exponent_bias: int) -> Tensor:
    return _log_forward_biased(x, width, exponent_bias)


def log_quantizer(x: Tensor, width: int, exponent_bias: int | None = None) -> Tensor:
    """``sign * 2^e`` with ``width - 1`` exponent bits; 0 maps to ``+2^-bias``."""
    bias = _default_bias(width - 1) if _is_none(exponent_bias) else int(exponent_bias)
    return _ste(_log_forward, x, width=int(width), exponent_bias=bias)


# --------------------------------------------------------------------------- block_fp


def _block_shape(shape: Sequence[int], block_size: Sequence[int], skip_first_dim: bool) -> list[int]:
    """Block sizes right-aligned on the trailing dims; uncovered leading dims form one block.
    With ``skip_first_dim`` (activations) every dim before the last two gets blocks of 1 (the
    first dim of a 2-D tensor too): one sample, or one (sample, channel) plane of a 4-D
    activation, per block row, as MASE's block quantisers see it after flattening those dims."""
    nd = len(shape)
    sizes = [int(b) for b in block_size]
    sizes = sizes[-nd:] if len(sizes) >= nd else [-1] * (nd - len(sizes)) + sizes
    if skip_first_dim and nd > 1:
        for i in range(max(1, nd - 2)):
            sizes[i] = 1
    return [s if (b == -1 or b > s) else b for b, s in zip(sizes, shape, strict=True)]


def block_max(x: Tensor, block_size: int | Sequence[int], skip_first_dim: bool = False) -> Tensor:
    """max|x| over each element's block (float64, same shape as ``x``). Blocks tile the tensor
    as MASE's ``block`` does: sizes right-aligned on the trailing dims, the last block of a dim
    padded with zeros (which never change a maximum)."""
    sizes = [block_size] if isinstance(block_size, int) else list(block_size)
    flat = x.reshape(1) if x.ndim == 0 else x
    bshape = _block_shape(flat.shape, sizes, skip_first_dim)
    pads: list[int] = []
    for s, b in reversed(list(zip(flat.shape, bshape, strict=True))):
        pads += [0, (-s) % b]
    a = flat.detach().abs().to(torch.float64)
    if any(pads):
        a = F.pad(a, pads)
    split: list[int] = []
    for s, b in zip(a.shape, bshape, strict=True):
        split += [s // b, b]
    blocks = a.reshape(split)
    m = blocks.amax(dim=tuple(range(1, 2 * a.ndim, 2)), keepdim=True)
    m = m.expand(split).reshape(a.shape)
    return m[tuple(slice(0, s) for s in flat.shape)].reshape(x.shape)


def block_exponents(
    x: Tensor,
    block_size: int | Sequence[int],
    exponent_width: int,
    exponent_bias: int | None = None,
    skip_first_dim: bool = False,
) -> Tensor:
    """The shared exponent of every element's block (float64, same shape as ``x``)."""
    m = block_max(x, block_size, skip_first_dim)
    bias = _default_bias(exponent_width) if _is_none(exponent_bias) else int(exponent_bias)
    e_min, e_max = -bias, 2**exponent_width - 1 - bias
    safe = torch.where(m > 0, m, torch.ones_like(m))
    return torch.where(m > 0, torch.clamp(_ceil_log2(safe), e_min, e_max), float(e_min))


def _block_fp_forward(x: Tensor, width: int, exponent_width: int, exponent_bias: int | None,
                      block_size: list[int], skip_first_dim: bool) -> Tensor:
    mant_bits = width - 1
    e = block_exponents(x, block_size, exponent_width, exponent_bias, skip_first_dim)
    v = x.abs().to(torch.float64)
    k = torch.clamp(torch.round(torch.ldexp(v, mant_bits - e)), 0, 2**mant_bits - 1)
    return (_sign_no_zero(x) * torch.ldexp(k, e - mant_bits)).to(x.dtype)


def block_fp_quantizer(
    x: Tensor,
    width: int = 12,
    exponent_width: int = 8,
    exponent_bias: int | None = None,
    block_size: int | Sequence[int] = (16,),
    skip_first_dim: bool = True,
) -> Tensor:
    """MSFP-style block floating point: per block ``e = ceil(log2 max|x|)`` (clamped), then
    ``sign * 2^e * k / 2^(w-1)`` with ``k <= 2^(w-1) - 1``. MASE's signature and defaults
    (``skip_first_dim=True``: the first dim, a batch, is never blocked across)."""
    sizes = [int(block_size)] if isinstance(block_size, int) else [int(b) for b in block_size]
    return _ste(_block_fp_forward, x, width=int(width), exponent_width=int(exponent_width),
                exponent_bias=exponent_bias, block_size=sizes, skip_first_dim=bool(skip_first_dim))


# --------------------------------------------------------------------------- binary / ternary


def _slice_dims(x: Tensor) -> tuple[int, ...]:
    return tuple(range(1, x.ndim))


def _row_abs_mean(x: Tensor) -> Tensor:
    """Mean |x| per slice of the first dim (a sample, an output channel); whole tensor if 1-D."""
    if x.ndim <= 1:
        return x.abs().mean()
    return x.abs().mean(dim=_slice_dims(x), keepdim=True)


def _binary_forward(x: Tensor, stochastic: bool, bipolar: bool) -> Tensor:
    if stochastic:
        prob = torch.clamp((x + 1) / 2, 0, 1)
        if bipolar:
            return torch.where(prob >= torch.rand_like(prob), 1.0, -1.0).to(x.dtype)
        # MASE's stochastic zero-one mode draws the noise but compares the probability with 0,
        # so it is deterministic: {0, mean(prob) per slice}.
        return torch.where(prob > 0, _row_abs_mean(prob), torch.zeros((), dtype=x.dtype)).to(x.dtype)
    if bipolar:
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
    return torch.where(x > 0, _row_abs_mean(x), torch.zeros((), dtype=x.dtype)).to(x.dtype)


def binary_quantizer(x: Tensor, stochastic: bool = False, bipolar: bool = False) -> Tensor:
    """MASE's signature and default (``bipolar=False``). Bipolar: ``x >= 0 -> +1`` else ``-1``.
    Zero-one: ``x > 0 -> mean|x|`` (per first-dim slice) else 0. Stochastic bipolar: +1 with
    probability ``clamp((x + 1) / 2, 0, 1)``."""
    return _ste(_binary_forward, x, stochastic=bool(stochastic), bipolar=bool(bipolar))


def ternary_threshold(
    x: Tensor | None = None, threshold: float | None = None, mean: float | None = None,
    median: float | None = None, maximum: float | None = None,
) -> float | None:
    """The threshold from statistics, in MASE's order: 0.75 * mean, else 0.05 * max, else
    0.75 * median (a zero statistic counts as absent, as in MASE). None when there is no
    statistic: the quantiser then takes 0.75 * mean|x| of each first-dim slice."""
    if not _is_none(threshold):
        return float(threshold)
    if not _is_none(mean) and mean:
        return 0.75 * float(mean)
    if not _is_none(maximum) and maximum:
        return 0.05 * float(maximum)
    if not _is_none(median) and median:
        return 0.75 * float(median)
    return None


def _ternary_forward(x: Tensor, threshold: float | None, scaling_factor: bool) -> Tensor:
    a = x.abs()
    per_slice = x.ndim > 1
    dims = _slice_dims(x) if per_slice else tuple(range(x.ndim))
    if threshold is None:
        # MASE: delta = 0.75 * mean|x| of each first-dim slice (a sample or an output channel)
        t = 0.75 * (a.mean(dim=dims, keepdim=True) if per_slice else a.mean())
    else:
        t = torch.tensor(threshold, dtype=x.dtype)
    above = a > t
    levels = torch.where(above, torch.sign(x), torch.zeros((), dtype=x.dtype))
    if scaling_factor:
        # alpha = mean |x| of the kept elements of each slice (0, not MASE's NaN, when none is kept)
        kept = (a * above).sum(dim=dims, keepdim=per_slice)
        count = above.sum(dim=dims, keepdim=per_slice)
        alpha = torch.where(count > 0, kept / count.clamp(min=1), torch.zeros((), dtype=x.dtype))
        levels = levels * alpha
    return levels.to(x.dtype)


def ternary_quantizer(
    x: Tensor,
    threshold: float | None = None,
    maximum: float | None = None,
    median: float | None = None,
    mean: float | None = None,
    scaling_factor: bool = False,
    *,
    max: float | None = None,  # noqa: A002 (the config's key, ``<operand>_max``)
) -> Tensor:
    """MASE's signature. ``sign(x)`` where ``|x| > threshold`` else 0, scaled by the mean |x|
    of the kept elements of each first-dim slice when ``scaling_factor``. The threshold comes
    from ``threshold`` or the statistics (see ``ternary_threshold``); without any, it is
    0.75 * mean|x| per first-dim slice, as MASE computes it."""
    if _is_none(maximum):
        maximum = max
    t = ternary_threshold(x, threshold, mean, median, maximum)
    return _ste(_ternary_forward, x, threshold=t, scaling_factor=bool(scaling_factor))


# --------------------------------------------------------------------------- dispatch

QUANTIZERS: dict[str, Callable[..., Tensor]] = {
    "integer": integer_quantizer,
    "fixed": integer_quantizer,
    "minifloat_ieee": minifloat_ieee_quantizer,
    "minifloat_denorm": minifloat_denorm_quantizer,
    "log": log_quantizer,
    "block_fp": block_fp_quantizer,
    "binary": binary_quantizer,
    "binary_residual": binary_quantizer,  # its weights; inputs: residual_sign_quantizer
    "ternary": ternary_quantizer,
}


def quantize(x: Any, name: str, **kwargs: Any) -> Any:
    """Apply quantiser ``name`` to a float tensor. Python ints, non-float tensors and None pass
    through unchanged (MASE leaves the ``2`` of ``x + 2`` alone); a Python float is quantised
    and returned as a float."""
    if isinstance(x, Tensor):
        if not torch.is_floating_point(x):
            return x
        return QUANTIZERS[name](x, **kwargs)
    if isinstance(x, float) and not isinstance(x, bool) and math.isfinite(x):
        return float(QUANTIZERS[name](torch.tensor(x, dtype=torch.float64), **kwargs))
    return x


def residual_sign_quantizer(levels: int, x_quantizer: Any, means: Tensor, x: Tensor) -> Tensor:
    """MASE's residual binarisation (ReBNet), in its argument order: ``levels`` stacked terms
    ``b_l = sign(clamp(r_l, -1, 1)) * |means[l]|`` with ``r_0 = x``, ``r_{l+1} = r_l - b_l``
    (``sign(0) = 0``). Gradient: straight through the clamp inside [-1, 1] (as MASE's
    ``binarize``); ``means`` learns. ``x_quantizer`` is accepted and ignored, as in MASE."""
    del x_quantizer
    resid, terms = x, []
    for level in range(int(levels)):
        clipped = torch.clamp(resid, -1, 1)
        binarised = clipped + (torch.sign(clipped) - clipped).detach()
        out = binarised * means[level].abs()
        terms.append(out)
        resid = resid - out
    return torch.stack(terms, dim=0)


# The block-shared-bias and MX quantisers live in their own modules and register themselves.
from core.quant import block_quantizers as _block_quantizers  # noqa: E402
from core.quant import mx as _mx  # noqa: E402

QUANTIZERS.update({
    "block_minifloat": _block_quantizers.block_minifloat_quantizer,
    "block_log": _block_quantizers.block_log_quantizer,
    **_mx.MX_QUANTIZERS,
    **{alias: _mx.MX_QUANTIZERS[name] for alias, name in _mx.MX_ALIASES.items()},
})
block_minifloat_quantizer = _block_quantizers.block_minifloat_quantizer
block_log_quantizer = _block_quantizers.block_log_quantizer
mx_quantizer = _mx.mx_quantizer
