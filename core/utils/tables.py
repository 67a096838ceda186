"""Plain-text tables in the layouts MASE's reports use (tabulate's grid, orgtbl and simple),
and the cell formats the cost reports share (counts, precision labels).

Written here so that core needs neither tabulate nor pandas.
"""

from __future__ import annotations

from typing import Any, Sequence


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _cells(rows: Sequence[Sequence[Any]]) -> list[list[list[str]]]:
    return [[str(c).split("\n") for c in row] for row in rows]


def _widths(headers: Sequence[str], body: list[list[list[str]]]) -> list[int]:
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in cell))
    return widths


def orgtbl(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``| a | b |`` rows under a ``|---+---|`` rule; numbers right-aligned (tabulate orgtbl)."""
    numeric = [bool(rows) and all(_is_number(r[i]) for r in rows) for i in range(len(headers))]
    body = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if numeric[i] else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    header_parts = [h.rjust(w) if numeric[i] else h.ljust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True))]
    out = ["| " + " | ".join(header_parts) + " |", "|-" + "-+-".join("-" * w for w in widths) + "-|"]
    out += [line(r) for r in body]
    return "\n".join(out)


def grid(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """tabulate's grid layout, multi-line cells supported."""
    body = _cells(rows)
    widths = _widths(headers, body)

    def rule(ch: str) -> str:
        return "+" + "+".join(ch * (w + 2) for w in widths) + "+"

    def lines(cell_rows: list[list[str]]) -> list[str]:
        height = max(len(c) for c in cell_rows)
        out = []
        for k in range(height):
            parts = [(c[k] if k < len(c) else "").ljust(w) for c, w in zip(cell_rows, widths, strict=True)]
            out.append("| " + " | ".join(parts) + " |")
        return out

    out = [rule("-")] + lines([[h] for h in headers]) + [rule("=")]
    for row in body:
        out += lines(row) + [rule("-")]
    return "\n".join(out)


def simple(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    body = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in body]
    return "\n".join(out)


def format_count(value: Any, decimals: int = 2) -> str:
    """A count for a table cell: thousands separators, ``decimals`` places only for a
    fractional float, "-" for None."""
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.{decimals}f}"
    return f"{int(value):,}"
