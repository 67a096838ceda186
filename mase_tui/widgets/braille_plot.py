"""A scatter plot drawn with braille cells (2 x 4 dots a character), for accuracy vs BitOPs.

Points of the Pareto front are drawn in the accent colour on top of the others; axes are
labelled with the ranges. Pure rich, so it renders in any terminal at any size.
"""

from __future__ import annotations

from rich.text import Text

# dot (column, row) inside a cell -> braille bit
_BITS = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08, (1, 1): 0x10, (1, 2): 0x20,
         (0, 3): 0x40, (1, 3): 0x80}


def _fmt(value: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.3g}"


def braille_scatter(points: list[tuple[float, float]], highlight: list[tuple[float, float]], *,
                    width: int = 60, height: int = 12, x_label: str = "x", y_label: str = "y") -> Text:
    """``points`` and ``highlight`` as (x, y); ``width`` x ``height`` characters of plot."""
    every = points + highlight
    if not every:
        return Text("no trials yet", style="dim")
    xs, ys = [p[0] for p in every], [p[1] for p in every]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    dots_w, dots_h = width * 2, height * 4
    cells = [[0] * width for _ in range(height)]
    owner = [[""] * width for _ in range(height)]

    def put(x: float, y: float, style: str) -> None:
        cx = 0 if x1 == x0 else round((x - x0) / (x1 - x0) * (dots_w - 1))
        cy = 0 if y1 == y0 else round((y1 - y) / (y1 - y0) * (dots_h - 1))
        row, col = cy // 4, cx // 2
        cells[row][col] |= _BITS[(cx % 2, cy % 4)]
        if style == "front" or not owner[row][col]:
            owner[row][col] = style

    for x, y in points:
        put(x, y, "point")
    for x, y in highlight:
        put(x, y, "front")
    out = Text()
    label_w = max(len(_fmt(y1)), len(_fmt(y0)))
    for r in range(height):
        axis = _fmt(y1) if r == 0 else (_fmt(y0) if r == height - 1 else "")
        out.append(axis.rjust(label_w) + " │", style="dim")
        for c in range(width):
            bits = cells[r][c]
            if not bits:
                out.append(" ")
            else:
                out.append(chr(0x2800 + bits), style="bold green" if owner[r][c] == "front" else "")
        out.append("\n")
    out.append(" " * label_w + " └" + "─" * width + "\n", style="dim")
    left, right = _fmt(x0), _fmt(x1)
    out.append(" " * (label_w + 2) + left + x_label.center(max(1, width - len(left) - len(right))) + right,
               style="dim")
    out.append(f"\n{y_label} (y) vs {x_label} (x); ", style="dim")
    out.append("⣿ Pareto front", style="bold green")
    return out
