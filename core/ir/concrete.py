"""Which forward arguments become graph inputs, and the values the others are traced with.

The data gives a model its leading input(s). Every other forward argument that has a default
keeps it (timm's ``forward(x, attn_mask=None, is_causal=False)`` traces as ``forward(x)``), so
``if attn_mask is not None`` branches resolve at trace time as they do when the model is called
with one tensor. A user can still choose other values: ``cf_args`` (MASE's name for torch.fx's
``concrete_args``), a TOML key of the same name, or ``--concrete NAME=VALUE`` on the CLI.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.fx as fx

from core.errors import ConfigError

# fx turns a concrete container into per-leaf placeholders (pytree); containers are instead
# traced as placeholders and replaced by their literal value afterwards (see bind_literals).
_CONTAINERS = (tuple, list, dict)


def forward_parameters(model: torch.nn.Module) -> list[inspect.Parameter]:
    """forward's named parameters (``*args``/``**kwargs`` cannot be concrete)."""
    forward = type(model).forward
    try:
        sig = inspect.signature(forward)
    except (TypeError, ValueError):
        return []
    params = list(sig.parameters.values())[1:]  # drop self
    return [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def concrete_arguments(model: torch.nn.Module, cf_args: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """(values traced as constants, container values to bind after tracing).

    Inputs are the first parameter and every parameter without a default; the rest keep their
    defaults; ``cf_args`` overrides either (and may name an input to make it constant).
    """
    params = forward_parameters(model)
    names = [p.name for p in params]
    given = dict(cf_args or {})
    stray = [k for k in given if k not in names]
    if stray and not any(p.kind == p.VAR_KEYWORD for p in _all_parameters(model)):
        raise ConfigError(
            f"cf_args names {', '.join(repr(s) for s in stray)}, which {type(model).__name__}.forward does not take",
            hint=f"forward's arguments are: {', '.join(names) or '(none)'}")
    values: dict[str, Any] = {}
    for i, p in enumerate(params):
        if p.name in given:
            values[p.name] = given[p.name]
        elif i > 0 and p.default is not p.empty:
            values[p.name] = p.default
    for k in stray:
        values[k] = given[k]
    traced = {k: v for k, v in values.items() if not isinstance(v, _CONTAINERS)}
    literal = {k: v for k, v in values.items() if isinstance(v, _CONTAINERS)}
    return traced, literal


def _all_parameters(model) -> list[inspect.Parameter]:
    try:
        return list(inspect.signature(type(model).forward).parameters.values())
    except (TypeError, ValueError):
        return []


def prune_concrete_placeholders(graph: fx.Graph, model: torch.nn.Module, traced: dict[str, Any],
                                literal: dict[str, Any]) -> None:
    """Remove the placeholders fx keeps for concrete arguments (with their ``_assert`` checks)
    and replace container placeholders by their value, so the graph's inputs are what the data
    supplies. fx makes one placeholder per forward parameter, in signature order."""
    placeholders = [n for n in graph.nodes if n.op == "placeholder"]
    params = [p.name for p in _all_parameters(model)[1:]]
    for node, name in zip(placeholders, params, strict=False):  # **kwargs adds no placeholder
        if name in literal:
            value = literal[name]
            for user in list(node.users):
                user.args = fx.node.map_arg(user.args, lambda a, n=node, v=value: v if a is n else a)
                user.kwargs = fx.node.map_arg(user.kwargs, lambda a, n=node, v=value: v if a is n else a)
            graph.erase_node(node)
        elif name in traced:
            checks = _assertion_chain(node)
            if checks is None:
                continue
            for check in reversed(checks):
                graph.erase_node(check)
            graph.erase_node(node)


def _assertion_chain(placeholder: fx.Node) -> list[fx.Node] | None:
    """The nodes fx added to check a concrete value (``eq`` then ``_assert``, or
    ``_assert_is_none``), in graph order; None when the placeholder feeds anything else."""
    chain: list[fx.Node] = []
    stack = list(placeholder.users)
    while stack:
        node = stack.pop()
        if node in chain:
            continue
        name = getattr(node.target, "__name__", "")
        if node.op != "call_function" or name not in ("eq", "_assert", "_assert_is_none"):
            return None
        chain.append(node)
        stack.extend(node.users)
    order = {n: i for i, n in enumerate(placeholder.graph.nodes)}
    return sorted(chain, key=order.__getitem__)
