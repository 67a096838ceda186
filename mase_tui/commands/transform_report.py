"""What `transform` prints at the end: quantisation histogram, cost before/after, accuracy."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console

from core.utils.tables import format_count
from mase_tui.markup import PlainTable as Table
from mase_tui.markup import escape

_COST_ROWS = (
    ("totals_per_sample", "bitops", "BitOPs per sample"),
    ("totals_per_sample", "macs", "MACs per sample"),
    ("totals_model", "param_bits", "parameter storage bits"),
    ("totals_model", "param_bytes", "parameter storage bytes"),
)


def histogram_table(summary: dict[str, Any] | None) -> Table | None:
    """The summary pass's histogram rows (MASE's quantize_histogram.csv columns)."""
    rows = (summary or {}).get("histogram")
    if not rows:
        return None
    table = Table(title="Quantisation histogram", title_justify="left", box=box.SIMPLE_HEAD)
    if isinstance(rows[0], dict):
        headers = list(rows[0])
        cells = [[row.get(h) for h in headers] for row in rows]
    else:
        headers = list(summary.get("histogram_headers") or [f"col{i}" for i in range(len(rows[0]))])
        cells = rows
    for h in headers:
        table.add_column(str(h), justify="right" if all(isinstance(r[headers.index(h)], int) for r in cells) else "left")
    for row in cells:
        table.add_row(*("" if c is None else str(c) for c in row))
    return table


def cost_table(cmp: dict[str, Any]) -> Table:
    table = Table(title="Cost before / after", title_justify="left", box=box.SIMPLE_HEAD)
    for col, justify in (("metric", "left"), ("before", "right"), ("after", "right"), ("after / before", "right")):
        table.add_column(col, justify=justify)
    for scope, key, label in _COST_ROWS:
        pair = (cmp.get(scope) or {}).get(key)
        if not pair:
            continue
        ratio = "-" if pair["ratio"] is None else f"{pair['ratio']:.4f}"
        table.add_row(label, format_count(pair["a"]), format_count(pair["b"]), ratio)
    return table


def accuracy_line(acc: dict[str, Any] | None) -> str | None:
    if not acc:
        return None
    before, after = acc["before"], acc["after"]
    scope = f"{after['samples']} test samples of {acc['data']}"
    if acc.get("synthetic") and "synthetic" not in str(acc["data"]):
        scope += " (synthetic)"
    return (f"Accuracy before {before['accuracy'] * 100:.2f}% -> after {after['accuracy'] * 100:.2f}% "
            f"({(after['accuracy'] - before['accuracy']) * 100:+.2f} points) on {scope}")


def print_outcome(console: Console, session, outcome) -> None:
    hist = histogram_table(outcome.quant_summary)
    if hist is not None:
        console.print(hist)
    console.print(cost_table(outcome.cost_report))
    line = accuracy_line(outcome.accuracy)
    if line:
        console.print(escape(line))
    console.print(escape(f"Saved to {outcome.out_dir}: " + ", ".join(_top_level(outcome.files))))
    console.print("Transformation is completed")


def _top_level(files: list[str]) -> list[str]:
    """quantize/, cost/, transformed_ckpt/, report_graph.txt, ... (directories once)."""
    seen: dict[str, None] = {}
    for f in files:
        head, sep, _ = f.partition("/")
        seen[head + ("/" if sep else "")] = None
    return list(seen)
