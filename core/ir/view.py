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

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping

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


def dtype_name(dtype: Any) -> str:
    """``torch.float32`` -> ``float32``; "" for none."""
    return "" if dtype is None else str(dtype).removeprefix("torch.")


def _dtype_bits(dtype: Any) -> int | None:
    name = dtype_name(dtype)
    digits = name.lstrip("abcdefghijklmnopqrstuvwxyz_")
    if name == "bool":
        return 1
    return int(digits) if digits.isdigit() else None


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


@dataclass(frozen=True)
class ArgView:
    """One ``args`` / ``results`` entry. ``is_tensor`` entries have a shape; others (``inplace``,
    ``dim`` ...) keep their raw entry in ``raw``."""

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
        return tuple(_tuple(v) if isinstance(v, list) else v for v in value)
    return None


def arg_view(name: str, entry: Any) -> ArgView:
    if not isinstance(entry, Mapping):
        return ArgView(name, raw=entry)
    shape = entry.get("shape")
    precision = entry.get("precision")
    return ArgView(
        name=name,
        shape=tuple(shape) if isinstance(shape, (list, tuple)) else None,
        type=_type_name(entry.get("type")),
        precision=_tuple(precision) if isinstance(precision, (list, tuple)) else None,
        dtype=dtype_name(entry.get("torch_dtype")),
        source=entry.get("from"),
        is_tensor=isinstance(shape, (list, tuple)),
        raw=entry,
    )


def _target_name(node) -> str:
    target = node.target
    if isinstance(target, str):
        return target
    return getattr(target, "__name__", None) or str(target)


@dataclass(frozen=True)
class NodeView:
    name: str
    op: str  # fx opcode
    target: str  # module path, function or method name
    mase_type: str | None = None
    mase_op: str | None = None
    module_class: str | None = None  # class of the called module (call_module only)
    args: dict[str, ArgView] = field(default_factory=dict)
    results: dict[str, ArgView] = field(default_factory=dict)
    # software statistics: (arg or result name, statistic name) -> value (a number or a dict)
    statistics: dict[tuple[str, str], Any] = field(default_factory=dict)
    hardware: dict[str, Any] = field(default_factory=dict)
    has_metadata: bool = False

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
    return params if isinstance(params, Mapping) else None


def node_view(node, modules: Mapping[str, Any] | None = None, model: Any = None) -> NodeView:
    """The view of one fx node. ``modules`` (``dict(model.named_modules())``) or ``model`` name
    the class of a called module."""
    params = _parameters(node)
    common = (params or {}).get("common") or {}
    software = (params or {}).get("software") or {}
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
    statistics: dict[tuple[str, str], Any] = {}
    for group in ("args", "results"):
        for name, entry in (software.get(group) or {}).items():
            stats = entry.get("stat") if isinstance(entry, Mapping) else None
            for stat_name, value in (stats or {}).items():
                statistics[(name, stat_name)] = value
    mase_type, mase_op = common.get("mase_type"), common.get("mase_op")
    return NodeView(
        name=node.name,
        op=node.op,
        target=_target_name(node),
        mase_type=None if mase_type is None else str(mase_type),
        mase_op=None if mase_op is None else str(mase_op),
        module_class=module_class,
        args={k: arg_view(k, v) for k, v in (common.get("args") or {}).items()},
        results={k: arg_view(k, v) for k, v in (common.get("results") or {}).items()},
        statistics=statistics,
        hardware=dict((params or {}).get("hardware") or {}),
        has_metadata=bool(common),
    )


def node_views(graph) -> list[NodeView]:
    """Views of every node of a MaseGraph, in graph order."""
    modules = dict(graph.model.named_modules())
    return [node_view(node, modules) for node in graph.model.graph.nodes]
