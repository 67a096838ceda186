"""A scatter plot drawn with braille cells: each terminal cell is a 2x4 grid of dots, so an
80x24 terminal gets 8x the resolution of one mark per cell, with no plotting dependency.

``braille_cells`` is the plain function (tested by hand-drawn plots); ``BraillePlot`` is the
widget the Search tab shows. A cell holding a highlighted point is drawn in the highlight
style (the Pareto front), so a highlighted dot is never hidden by an ordinary one.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

BRAILLE_BASE = 0x2800
# the Unicode bit of the dot at (column, row) of a cell: columns 0-1, rows 0-3 (top to bottom)
DOT_BITS = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (0, 3): 0x40,
            (1, 0): 0x08, (1, 1): 0x10, (1, 2): 0x20, (1, 3): 0x80}


@dataclass(frozen=True)
class PlotPoint:
    x: float
    y: float
    highlight: bool = False


def _pixel(value: float, lo: float, hi: float, pixels: int) -> int:
    """The dot index of ``value`` on an axis of ``pixels`` dots; a flat range maps to the middle."""
    if hi <= lo:
        return (pixels - 1) // 2
    return min(pixels - 1, max(0, round((value - lo) / (hi - lo) * (pixels - 1))))


def axis_range(values: list[float]) -> tuple[float, float]:
    return (min(values), max(values)) if values else (0.0, 1.0)


def braille_cells(points: list[PlotPoint], width: int, height: int,
                  x_range: tuple[float, float] | None = None,
                  y_range: tuple[float, float] | None = None) -> list[tuple[str, list[bool]]]:
    """``height`` rows of ``width`` braille characters, each row with a per-cell "holds a
    highlighted point" flag. x grows to the right, y grows upwards; the ranges default to the
    points' own, so the extreme points sit on the plot's edges."""
    xs = x_range or axis_range([p.x for p in points])
    ys = y_range or axis_range([p.y for p in points])
    bits = [[0] * width for _ in range(height)]
    marked = [[False] * width for _ in range(height)]
    for p in points:
        px = _pixel(p.x, xs[0], xs[1], 2 * width)
        py = 4 * height - 1 - _pixel(p.y, ys[0], ys[1], 4 * height)  # row 0 is the top
        row, col = py // 4, px // 2
        bits[row][col] |= DOT_BITS[(px % 2, py % 4)]
        marked[row][col] = marked[row][col] or p.highlight
    return [("".join(chr(BRAILLE_BASE + b) for b in line), flags) for line, flags in zip(bits, marked, strict=True)]


def short_number(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


class BraillePlot(Widget):
    """Scatter plot of (x, y) points; the first line names the axes and their ranges."""

    DEFAULT_CSS = """
    BraillePlot { height: 8; padding: 0 1; }
    """

    def __init__(self, *, x_label: str = "x", y_label: str = "y", id: str | None = None) -> None:
        super().__init__(id=id)
        self.x_label = x_label
        self.y_label = y_label
        self.points: list[PlotPoint] = []

    def set_points(self, points: list[PlotPoint], *, x_label: str | None = None, y_label: str | None = None) -> None:
        self.points = list(points)
        self.x_label = x_label or self.x_label
        self.y_label = y_label or self.y_label
        self.refresh()

    def render(self) -> Text:
        width = max(1, self.content_size.width)
        height = max(1, self.content_size.height - 1)
        if not self.points:
            return Text(f"{self.y_label} vs {self.x_label}: no trials yet", style="dim")
        xs = axis_range([p.x for p in self.points])
        ys = axis_range([p.y for p in self.points])
        out = Text(no_wrap=True, overflow="crop")
        out.append(f"↑ {self.y_label} {short_number(ys[0])}–{short_number(ys[1])}  "
                   f"→ {self.x_label} {short_number(xs[0])}–{short_number(xs[1])}  ", style="dim")
        out.append("● Pareto", style="bold yellow")
        for line, flags in braille_cells(self.points, width, height, xs, ys):
            out.append("\n")
            for char, flag in zip(line, flags, strict=True):
                out.append(char, style="bold yellow" if flag else "")
        return out
