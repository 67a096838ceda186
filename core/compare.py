"""Match the nodes of two graphs (original and transformed) and say what changed.

Transforms keep node names, so names are the primary key. Nodes a transform inserted or
renamed have no partner by name; inside each stretch between name matches they are paired on
position and op (same fx op and same MASE op or target), the rest are added or removed.

Matching works on ``NodeInfo`` records, so it is plain data and testable without torch;
``describe_graph`` builds them from a MaseGraph.
"""

from __future__ import annotations

import bisect
import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from core.ir.view import format_precision, node_view

UNCHANGED = "unchanged"
CHANGED = "changed"
ADDED = "added"
REMOVED = "removed"

# Symbols, so that the status does not depend on colour.
MARKS = {UNCHANGED: " ", CHANGED: "~", ADDED: "+", REMOVED: "-"}


@dataclass(frozen=True)
class NodeInfo:
    """What the comparison looks at for one fx node."""

    name: str
    op: str  # fx op: placeholder, call_module, call_function, call_method, get_attr, output
    target: str  # module path, function or method name
    module_class: str | None = None  # class name of the called module (call_module only)
    mase_op: str | None = None
    # arg or result name -> (type, precision), e.g. "weight" -> ("integer", (8, 4))
    precisions: tuple[tuple[str, str | None, tuple | None], ...] = ()
    # arg or result name -> its precision as format_precision spells it, e.g. "integer[8,4]"
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def kind(self) -> str:
        """What a node does, for pairing nodes that have no partner by name."""
        return f"{self.op}:{self.mase_op or self.target}"

    def precision_of(self, arg: str) -> tuple[str | None, tuple | None] | None:
        for name, typ, prec in self.precisions:
            if name == arg:
                return typ, prec
        return None

    def __post_init__(self) -> None:
        if self.precisions and not self.labels:  # built by hand: label what it records
            labels = tuple((name, format_precision(typ, prec)) for name, typ, prec in self.precisions)
            object.__setattr__(self, "labels", labels)

    def label_of(self, arg: str) -> str | None:
        return next((label for name, label in self.labels if name == arg), None)


@dataclass(frozen=True)
class Change:
    what: str  # "op", "module", "target", "precision"
    before: Any
    after: Any
    arg: str | None = None  # the arg/result name for precision changes

    def describe(self) -> str:
        label = f"{self.what} {self.arg}" if self.arg else self.what
        return f"{label}: {_show(self.before)} -> {_show(self.after)}"


@dataclass(frozen=True)
class NodeDiff:
    status: str
    original: NodeInfo | None
    current: NodeInfo | None
    changes: tuple[Change, ...] = ()

    @property
    def name(self) -> str:
        node = self.current or self.original
        assert node is not None
        return node.name

    @property
    def mark(self) -> str:
        return MARKS[self.status]

    @property
    def is_difference(self) -> bool:
        return self.status != UNCHANGED


@dataclass
class GraphDiff:
    rows: list[NodeDiff] = field(default_factory=list)
    # lookups built on first use (rows do not change after compare_nodes)
    _index: dict[str, int] | None = field(default=None, repr=False, compare=False)
    _diffs: list[int] | None = field(default=None, repr=False, compare=False)

    def counts(self) -> dict[str, int]:
        out = {UNCHANGED: 0, CHANGED: 0, ADDED: 0, REMOVED: 0}
        for row in self.rows:
            out[row.status] += 1
        return out

    def differences(self) -> list[int]:
        if self._diffs is None:
            self._diffs = [i for i, row in enumerate(self.rows) if row.is_difference]
        return self._diffs

    def changed_names(self) -> list[str]:
        return [row.name for row in self.rows if row.status == CHANGED]

    def index_of(self, name: str) -> int | None:
        """Row of a node by its name in either graph (the current graph's name wins)."""
        if self._index is None:
            index: dict[str, int] = {}
            for i, row in enumerate(self.rows):
                if row.original is not None:
                    index.setdefault(row.original.name, i)
            for i, row in enumerate(self.rows):
                if row.current is not None:
                    index[row.current.name] = i
            self._index = index
        return self._index.get(name)

    def next_difference(self, index: int, step: int = 1) -> int | None:
        """The next (step=1) or previous (step=-1) differing row after ``index``, wrapping around."""
        diffs = self.differences()
        if not diffs:
            return None
        pos = bisect.bisect_right(diffs, index) if step > 0 else bisect.bisect_left(diffs, index) - 1
        return diffs[pos % len(diffs)]


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def node_changes(before: NodeInfo, after: NodeInfo) -> tuple[Change, ...]:
    changes: list[Change] = []
    if before.op != after.op:
        changes.append(Change("op", before.op, after.op))
    if before.module_class != after.module_class:
        changes.append(Change("module", before.module_class, after.module_class))
    if before.target != after.target:
        changes.append(Change("target", before.target, after.target))
    names = [n for n, _ in before.labels]
    names += [n for n, _ in after.labels if n not in names]
    for arg in names:
        old, new = before.label_of(arg), after.label_of(arg)
        if old != new:
            changes.append(Change("precision", old, new, arg))
    return tuple(changes)


def _pair(original: NodeInfo, current: NodeInfo) -> NodeDiff:
    changes = node_changes(original, current)
    return NodeDiff(CHANGED if changes else UNCHANGED, original, current, changes)


def _align_block(left: Sequence[NodeInfo], right: Sequence[NodeInfo]) -> list[NodeDiff]:
    """Pair nodes without a name partner, in order, when they do the same kind of thing."""
    rows: list[NodeDiff] = []
    j = 0
    for node in left:
        k = next((k for k in range(j, len(right)) if right[k].kind == node.kind), None)
        if k is None:
            rows.append(NodeDiff(REMOVED, node, None))
            continue
        rows.extend(NodeDiff(ADDED, None, r) for r in right[j:k])
        rows.append(_pair(node, right[k]))
        j = k + 1
    rows.extend(NodeDiff(ADDED, None, r) for r in right[j:])
    return rows


def compare_nodes(original: Sequence[NodeInfo], current: Sequence[NodeInfo]) -> GraphDiff:
    """Align two node lists; rows follow the order of both graphs."""
    left_names = [n.name for n in original]
    right_names = [n.name for n in current]
    matcher = difflib.SequenceMatcher(a=left_names, b=right_names, autojunk=False)
    rows: list[NodeDiff] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(_pair(original[i], current[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
        else:
            rows.extend(_align_block(original[i1:i2], current[j1:j2]))
    return GraphDiff(_merge_moved(rows))


def _merge_moved(rows: list[NodeDiff]) -> list[NodeDiff]:
    """A node whose name is in both graphs but at another place is one row, not -/+."""
    removed = {r.original.name: r for r in rows if r.status == REMOVED and r.original}
    added = {r.current.name for r in rows if r.status == ADDED and r.current}
    moved = set(removed) & added
    if not moved:
        return rows
    out: list[NodeDiff] = []
    for row in rows:
        if row.status == REMOVED and row.original and row.original.name in moved:
            continue
        if row.status == ADDED and row.current and row.current.name in moved:
            row = _pair(removed[row.current.name].original, row.current)
        out.append(row)
    return out


# ---------------------------------------------------------------------- from a MaseGraph
def describe_node(node, model=None, modules: dict[str, Any] | None = None) -> NodeInfo:
    view = node_view(node, modules, model)
    values = [v for v in view.values if v.type or v.precision is not None]
    return NodeInfo(
        name=node.name,
        op=node.op,
        target=view.target,
        module_class=view.module_class,
        mase_op=view.mase_op,
        precisions=tuple((v.name, v.type or None, v.precision) for v in values),
        labels=tuple((v.name, v.label) for v in values),
    )


def describe_graph(graph) -> list[NodeInfo]:
    """NodeInfo for every node of a MaseGraph (or anything with ``.model.graph``)."""
    model = graph.model
    modules = dict(model.named_modules())
    return [describe_node(node, model, modules) for node in model.graph.nodes]


def compare_graphs(original, current) -> GraphDiff:
    return compare_nodes(describe_graph(original), describe_graph(current))


def summary_line(diff: GraphDiff) -> str:
    counts = diff.counts()
    return (f"{counts[CHANGED]} changed, {counts[ADDED]} added, {counts[REMOVED]} removed, "
            f"{counts[UNCHANGED]} unchanged")


def names(rows: Iterable[NodeDiff]) -> list[str]:
    return [row.name for row in rows]


# ---------------------------------------------------------------------- quantised values
@dataclass
class QuantView:
    """Float values next to what a quantised node computes with (for histograms, error)."""

    label: str  # "weight", "bias", "data_in_0", ...
    quantiser: str
    float_values: Any
    quant_values: Any


def quantised_views(graph, name: str, inputs: dict[str, Any] | None = None) -> list[QuantView]:
    """What a quantised node does to its values.

    A quantised module keeps float parameters and exposes ``quantized_weight()`` /
    ``quantized_bias()``. A quantised function (a ``config`` keyword on the call) quantises
    its inputs at run time: with ``inputs`` (the model's placeholders) the graph is run up to
    the node and its tensor inputs are quantised as the function does. Unquantised nodes give [].
    """
    node = graph.node(name)
    if node.op == "call_module":
        try:
            module = graph.model.get_submodule(node.target)
        except AttributeError:
            return []
        if not callable(getattr(module, "quantized_weight", None)):
            if callable(getattr(module, "quantize_input", None)) and inputs is not None:
                return _module_input_views(graph, node, module, inputs)  # e.g. a quantised ReLU
            return []
        quantiser = str(module.config.get("name"))
        views = []
        import torch

        with torch.no_grad():
            views.append(QuantView("weight", quantiser, module.weight.detach().clone(),
                                   module.quantized_weight().detach().clone()))
            qbias = module.quantized_bias()
            if qbias is not None:
                views.append(QuantView("bias", quantiser, module.bias.detach().clone(), qbias.detach().clone()))
        return views
    config = node.kwargs.get("config") if node.op == "call_function" else None
    if not isinstance(config, dict) or not config.get("name") or inputs is None:
        return []
    return _function_input_views(graph, node, config, inputs)


class _Reached(Exception):
    pass


def _captured_inputs(graph, node, inputs: dict[str, Any]) -> list[Any]:
    """The tensors ``node`` receives when the graph runs on ``inputs`` (run up to the node)."""
    import torch
    import torch.fx as fx

    captured: list[Any] = []

    class Capture(fx.Interpreter):
        def run_node(self, n):
            if n is node:
                args, kwargs = self.fetch_args_kwargs_from_env(n)
                captured.extend(a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor))
                raise _Reached
            return super().run_node(n)

    placeholders = graph.placeholder_names()
    with torch.no_grad():
        try:
            Capture(graph.model).run(*[inputs[p] for p in placeholders])
        except _Reached:
            pass
    return captured


def _module_input_views(graph, node, module, inputs: dict[str, Any]) -> list[QuantView]:
    import torch

    captured = _captured_inputs(graph, node, inputs)
    if not captured:
        return []
    x = captured[0].detach().float()
    given = x.clone()
    with torch.no_grad():
        q = module.quantize_input(given)
    if q is given:
        return []  # bypass, or no data_in quantiser
    return [QuantView("data_in_0", str(module.config.get("name")), x, q.detach().clone())]


def _function_input_views(graph, node, config: dict[str, Any], inputs: dict[str, Any]) -> list[QuantView]:
    import torch

    from core.mx_names import is_mx
    from core.quant.config import (
        OP_METADATA_ARGS,
        canonical_name,
        has_operand,
        mx_axis,
        operand_kwargs,
    )
    from core.quant.quantizers import quantize

    captured = _captured_inputs(graph, node, inputs)
    op = node_view(node).mase_op
    quantiser = canonical_name(str(config["name"]))
    views = []
    for operand, arg in OP_METADATA_ARGS.get(op, ()):
        index = int(arg.rsplit("_", 1)[1])
        if index >= len(captured) or not has_operand(config, operand):
            continue
        kwargs = operand_kwargs(config, operand)
        if op == "relu" and quantiser == "integer":
            kwargs["is_signed"] = False  # a ReLU's fixed-point input is unsigned (MASE)
        x = captured[index].detach().float()
        if is_mx(quantiser):
            kwargs["axis"] = mx_axis(op, operand, x.ndim)  # MX blocks run along the reduction axis
        with torch.no_grad():
            views.append(QuantView(arg, quantiser, x.clone(), quantize(x, quantiser, **kwargs).clone()))
    return views
