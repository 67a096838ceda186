"""Per-node and per-graph metadata, laid out as MASE's ``MaseMetadata``.

``parameters = {"common": ..., "software": ..., "hardware": ...}``. The node and model links
are not part of a copy or a pickle: copies are rebound by ``MaseGraph.copy``.
"""

from __future__ import annotations

import copy
from typing import Any


class MaseMetadata:
    def __init__(self, node=None, model=None) -> None:
        self.node = node
        self.model = model
        self.parameters: dict[str, dict[str, Any]] = {"common": {}, "software": {}, "hardware": {}}

    def __getitem__(self, key: str) -> dict[str, Any]:
        return self.parameters[key]

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        self.parameters[key] = value

    def __contains__(self, key: str) -> bool:
        return key in self.parameters

    @property
    def module(self):
        """The submodule a call_module node calls, looked up now (sees swapped modules)."""
        if self.node is None or self.model is None or self.node.op != "call_module":
            return None
        try:
            return self.model.get_submodule(self.node.target)
        except AttributeError:
            return None

    @property
    def graph(self):
        return None if self.model is None else self.model.graph

    def __deepcopy__(self, memo):
        new = MaseMetadata()
        new.parameters = copy.deepcopy(self.parameters, memo)
        return new

    def __getstate__(self):
        return {"parameters": self.parameters}

    def __setstate__(self, state):
        self.node = None
        self.model = None
        self.parameters = state["parameters"]

    def __repr__(self) -> str:
        name = None if self.node is None else self.node.name
        return f"MaseMetadata(node={name!r}, parameters={self.parameters!r})"


class MaseGraphMetadata(MaseMetadata):
    """Graph-level metadata: ``common`` holds nodes_in / nodes_out / args / results."""

    def __deepcopy__(self, memo):
        new = MaseGraphMetadata()
        new.parameters = copy.deepcopy(self.parameters, memo)
        return new


def get_mase(node) -> MaseMetadata:
    """The node's metadata, created empty when a pass has not set it yet."""
    meta = node.meta.get("mase")
    if meta is None:
        meta = MaseMetadata(node=node)
        node.meta["mase"] = meta
    return meta


def common(node) -> dict[str, Any]:
    return get_mase(node).parameters["common"]


def software(node) -> dict[str, Any]:
    return get_mase(node).parameters["software"]
