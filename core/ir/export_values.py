"""Node results of an exported graph from the export's own fake values (``node.meta["val"]``).

torch.export records every node's result as a FakeTensor (shape, dtype, device, no storage),
so the metadata pass can describe an exported graph without running it: no forward pass, no
weight memory, and it works on the meta device (a 7B model's metadata in well under a second).
"""

from __future__ import annotations

from typing import Any

import torch


def results_from_export(graph, dummy_in: dict[str, Any]) -> dict[str, Any] | None:
    """``{node name: recorded result}`` when every node carries a value and the inputs have the
    shapes and dtypes the graph was exported with; None when the graph must be run instead (an
    fx trace, a node added after export, or inputs of another shape)."""
    env: dict[str, Any] = {}
    exported = False
    for node in graph.fx_graph.nodes:
        if node.op == "output":
            continue
        if "val" not in node.meta:
            return None
        value = node.meta["val"]
        if node.op == "placeholder":
            given = dummy_in.get(node.name)
            if isinstance(value, torch.Tensor) and not _same_kind(given, value):
                return None
        if node.op == "call_function":
            exported = True
        if node.op == "get_attr":
            value = _attribute(graph.model, str(node.target), value)
        env[node.name] = value
    return env if exported else None


def _same_kind(given: Any, recorded: torch.Tensor) -> bool:
    return (isinstance(given, torch.Tensor) and tuple(given.shape) == tuple(recorded.shape)
            and given.dtype == recorded.dtype)


def _attribute(model: torch.nn.Module, target: str, recorded: Any) -> Any:
    """A get_attr node's tensor as it is now (a pass may have replaced it), else the record."""
    owner, _, name = target.rpartition(".")
    try:
        value = getattr(model.get_submodule(owner) if owner else model, name)
    except AttributeError:
        return recorded
    return value if isinstance(value, torch.Tensor) else recorded
