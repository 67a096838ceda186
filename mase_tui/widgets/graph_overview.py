"""GraphOverview (tab 1): model, data and weights, opcode counts, layer types, cost totals, history.

The report is computed in a thread worker (the fx graph text of a 10,000-node graph takes a
moment) and rendered from plain data by ``overview_sections``, which tests call directly.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual import work
from textual.worker import get_current_worker

from core.ir.view import node_views
from mase_tui.markup import PlainTable as Table
from mase_tui.panes import host
from mase_tui.widgets.details import fmt_number
from mase_tui.widgets.rich_lines import RichLinesView, scroll_bindings

MAX_GRAPH_LINES = 120


def overview_data(session, cost_info: dict | None = None) -> dict[str, Any]:
    """Plain data for the Graph tab (no rich objects), from the session's current graph."""
    from core.passes.analysis.report_graph import graph_report

    graph = session.current
    report = graph_report(graph)
    mase_ops = Counter(view.mase_op or view.op for view in node_views(graph))
    params = sum(p.numel() for p in graph.model.parameters())
    buffers = sum(b.numel() for b in graph.model.buffers())
    return {
        "model": session.model_name,
        "model_class": type(session.model).__name__ if session.model is not None else "-",
        "weights": session.weights_source,
        "data": session.data_label,
        "synthetic": session.synthetic,
        "batch_size": session.batch_size,
        "graph_state": graph_state(session),
        "traced": getattr(session, "trace_note", ""),
        "capture": report.get("capture") or {},
        "device": getattr(session, "device", "cpu"),
        "nodes": len(graph.fx_graph.nodes),
        "parameters": params,
        "buffers": buffers,
        "overview": report["overview"],
        "mase_ops": dict(mase_ops.most_common()),
        "layer_types": dict(Counter(report["layer_types"]).most_common()),
        "graph_text": report["graph_text"],
        "cost": None if cost_info is None else {
            "per_sample": cost_info.get("totals_per_sample"),
            "model": cost_info.get("totals_model"),
            "columns": cost_info.get("columns", {}),
        },
        "history": [
            {"name": r.name, "ok": r.ok, "seconds": r.seconds, "changed_graph": r.changed_graph, "error": r.error}
            for r in session.history
        ],
    }


def graph_state(session) -> str:
    """"original" until a transform changes the graph; a reset makes it original again."""
    state = "original"
    for run in session.history:
        if run.name == "reset":
            state = "original"
        elif run.ok and run.changed_graph:
            state = "quantised" if "quantiz" in run.name or "quantis" in run.name else "transformed"
    return state


def capture_text(capture: dict[str, Any], device: str) -> str:
    """'export: fx failed: ... (eval mode; meta device: shapes only)'."""
    text = str(capture.get("reason") or capture.get("tracer") or "fx")
    notes = [f"{capture['mode']} mode"] if capture.get("mode") else []
    if device == "meta":
        notes.append("meta device: shapes only, no weights")
    return f"{text} ({'; '.join(notes)})" if notes else text


def _kv_table(rows: list[tuple[str, str]]) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def overview_sections(data: dict[str, Any]) -> list[RenderableType]:
    data_text = data["data"]
    if data["synthetic"] and "synthetic" not in data_text:
        data_text += " (synthetic)"
    summary = _kv_table([
        ("model", f"{data['model']} ({data['model_class']})"),
        ("weights", str(data["weights"])),
        ("data", f"{data_text}, batch {data['batch_size']}"),
        ("graph", f"{data['graph_state']}, {fmt_number(data['nodes'])} nodes"),
        ("captured", capture_text(data.get("capture") or {}, data.get("device", "cpu"))),
        ("parameters", f"{fmt_number(data['parameters'])} (+ {fmt_number(data['buffers'])} buffer values)"),
    ])
    opcodes = _kv_table([(op, str(count)) for op, count in data["overview"].items()])
    ops = _kv_table([(op, str(count)) for op, count in data["mase_ops"].items()])
    layers = Table.grid(padding=(0, 1))
    layers.add_column(justify="right", no_wrap=True)
    layers.add_column(overflow="fold")
    for layer, count in data["layer_types"].items():
        layers.add_row(f"{count} ×", layer)
    sections: list[RenderableType] = [
        summary, Text(""),
        Text("Network overview (fx opcodes)", style="bold underline"), opcodes, Text(""),
        Text("MASE ops", style="bold underline"), ops, Text(""),
        Text("Layer types", style="bold underline"), layers, Text(""),
    ]
    cost = data.get("cost")
    if cost and cost.get("per_sample"):
        totals = cost["per_sample"]
        rows = [(key, fmt_number(totals.get(key))) for key in ("macs", "flops_total", "bitops", "act_bytes")
                if key in totals]
        rows += [(key, fmt_number((cost.get("model") or {}).get(key))) for key in ("params", "param_bytes")]
        labels = cost.get("columns") or {}
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold")
        table.add_column(justify="right")
        for key, value in rows:
            table.add_row(labels.get(key, key), value)
        sections += [Text("Cost of the current graph", style="bold underline"), table, Text("")]
    if data["history"]:
        hist = Table.grid(padding=(0, 2))
        for column in ("#", "pass", "result", "seconds"):
            hist.add_column(overflow="fold" if column == "result" else "ellipsis", no_wrap=column != "result")
        for i, run in enumerate(data["history"], 1):
            result = "ok" if run["ok"] else f"failed: {run['error']}"
            if run["changed_graph"] and run["ok"]:
                result += " (graph changed)"
            hist.add_row(str(i), run["name"], result, f"{run['seconds']:.2f}")
        sections += [Text("Passes run in this session", style="bold underline"), hist, Text("")]
    lines = data["graph_text"].splitlines()
    shown = "\n".join(lines[:MAX_GRAPH_LINES])
    if len(lines) > MAX_GRAPH_LINES:
        shown += f"\n... {len(lines) - MAX_GRAPH_LINES} more lines (e exports the full report)"
    traced = f" ({data['traced']})" if data.get("traced") else ""
    sections += [Text(f"fx graph{traced}", style="bold underline"), Text(shown, no_wrap=True, overflow="ellipsis")]
    return sections


class GraphOverview(RichLinesView):
    HELP_SCOPE = "Graph tab"
    BINDINGS = scroll_bindings("graph")

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's keyword
        super().__init__(id=id)
        self.data: dict[str, Any] | None = None

    def on_mount(self) -> None:
        self.show_message("loading ...")

    def show_message(self, text: str) -> None:
        self.set_renderables([Text(text, style="italic")])

    def refresh_from_session(self) -> None:
        app = host(self)
        if app.session.current is None:
            return
        self._compute(app.session, app.costs.info())

    def cost_ready(self, graph) -> None:
        if graph is host(self).session.current:
            self.refresh_from_session()

    @work(thread=True, exclusive=True, group="graph-overview", exit_on_error=False)
    def _compute(self, session, cost) -> None:
        data = overview_data(session, cost)
        if not get_current_worker().is_cancelled:  # a newer refresh replaced this one
            self.app.call_from_thread(self._show, data)

    def _show(self, data: dict[str, Any]) -> None:
        self.data = data
        self.set_renderables(overview_sections(data), scroll_home=False)
