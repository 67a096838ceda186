"""The ``/`` filter above the node tree: a one-line input and the match counter under it.

The bar drives the tree (``NodeTree.apply_filter`` / ``step_match`` / ``clear_filter``); it is
hidden until ``/`` opens it and hides again when the filter is cleared.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from mase_tui.widgets.node_tree import NodeTree


class FilterInput(Input):
    HELP_SCOPE = "Filter box"
    BINDINGS = [Binding("escape", "cancel_filter", "Clear filter", id="filter.clear")]

    def action_cancel_filter(self) -> None:
        bar = next(a for a in self.ancestors if isinstance(a, FilterBar))
        bar.clear()


class FilterBar(Vertical):
    DEFAULT_CSS = """
    FilterBar { height: auto; display: none; }
    FilterBar.-open { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield FilterInput(placeholder="/ name op:linear type:module shape:8,16", id="filter", compact=True)
        yield Static(id="filter-status")

    @property
    def tree(self) -> NodeTree:
        return self.screen.query_one(NodeTree)

    def open(self) -> None:
        box = self.query_one(FilterInput)
        self.add_class("-open")
        self.query_one("#filter-status", Static).display = bool(self.tree.matches)
        box.value = self.tree.query_text
        box.focus()

    @on(Input.Submitted, "#filter")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            self.clear()
            return
        count = self.tree.apply_filter(event.value)
        self.app.refresh_bindings()  # n / N appear in the footer while there are matches
        status = self.query_one("#filter-status", Static)
        status.display = True
        status.update(self._match_text() if count else f"no match for '{event.value.strip()}'")
        self.tree.focus()

    def _match_text(self) -> str:
        tree = self.tree
        total = len(tree.matches)
        return f"{tree.match_index + 1}/{total} match{'es' if total != 1 else ''} · n/N step · esc in / clears"

    def clear(self) -> None:
        self.query_one(FilterInput).value = ""
        self.remove_class("-open")
        if self.tree.query_text:
            self.tree.clear_filter()
        self.app.refresh_bindings()
        self.tree.focus()

    def step(self, delta: int) -> None:
        if self.tree.step_match(delta) is not None:
            self.query_one("#filter-status", Static).update(self._match_text())
