"""The ``?`` screen: every key of the app and its panes (with the user's remapping), the filter
syntax and where the key file lives."""

from __future__ import annotations

from rich.console import Group
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Static

from mase_tui.keymap import BindingInfo, keymap_path
from mase_tui.markup import PlainTable as Table
from mase_tui.widgets.text_screen import TextScreen

FILTER_HELP = [
    ("linear", "node name or module path contains 'linear'"),
    ("op:linear", "MASE op (or fx opcode) is linear; globs work: op:batch_norm*"),
    ("type:module", "MASE type, module class (type:Linear) or an arg/result type (type:integer after quantising)"),
    ("shape:8,16", "an arg or result has shape [8,16]; * matches any size: shape:*,16"),
    ("op:linear seq", "several terms: all must match"),
]


def help_renderable(bindings: list[BindingInfo], keymap_file: str, keymap_active: bool) -> Group:
    table = Table(title="Keys", title_justify="left", title_style="bold", expand=True)
    table.add_column("where", style="dim", no_wrap=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("action")
    table.add_column("binding id", style="dim", no_wrap=True)
    last_scope = None
    for info in bindings:
        scope = info.scope if info.scope != last_scope else ""
        last_scope = info.scope
        table.add_row(scope, info.key_text, info.description, info.binding_id or "")
    filters = Table(title="Filter (/)", title_justify="left", title_style="bold", expand=True)
    filters.add_column("type", style="bold", no_wrap=True)
    filters.add_column("shows")
    for query, meaning in FILTER_HELP:
        filters.add_row(query, meaning)
    state = "loaded" if keymap_active else "not found, defaults in use"
    remap = Text.assemble(
        ("Remap keys ", "bold"), f"in {keymap_file} ({state}), or $MASE_TUI_KEYS:\n",
        ("  [keys]\n  tree.down = \"down,ctrl+n\"\n  export = \"ctrl+e\"\n", "italic"),
        "Over SSH: y copies with OSC 52 (in tmux: set -g set-clipboard on); ctrl+p finds any command; "
        "palette 'Theme' changes colours (ansi-dark uses the terminal's own).",
    )
    return Group(table, Text(""), filters, Text(""), remap)


class HelpScreen(TextScreen):
    BODY_ID = "help-body"
    HELP_SCOPE = "Help"
    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close help", id="help.close"),
        Binding("down,j", "scroll('down')", "Scroll down", show=False, id="help.down"),
        Binding("up,k", "scroll('up')", "Scroll up", show=False, id="help.up"),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 120; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, bindings: list[BindingInfo], keymap_file: str | None = None) -> None:
        super().__init__()
        self.bindings = bindings
        self.keymap_file = keymap_file  # the user's key file when one was loaded

    def compose(self) -> ComposeResult:
        keymap_active = bool(self.keymap_file)
        with VerticalScroll(id="help-body") as scroll:
            scroll.border_title = "mase-tui help  (escape closes)"
            yield Static(help_renderable(self.bindings, str(keymap_path()), keymap_active), id="help-text")
