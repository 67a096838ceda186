"""The precision editor (``p`` on a quantisable node): format and per-operand widths, checked
by the quantiser's own validation as you type; enter applies, escape cancels.

The form has one row per operand the node reads (data_in, weight, bias) with one field per key
of the chosen quantiser (width and frac_width for integer; width, exponent_width, exponent_bias
for minifloat; ...). ``NA`` (or an empty field) means the quantiser's default.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from core.errors import MaseError
from core.search.precision_edits import (
    PrecisionEdits,
    default_config,
    operands_of,
    quantizer_names,
    suffixes_of,
)

FLOAT = "float"


def parse_value(text: str) -> Any:
    """What a field holds: an int, a float, true/false, a list of ints, or None for NA/empty."""
    text = text.strip()
    if not text or text.upper() == "NA":
        return None
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if text.startswith("[") and text.endswith("]"):
        return [parse_value(part) for part in text[1:-1].split(",") if part.strip()]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def show_value(value: Any) -> str:
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    return str(value)


class PrecisionEditor(ModalScreen[dict | None]):
    """Dismisses with ``{"config": <node config or None for float>}``, or None when cancelled."""

    DEFAULT_CSS = """
    PrecisionEditor { align: center middle; }
    PrecisionEditor > Vertical { width: 76; height: auto; max-height: 90%; border: round $accent;
                                 background: $surface; padding: 0 1; }
    PrecisionEditor .row { height: 3; }
    PrecisionEditor #precision-fields { height: auto; }
    PrecisionEditor .heading { height: 1; color: $text-muted; }
    PrecisionEditor .heading Label { width: 1fr; padding: 0 2; }
    PrecisionEditor .operand { width: 10; padding: 1 0; }
    PrecisionEditor .field { width: 1fr; }
    PrecisionEditor #precision-check { height: auto; padding: 0 0 1 0; }
    PrecisionEditor #precision-check.error { color: $error; }
    PrecisionEditor #precision-help { color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="precision.cancel"),
        Binding("ctrl+s", "apply", "Apply", id="precision.apply"),
    ]

    def __init__(self, edits: PrecisionEdits, node: str) -> None:
        super().__init__()
        self.edits = edits
        self.node_name = node
        self.node = edits.node(node)
        current = edits.config_of(node)
        self.was_float = current is None
        # a float node opens on integer 8/4 (MASE's lab format): p then enter quantises it
        self.format = current["name"] if current else "integer"
        self.values = current or default_config(self.node)

    def compose(self) -> ComposeResult:
        with Vertical():
            now = "float now" if self.was_float else "edited"
            yield Label(f"[b]Precision of {self.node_name}[/] ({self.node.op}, {now})", id="precision-title")
            options = [("float (not quantised)", FLOAT)] + [(n, n) for n in quantizer_names()]
            yield Select(options, value=self.format, allow_blank=False, id="precision-format")
            yield Vertical(id="precision-fields")
            yield Static("", id="precision-check")
            yield Static("enter/ctrl+s apply · escape cancel · NA = the quantiser's default", id="precision-help")

    async def on_mount(self) -> None:
        await self._precision_build_fields()
        self._precision_check()

    # ------------------------------------------------------------------ form
    async def _precision_build_fields(self) -> None:
        box = self.query_one("#precision-fields", Vertical)
        await box.remove_children()
        if self.format == FLOAT:
            return
        heading = [Label("", classes="operand")] + [Label(suffix) for suffix in suffixes_of(self.format)]
        rows = [Horizontal(*heading, classes="heading")]
        for operand in operands_of(self.node):
            fields = [Label(operand, classes="operand")]
            for suffix in suffixes_of(self.format):
                key = f"{operand}_{suffix}"
                value = self.values.get(key, default_config(self.node, self.format).get(key))
                fields.append(Input(show_value(value), placeholder=suffix, id=f"field-{key}", classes="field",
                                    tooltip=suffix))
            rows.append(Horizontal(*fields, classes="row"))
        await box.mount_all(rows)

    def config(self) -> dict[str, Any] | None:
        if self.format == FLOAT:
            return None
        config: dict[str, Any] = {"name": self.format}
        for field in self.query(".field").results(Input):
            config[field.id.removeprefix("field-")] = parse_value(field.value)
        return config

    def _precision_check(self) -> bool:
        check = self.query_one("#precision-check", Static)
        config = self.config()
        if config is None:
            check.update("leaves the node in float")
            check.remove_class("error")
            return True
        try:
            self.edits.validate(self.node_name, config)
        except MaseError as exc:
            check.update(exc.one_line())
            check.add_class("error")
            return False
        check.update("valid")
        check.remove_class("error")
        return True

    @on(Select.Changed, "#precision-format")
    async def _precision_format_changed(self, event: Select.Changed) -> None:
        if event.value == self.format:
            return
        current = self.config()
        if current:
            self.values.update(current)
        self.format = str(event.value)
        if self.format != FLOAT:
            # keep the widths typed so far; the new quantiser's other keys start at its defaults
            fresh = default_config(self.node, self.format)
            self.values = {**fresh, **{k: v for k, v in self.values.items() if k.endswith("_width") and k in fresh}}
        await self._precision_build_fields()
        self._precision_check()

    @on(Input.Changed)
    def _precision_typed(self, event: Input.Changed) -> None:
        self._precision_check()

    @on(Input.Submitted)
    def _precision_submitted(self, event: Input.Submitted) -> None:
        self.action_apply()

    def action_apply(self) -> None:
        if self._precision_check():
            self.dismiss({"config": self.config()})
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
