"""Block minifloat and block log: minifloat / log elements with an exponent bias shared by each
block (MASE's ``block_minifloat`` and ``block_log``; signatures and defaults as MASE's).

Blocks tile the tensor as in ``block_fp`` (``block_size`` right-aligned on the trailing dims,
partial blocks padded with zeros; ``skip_first_dim`` keeps every first-dim slice apart).

* block_minifloat: per block ``bias = clamp(floor(log2 max|x|), 0, 2^bias_width - 1)``, then
  the IEEE-style minifloat of ``width`` bits with ``exponent_width`` exponent bits and that bias.
* block_log: per block ``bias = clamp(2^(width-1) - 1 - ceil(log2 max|x|), 0,
  2^bias_width - 1)``, then the log quantiser (``sign * 2^round(log2|x|)``) with that bias, so
  the largest exponent of a block reaches its maximum.

A block whose elements are all zero takes the smallest non-zero block maximum of the tensor
(1 when the whole tensor is zero), as MASE does; it only matters for block_log, where 0 is not
representable and becomes ``+2^-bias``.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from core.quant.quantizers import (
    _ceil_log2,
    _floor_log2,
    _log_forward_biased,
    _minifloat_ieee_forward,
    _ste,
    block_max,
)

__all__ = ["block_log_quantizer", "block_minifloat_quantizer"]


def _sizes(block_size: int | Sequence[int]) -> list[int]:
    return [int(block_size)] if isinstance(block_size, int) else [int(b) for b in block_size]


def _nonzero_block_max(x: Tensor, block_size: list[int], skip_first_dim: bool) -> Tensor:
    m = block_max(x, block_size, skip_first_dim)
    positive = m > 0
    if not bool(positive.any()):
        return torch.ones_like(m)
    return torch.where(positive, m, m[positive].min())


def _block_minifloat_forward(x: Tensor, width: int, exponent_width: int, exponent_bias_width: int,
                             block_size: list[int], skip_first_dim: bool) -> Tensor:
    m = _nonzero_block_max(x, block_size, skip_first_dim)
    bias = torch.clamp(_floor_log2(m), 0, 2**exponent_bias_width - 1)
    return _minifloat_ieee_forward(x, width, exponent_width, bias)


def block_minifloat_quantizer(
    x: Tensor,
    width: int,
    exponent_width: int,
    exponent_bias_width: int,
    block_size: int | Sequence[int] = (16,),
    skip_first_dim: bool = False,
) -> Tensor:
    """Block minifloat: IEEE-style minifloat elements, one exponent bias per block."""
    return _ste(_block_minifloat_forward, x, width=int(width), exponent_width=int(exponent_width),
                exponent_bias_width=int(exponent_bias_width), block_size=_sizes(block_size),
                skip_first_dim=bool(skip_first_dim))


def _block_log_forward(x: Tensor, width: int, exponent_bias_width: int, block_size: list[int],
                       skip_first_dim: bool) -> Tensor:
    m = _nonzero_block_max(x, block_size, skip_first_dim)
    bias = torch.clamp(2.0 ** (width - 1) - 1 - _ceil_log2(m), 0, 2**exponent_bias_width - 1)
    return _log_forward_biased(x, width, bias)


def block_log_quantizer(
    x: Tensor,
    width: int,
    exponent_bias_width: int,
    block_size: int | Sequence[int] = (16,),
    skip_first_dim: bool = False,
) -> Tensor:
    """Block log: ``sign * 2^e`` with ``width - 1`` exponent bits, one exponent bias per block."""
    return _ste(_block_log_forward, x, width=int(width), exponent_bias_width=int(exponent_bias_width),
                block_size=_sizes(block_size), skip_first_dim=bool(skip_first_dim))
