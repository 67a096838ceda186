"""``ctrl+o``: open another model without leaving the app.

The dialog takes what the command line takes (a zoo name, ``path/to/file.py:factory``, a saved
graph directory) and an optional data set, checks them with the CLI's own checks
(``mase_tui.commands.preflight``: did-you-mean, the file exists, a user model needs a data set)
and lists the zoo and the recently opened models. The app loads the new session in the
background; the current one stays on screen until the new one is ready.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

RECENT_MAX = 10


def recent_path() -> Path:
    import os

    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mase-tui" / "recent.json"


def load_recent() -> list[dict]:
    try:
        data = json.loads(recent_path().read_text(encoding="utf-8"))
        return [d for d in data if isinstance(d, dict) and isinstance(d.get("model"), str)][:RECENT_MAX]
    except (OSError, ValueError, TypeError):
        return []


def remember(model: str, dataset: str | None) -> None:
    from core.utils.atomic import atomic_write_text

    entry = {"model": model, "dataset": dataset}
    recent = [entry] + [r for r in load_recent() if r != entry]
    try:
        atomic_write_text(recent_path(), json.dumps(recent[:RECENT_MAX], indent=1) + "\n")
    except OSError:
        pass  # a recent list is a convenience


def check_choice(model: str, dataset: str | None) -> None:
    """The CLI's checks (MaseError with the one line to show)."""
    from mase_tui.commands.preflight import check_dataset, check_model

    check_model(model)
    check_dataset(dataset, model)


class OpenModelScreen(ModalScreen[tuple[str, str | None] | None]):
    HELP_SCOPE = "Open model"
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="open-model.cancel")]
    DEFAULT_CSS = """
    OpenModelScreen { align: center middle; }
    OpenModelScreen > Vertical { width: 90%; max-width: 90; height: 90%; border: round $accent;
                                 background: $surface; padding: 0 1; }
    OpenModelScreen OptionList { height: 1fr; }
    OpenModelScreen #open-error { height: auto; color: $error; }
    """

    def compose(self) -> ComposeResult:
        from core.models.registry import MODELS

        with Vertical():
            yield Label("Open a model: zoo name, path/to/file.py:factory or a saved graph directory")
            yield Input(placeholder="model (enter opens)", id="open-model")
            yield Input(placeholder="data set (optional; a file.py model needs one)", id="open-dataset")
            yield Static(id="open-error")
            options = [Option(Text.assemble(("recent  ", "dim"), r["model"],
                                            (f"  {r['dataset']}" if r.get("dataset") else "", "dim")),
                              id=f"r:{i}") for i, r in enumerate(load_recent())]
            options += [Option(Text.assemble(("zoo     ", "dim"), name), id=f"z:{name}") for name in MODELS]
            yield OptionList(*options, id="open-list")

    def on_mount(self) -> None:
        self.query_one("#open-model", Input).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        ident = event.option.id or ""
        if ident.startswith("z:"):
            self._try(ident[2:], None)
        elif ident.startswith("r:"):
            entry = load_recent()[int(ident[2:])]
            self._try(entry["model"], entry.get("dataset"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        model = self.query_one("#open-model", Input).value.strip()
        dataset = self.query_one("#open-dataset", Input).value.strip() or None
        if model:
            self._try(model, dataset)

    def _try(self, model: str, dataset: str | None) -> None:
        from core.errors import MaseError

        try:
            check_choice(model, dataset)
        except MaseError as exc:
            self.query_one("#open-error", Static).update(Text(exc.one_line()))
            return
        self.dismiss((model, dataset))

    def action_cancel(self) -> None:
        self.dismiss(None)
