"""The Costs tab: cost per node or per module, totals of the original and current graphs with
the deltas, and accuracy before/after.

Costs come from the registered cost_analysis_pass (an analysis pass: it reads the graphs'
metadata and changes nothing), run on both graphs in a worker and compared with
``core.cost.compare.compare_costs``. Every figure says what it is counted over: per sample,
per batch of B, or per model.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import DataTable, Static

from mase_tui.markup import PlainTable as Table
from mase_tui.messages import WorkerProgress
from mase_tui.panes import host
from mase_tui.widgets.session_pane import GraphPairPane

# (key, header, numeric) columns of the node and module tables; values per sample unless
# the header says otherwise.
NODE_COLUMNS = (
    ("index", "#", True),
    ("name", "node", False),
    ("bitops_a", "BitOPs orig", True),
    ("bitops_b", "BitOPs now", True),
    ("bitops_ratio", "ratio", True),
    ("flops_total", "FLOPs", True),
    ("param_bits_b", "param bits", True),
    ("mase_op", "op", False),
)
MODULE_COLUMNS = (
    ("index", "#", True),
    ("name", "module", False),
    ("bitops_a", "BitOPs orig", True),
    ("bitops_b", "BitOPs now", True),
    ("bitops_ratio", "ratio", True),
    ("flops_total", "FLOPs", True),
    ("param_bits_b", "param bits", True),
    ("nodes", "nodes", True),
)
# What ``s`` cycles through: graph order, then the biggest first.
SORT_CYCLE = ("index", "flops_total", "bitops_b", "bitops_ratio", "param_bits_b", "name")

# (section of the cost info, metric, label); a None metric starts a group named by the label.
TOTAL_ROWS = (
    ("totals_per_sample", None, "per sample"),
    ("totals_per_sample", "macs", "MACs"),
    ("totals_per_sample", "flops_total", "FLOPs"),
    ("totals_per_sample", "bitops", "BitOPs"),
    ("totals_per_batch", None, "per batch of {batch}"),
    ("totals_per_batch", "flops_total", "FLOPs"),
    ("totals_per_batch", "bitops", "BitOPs"),
    ("totals_model", None, "per model"),
    ("totals_model", "params", "parameters"),
    ("totals_model", "param_bytes", "param bytes"),
)
EXACT_BELOW = 10**7  # exact counts (with separators) up to here, then 3-4 significant digits
UNITS = ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"))


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if abs(value) >= EXACT_BELOW:
        scale, unit = next((s, u) for s, u in UNITS if abs(value) >= s)
        return f"{value / scale:.4g} {unit}"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.4g}"
    return f"{int(value):,}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def fmt_delta(value: Any) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return ("+" if value > 0 else "-") + fmt(abs(value))


def totals_table(info_a: dict[str, Any], info_b: dict[str, Any]) -> Table:
    """Original vs current totals with delta and ratio (current / original)."""
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column("totals", no_wrap=True)
    for head in ("original", "current", "delta"):
        table.add_column(head, justify="right", no_wrap=True)
    batch = info_b.get("batch_size") or info_a.get("batch_size")
    for section, key, label in TOTAL_ROWS:
        if key is None:
            table.add_row(Text(label.format(batch=batch), style="bold"), "", "", "")
            continue
        a, b = info_a[section].get(key), info_b[section].get(key)
        delta = None if a is None or b is None else b - a
        style = "green" if delta is not None and delta < 0 else ("red" if delta else "")
        table.add_row(f"  {label}", fmt(a), fmt(b), Text(fmt_delta(delta), style=style))
    return table


def node_rows(comparison: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for i, node in enumerate(comparison["nodes"]):
        rows.append({
            "index": i, "name": node["name"], "mase_op": node["mase_op"], "status": node["status"],
            "flops_total": node["flops_total"]["b"] if node["flops_total"]["b"] is not None else node["flops_total"]["a"],
            "bitops_a": node["bitops"]["a"], "bitops_b": node["bitops"]["b"],
            "bitops_ratio": node["bitops_ratio"], "param_bits_b": node["param_bits"]["b"],
        })
    return rows


def module_rows(info_a: dict[str, Any], info_b: dict[str, Any]) -> list[dict[str, Any]]:
    before = {m["path"]: m for m in info_a["modules"]}
    rows = []
    for i, mod in enumerate(info_b["modules"]):
        old = before.get(mod["path"], {})
        a, b = old.get("bitops"), mod.get("bitops")
        rows.append({
            "index": i, "name": "  " * mod["depth"] + mod["path"], "nodes": mod["nodes"],
            "status": "changed" if old != mod else "unchanged",
            "flops_total": mod["flops_total"], "bitops_a": a, "bitops_b": b,
            "bitops_ratio": None if not a or b is None else b / a, "param_bits_b": mod["param_bits"],
        })
    return rows


def row_order(key: str):
    """Sort key on row dicts: graph order; names and ops A-Z; numbers biggest first except the
    ratio (smallest first: the biggest saving); missing values last; ties in graph order."""
    if key == "index":
        return lambda r: r["index"]
    if key in ("name", "mase_op"):
        return lambda r: (str(r.get(key)).strip(), r["index"])
    sign = 1 if key == "bitops_ratio" else -1

    def order(r: dict[str, Any]) -> tuple:
        value = r.get(key)
        return (value is None, 0 if value is None else sign * value, r["index"])

    return order


def sort_rows(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(rows, key=row_order(key))


class CostsView(GraphPairPane, Widget):
    DEFAULT_CSS = """
    CostsView { layout: vertical; height: 1fr; }
    CostsView #costs-totals { height: auto; }
    CostsView #costs-accuracy { height: auto; }
    CostsView #costs-caption { height: auto; color: $text-muted; }
    CostsView #costs-table { height: 1fr; min-height: 4; }
    """
    # its keys (s, m, a, x) are bound on the App: see mase_tui/tab_keys.py

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.info_a: dict[str, Any] | None = None
        self.info_b: dict[str, Any] | None = None
        self.comparison: dict[str, Any] | None = None
        self.by_module = False
        self.sort_key = "index"
        self.accuracy: dict[str, dict[str, Any]] = {}
        self.cancel_eval: threading.Event | None = None
        self.max_batches: int | None = None  # None: the whole test split
        self._graphs: tuple[Any, Any] | None = None  # the (original, current) pair shown or in work
        self._rows: dict[int, dict[str, Any]] = {}  # table rows by graph-order index
        self._compared: tuple | None = None  # the (info_a, info_b) compared last
        self._error_shown: str | None = None
        self._shown_current = None  # the current graph the table shows

    def compose(self) -> ComposeResult:
        yield Static(Text("Waiting for the model ...", style="dim"), id="costs-totals")
        yield Static(id="costs-accuracy")
        yield Static(id="costs-caption")
        yield DataTable(id="costs-table", cursor_type="row")

    # ------------------------------------------------------------------ app contract
    def session_replaced(self) -> None:
        self._graphs, self._compared, self._error_shown, self._shown_current = None, None, None, None
        self.info_a = self.info_b = self.comparison = None
        self.accuracy = {}

    def show_load_failure(self, error: str, retry: str) -> None:
        """No model: say why and what to do instead of waiting for it."""
        self.query_one("#costs-totals", Static).update(Text.assemble((error, "bold red"), "\n", (retry, "dim")))

    def refresh_from_session(self) -> None:
        pair = self.new_graph_pair()
        if pair is None:
            return
        if self.info_b is not None and pair[1] is not self._shown_current:
            self.accuracy.pop("current", None)  # the current graph changed: its accuracy is stale
        self._show_accuracy()
        self._costs_of(*pair)

    def cost_ready(self, graph) -> None:
        session = self.session
        if graph is session.original or graph is session.current:
            self._costs_of(session.original, session.current)

    def _costs_of(self, original, current) -> None:
        """Both graphs' costs come from the app's cost service (one run per graph, shared
        with the details pane and the Graph tab); compared here once both are known."""
        costs = host(self).costs
        info_a, info_b = costs.request(original), costs.request(current)
        error = costs.error(original) or costs.error(current)
        if error:
            if error != self._error_shown:
                self._error_shown = error
                self._failed(error)
        elif info_a is not None and info_b is not None and (info_a, info_b) != self._compared:
            self._compared = (info_a, info_b)
            self._compare(info_a, info_b, current)

    @work(thread=True, exclusive=True, group="costs", exit_on_error=False)
    def _compare(self, info_a: dict[str, Any], info_b: dict[str, Any], current) -> None:
        from textual.worker import get_current_worker

        from core.cost.compare import compare_costs

        comparison = compare_costs(info_a, info_b, label_a="original", label_b="current")
        if not get_current_worker().is_cancelled:  # a newer graph pair replaced this one
            self.app.call_from_thread(self._show, info_a, info_b, comparison, current)

    def _failed(self, message: str) -> None:
        self.query_one("#costs-totals", Static).update(Text(f"costs unavailable: {message}", style="red"))
        self.app.notify(message, severity="error", timeout=3600)

    def _show(self, info_a: dict[str, Any], info_b: dict[str, Any], comparison: dict[str, Any], current=None) -> None:
        self.info_a, self.info_b, self.comparison = info_a, info_b, comparison
        self._shown_current = current
        self.query_one("#costs-totals", Static).update(totals_table(info_a, info_b))
        self._fill_table()

    def export_report(self):
        """``e`` on this tab: what it shows (both graphs, deltas, accuracy), not only the current graph."""
        from mase_tui.export import comparison_report

        if self.comparison is None:
            return None
        return comparison_report(self.session, self.comparison, self.accuracy or None)

    # ------------------------------------------------------------------ table
    def current_rows(self) -> list[dict[str, Any]]:
        if self.comparison is None or self.info_a is None or self.info_b is None:
            return []
        rows = module_rows(self.info_a, self.info_b) if self.by_module else node_rows(self.comparison)
        return sort_rows(rows, self.sort_key)

    def _columns(self):
        return MODULE_COLUMNS if self.by_module else NODE_COLUMNS

    def _fill_table(self) -> None:
        """Rebuild the rows (new costs, or nodes <-> modules); sorting reorders them in place."""
        table = self.query_one("#costs-table", DataTable)
        table.clear(columns=True)
        for key, head, numeric in self._columns():
            table.add_column(Text(head, justify="right" if numeric else "left"), key=key)
        rows = []
        if self.comparison is not None and self.info_a is not None and self.info_b is not None:
            rows = module_rows(self.info_a, self.info_b) if self.by_module else node_rows(self.comparison)
        self._rows = {row["index"]: row for row in rows}
        for row in sort_rows(rows, self.sort_key):
            changed = row["status"] != "unchanged"
            cells = []
            for key, _, numeric in self._columns():
                value = row.get(key)
                if key == "index":
                    shown = str(value)  # read back by _sort_table
                elif key == "bitops_ratio":
                    shown = fmt_ratio(value)
                elif numeric:
                    shown = fmt(value)
                else:
                    shown = ("~ " if changed and key == "name" else ("  " if key == "name" else "")) + str(value)
                cells.append(Text(shown, justify="right" if numeric else "left",
                                  style="yellow" if changed else ""))
            table.add_row(*cells, key=f"{row['index']}")
        self._show_caption()

    def _sort_table(self) -> None:
        """Reorder the table's rows as ``sort_rows`` orders them, without rebuilding them."""
        table = self.query_one("#costs-table", DataTable)
        rows, key = self._rows, self.sort_key
        order = row_order(key)
        table.sort("index", key=lambda cell: order(rows[int(cell.plain)]))
        self._show_caption()

    def _show_caption(self) -> None:
        key = self.sort_key
        view = "module" if self.by_module else "node"
        sort_name = view if key == "name" else next((h for k, h, _ in self._columns() if k == key), key)
        self.query_one("#costs-caption", Static).update(
            f"per {view}, per sample (param bits per model) · sort: {sort_name} (s) · "
            f"m: per {'node' if self.by_module else 'module'}")

    def action_cycle_sort(self) -> None:
        i = SORT_CYCLE.index(self.sort_key) if self.sort_key in SORT_CYCLE else -1
        self.sort_key = SORT_CYCLE[(i + 1) % len(SORT_CYCLE)]
        self._sort_table()

    def action_toggle_modules(self) -> None:
        self.by_module = not self.by_module
        self._fill_table()

    @on(DataTable.HeaderSelected, "#costs-table")
    def _header(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in {k for k, _, _ in self._columns()}:
            self.sort_key = key
            self._sort_table()

    # ------------------------------------------------------------------ accuracy
    def action_evaluate(self) -> None:
        session = self.session
        if session is None or not getattr(session, "loaded", False):
            self.app.notify("the model is still loading", severity="warning")
            return
        if getattr(session, "datamodule", None) is None:
            self.app.notify("no dataset is loaded: accuracy needs one (--dataset)", severity="warning")
            return
        if self.cancel_eval is not None:
            self.app.notify("accuracy is being evaluated (x cancels)", severity="warning")
            return
        self.cancel_eval = threading.Event()
        self.query_one("#costs-accuracy", Static).update(Text("evaluating original and current ... (x cancels)", style="dim"))
        self._evaluate(self.cancel_eval, self.max_batches)

    def action_cancel_evaluation(self) -> None:
        if self.cancel_eval is not None:
            self.cancel_eval.set()

    @work(thread=True, exclusive=True, group="costs-eval", exit_on_error=False)
    def _evaluate(self, cancel: threading.Event, max_batches: int | None) -> None:
        session = self.session
        results: dict[str, dict[str, Any]] = {}
        last = [0.0]

        def progress_for(which: str):
            def progress(done: int, total: int) -> None:
                now = time.monotonic()
                if now - last[0] >= 0.1 or done >= total:
                    last[0] = now
                    self.post_message(WorkerProgress((done, total), which))
            return progress

        try:
            for which in ("original", "current"):
                results[which] = session.evaluate(which, split="test", max_batches=max_batches,
                                                  progress=progress_for(which), cancel=cancel)
        except Exception as exc:  # a data or model error, or a cancel: say so, keep the app up
            message = str(exc) if hasattr(exc, "one_line") else f"evaluation failed: {type(exc).__name__}: {exc}"
            self.app.call_from_thread(self._eval_failed, message, cancel.is_set())
            return
        self.app.call_from_thread(self._eval_done, results)

    def on_worker_progress(self, message: WorkerProgress) -> None:
        if self.cancel_eval is not None:  # a late report of an evaluation that has ended changes nothing
            self._eval_progress(message.source, *message.values)

    def _eval_progress(self, which: str, done: int, total: int) -> None:
        self.query_one("#costs-accuracy", Static).update(
            Text(f"evaluating {which}: {done}/{total} batches ... (x cancels)", style="dim"))

    def _eval_failed(self, message: str, cancelled: bool) -> None:
        self.cancel_eval = None
        if cancelled:
            self._show_accuracy()
            self.app.notify("accuracy evaluation cancelled", severity="warning")
            return
        self.query_one("#costs-accuracy", Static).update(Text(message, style="red"))
        self.app.notify(message, severity="error", timeout=3600)

    def _eval_done(self, results: dict[str, dict[str, Any]]) -> None:
        self.cancel_eval = None
        self.accuracy = results
        self._show_accuracy()

    def _show_accuracy(self) -> None:
        widget = self.query_one("#costs-accuracy", Static)
        if not self.accuracy:
            widget.update(Text("accuracy: press a to evaluate the original and current graphs", style="dim"))
            return
        session = self.session
        parts: list[Any] = [("accuracy ", "bold")]
        a = self.accuracy.get("original", {}).get("accuracy")
        b = self.accuracy.get("current", {}).get("accuracy")
        parts.append(f"original {a * 100:.2f}%" if a is not None else "original -")
        parts.append(f" · current {b * 100:.2f}%" if b is not None else " · current - (a: evaluate)")
        if a is not None and b is not None:
            d = (b - a) * 100
            parts.append((f" ({'+' if d >= 0 else ''}{d:.2f} points)", "green" if d >= 0 else "red"))
        first = self.accuracy.get("original") or self.accuracy.get("current") or {}
        where = f" on {first.get('data', '?')} {first.get('split', '')}".rstrip()
        samples = first.get("samples")
        parts.append(where + (f", {samples} samples" if samples else ""))
        if session.synthetic and "synthetic" not in where:  # said once, not "(synthetic) ... (synthetic data)"
            parts.append((" (synthetic data)", "yellow"))
        widget.update(Text.assemble(*parts))
