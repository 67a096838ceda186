"""Typed, read-only views of a node's MASE metadata, and the one precision formatter.

Front ends and reports read metadata through ``NodeView`` / ``ArgView`` instead of walking
``node.meta["mase"].parameters`` dicts, so the layout (MASE's ``common`` / ``software`` /
``hardware``, ``args`` / ``results`` entries with ``type``, ``precision``, ``shape``,
``torch_dtype``, ``from``) is read in one place. Building a view never writes to the node (a
published graph is read by several threads) and imports no torch.

``format_precision`` is the only spelling of a precision: ``float32``, ``bfloat16``, ``int64``,
``integer[8,4]``, ``block_fp[8,8,127,[1,16]]``. (MASE's own files carry no precision strings:
``quantize_table.csv`` names module classes, so nothing there fixes a spelling.)
"""

from __future__ import annotations

import functools
from typing import Any, Iterator, Mapping, NamedTuple

# Types whose precision is a plain bit width, spelled like torch dtypes: float32, int64, bool.
_PLAIN_TYPES = ("float", "int", "bool", "complex")
# Compact spellings for narrow tables (the CLI's cost table); same information, fewer columns.
_SHORT = (("bfloat", "bf"), ("float", "fp"), ("integer[", "int["))


def _type_name(kind: Any) -> str:
    if kind is None:
        return ""
    if isinstance(kind, type):
        return kind.__name__  # non-tensor args record their Python type
    return str(kind)


def _join(values: Any) -> str:
    if isinstance(values, (list, tuple)):
        return "[" + ",".join(_join(v) for v in values) + "]"
    return str(values)


_DTYPE_NAMES: dict[Any, str] = {}


def dtype_name(dtype: Any) -> str:
    """``torch.float32`` -> ``float32``; "" for none."""
    if dtype is None:
        return ""
    try:
        return _DTYPE_NAMES[dtype]
    except (KeyError, TypeError):  # TypeError: an unhashable stand-in
        name = str(dtype).removeprefix("torch.")
        if len(_DTYPE_NAMES) < 256:
            try:
                _DTYPE_NAMES[dtype] = name
            except TypeError:
                pass
        return name


@functools.lru_cache(maxsize=64)
def _bits_of(name: str) -> int | None:
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyz_")
    if name == "bool":
        return 1
    return int(digits) if digits.isdigit() else None


def _dtype_bits(dtype: Any) -> int | None:
    return _bits_of(dtype_name(dtype))


def format_precision(kind: Any, precision: Any = None, dtype: Any = None, *, short: bool = False) -> str:
    """One label for a value's type and precision, e.g. ``("integer", [8, 4])`` -> ``integer[8,4]``,
    ``("float", [32])`` -> ``float32``; a float or int tensor whose torch dtype has the recorded
    width is named by it (``bfloat16``: precision [16] alone cannot tell it from float16); a
    width the dtype does not have is shown as recorded (``float[8,4]``). ``short`` abbreviates
    for narrow tables: ``fp32``, ``bf16``, ``int[8,4]``. "" when nothing is known."""
    name = _type_name(kind)
    single = precision[0] if isinstance(precision, (list, tuple)) and len(precision) == 1 else None
    if name in _PLAIN_TYPES and dtype is not None and (precision is None or single == _dtype_bits(dtype)):
        label = dtype_name(dtype)
    elif name in _PLAIN_TYPES and single is not None:
        label = "bool" if name == "bool" else f"{name}{single}"
    elif precision is not None and precision != [] and precision != ():
        label = f"{name or '?'}{_join(precision)}"
    else:
        label = name
    return short_label(label) if short else label


def short_label(label: str) -> str:
    """A ``format_precision`` label abbreviated for narrow tables: ``fp32``, ``bf16``, ``int[8,4]``."""
    for long, abbreviation in _SHORT:
        if label.startswith(long) and len(label) > len(long):
            return abbreviation + label[len(long):]
    return label


def entry_label(entry: Mapping[str, Any]) -> str:
    """The label of one raw ``args`` / ``results`` metadata entry (for the engine's own tables)."""
    return format_precision(entry.get("type"), entry.get("precision"), entry.get("torch_dtype"))


def join_precisions(labels: Mapping[str, str] | str | None, *, short: bool = False) -> str:
    """A node's operand labels ({operand: label}) as one label when they agree, else
    ``"operand label"`` pairs; "" when there are none. ``short`` abbreviates each label."""
    if not labels:
        return ""
    rename = short_label if short else str
    if isinstance(labels, str):
        return rename(labels)
    distinct = list(dict.fromkeys(rename(str(v)) for v in labels.values()))
    return distinct[0] if len(distinct) == 1 else ", ".join(f"{k} {rename(str(v))}" for k, v in labels.items())


class ArgView(NamedTuple):
    """One ``args`` / ``results`` entry. ``is_tensor`` entries have a shape; others (``inplace``,
    ``dim`` ...) keep their raw entry in ``raw``. (A NamedTuple: immutable and cheap to build,
    which matters when the tree indexes a 10,000-node graph.)"""

    name: str
    shape: tuple | None = None
    type: str = ""
    precision: tuple | None = None
    dtype: str = ""  # torch dtype name, "" when the entry has none
    source: str | None = None  # the producing node ("from"), None for parameters and results
    is_tensor: bool = False
    raw: Any = None

    @property
    def label(self) -> str:
        """The precision as ``format_precision`` spells it."""
        return format_precision(self.type, self.precision, self.dtype or None)

    @property
    def dtype_implied(self) -> bool:
        """True when the dtype says nothing the label does not (``float32`` for float [32])."""
        return bool(self.dtype) and self.dtype == self.label

    @property
    def quantised(self) -> bool:
        """The type is a quantiser's (integer, block_fp ...), not a plain float/int/bool."""
        return bool(self.type) and self.type not in _PLAIN_TYPES and self.precision is not None


def _tuple(value: Any) -> tuple | None:
    if isinstance(value, (list, tuple)):
        if not any(isinstance(v, list) for v in value):
            return tuple(value)
        return tuple(_tuple(v) if isinstance(v, list) else v for v in value)
    return None


def arg_view(name: str, entry: Any) -> ArgView:
    # Written for speed (the tree builds one per arg of every node of a big graph): exact type
    # checks first, one dict lookup per field, the dtype's name from a cache.
    if not isinstance(entry, dict):
        return ArgView(name, raw=entry)
    get = entry.get
    shape, precision, kind, dtype = get("shape"), get("precision"), get("type"), get("torch_dtype")
    has_shape = isinstance(shape, (list, tuple))
    if isinstance(precision, (list, tuple)):
        flat = tuple(precision)
        for value in flat:
            if isinstance(value, list):  # block sizes: [8, 8, 127, [1, 16]]
                flat = _tuple(precision)
                break
        precision = flat
    else:
        precision = None
    try:
        dname = _DTYPE_NAMES[dtype] if dtype is not None else ""
    except (KeyError, TypeError):  # not seen yet, or an unhashable stand-in
        dname = dtype_name(dtype)
    return ArgView(name, tuple(shape) if has_shape else None, kind if type(kind) is str else _type_name(kind),
                   precision, dname, get("from"), has_shape, entry)


def _target_name(node) -> str:
    target = node.target
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", None) or str(target)


class NodeView:
    """One fx node's metadata, read-only. ``args`` / ``results`` (``ArgView``s), ``statistics``
    and ``hardware`` are built on first use: the tree reads shapes and types of every node of
    a big graph, the details pane reads everything of one node."""

    __slots__ = ("name", "op", "target", "mase_type", "mase_op", "module_class", "has_metadata",
                 "_common", "_params", "_args", "_results", "_statistics")

    def __init__(self, name: str, op: str, target: str, mase_type: str | None = None, mase_op: str | None = None,
                 module_class: str | None = None, params: dict[str, Any] | None = None) -> None:
        self.name, self.op, self.target = name, op, target
        self.mase_type, self.mase_op, self.module_class = mase_type, mase_op, module_class
        self._params = params or {}
        self._common = self._params.get("common") or {}
        self.has_metadata = bool(self._common)
        self._args: dict[str, ArgView] | None = None
        self._results: dict[str, ArgView] | None = None
        self._statistics: dict[tuple[str, str], Any] | None = None

    def __repr__(self) -> str:
        return f"NodeView({self.name!r}, {self.op!r}, mase_op={self.mase_op!r})"

    @property
    def args(self) -> dict[str, ArgView]:
        if self._args is None:
            self._args = {k: arg_view(k, v) for k, v in (self._common.get("args") or {}).items()}
        return self._args

    @property
    def results(self) -> dict[str, ArgView]:
        if self._results is None:
            self._results = {k: arg_view(k, v) for k, v in (self._common.get("results") or {}).items()}
        return self._results

    @property
    def statistics(self) -> dict[tuple[str, str], Any]:
        """Software statistics: (arg or result name, statistic name) -> value (a number or a dict)."""
        if self._statistics is None:
            stats: dict[tuple[str, str], Any] = {}
            software = self._params.get("software") or {}
            for group in ("args", "results"):
                for name, entry in (software.get(group) or {}).items():
                    collected = entry.get("stat") if isinstance(entry, dict) else None
                    for stat_name, value in (collected or {}).items():
                        stats[(name, stat_name)] = value
            self._statistics = stats
        return self._statistics

    @property
    def hardware(self) -> dict[str, Any]:
        return dict(self._params.get("hardware") or {})

    @property
    def values(self) -> Iterator[ArgView]:
        """Every arg, then every result."""
        yield from self.args.values()
        yield from self.results.values()

    @property
    def output(self) -> ArgView | None:
        """The first result (``data_out_0``), if any."""
        return next(iter(self.results.values()), None)

    @property
    def precisions(self) -> dict[str, str]:
        """{arg or result name: precision label} for every tensor value."""
        return {v.name: v.label for v in self.values if v.is_tensor or v.type}

    @property
    def first_quantised(self) -> ArgView | None:
        return next((v for v in self.values if v.quantised), None)


def _parameters(node) -> dict[str, Any] | None:
    meta = node.meta.get("mase")
    params = getattr(meta, "parameters", None)
    return params if isinstance(params, dict) else None


def node_view(node, modules: Mapping[str, Any] | None = None, model: Any = None) -> NodeView:
    """The view of one fx node. ``modules`` (``dict(model.named_modules())``) or ``model`` name
    the class of a called module."""
    params = _parameters(node)
    common = (params or {}).get("common") or {}
    module_class = None
    if node.op == "call_module":
        module = None
        if modules is not None:
            module = modules.get(str(node.target))
        elif model is not None:
            try:
                module = model.get_submodule(str(node.target))
            except AttributeError:
                module = None
        module_class = None if module is None else type(module).__name__
    mase_type, mase_op = common.get("mase_type"), common.get("mase_op")
    return NodeView(node.name, node.op, _target_name(node),
                    None if mase_type is None else str(mase_type), None if mase_op is None else str(mase_op),
                    module_class, params)


def node_views(graph) -> list[NodeView]:
    """Views of every node of a MaseGraph, in graph order."""
    modules = dict(graph.model.named_modules())
    return [node_view(node, modules) for node in graph.model.graph.nodes]
