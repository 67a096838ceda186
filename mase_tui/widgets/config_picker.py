"""Pick a TOML file from configs/ and take a pass's arguments from it.

A MASE config keeps pass arguments in ``[passes.<name>]`` tables; a file without such tables
is read as the arguments themselves. The file logic is plain functions (tested without a
terminal); ``ConfigPicker`` is the modal list the Passes tab opens with ``o``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from core.errors import ConfigError


def configs_root(start: Path | None = None) -> Path:
    """configs/ under the working directory, else the one shipped beside the package."""
    here = (start or Path.cwd()) / "configs"
    if here.is_dir():
        return here
    return Path(__file__).resolve().parents[2] / "configs"


def list_configs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*.toml") if p.is_file())


def pass_args_from_config(data: dict[str, Any], pass_name: str) -> tuple[str, dict[str, Any], str]:
    """(pass name, its args, a note for the user) from a parsed config.

    The chosen pass's ``[passes.*]`` table when the file has one; otherwise the file's first
    pass table (the runner switches to that pass); a file with no ``passes`` table is the args.
    """
    from core.passes.registry import resolve_pass_name

    passes = data.get("passes")
    if passes is None:
        return pass_name, data, "the whole file is used as the arguments"
    if not isinstance(passes, dict) or not passes:
        raise ConfigError("'passes' in the config must be a table of [passes.<name>] tables")
    resolved = {}
    for key, table in passes.items():
        name = resolve_pass_name(key)  # unknown pass names are a ConfigError naming the key
        resolved.setdefault(name, (key, table))
    if pass_name in resolved:
        key, table = resolved[pass_name]
        return pass_name, dict(table or {}), f"[passes.{key}]"
    name, (key, table) = next(iter(resolved.items()))
    return name, dict(table or {}), f"[passes.{key}]"


class ConfigPicker(ModalScreen[Path | None]):
    """A list of configs/**/*.toml; enter picks, escape closes."""

    DEFAULT_CSS = """
    ConfigPicker { align: center middle; }
    ConfigPicker > Vertical {
        width: 80%; max-width: 100; height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    ConfigPicker OptionList { height: 1fr; }
    """
    BINDINGS = [Binding("escape", "dismiss_picker", "Close", id="config-picker.close")]

    def __init__(self, root: Path | None = None) -> None:
        super().__init__()
        self.root = root or configs_root()
        self.paths = list_configs(self.root)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Config files in {self.root} (enter: load, escape: close)")
            options = [Option(str(p.relative_to(self.root)), id=str(i)) for i, p in enumerate(self.paths)]
            if not options:
                options = [Option("(no .toml files found)", id="none", disabled=True)]
            yield OptionList(*options, id="config-list")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id is not None and event.option.id.isdigit():
            self.dismiss(self.paths[int(event.option.id)])

    def action_dismiss_picker(self) -> None:
        self.dismiss(None)
