"""Key remapping from a TOML file, and the list of every binding (for help and the palette).

The file is ``$MASE_TUI_KEYS`` or ``~/.config/mase-tui/keys.toml``::

    [keys]
    tree.down = "down,ctrl+n"     # a binding id = comma-separated keys
    export = "ctrl+e"

Ids are the ``Binding(id=...)`` of the app and its widgets (``?`` lists them). Unknown ids and
bad values are reported, never fatal: the app starts with its defaults for those.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from textual.app import App
    from textual.binding import Binding, BindingsMap
    from textual.dom import DOMNode

ENV_KEYS = "MASE_TUI_KEYS"


def keymap_path() -> Path:
    env = os.environ.get(ENV_KEYS)
    if env:
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mase-tui" / "keys.toml"


def _toml_loads(text: str) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def parse_keymap(text: str, known_ids: Iterable[str] | None = None, source: str = "keys.toml") -> tuple[dict[str, str], list[str]]:
    """``(keymap, problems)``: the usable ``{binding id: keys}`` and one line per problem."""
    problems: list[str] = []
    try:
        data = _toml_loads(text)
    except Exception as exc:  # tomllib.TOMLDecodeError carries the line and column
        return {}, [f"{source}: not valid TOML ({exc}); using the default keys"]
    table = data.get("keys")
    if table is None:
        return {}, [f"{source}: no [keys] table; write [keys] then lines like tree.down = \"j\""]
    if not isinstance(table, dict):
        return {}, [f"{source}: [keys] must be a table of binding id = \"key\""]
    known = set(known_ids) if known_ids is not None else None
    keymap: dict[str, str] = {}
    for binding_id, keys in _flatten(table):
        if isinstance(keys, list) and all(isinstance(k, str) for k in keys):
            keys = ",".join(keys)
        if not isinstance(keys, str) or not keys.strip():
            problems.append(f"{source}: {binding_id} must be a key string like \"ctrl+e\"")
            continue
        if known is not None and binding_id not in known:
            import difflib

            close = difflib.get_close_matches(binding_id, sorted(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else " (press ? for the list of ids)"
            problems.append(f"{source}: unknown binding id '{binding_id}'{hint}")
            continue
        keymap[binding_id] = ",".join(k.strip() for k in keys.split(",") if k.strip())
    return keymap, problems


def _flatten(table: dict, prefix: str = "") -> list[tuple[str, object]]:
    """TOML reads ``tree.down = "j"`` as {"tree": {"down": "j"}}: ids are the dotted paths."""
    out: list[tuple[str, object]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, name + "."))
        else:
            out.append((name, value))
    return out


def load_keymap(known_ids: Iterable[str] | None = None, path: Path | None = None) -> tuple[dict[str, str], list[str], Path | None]:
    """Read the user's key file if there is one: ``(keymap, problems, path or None)``."""
    path = path or keymap_path()
    if not path.is_file():
        if os.environ.get(ENV_KEYS):
            return {}, [f"{ENV_KEYS}={path}: file not found; using the default keys"], None
        return {}, [], None
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return {}, [f"{path}: cannot read ({exc.strerror}); using the default keys"], None
    keymap, problems = parse_keymap(text, known_ids, source=str(path))
    return keymap, problems, path


# ------------------------------------------------------------------------ listing bindings
@dataclass
class BindingInfo:
    scope: str  # "Global", "Node tree", ...
    keys: list[str]  # as displayed ("j", "down", "^s")
    description: str
    binding_id: str | None
    action: str
    namespace: "DOMNode"

    @property
    def key_text(self) -> str:
        return " / ".join(self.keys)


def scope_name(node: "DOMNode") -> str:
    from textual.app import App

    if isinstance(node, App):
        return "Global"
    return getattr(node, "HELP_SCOPE", None) or type(node).__name__


# Generic scrolling and text-editing keys Textual gives every scroll view and input: listing
# them for every pane would bury the app's own keys.
GENERIC_ACTIONS = {
    "scroll_left", "scroll_right", "page_left", "page_right", "scroll_up", "scroll_down",
    "page_up", "page_down", "scroll_home", "scroll_end",
}


def _listed(node: "DOMNode", binding: "Binding") -> bool:
    from textual.widgets import Input

    if not binding.description or binding.system:
        return False
    if binding.id:
        return True
    return binding.action not in GENERIC_ACTIONS and not isinstance(node, Input)


def class_bindings(node: "DOMNode") -> "BindingsMap":
    """The bindings a node's class declares (``BINDINGS`` along its bases, a subclass's binding
    for a key replacing its base's, as Textual merges them), from public API only."""
    from textual.binding import BindingsMap

    keys: dict[str, list] = {}
    for base in reversed(type(node).__mro__):
        declared = base.__dict__.get("BINDINGS")
        if declared:
            keys.update(BindingsMap(declared).key_to_bindings)
    return BindingsMap.from_keys(keys)


def bindings_of(node: "DOMNode", app: "App", keymap: dict[str, str] | None = None) -> list[BindingInfo]:
    """The node's bindings with the user keymap applied, one entry per action (keys merged)."""
    bindings = class_bindings(node)
    keymap = getattr(app, "keymap", None) if keymap is None else keymap  # MaseTuiApp.keymap
    if keymap:
        bindings.apply_keymap(keymap)
    merged: dict[tuple[str, str | None], BindingInfo] = {}
    for key, binding in bindings:
        if not _listed(node, binding):
            continue
        ident = (binding.action, binding.id)
        display = app.get_key_display(_with_key(binding, key))
        info = merged.get(ident)
        if info is None:
            merged[ident] = BindingInfo(_scope(node, binding), [display], binding.description, binding.id,
                                        binding.action, node)
        elif display not in info.keys:
            info.keys.append(display)
    with_id = {action for action, ident in merged if ident}
    # Textual's own id-less duplicates (ctrl+q for quit) would list an action twice
    infos = [info for (action, ident), info in merged.items() if ident or action not in with_id]
    # the App's own keys first, then each tab's (bound on the App too), grouped by tab
    from mase_tui.tab_keys import TAB_SCOPE

    order = {scope: i for i, scope in enumerate(TAB_SCOPE.values(), start=1)}
    return sorted(infos, key=lambda info: order.get(info.scope, 0))


def _scope(node: "DOMNode", binding: "Binding") -> str:
    """A tab's keys are bound on the App (they work from any pane) but listed under their tab."""
    from mase_tui.tab_keys import SCOPE_OF_ID

    return SCOPE_OF_ID.get(binding.id, "") or scope_name(node)


def _with_key(binding: "Binding", key: str) -> "Binding":
    from dataclasses import replace

    return binding if binding.key == key else replace(binding, key=key)


def all_bindings(app: "App", screen=None) -> list[BindingInfo]:
    """Every binding on ``screen`` (default: the current one): the app's, the screen's and one set
    per mase_tui widget class on it, in that order."""
    screen = screen or app.screen
    seen_classes: set[type] = set()
    nodes: list = [app, screen]
    for widget in screen.walk_children():
        cls = type(widget)
        if cls in seen_classes or not cls.__module__.startswith("mase_tui"):
            continue  # Textual's own widgets inside our panes are covered by our panes' keys
        seen_classes.add(cls)
        if class_bindings(widget).key_to_bindings:
            nodes.append(widget)
    out: list[BindingInfo] = []
    for node in nodes:
        out.extend(bindings_of(node, app))
    return out


def known_binding_ids(classes: Iterable[type]) -> set[str]:
    """Every binding id declared by these classes (and their bases)."""
    from textual.binding import Binding

    ids: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            for binding in klass.__dict__.get("BINDINGS", ()):
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids
