"""Plain descriptions of the non-tensor values nodes produce and take, for metadata.

Metadata must deep-copy, pickle and save as JSON, so it never holds a live object: a
``torch.finfo`` (which cannot be pickled), a dtype, a device, a ``torch.Size`` or a user's object
is written as plain data (``{"type": "finfo", "value": {"dtype": "float32", "min": ...}}``).
Containers that hold tensors are described element by element (see ``container_items``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

import torch

_SCALARS = (bool, int, float, str)
_TORCH_ENUMS = (torch.dtype, torch.device, torch.memory_format, torch.layout)
_MAX_REPR = 120


def plain_value(value: Any) -> Any:
    """JSON-like data for a non-tensor value (nested containers included)."""
    if value is None or isinstance(value, _SCALARS):
        return value
    if isinstance(value, torch.Size):
        return [int(d) for d in value]
    if isinstance(value, _TORCH_ENUMS):
        return str(value)
    if isinstance(value, (torch.finfo, torch.iinfo)):
        return type_info(value)
    if isinstance(value, (slice, type(Ellipsis))):
        return value  # the save format has tags for these; args such as x[:, :3] keep them
    if isinstance(value, complex):
        return str(value)
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if isinstance(value, Mapping):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [plain_value(v) for v in value]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, torch.Tensor):
        return f"tensor{list(value.shape)}"
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def type_info(info: torch.finfo | torch.iinfo) -> dict[str, Any]:
    out: dict[str, Any] = {"dtype": str(info.dtype), "bits": int(info.bits), "min": info.min, "max": info.max}
    if isinstance(info, torch.finfo):
        out.update(eps=float(info.eps), tiny=float(info.tiny), resolution=float(info.resolution))
    return out


def type_name(value: Any) -> str:
    if isinstance(value, torch.finfo):
        return "finfo"
    if isinstance(value, torch.iinfo):
        return "iinfo"
    return type(value).__name__


def value_entry(value: Any) -> dict[str, Any]:
    """A metadata entry for one non-tensor value: type, shape (elements for sequences and
    sizes, [] for None, [1] for a single value) and the plain value."""
    plain = plain_value(value)
    if value is None:
        shape: list[int] = []
    elif isinstance(value, (list, tuple, Mapping)):
        shape = [len(value)]
    else:
        shape = [1]
    return {"type": type_name(value), "shape": shape, "value": plain}


def is_container(value: Any) -> bool:
    """Results described element by element: tuples and lists (named tuples too), mappings
    (HF ModelOutput) and dataclass instances. ``torch.Size`` is one value."""
    if isinstance(value, torch.Size):
        return False
    if isinstance(value, (list, tuple, Mapping)):
        return True
    return dataclasses.is_dataclass(value) and not isinstance(value, type)


def container_items(value: Any) -> list[tuple[str | None, Any]]:
    """(field name or None, element) pairs of a container result, in order."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return list(zip(value._fields, value, strict=True))
    if isinstance(value, (list, tuple)):
        return [(None, v) for v in value]
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]
