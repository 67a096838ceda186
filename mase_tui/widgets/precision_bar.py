"""One line under the status bar while per-layer precisions are being edited: how many nodes,
BitOPs per sample against the float graph, parameter storage, average weight bits, and the
accuracy on the fixed evaluation subset before -> after with the delta (or its progress)."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from core.utils.tables import format_count


class PrecisionBar(Static):
    DEFAULT_CSS = """
    PrecisionBar { height: auto; max-height: 2; padding: 0 1; background: $boost; }
    """

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 - Textual's keyword
        super().__init__("", id=id)
        self.edited = 0
        self.cost: dict[str, Any] | None = None
        self.float_cost: dict[str, Any] | None = None
        self.accuracy: str = ""

    def show_cost(self, edited: int, cost: dict[str, Any], float_cost: dict[str, Any]) -> None:
        self.edited, self.cost, self.float_cost = edited, cost, float_cost
        self._precision_redraw()

    def show_accuracy(self, text: str) -> None:
        self.accuracy = text
        self._precision_redraw()

    def _precision_redraw(self) -> None:
        if self.cost is None:
            return
        c, f = self.cost, self.float_cost or {}
        ratio = f"{c['bitops'] / f['bitops']:.1%}" if f.get("bitops") else "-"
        line = Text()
        line.append(f"precision {self.edited} node(s)", style="bold")
        line.append(f" · BitOPs {format_count(c['bitops'])}/sample ({ratio} of float)")
        line.append(f" · storage {format_count(c['param_bits'])} b · avg {c['average_bits']:.2f} b")
        if self.accuracy:
            line.append(f" · {self.accuracy}")
        self.update(line)
