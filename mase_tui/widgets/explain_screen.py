"""The ``i`` screen: what the current node's fx opcode and MASE type mean (mase_tui.explain)."""

from __future__ import annotations

from rich.console import Group
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from mase_tui.widgets.text_screen import TextScreen


class ExplainScreen(TextScreen):
    BODY_ID = "explain-body"
    HELP_SCOPE = "Explain"
    BINDINGS = [
        Binding("escape,i,q", "close", "Close", id="explain.close"),
        Binding("down,j", "scroll('down')", "Scroll down", show=False, id="explain.down"),
        Binding("up,k", "scroll('up')", "Scroll up", show=False, id="explain.up"),
    ]
    DEFAULT_CSS = """
    ExplainScreen { align: center middle; }
    ExplainScreen > VerticalScroll { width: 96%; max-width: 110; height: 94%; border: round $accent;
                                     background: $surface; padding: 0 1; }
    """

    def __init__(self, renderables: list) -> None:
        super().__init__()
        self.renderables = renderables

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="explain-body") as scroll:
            scroll.border_title = "explain  (escape closes)"
            yield Static(Group(*self.renderables), id="explain-text")
