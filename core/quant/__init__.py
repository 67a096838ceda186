"""Quantisers, quantised modules and quantised functions.

The package loads lazily: ``core.quant.config`` (config validation) needs no torch, so a config
is checked before torch is imported. Importing ``core.quant.modules`` / ``core.quant.functional``
registers every quantised module class and function as a tracer leaf, so
``MaseGraph(quantised_graph.model)`` keeps them as single nodes.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> submodule that defines it
_EXPORTS = {
    "OP_METADATA_ARGS": "config", "QUANT_ARITH_SUFFIXES": "config", "QUANTIZABLE_OPS": "config",
    "QUANTIZER_NAMES": "config", "is_float_config": "config", "precision": "config",
    "quantized_metadata_entries": "config", "validate_config": "config",
    "FUNCTION_TO_OP": "functional", "QUANTIZED_FUNCTIONS": "functional", "quantized_function": "functional",
    "QUANTIZED_MODULE_CLASSES": "modules", "QUANTIZED_MODULES": "modules", "module_op": "modules",
    "quantize_module": "modules",
    "QUANTIZERS": "quantizers", "quantize": "quantizers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core.quant' has no attribute '{name}'")
    return getattr(importlib.import_module(f"core.quant.{module}"), name)
