"""Graph passes. ``PASSES[name]`` is the registry (registry.py); a pass declares itself with
``@mase_pass`` (schema.py)."""

from core.passes.registry import PASSES, get_pass, resolve_pass_name
from core.passes.schema import Arg, PassSpec, mase_pass

__all__ = ["PASSES", "Arg", "PassSpec", "get_pass", "mase_pass", "resolve_pass_name"]
