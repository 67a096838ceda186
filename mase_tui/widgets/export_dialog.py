"""The ``e`` dialog: pick JSON, CSV or Markdown for the current report."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

FORMATS = (("json", "JSON", "j"), ("csv", "CSV", "c"), ("md", "Markdown", "m"))


class ExportDialog(ModalScreen[str | None]):
    """Dismisses with "json", "csv", "md" or None."""

    HELP_SCOPE = "Export"
    BINDINGS = [
        Binding("j", "choose('json')", "JSON", id="export.json"),
        Binding("c", "choose('csv')", "CSV", id="export.csv"),
        Binding("m", "choose('md')", "Markdown", id="export.md"),
        Binding("escape", "choose('')", "Cancel", id="export.cancel"),
    ]
    DEFAULT_CSS = """
    ExportDialog { align: center middle; }
    ExportDialog > Vertical { width: 60; height: auto; border: round $accent; background: $surface; padding: 1 2; }
    ExportDialog Horizontal { height: auto; margin-top: 1; }
    ExportDialog Button { margin-right: 1; min-width: 12; }
    """

    def __init__(self, what: str) -> None:
        super().__init__()
        self.what = what

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Export {self.what} to the working directory as:")
            with Horizontal():
                for fmt, label, key in FORMATS:
                    yield Button(f"{label} ({key})", id=f"export-{fmt}")
            yield Static("escape cancels", classes="dim")

    def action_choose(self, fmt: str) -> None:
        self.dismiss(fmt or None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("export-") or None)
