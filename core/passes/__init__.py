"""Graph passes. ``PASSES[name]`` is the registry (see registry.py)."""

from core.passes.registry import PASSES, ArgSpec, PassSpec, get_pass, resolve_pass_name

__all__ = ["PASSES", "ArgSpec", "PassSpec", "get_pass", "resolve_pass_name"]
