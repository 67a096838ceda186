"""The Compare tab: original and current graphs side by side, one row per matched node.

The gutter says what happened to a node with a symbol and a colour ("~" changed, "+" added,
"-" removed), ``]`` / ``[`` jump between differences, and the cursor follows the node tree
(and the tree follows it, through NodeFocused). Under the table, the highlighted node's
precision before and after for every arg, and for a quantised node a histogram of its float
and quantised values with the quantisation error.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import DataTable, Static

from core.compare import ADDED, CHANGED, REMOVED, GraphDiff, NodeDiff, NodeInfo, summary_line
from mase_tui.markup import PlainTable as Table
from mase_tui.messages import NodeFocused
from mase_tui.widgets.histogram import compare_histogram, quant_error
from mase_tui.widgets.session_pane import GraphPairPane

STATUS_STYLE = {CHANGED: "bold yellow", ADDED: "bold green", REMOVED: "bold red"}
SOURCE = "compare"
# Quantised layers with at most this many weights get their histogram drawn at once.
INLINE_VALUES = 65_536


def _kind(info: NodeInfo | None) -> str:
    if info is None:
        return ""
    if info.module_class:
        return info.module_class
    if info.op in ("call_function", "call_method"):
        return info.target
    return info.op


def _current_label(row: NodeDiff) -> str:
    """The current side: its type, and its name too when that differs from the original's."""
    if row.current is None:
        return ""
    if row.original is not None and row.original.name == row.current.name:
        return _kind(row.current)
    return f"{row.current.name} {_kind(row.current)}"


def _precision_table(row: NodeDiff) -> Table:
    table = Table(box=None, padding=(0, 1), show_edge=False)
    table.add_column(" ", width=1)
    table.add_column("arg")
    table.add_column("original")
    table.add_column("current")
    args: list[str] = []
    for info in (row.original, row.current):
        for name, _ in (info.labels if info else ()):
            if name not in args:
                args.append(name)

    def show(info: NodeInfo | None, arg: str) -> str:
        return (info.label_of(arg) if info else None) or "-"

    for arg in args:
        before, after = show(row.original, arg), show(row.current, arg)
        mark = "~" if before != after else " "
        style = "yellow" if before != after else ""
        table.add_row(mark, arg, before, Text(after, style=style))
    if not args:
        table.add_row(" ", "(no tensor args)", "", "")
    return table


FIRST_VALUES = 6  # values shown before/after under each quantised tensor's name


def first_values_table(float_values: Any, quant_values: Any, count: int = FIRST_VALUES) -> Table:
    """The tensor's first values before and after, and the grid they landed on (the smallest
    gap between distinct quantised values: 1/16 for 8-bit fixed point with 4 fractional bits)."""
    import numpy as np

    x = np.asarray(getattr(float_values, "detach", lambda: float_values)(), dtype=np.float64).reshape(-1)
    q = np.asarray(getattr(quant_values, "detach", lambda: quant_values)(), dtype=np.float64).reshape(-1)
    table = Table(box=None, padding=(0, 1), show_edge=False, show_header=False)
    table.add_column(style="dim")
    for _ in range(min(count, x.size)):
        table.add_column(justify="right")
    table.add_row("before", *(f"{v:.4g}" for v in x[:count]))
    table.add_row("after", *(f"{v:.4g}" for v in q[:count]))
    levels = np.unique(q[np.isfinite(q)])
    gaps = np.diff(levels)
    step = f"{gaps.min():.4g}" if gaps.size else "-"
    table.add_row("grid step", step, *[""] * (min(count, x.size) - 1))
    return table


def histogram_blocks(views, width: int) -> list[Any]:
    """Per quantised tensor: its name, the error numbers, its first values before/after and the
    float/quantised histogram."""
    blocks: list[Any] = []
    for view in views:
        err = quant_error(view.float_values, view.quant_values)
        blocks.append(Text(f"{view.label} ({view.quantiser}, n={err.count})", style="bold"))
        blocks.append(Text(err.describe()))
        blocks.append(first_values_table(view.float_values, view.quant_values))
        blocks.append(Text("\n".join(compare_histogram(view.float_values, view.quant_values, width=width))))
    return blocks


class CompareView(GraphPairPane, Widget):
    DEFAULT_CSS = """
    CompareView { layout: vertical; height: 1fr; }
    CompareView #compare-summary { height: auto; }
    CompareView #compare-table { height: 1fr; min-height: 5; }
    CompareView #compare-detail { height: 1fr; min-height: 6; border-top: solid $primary-background; }
    """
    # ] and [ are the app's bindings (compare.next-difference / compare.previous-difference):
    # one id per action, remappable everywhere, working from any pane

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.diff: GraphDiff | None = None
        self.current_name: str | None = None
        self._graphs: tuple[Any, Any] | None = None  # the (original, current) pair shown or in work
        self._behind: str | None = None  # the node the tree moved to while the tab was hidden

    def compose(self) -> ComposeResult:
        yield Static(Text("Waiting for the model ...", style="dim"), id="compare-summary")
        table = DataTable(id="compare-table", cursor_type="row", zebra_stripes=False)
        table.add_column(" ", key="mark", width=1)
        table.add_column("original", key="original")
        table.add_column("type", key="original-kind")
        table.add_column("current", key="current")
        yield table
        with VerticalScroll(id="compare-detail"):
            yield Static(id="compare-detail-body")

    # ------------------------------------------------------------------ app contract
    def session_replaced(self) -> None:
        self._graphs, self.diff, self.current_name, self._behind = None, None, None, None

    def show_load_failure(self, error: str, retry: str) -> None:
        """No model: say why and what to do instead of waiting for it."""
        self.query_one("#compare-summary", Static).update(Text.assemble((error, "bold red"), "\n", (retry, "dim")))

    def refresh_from_session(self) -> None:
        pair = self.new_graph_pair()
        if pair is None:
            return
        self._compute(*pair)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _compute(self, original, current) -> None:
        from textual.worker import get_current_worker

        from core.compare import compare_graphs

        diff = compare_graphs(original, current)
        if not get_current_worker().is_cancelled:  # a newer graph pair replaced this one
            self.app.call_from_thread(self._show_diff, diff)

    def _show_diff(self, diff: GraphDiff) -> None:
        self.diff = diff
        counts = diff.counts()
        differs = counts[CHANGED] + counts[ADDED] + counts[REMOVED]
        summary = Text.assemble(
            ("original ◂▸ current  ", "bold"),
            summary_line(diff),
            ("\n~ changed  + added  - removed  ] next  [ previous" if differs else "", "dim"),
        )
        self.query_one("#compare-summary", Static).update(summary)
        table = self.query_one("#compare-table", DataTable)
        keep, self._behind = self._behind or self.current_name, None
        table.clear()
        for i, row in enumerate(diff.rows):
            style = STATUS_STYLE.get(row.status, "")
            table.add_row(
                Text(row.mark, style=style),
                Text(row.original.name if row.original else "", style=style),
                Text(_kind(row.original), style="dim" if not style else style),
                Text(_current_label(row), style="dim" if not style else style),
                key=str(i),
            )
        index = diff.index_of(keep) if keep else None
        self._move_to(index if index is not None else 0, quiet=True)

    # ------------------------------------------------------------------ cursor
    def focus_node(self, name: str) -> None:
        """Follow a node highlighted elsewhere (the tree); does not post NodeFocused back. While
        the tab is hidden the name is only kept, and ``tab_shown`` follows it: moving the table
        and redrawing the detail of a hidden pane cost a layout of the whole screen, a frame
        after the tree's, on every tree move (and a histogram worker for a quantised node)."""
        if self.diff is None:
            self.current_name = name
            return
        if not self._shown():
            self._behind = name
            return
        self._follow(name)

    def tab_shown(self) -> None:
        """The tab is being shown (the app calls this before its first frame): follow the node
        the tree moved to while it was hidden."""
        if self._behind is not None and self.diff is not None:
            self._follow(self._behind)

    def on_show(self) -> None:
        self.tab_shown()  # shown some other way than by activating its tab (nothing to do if caught up)

    def _follow(self, name: str) -> None:
        self._behind = None
        index = self.diff.index_of(name) if self.diff is not None else None
        if index is not None:
            self._move_to(index, quiet=True)

    def _shown(self) -> bool:
        """False while the pane is in a hidden tab (an ancestor not displayed)."""
        return all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))

    def _move_to(self, index: int, quiet: bool) -> None:
        if self.diff is None or not self.diff.rows:
            self._show_detail(None)
            return
        table = self.query_one("#compare-table", DataTable)
        self._set_current(self.diff.rows[index], post=not quiet)
        if table.cursor_row != index:
            table.move_cursor(row=index, animate=False)

    @on(DataTable.RowHighlighted, "#compare-table")
    def _on_row(self, event: DataTable.RowHighlighted) -> None:
        if self.diff is None or not (0 <= event.cursor_row < len(self.diff.rows)):
            return
        if event.cursor_row != event.data_table.cursor_row:
            return  # queued before a later move (e.g. row 0 after a rebuild): stale
        row = self.diff.rows[event.cursor_row]
        if row.name != self.current_name:  # the same name is the echo of our own move
            self._set_current(row, post=True)

    def _set_current(self, row: NodeDiff, post: bool) -> None:
        self.current_name = row.name
        if post:
            self.post_message(NodeFocused(row.name, SOURCE, self))
        self._show_detail(row)

    def action_next_difference(self) -> None:
        self._jump(1)

    def action_previous_difference(self) -> None:
        self._jump(-1)

    def _jump(self, step: int) -> None:
        if self.diff is None:
            return
        self.tab_shown()  # `]` from the tree: step from the tree's node, not from where the table was left
        table = self.query_one("#compare-table", DataTable)
        target = self.diff.next_difference(table.cursor_row, step)
        if target is None:
            self.app.notify("the graphs do not differ", timeout=3)
            return
        self._move_to(target, quiet=False)

    # ------------------------------------------------------------------ detail
    def _detail_parts(self, row: NodeDiff) -> list[Any]:
        head = Text.assemble((f"{row.mark} {row.name}", STATUS_STYLE.get(row.status, "bold")), f"  {row.status}")
        parts: list[Any] = [head]
        # precision changes are in the table below
        parts.extend(Text(f"  {c.describe()}", style="yellow") for c in row.changes if c.what != "precision")
        parts.append(_precision_table(row))
        return parts

    def _show_detail(self, row: NodeDiff | None) -> None:
        body = self.query_one("#compare-detail-body", Static)
        if row is None:
            body.update("")
            return
        parts = self._detail_parts(row)
        if row.status == CHANGED and row.current is not None:
            views = self._inline_views(row)
            if views is None:
                parts.append(Text("computing the float and quantised values …", style="dim italic"))
                self._load_histograms(row, self._histogram_width())
            else:
                parts.extend(histogram_blocks(views, self._histogram_width()))
        body.update(Group(*parts))
        # a new node starts at its header, whatever the previous one was scrolled to
        self.query_one("#compare-detail", VerticalScroll).scroll_home(animate=False)

    def _inline_views(self, row: NodeDiff):
        """A small quantised layer's views, computed here: one render and no thread for the
        common case. None sends the work to a worker (big weights, functions that need a run)."""
        from core.compare import quantised_views

        session = self.session
        info = row.current
        if session is None or session.current is None or info is None or info.op != "call_module":
            return None
        try:
            module = session.current.model.get_submodule(info.target)
        except AttributeError:
            return None
        weight = getattr(module, "weight", None)
        if weight is None or not callable(getattr(module, "quantized_weight", None)) or weight.numel() > INLINE_VALUES:
            return None
        try:
            return quantised_views(session.current, row.name)
        except Exception:  # let the worker path report it
            return None

    def _histogram_width(self) -> int:
        width = self.query_one("#compare-detail", VerticalScroll).content_size.width or 80
        return max(40, min(80, width - 2))

    @work(thread=True, exclusive=True, group="compare-detail", exit_on_error=False)
    def _load_histograms(self, row: NodeDiff, width: int) -> None:
        from textual.worker import get_current_worker

        from core.compare import quantised_views

        session = self.session
        if session is None or session.current is None:
            return
        try:
            views = quantised_views(session.current, row.name, getattr(session, "dummy_in", None))
        except Exception as exc:  # a view is a convenience: say why it is missing, keep going
            blocks: list[Any] = [Text(f"no histogram: {type(exc).__name__}: {exc}", style="dim")]
        else:
            blocks = histogram_blocks(views, width)
        if blocks and not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._append_detail, row.name, blocks)

    def _append_detail(self, name: str, blocks: list[Any]) -> None:
        if name != self.current_name or self.diff is None:
            return  # the cursor moved on while the worker ran
        index = self.diff.index_of(name)
        if index is not None:
            body = self.query_one("#compare-detail-body", Static)
            body.update(Group(*self._detail_parts(self.diff.rows[index]), *blocks))
