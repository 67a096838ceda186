"""``--concrete NAME=VALUE`` and ``cf_args`` values as plain data (no torch import: a bad value
is reported before the model is built). Tracing with them is core/ir/concrete.py."""

from __future__ import annotations

import ast
from typing import Any

from core.errors import ConfigError


def parse_concrete(items: list[str] | None) -> dict[str, Any]:
    """``["mask=None", "is_causal=true", "scale=0.5", "mode=fast"]`` -> a cf_args dict.

    Values are Python literals (ints, floats, True/False/None, quoted strings, tuples); ``true``,
    ``false`` and ``none`` are accepted as TOML spells them; anything else is a plain string.
    """
    out: dict[str, Any] = {}
    for item in items or ():
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ConfigError(f"--concrete {item!r} is not NAME=VALUE", hint="e.g. --concrete attn_mask=None")
        out[name] = _literal(text.strip())
    return out


def _literal(text: str) -> Any:
    lowered = {"true": True, "false": False, "none": None, "null": None}
    if text.lower() in lowered:
        return lowered[text.lower()]
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def describe_concrete(values: dict[str, Any]) -> str:
    """``attn_mask=None, is_causal=False`` for reports."""
    return ", ".join(f"{k}={v!r}" for k, v in values.items())

