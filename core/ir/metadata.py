"""Per-node and per-graph metadata, laid out as MASE's ``MaseMetadata``.

``parameters = {"common": ..., "software": ..., "hardware": ...}``. The node and model links
are not part of a copy or a pickle: copies are rebound by ``MaseGraph.copy``.
"""

from __future__ import annotations

import copy
import enum
import logging
import types
from typing import Any

logger = logging.getLogger(__name__)

# Values a copy shares instead of copying: immutable, or live objects that describe rather than
# hold data (torch.finfo and torch.iinfo cannot even be deep-copied).
_SHARED_TYPES: tuple[type, ...] = (str, bytes, int, float, complex, bool, type(None), type, range, enum.Enum,
                                   types.FunctionType, types.BuiltinFunctionType, types.MethodType,
                                   types.ModuleType)


def _torch_shared_types() -> tuple[type, ...]:
    import torch

    return (torch.dtype, torch.device, torch.Size, torch.finfo, torch.iinfo, torch.layout, torch.memory_format)


def copy_value(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A copy of a metadata value, made structurally: dicts, lists, sets and tuples are rebuilt,
    tensors deep-copied (through ``memo``, so a parameter shared with a model deep-copied with the
    same memo becomes the copy's parameter), descriptions (dtype, device, Size, finfo, functions,
    classes, strings, numbers) shared. Anything else is deep-copied, or shared when it cannot be
    (a live object such as a lock or a file), so copying never fails and never touches ``value``."""
    memo = {} if memo is None else memo
    key = id(value)
    if key in memo:
        return memo[key]
    if isinstance(value, _SHARED_TYPES):
        return value
    if isinstance(value, dict):
        out = {} if type(value) is dict else copy.copy(value)  # OrderedDict, defaultdict keep their type
        out.clear()
        memo[key] = out
        for k, v in value.items():
            out[k] = copy_value(v, memo)
        return out
    if isinstance(value, list):
        out = []
        memo[key] = out
        out.extend(copy_value(v, memo) for v in value)
        return out
    if isinstance(value, (set, frozenset)):
        return type(value)(copy_value(v, memo) for v in value)
    if isinstance(value, tuple):
        if isinstance(value, _torch_shared_types()):
            return value
        items = [copy_value(v, memo) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value  # nothing mutable inside: the tuple itself is immutable
        return type(value)._make(items) if hasattr(type(value), "_make") else type(value)(items)
    if isinstance(value, _torch_shared_types()):
        return value
    if isinstance(value, MaseMetadata):
        return value.__deepcopy__(memo)
    try:
        return copy.deepcopy(value, memo)
    except Exception:  # noqa: BLE001 - a live object that refuses to be copied is shared, not lost
        logger.debug("metadata value of type %s shared by a copy (it cannot be copied)", type(value).__name__)
        return value


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
        new = type(self)()
        memo[id(self)] = new
        new.parameters = copy_value(self.parameters, memo)
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


def _fingerprint(value: Any, out: list) -> None:
    """Containers by identity, size and contents; leaves by identity (any assignment into a
    dict or list shows, without comparing tensors by value)."""
    out.append(value)
    if isinstance(value, dict):
        out.append(len(value))
        for k, v in value.items():
            out.append(k)
            _fingerprint(v, out)
    elif isinstance(value, (list, tuple)):
        out.append(len(value))
        for v in value:
            _fingerprint(v, out)


class MetadataFingerprint:
    """What a graph's MASE metadata is made of, object by object. It holds the objects (not
    their ids, which a freed object's successor may reuse), so two fingerprints differ exactly
    when something was written into the metadata in between (a record replaced, a key added,
    a value assigned) or a node was added or removed. Used by the Session to tell an analysis
    pass that wrote metadata from one that only read."""

    def __init__(self, graph) -> None:
        out: list = []
        for node in graph.model.graph.nodes:
            out.append(node)
            meta = node.meta.get("mase")
            out.append(meta)
            if meta is not None:
                _fingerprint(meta.parameters, out)
        graph_meta = graph.meta.get("mase")
        out.append(graph_meta)
        if graph_meta is not None:
            _fingerprint(graph_meta.parameters, out)
        self.parts = out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetadataFingerprint) or len(self.parts) != len(other.parts):
            return False
        return all(a is b for a, b in zip(self.parts, other.parts, strict=True))

    __hash__ = None  # type: ignore[assignment]


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


def read_mase(node) -> MaseMetadata:
    """The node's metadata for reading: an empty, unattached record when it has none, so a
    reader (a report, the cost pass) never writes into a graph other threads may be reading."""
    meta = node.meta.get("mase")
    return meta if meta is not None else MaseMetadata(node=node)
