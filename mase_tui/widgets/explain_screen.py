"""The ``i`` screen: what the current node's fx opcode and MASE type mean (mase_tui.explain)."""

from __future__ import annotations

from rich.console import Group
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ExplainScreen(ModalScreen[None]):
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

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, direction: str) -> None:
        body = self.query_one("#explain-body", VerticalScroll)
        body.scroll_down(animate=False) if direction == "down" else body.scroll_up(animate=False)
