"""Bit widths of metadata tensor entries, for arithmetic (BitOPs) and for storage.

An entry is one ``common["args"|"results"][name]`` dict: ``{"shape", "type", "precision", ...}``.
The arithmetic width is ``precision[0]`` for every format MASE writes (float: 32/16; integer and
fixed: width, never width + frac; minifloat, log, binary, ternary and the block formats: width;
OCP MX: the element width, 8/6/4, its precision being ``[width, block_size]``).
Storage adds, for block formats, the shared exponent (or bias) bits once per block.
"""

from __future__ import annotations

import math
from typing import Any

from core.mx_names import MX_DEFAULT_BLOCK_SIZE, MX_SCALE_BITS, is_mx

# Block formats: (index of the shared per-block field in ``precision``, index of block_size).
# Layouts follow MASE's QUANT_ARITH_TO_SUFFIXES:
#   block_fp        (width, exponent_width, exponent_bias, block_size)
#   block_minifloat (width, exponent_width, exponent_bias_width, block_size)
#   block_log       (width, exponent_bias_width, block_size)
_BLOCK_SHARED = {
    "block_fp": (1, 3),
    "block_minifloat": (2, 3),
    "block_log": (1, 2),
}
_DEFAULT_BLOCK = 16  # MASE's block_fp default block_size [16]

_DTYPE_BITS = {
    "float64": 64, "double": 64, "float32": 32, "float": 32, "float16": 16, "half": 16,
    "bfloat16": 16, "int64": 64, "long": 64, "int32": 32, "int": 32, "int16": 16, "int8": 8,
    "uint8": 8, "bool": 1,
}


def is_tensor_entry(entry: Any) -> bool:
    """A metadata entry that describes a tensor (non-tensor args and results carry no dtype)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("shape"), (list, tuple)):
        return False
    return "torch_dtype" in entry or isinstance(entry.get("precision"), (list, tuple))


def numel(entry: dict[str, Any]) -> int:
    return math.prod(int(d) for d in entry["shape"])


def _dtype_bits(entry: dict[str, Any]) -> int | None:
    dtype = entry.get("torch_dtype")
    if dtype is None:
        return None
    name = str(dtype).removeprefix("torch.")
    return _DTYPE_BITS.get(name)


def arith_bits(entry: dict[str, Any]) -> tuple[int, bool]:
    """(bit width used in BitOPs, whether it was known). Unknown widths fall back to the dtype's
    bits, then to 32; the flag lets the caller warn instead of guessing silently."""
    precision = entry.get("precision")
    if isinstance(precision, (list, tuple)) and precision:
        width = precision[0]
        if isinstance(width, (int, float)) and not isinstance(width, bool) and width > 0:
            return int(width), True
    bits = _dtype_bits(entry)
    if bits is not None:
        return bits, True
    return 32, False


def _block_sizes(block_size: Any) -> list[int]:
    if isinstance(block_size, (list, tuple)):
        sizes = [int(b) for b in block_size if isinstance(b, (int, float)) and b > 0]
        return sizes or [_DEFAULT_BLOCK]
    if isinstance(block_size, (int, float)) and block_size > 0:
        return [int(block_size)]
    return [_DEFAULT_BLOCK]


def block_count(shape: list[int], block_size: Any) -> int:
    """Blocks tile the trailing dims (block_size aligned right, each dim padded up to a whole
    block, as MASE's block quantisers pad); leading dims each hold their own blocks."""
    sizes = _block_sizes(block_size)
    dims = [int(d) for d in shape] or [1]
    sizes = sizes[-len(dims):]
    lead, tail = dims[: len(dims) - len(sizes)], dims[len(dims) - len(sizes):]
    return math.prod(lead) * math.prod(math.ceil(d / b) for d, b in zip(tail, sizes, strict=True))


def mx_block_count(shape: list[int], block_size: Any, block_dims: Any = None) -> int:
    """MX blocks: ``block_size`` consecutive elements along the blocked axis (``block_dims``,
    the dims flattened into it; default the last), a partial last block per row counting as one."""
    dims = [int(d) for d in shape] or [1]
    size = int(block_size) if isinstance(block_size, (int, float)) and block_size > 0 else MX_DEFAULT_BLOCK_SIZE
    axes = sorted({int(d) % len(dims) for d in (block_dims or [-1])})
    length = math.prod(dims[a] for a in axes)
    rows = math.prod(dims) // length if length else 0
    return rows * math.ceil(length / size)


def storage_bits(entry: dict[str, Any]) -> int:
    """Bits to store the tensor: numel x width, plus, for block formats, the shared field once
    per block (about exponent_width / block_size per element; MX: one 8-bit E8M0 scale per
    block, 8/32 bits per element at the default block size)."""
    n = numel(entry)
    width, _ = arith_bits(entry)
    bits = n * width
    precision = entry.get("precision")
    if is_mx(entry.get("type")):
        block = precision[1] if isinstance(precision, (list, tuple)) and len(precision) > 1 else None
        return bits + MX_SCALE_BITS * mx_block_count(entry["shape"], block, entry.get("block_dims"))
    layout = _BLOCK_SHARED.get(str(entry.get("type")))
    if layout is not None and isinstance(precision, (list, tuple)):
        shared_i, block_i = layout
        shared = precision[shared_i] if len(precision) > shared_i else 0
        block = precision[block_i] if len(precision) > block_i else None
        if isinstance(shared, (int, float)) and shared > 0:
            bits += block_count(entry["shape"], block) * int(shared)
    return bits
