"""MaseGraph, MASE types and ops, node metadata."""

from core.ir.graph import MaseGraph
from core.ir.metadata import MaseGraphMetadata, MaseMetadata, get_mase

__all__ = ["MaseGraph", "MaseGraphMetadata", "MaseMetadata", "get_mase"]
