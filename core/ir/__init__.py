"""MaseGraph, MASE types and ops, node metadata.

The names below load on first use, so ``core.ir.view`` (read by the app before torch is
imported) does not pull in torch through this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {"MaseGraph": "core.ir.graph", "MaseGraphMetadata": "core.ir.metadata",
         "MaseMetadata": "core.ir.metadata", "get_mase": "core.ir.metadata"}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'core.ir' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
