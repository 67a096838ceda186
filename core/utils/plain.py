"""JSON-safe copies of pass results and metadata, for infos, reports and exports."""

from __future__ import annotations

from typing import Any


def to_plain(value: Any) -> Any:
    """Dicts (keys as strings) and lists (from lists and tuples) copied, JSON scalars kept,
    tensors and arrays by ``tolist()``, anything else (dtypes, devices, objects) by ``str``."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else str(value)
