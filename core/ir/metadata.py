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
_SHARED_EXACT: set[type] = {str, bytes, int, float, complex, bool, type(None), type, range,
                            types.FunctionType, types.BuiltinFunctionType}
_TORCH_SHARED: tuple[type, ...] = ()


def _torch_shared_types() -> tuple[type, ...]:
    global _TORCH_SHARED
    if not _TORCH_SHARED:
        import torch

        _TORCH_SHARED = (torch.dtype, torch.device, torch.Size, torch.finfo, torch.iinfo, torch.layout,
                         torch.memory_format)
        _SHARED_EXACT.update(_TORCH_SHARED)
    return _TORCH_SHARED


def copy_value(value: Any, memo: dict[int, Any] | None = None) -> Any:
    """A copy of a metadata value, made structurally: dicts, lists, sets and tuples are rebuilt,
    tensors deep-copied (through ``memo``, so a parameter shared with a model deep-copied with the
    same memo becomes the copy's parameter), descriptions (dtype, device, Size, finfo, functions,
    classes, strings, numbers) shared. Anything else is deep-copied, or shared when it cannot be
    (a live object such as a lock or a file), so copying never fails and never touches ``value``."""
    _torch_shared_types()
    return _copy(value, {} if memo is None else memo)


def _copy(value: Any, memo: dict[int, Any]) -> Any:
    cls = type(value)
    if cls in _SHARED_EXACT:  # the common case, checked first: metadata is mostly strings and ints
        return value
    key = id(value)
    if key in memo:
        return memo[key]
    if cls is dict or isinstance(value, dict):
        out = {} if cls is dict else copy.copy(value)  # OrderedDict, defaultdict keep their type
        out.clear()
        memo[key] = out
        for k, v in value.items():
            out[k] = v if type(v) in _SHARED_EXACT else _copy(v, memo)
        return out
    if cls is list:
        out_list: list = []
        memo[key] = out_list
        out_list.extend(v if type(v) in _SHARED_EXACT else _copy(v, memo) for v in value)
        return out_list
    if isinstance(value, _SHARED_TYPES) or isinstance(value, _TORCH_SHARED):
        return value
    if isinstance(value, tuple):
        items = [_copy(v, memo) for v in value]
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value  # nothing mutable inside: the tuple itself is immutable
        return cls._make(items) if hasattr(cls, "_make") else cls(items)
    if isinstance(value, (set, frozenset)):
        return cls(_copy(v, memo) for v in value)
    if isinstance(value, list):  # a list subclass
        return cls(_copy(v, memo) for v in value)
    if isinstance(value, MaseMetadata):
        return value.__deepcopy__(memo)
    try:
        return copy.deepcopy(value, memo)
    except Exception:  # noqa: BLE001 - a live object that refuses to be copied is shared, not lost
        logger.debug("metadata value of type %s shared by a copy (it cannot be copied)", cls.__name__)
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
