"""NodeDetails: the highlighted node's metadata, statistics, cost and module, as selectable text.

``node_sections`` / ``group_sections`` build rich renderables from a graph (no Textual), so the
pane, the ``y`` copy and the tests all see the same content; ``plain_text`` renders them.
"""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

from core.ir.view import ArgView, NodeView, node_view
from mase_tui.node_index import Chunk, Fold, NodeRow, iter_rows, shape_text
from mase_tui.node_index import Group as TreeGroup
from mase_tui.panes import graph_version, host
from mase_tui.widgets.rich_lines import RichLinesView, scroll_bindings

MAX_REPR_LINES = 40
MAX_PARAM_ROWS = 40
COST_FIELDS = (  # (key in cost_analysis_pass info["nodes"][i], label)
    ("macs", "MACs"),
    ("flops_core", "FLOPs core"),
    ("flops_elementwise", "FLOPs elementwise"),
    ("flops_total", "FLOPs total"),
    ("bitops", "BitOPs"),
    ("act_bits", "activation bits"),
    ("params", "parameters"),
    ("param_bits", "parameter bits"),
)


def fmt_number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.6g}" if abs(value) < 1e15 else f"{value:.4e}"
    return str(value)


def _heading(text: str) -> Text:
    return Text(f"── {text}", style="bold")


Cell = tuple[str, str]  # (text, style)


def columns(rows: list[list[Cell]], gap: int = 2, right: tuple[int, ...] = ()) -> Text:
    """Rows as aligned text lines. Cheaper to draw than a rich Table (this pane is redrawn on
    every cursor move); the last column is not padded, so it wraps in a narrow pane."""
    if not rows:
        return Text("")
    count = max(len(r) for r in rows)
    widths = [max((len(r[i][0]) for r in rows if i < len(r)), default=0) for i in range(count)]
    out = Text()
    for n, row in enumerate(rows):
        while len(row) > 1 and not row[-1][0]:
            row = row[:-1]
        if n:
            out.append("\n")
        for i, (text, style) in enumerate(row):
            last = i == len(row) - 1
            cell = text.rjust(widths[i]) if i in right else (text if last else text.ljust(widths[i]))
            out.append(cell, style)
            if not last:
                out.append(" " * gap)
    return out


def _value_table(title: str, values: dict[str, ArgView], with_from: bool) -> RenderableType:
    """One line per tensor: name, shape, precision, dtype (when it adds something), producer."""
    rows: list[list[Cell]] = []
    others = []
    for name, value in values.items():
        if value.is_tensor:
            rest = "" if value.dtype_implied else (value.dtype or "-")
            if with_from:
                rest += f" <- {value.source}" if value.source else " (parameter)"
            rest = rest.strip()
            rows.append([(name, "bold"), (shape_text(list(value.shape)), ""), (value.label or "-", ""), (rest, "dim")])
        else:
            others.append(f"{name} = {value.raw!r}")
    if not rows and not others:
        return Text(f"{title}: none", style="dim")
    parts: list[RenderableType] = [Text(title, style="italic")]
    if rows:
        parts.append(columns(rows, gap=1))
    if others:
        parts.append(Text("  " + ", ".join(others)))
    return Group(*parts)


def _stat_table(view: NodeView) -> RenderableType:
    rows = []
    for (name, stat_name), values in view.statistics.items():
        if isinstance(values, dict):
            shown = ", ".join(f"{k}={fmt_number(_scalar(v))}" for k, v in values.items())
        else:
            shown = fmt_number(_scalar(values))
        rows.append((name, stat_name, shown))
    if not rows:
        return Text("no statistics yet (run profile_statistics_analysis_pass in the Passes tab)", style="dim")
    return columns([[(a, "bold"), (b, ""), (c, "")] for a, b, c in rows])


def _hardware_block(hardware: dict | None) -> RenderableType:
    """Hardware metadata as key/value lines (a raw dict repr is hard to read in a narrow pane)."""
    if not hardware:
        return Text("none", style="dim")
    return columns([[(str(key), "bold"), (fmt_number(_scalar(value)) if not isinstance(value, (dict, list))
                                         else repr(value), "")] for key, value in hardware.items()])


def _scalar(value: Any) -> Any:
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "numel", lambda: 2)() == 1:
        return item()
    tolist = getattr(value, "tolist", None)
    return tolist() if callable(tolist) else value


def _cost_block(cost: dict | None, cost_state: str) -> RenderableType:
    if cost is None:
        return Text(cost_state, style="dim")
    table = columns([[(label, "bold"), (fmt_number(cost[key]), "")] for key, label in COST_FIELDS if key in cost],
                    right=(1,))
    parts: list[RenderableType] = [table]
    formula = cost.get("formula")
    if formula:
        parts.append(Text.assemble(("formula: ", "bold"), formula))
    if cost.get("detail"):
        parts.append(Text.assemble(("counted: ", "bold"), str(cost["detail"])))
    bits = cost.get("bits") or {}
    if bits:
        parts.append(Text.assemble(("bits: ", "bold"), ", ".join(f"{k}={v}" for k, v in bits.items())))
    return Group(*parts)


def _module_block(module) -> RenderableType:
    text = repr(module)
    lines = text.splitlines()
    if len(lines) > MAX_REPR_LINES:
        lines = lines[:MAX_REPR_LINES] + [f"... {len(lines) - MAX_REPR_LINES} more lines"]
    parts: list[RenderableType] = [Text("\n".join(lines))]
    rows: list[list[Cell]] = []
    total = 0
    tensors = [(n, p, "") for n, p in module.named_parameters()] + [(n, b, " (buffer)") for n, b in module.named_buffers()]
    for count, (name, tensor, kind) in enumerate(tensors):
        total += tensor.numel() if not kind else 0
        if count < MAX_PARAM_ROWS:
            rows.append([(name + kind, "bold"), (shape_text(list(tensor.shape)), ""),
                         (str(tensor.dtype).replace("torch.", ""), ""), (fmt_number(tensor.numel()), "")])
    if tensors:
        parts += [Text("parameters and buffers", style="italic"), columns(rows, right=(3,))]
        if len(tensors) > MAX_PARAM_ROWS:
            parts.append(Text(f"... {len(tensors) - MAX_PARAM_ROWS} more", style="dim"))
        parts.append(Text(f"{fmt_number(total)} parameters", style="dim"))
    else:
        parts.append(Text("no parameters", style="dim"))
    return Group(*parts)


def node_sections(graph, name: str, cost: dict | None = None, cost_state: str = "") -> list[RenderableType]:
    """The details of node ``name`` of ``graph``: header, common, software, hardware, cost, module."""
    node = graph.node(name)
    view = node_view(node)
    sections: list[RenderableType] = [
        Text(name, style="bold reverse"),
        Text.assemble(("fx op ", "dim"), node.op, ("  target ", "dim"), view.target),
        Text.assemble(("mase type ", "dim"), view.mase_type or "-", ("  mase op ", "dim"), view.mase_op or "-"),
        Text(""),
        _heading("Common"),
        _value_table("args", view.args, with_from=True),
        _value_table("results", view.results, with_from=False),
        Text(""),
        _heading("Software"),
        _stat_table(view),
        Text(""),
        _heading("Hardware"),
        _hardware_block(view.hardware),
        Text(""),
        _heading("Cost (per sample)"),
        _cost_block(cost, cost_state),
    ]
    if node.op == "call_module":
        try:
            module = graph.model.get_submodule(str(node.target))
        except AttributeError:
            module = None
        if module is not None:
            sections += [Text(""), _heading(f"Module {node.target}"), _module_block(module)]
    return sections


def group_sections(graph, entry, module_cost: dict | None = None, source_model=None) -> list[RenderableType]:
    """A summary of a group row (a module, a folded run of blocks, or a chunk)."""
    rows = list(iter_rows(entry))
    ops: dict[str, int] = {}
    for row in rows:
        ops[row.mase_op] = ops.get(row.mase_op, 0) + 1
    if isinstance(entry, Fold):
        title = f"{entry.label} ×{len(entry.members)}"
        note = (f"{len(entry.members)} consecutive blocks with the same ops and shapes "
                f"({entry.members[0].path} .. {entry.members[-1].path}); expand to see each one")
    elif isinstance(entry, Chunk):
        title, note = entry.label, f"rows {entry.label} of a long list"
    else:
        title, note = entry.path, f"module {_class_name(source_model, entry.path) or ''}".rstrip()
    table = columns([[(str(count), ""), (op, "")] for op, count in sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))],
                    right=(0,))
    sections: list[RenderableType] = [Text(title, style="bold reverse"), Text(note, style="dim"),
                                      Text(f"{len(rows)} nodes"), table]
    if module_cost:
        sections += [Text(""), _heading("Cost (per sample)"), _cost_block(module_cost, "")]
    path = getattr(entry, "path", None)
    if path:
        try:
            module = graph.model.get_submodule(path)
        except AttributeError:
            module = None
        if module is not None:
            # fx keeps intermediate modules as plain containers; the user's model knows the class
            kind = _class_name(source_model, path) or type(module).__name__
            sections += [Text(""), _heading(f"Module {path} ({kind})"), _module_block(module)]
    return sections


def _class_name(model, path: str) -> str | None:
    if model is None:
        return None
    try:
        return type(model.get_submodule(path)).__name__
    except AttributeError:
        return None


def plain_text(sections: list[RenderableType], width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None, force_terminal=False)
    for section in sections:
        console.print(section)
    return console.export_text().rstrip() + "\n"


class NodeDetails(RichLinesView):
    """Right pane. ``show_node`` / ``show_group`` fill it; ``text`` is what ``y`` copies."""

    HELP_SCOPE = "Details"
    BINDINGS = scroll_bindings("details")

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's keyword
        super().__init__(id=id)
        self.sections: list[RenderableType] = []
        self.subject: Any = None  # a node name, a tree group entry, or None

    def _set(self, sections: list[RenderableType], key=None) -> None:
        self.sections = sections
        self.set_renderables(sections, key=key)

    def show_message(self, text: str, style: str = "italic") -> None:
        self.subject = None
        self._set([Text(text, style=style)])

    def show_node(self, name: str) -> None:
        app = host(self)
        session = app.session
        if session.current is None:
            return
        self.subject = name
        graph = session.current
        cost, state = app.costs.node(name)
        key = ("node", id(graph), graph_version(session), name, id(cost), state)
        try:
            self._set(node_sections(graph, name, cost, state), key=key)
        except KeyError:
            self.show_message(f"{name} is not in the current graph")

    def show_group(self, entry) -> None:
        app = host(self)
        session = app.session
        if session.current is None:
            return
        self.subject = entry
        path = entry.path if isinstance(entry, TreeGroup) else None  # a Fold has no one module
        cost = app.costs.module(path) if path else None
        key = ("group", id(session.current), graph_version(session), id(entry), id(cost))
        self._set(group_sections(session.current, entry, cost, getattr(session, "model", None)), key=key)

    def session_replaced(self) -> None:
        self.subject = None
        self.show_message("The highlighted node's metadata, cost and module appear here.")

    def refresh_from_session(self) -> None:
        self.clear_cache()
        if isinstance(self.subject, str):
            self.show_node(self.subject)
        elif self.subject is not None and not isinstance(self.subject, NodeRow):
            self.show_group(self.subject)

    def cost_ready(self, graph) -> None:
        if graph is host(self).session.current:
            self.refresh_from_session()

    @property
    def text(self) -> str:
        return plain_text(self.sections) if self.sections else ""
