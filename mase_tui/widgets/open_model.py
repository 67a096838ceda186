"""The "open model" dialog (ctrl+o): pick a zoo model or a recent one, or type any model ref.

Accepts what ``mase-tui inspect`` accepts: a zoo name, ``path/to/file.py:factory`` or a saved
graph directory, and an optional data set. The typed words are checked with the command line's
own torch-free checks (``mase_tui.commands.preflight``): a typo is answered in the dialog with
a did-you-mean and the dialog stays open. The zoo comes from the registry, which imports no
torch, so the dialog opens at once.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from mase_tui.recent import RecentModel, absolute_model_ref, load_recent

RECENT_PREFIX, ZOO_PREFIX = "recent:", "zoo:"


class OpenRequest(NamedTuple):
    """What the dialog accepted: a checked model ref (paths made absolute) and data set."""

    model: str
    dataset: str | None = None


def check_request(model: str, dataset: str | None) -> OpenRequest:
    """The CLI's checks of the model and data set words; raises ``MaseError`` with the line to show."""
    from core.errors import DataError, ModelError
    from core.models.registry import is_user_model_ref
    from mase_tui.commands.preflight import check_dataset, check_model

    model, dataset = model.strip(), (dataset or "").strip() or None
    if not model:
        raise ModelError("no model given", hint="type a zoo name, path/to/file.py:factory or a saved graph "
                                                "directory, or pick one from the list")
    check_model(model)
    if dataset is None and is_user_model_ref(model):
        # the CLI's wording names --dataset; here the data set has its own field
        raise DataError(f"{model} is your own model: it has no data set of its own",
                        hint="type one in the data set field (e.g. jsc-synthetic; `mase-tui datasets` lists them)")
    check_dataset(dataset, model)
    return OpenRequest(absolute_model_ref(model), dataset)


ROW_WIDTH = 66  # what a list row has inside the 76-column dialog (borders, padding, scroll bar)


def _one_line(text: Text) -> Text:
    """A list row stays one row (the dialog is 76 columns wide at most): long descriptions end
    in an ellipsis. The option list wraps its prompts, so they are cut here."""
    if text.cell_len > ROW_WIDTH:
        text.truncate(ROW_WIDTH - 1)
        text.append("…")
    return text


class ModelList(OptionList):
    """The recent and zoo models; j/k move as in the tree."""

    HELP_SCOPE = "Open model"
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="open-model.down"),
        Binding("k", "cursor_up", "Up", show=False, id="open-model.up"),
    ]


class OpenModelScreen(ModalScreen[OpenRequest | None]):
    """Dismisses with an ``OpenRequest`` that passed the CLI's checks, or None (escape)."""

    HELP_SCOPE = "Open model"
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="open-model.cancel"),
        Binding("down", "focus_list", "Model list", show=False, id="open-model.list"),
    ]
    DEFAULT_CSS = """
    OpenModelScreen { align: center middle; }
    OpenModelScreen > Vertical { width: 76; max-width: 100%; height: auto; max-height: 100%;
                                 border: round $accent; background: $surface; padding: 0 1; }
    OpenModelScreen #open-title { text-style: bold; }
    OpenModelScreen Horizontal { height: 1; margin-top: 1; }
    OpenModelScreen .open-label { width: 10; color: $text-muted; }
    OpenModelScreen Input { border: none; height: 1; padding: 0 1; width: 1fr; }
    OpenModelScreen Input:focus { border: none; background: $boost; }
    OpenModelScreen #open-error { height: auto; color: $error; }
    OpenModelScreen #open-list { height: auto; max-height: 12; border: none; }
    OpenModelScreen #open-hint { color: $text-muted; }
    """

    def __init__(self, current: str | None = None, recent: list[RecentModel] | None = None) -> None:
        super().__init__()
        self.current = current
        self.recent = load_recent() if recent is None else recent
        self.error_text = ""
        self._shown: tuple | None = None  # the option ids the list shows

    def compose(self) -> ComposeResult:
        from core.models.registry import MODELS

        self.zoo = [(spec.name, spec.description) for spec in MODELS.values()]
        with Vertical():
            yield Static("Open a model" + (f"  (now: {self.current})" if self.current else ""), id="open-title",
                         markup=False)
            with Horizontal():
                yield Static("model", classes="open-label")
                yield Input(placeholder="zoo name, path/to/file.py:factory, or a saved graph dir", id="open-model")
            with Horizontal():
                yield Static("data set", classes="open-label")
                yield Input(placeholder="optional (needed for file.py:factory)", id="open-dataset")
            yield Static("", id="open-error", markup=False)
            yield ModelList(id="open-list")
            yield Static("enter opens · ↓ or tab to the list · j/k move · esc cancels", id="open-hint")

    def on_mount(self) -> None:
        self._fill_list("")
        self.query_one("#open-model", Input).focus()

    # ------------------------------------------------------------------ the list
    def _fill_list(self, query: str) -> None:
        """Recent models first, then the zoo; what the model field holds filters both."""
        words = query.strip().lower()
        options: list = []
        recent = [(i, r) for i, r in enumerate(self.recent) if words in r.label.lower()]
        if recent:
            options.append(Option(Text("recent", style="bold"), disabled=True))
            options += [Option(_one_line(Text(r.label)), id=f"{RECENT_PREFIX}{i}") for i, r in recent]
        zoo = [(name, desc) for name, desc in self.zoo if words in name.lower() or words in desc.lower()]
        if zoo:
            options.append(Option(Text("zoo", style="bold"), disabled=True))
            options += [Option(_one_line(Text.assemble((f"{name:<20}", "bold"), (desc, "dim"))), id=f"{ZOO_PREFIX}{name}")
                        for name, desc in zoo]
        shown = tuple(o.id for o in options)
        if shown == self._shown:
            return  # typing on in a path that matches nothing: no need to rebuild the list
        self._shown = shown
        listing = self.query_one(ModelList)
        listing.clear_options()
        listing.add_options(options)
        first = next((i for i, o in enumerate(options) if not o.disabled), None)
        listing.highlighted = first

    @on(Input.Changed, "#open-model")
    def _typed(self, event: Input.Changed) -> None:
        self._fill_list(event.value)
        self._show_error("")

    def action_focus_list(self) -> None:
        listing = self.query_one(ModelList)
        if listing.option_count:
            listing.focus()

    @on(OptionList.OptionSelected, "#open-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        ident = event.option.id or ""
        if ident.startswith(RECENT_PREFIX):
            entry = self.recent[int(ident[len(RECENT_PREFIX):])]
            self.query_one("#open-dataset", Input).value = entry.dataset or ""
            model = entry.model
        else:
            model = ident[len(ZOO_PREFIX):]
        self.query_one("#open-model", Input).value = model
        self._accept()

    # ------------------------------------------------------------------ accepting
    @on(Input.Submitted)
    def _submitted(self) -> None:
        self._accept()

    def _accept(self) -> None:
        from core.errors import MaseError

        model = self.query_one("#open-model", Input).value
        dataset = self.query_one("#open-dataset", Input).value
        try:
            request = check_request(model, dataset)
        except MaseError as exc:
            self._show_error(exc.one_line())
            return
        self.dismiss(request)

    def _show_error(self, text: str) -> None:
        self.error_text = text
        self.query_one("#open-error", Static).update(text)

    def action_cancel(self) -> None:
        self.dismiss(None)
