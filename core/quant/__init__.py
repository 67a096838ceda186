"""Quantisers, quantised modules and quantised functions.

Importing this package registers every quantised module class and function as a tracer leaf,
so ``MaseGraph(quantised_graph.model)`` keeps them as single nodes.
"""

from core.ir.leaves import register_leaf_function, register_leaf_module
from core.quant.config import (
    OP_METADATA_ARGS,
    QUANT_ARITH_SUFFIXES,
    QUANTIZABLE_OPS,
    QUANTIZER_NAMES,
    is_float_config,
    precision,
    quantized_metadata_entries,
    validate_config,
)
from core.quant.functional import FUNCTION_TO_OP, QUANTIZED_FUNCTIONS, quantized_function
from core.quant.modules import (
    QUANTIZED_MODULE_CLASSES,
    QUANTIZED_MODULES,
    module_op,
    quantize_module,
)
from core.quant.quantizers import QUANTIZERS, quantize

for _cls in QUANTIZED_MODULE_CLASSES:
    register_leaf_module(_cls)
for _fn in QUANTIZED_FUNCTIONS.values():
    register_leaf_function(_fn)

__all__ = [
    "FUNCTION_TO_OP",
    "OP_METADATA_ARGS",
    "QUANTIZABLE_OPS",
    "QUANTIZED_FUNCTIONS",
    "QUANTIZED_MODULES",
    "QUANTIZED_MODULE_CLASSES",
    "QUANTIZERS",
    "QUANTIZER_NAMES",
    "QUANT_ARITH_SUFFIXES",
    "is_float_config",
    "module_op",
    "precision",
    "quantized_metadata_entries",
    "quantize",
    "quantize_module",
    "quantized_function",
    "validate_config",
]
