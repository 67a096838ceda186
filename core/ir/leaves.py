"""Registries of leaf modules and functions that the tracer must not trace into.

The quantisation package registers its modules and functions here when it is imported, so a
quantised model traced again keeps them as single nodes.
"""

from __future__ import annotations

from typing import Callable

LEAF_MODULE_CLASSES: list[type] = []
LEAF_FUNCTIONS: list[Callable] = []


def register_leaf_module(cls: type) -> type:
    if cls not in LEAF_MODULE_CLASSES:
        LEAF_MODULE_CLASSES.append(cls)
    return cls


def register_leaf_function(fn: Callable) -> Callable:
    if fn not in LEAF_FUNCTIONS:
        LEAF_FUNCTIONS.append(fn)
    return fn


def load_builtin_leaves() -> None:
    """Import the packages that register leaves (the quantised modules and functions)."""
    try:
        import core.quant.functional  # noqa: F401  (they register on import)
        import core.quant.modules  # noqa: F401
    except ImportError:
        pass
