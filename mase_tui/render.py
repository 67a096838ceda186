"""Rich renderables for pass results, shared by the CLI and the app.

``render_pass_result(name, info)`` picks the renderer registered for the pass in RENDERERS, or
a generic one that shows the report text or a key/value table.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from rich import box
from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text

from core.ir.view import format_precision, join_precisions
from core.utils.plain import to_plain
from core.utils.tables import format_count
from mase_tui.markup import PlainTable as Table


def _text_block(info: dict[str, Any]) -> RenderableType:
    return Text(info["text"], no_wrap=True, overflow="ellipsis")


def render_report_graph(info: dict[str, Any]) -> RenderableType:
    overview = Table(title="Network overview", title_justify="left", show_header=True)
    for op in info["overview"]:
        overview.add_column(op, justify="right")
    overview.add_row(*(str(v) for v in info["overview"].values()))
    layers = Table(title="Layer types", title_justify="left", show_header=False)
    layers.add_column("layer", overflow="fold")
    for layer in info["layer_types"]:
        layers.add_row(layer)
    parts = [Syntax(info["graph_text"], "text", word_wrap=False), overview, layers]
    capture = info.get("capture") or {}
    if capture:
        parts.append(Text(f"Captured with: {capture.get('reason', capture.get('tracer'))}"))
    return Group(*parts)


def render_node_type(info: dict[str, Any]) -> RenderableType:
    table = Table(title="Node types", title_justify="left")
    for h in info["headers"]:
        table.add_column(h)
    for row in info["rows"]:
        table.add_row(*(str(c) for c in row))
    return table


def render_verify_metadata(info: dict[str, Any]) -> RenderableType:
    if info.get("ok"):
        return Text(f"metadata OK: {info['checked_nodes']} nodes checked", style="green")
    table = Table(title=f"{len(info['problems'])} metadata problem(s)", title_justify="left")
    table.add_column("node")
    table.add_column("problem", overflow="fold")
    for p in info["problems"]:
        table.add_row(p["node"], p["problem"])
    return table


def render_generic(info: dict[str, Any]) -> RenderableType:
    """Any pass's info (user passes too): report text as is, else a key/value table, with each
    list of records (dicts with the same keys, e.g. one per node) drawn as a table of its own."""
    if isinstance(info.get("text"), str):
        return _text_block(info)
    if not info:
        return Text("(no result data)", style="dim")
    table = Table(show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value", overflow="fold")
    records = []
    for key, value in info.items():
        if _is_records(value):
            records.append(_records_table(str(key), value))
            continue
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(shown) > 2000:
            shown = shown[:2000] + " ..."
        table.add_row(str(key), shown)
    return Group(table, *records) if records else table


_MAX_RECORD_ROWS = 500


def _is_records(value: Any) -> bool:
    return (isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)
            and all(v.keys() == value[0].keys() for v in value))


def _records_table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in rows[0]:
        numeric = all(isinstance(r[column], (int, float)) and not isinstance(r[column], bool) for r in rows)
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in rows[:_MAX_RECORD_ROWS]:
        table.add_row(*(v if isinstance(v, str) else json.dumps(v, default=str) for v in row.values()))
    if len(rows) > _MAX_RECORD_ROWS:
        table.caption = f"first {_MAX_RECORD_ROWS} of {len(rows)} rows"
    return table


# ---------------------------------------------------------------- cost_analysis_pass
def _num(value: Any) -> str:
    return format_count(value, decimals=1)


def _short(value: Any) -> str:
    """Exact below 100k, else 4 significant digits with k/M/G/T (the totals table stays exact)."""
    if value is None:
        return "-"
    if abs(value) < 100_000:
        return _num(value)
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.4g}{suffix}"
    return _num(value)


def _ratio(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}x"


def _precisions(precision: dict[str, str]) -> str:
    return join_precisions(precision, short=True)


def _fit_table(title: str, headers: list[str], rows: list[tuple[list[str], str | None]],
               shrink: int = 2) -> Table:
    """A table whose value columns never truncate: only the first ``shrink`` columns (names)
    give way on a narrow terminal; value headers wrap instead."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for i, header in enumerate(headers):
        if i < shrink:
            table.add_column(header, overflow="ellipsis", min_width=6)
        else:
            width = max([len(cells[i]) for cells, _ in rows] + [len(w) for w in header.split()])
            table.add_column(header.replace(" ", "\n"), justify="left" if header.startswith("precision") else "right",
                             min_width=width, no_wrap=True)
    for cells, style in rows:
        table.add_row(*cells, style=style)
    return table


_COST_TOTAL_ROWS = (
    ("macs", "MACs"), ("flops_core", "FLOPs core (2 x MACs)"), ("flops_elementwise", "FLOPs elementwise"),
    ("flops_total", "FLOPs total"), ("bitops", "BitOPs"), ("bitops_uniq", "BitOPs UNIQ"),
    ("act_bytes", "activation bytes"),
)


def render_cost(info: dict[str, Any]) -> RenderableType:
    batch, dummy, uniq = info["batch_size"], info["dummy_batch_size"], info.get("uniq", False)
    head = Text(f"Costs per sample; per-batch figures for a batch of {batch} "
                f"(metadata from a dummy batch of {dummy}). BitOPs = MACs x b(input) x b(weight).", style="dim")
    totals = Table(title="Totals", title_justify="left")
    totals.add_column("metric")
    totals.add_column("per sample", justify="right")
    totals.add_column(f"per batch of {batch}", justify="right")
    for key, label in _COST_TOTAL_ROWS:
        if key == "bitops_uniq" and not uniq:
            continue
        totals.add_row(label, _num(info["totals_per_sample"][key]), _num(info["totals_per_batch"][key]))
    model = info["totals_model"]
    totals.add_row("parameters (per model)", _num(model["params"]), "")
    totals.add_row("parameter storage bytes (per model)", _num(model["param_bytes"]), "")

    columns = ["node", "op", "MACs", "FLOPs elem", "BitOPs"] + (["BitOPs UNIQ"] if uniq else [])
    columns += ["params", "param bits", "precision"]
    hidden = 0
    rows = []
    for row in info["nodes"]:
        if row["rule"] == "zero" and not row["params"]:
            hidden += 1
            continue
        cells = [row["name"], row["mase_op"], _short(row["macs"]), _short(row["flops_elementwise"]), _short(row["bitops"])]
        cells += [_short(row["bitops_uniq"])] if uniq else []
        cells += [_short(row["params"]), _short(row["param_bits"]), _precisions(row["precision"])]
        rows.append((cells, "yellow" if row["rule"] == "unruled" else None))
    nodes = _fit_table("Per node (per sample; params per model; FLOPs core = 2 x MACs; k/M/G/T = 1e3/1e6/1e9/1e12)",
                       columns, rows)
    parts: list[RenderableType] = [head, totals, nodes]
    if hidden:
        parts.append(Text(f"{hidden} zero-cost node(s) by rule not shown: "
                          + ", ".join(f"{op} x{n}" for op, n in info.get("zero_cost_ops", {}).items()), style="dim"))
    for warning in info.get("warnings", []):
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def render_cost_compare(cmp: dict[str, Any]) -> RenderableType:
    """A compare_costs result: totals and the nodes whose cost changed."""
    a, b = cmp["labels"]["a"], cmp["labels"]["b"]
    totals = Table(title=f"Totals per sample (parameters per model): {a} vs {b}", title_justify="left")
    for col in ("metric", a, b, "ratio", "delta"):
        totals.add_column(col, justify="left" if col == "metric" else "right")
    for key, label in _COST_TOTAL_ROWS:
        pair = cmp["totals_per_sample"][key]
        if pair["a"] is None and pair["b"] is None:
            continue
        totals.add_row(label, _num(pair["a"]), _num(pair["b"]), _ratio(pair["ratio"]), _num(pair["delta"]))
    for key, label in (("params", "parameters"), ("param_bits", "parameter bits")):
        pair = cmp["totals_model"][key]
        totals.add_row(label, _num(pair["a"]), _num(pair["b"]), _ratio(pair["ratio"]), _num(pair["delta"]))
    rows = []
    for row in cmp["nodes"]:
        if row["status"] == "unchanged":
            continue
        change = f"{_precisions(row['precision_a']) or '-'} -> {_precisions(row['precision_b']) or '-'}"
        rows.append(([row["name"], row["mase_op"], change, _short(row["bitops"]["a"]), _short(row["bitops"]["b"]),
                      _ratio(row["bitops_ratio"]), _ratio(row["storage_ratio"]), _short(row["flops_delta"])], None))
    headers = ["node", "op", "precision a -> b", "BitOPs a", "BitOPs b", "BitOPs ratio", "storage ratio", "FLOPs b-a"]
    nodes = _fit_table(f"Changed nodes (per sample; a = {a}, b = {b}, ratio = b/a)", headers, rows)
    if not nodes.row_count:
        return Group(totals, Text("no node changed cost", style="dim"))
    return Group(totals, nodes)


def render_quantize(info: dict[str, Any]) -> RenderableType:
    table = Table(title=f"Quantised {info['counts']['quantized']} node(s) by {info['by']}", title_justify="left")
    for col in ("node", "op", "before", "after", "precision (args)"):
        table.add_column(col, overflow="fold")
    for row in info["quantized"]:
        precisions = ", ".join(f"{arg} {format_precision(m['type'], m['precision'])}"
                               for arg, m in row.get("metadata", {}).items())
        table.add_row(row["name"], row["op"], str(row["before"]), str(row["after"]), precisions)
    parts: list[RenderableType] = [table]
    if info.get("skipped"):
        parts.append(Text(f"{len(info['skipped'])} quantisable node(s) left in float: "
                          + ", ".join(r["name"] for r in info["skipped"]), style="dim"))
    for warning in info.get("warnings", []):
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def render_quant_summary(info: dict[str, Any]) -> RenderableType:
    table = Table(title="Quantized graph histogram", title_justify="left")
    for col in ("Original type", "OP", "Total", "Changed", "Unchanged"):
        table.add_column(col, justify="right" if col in ("Total", "Changed", "Unchanged") else "left")
    for row in info["histogram"]:
        style = "bold" if row["Changed"] else None
        table.add_row(str(row["Original type"]), str(row["OP"]), str(row["Total"]), str(row["Changed"]),
                      str(row["Unchanged"]), style=style)
    parts: list[RenderableType] = [table]
    files = info.get("files") or {}
    if files:
        parts.append(Text("written: " + ", ".join(str(f) for f in (files.values() if isinstance(files, dict) else files)), style="dim"))
    return Group(*parts)


def _stat_text(values: dict[str, Any]) -> str:
    return "  ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
                     if not isinstance(v, (list, dict)))


def render_profile_statistics(info: dict[str, Any]) -> RenderableType:
    table = Table(title=f"Statistics over {info['num_samples']} samples ({info['num_batches']} batches)",
                  title_justify="left")
    for col in ("node", "entry", "statistic", "values"):
        table.add_column(col, overflow="fold")
    for node, entries in info["stats"].items():
        for entry, stats in entries.items():
            for stat, values in stats.items():
                table.add_row(node, entry, stat, _stat_text(values) if isinstance(values, dict) else str(values))
    parts: list[RenderableType] = [table]
    for warning in info.get("warnings", []):
        parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)


def render_verify_quant(info: dict[str, Any]) -> RenderableType:
    ok = info.get("all_on_grid")
    title = f"{len(info['nodes'])} quantised node(s), {info.get('checked', '?')} operands: " + ("all values on the grid" if ok else "OFF-GRID values found")
    table = Table(title=title, title_justify="left", title_style="green" if ok else "red")
    for col in ("node", "arg", "grid", "on grid", "distinct", "max |err|", "SQNR dB"):
        table.add_column(col, overflow="fold", justify="right" if col in ("distinct", "max |err|", "SQNR dB") else "left")
    for node in info["nodes"]:
        for op in node.get("operands", []):
            sqnr = op.get("sqnr_db")
            table.add_row(node["name"], op["arg"], str(op.get("grid", "")), "yes" if op.get("on_grid") else f"no ({op.get('off_grid')})",
                          str(op.get("distinct", "")), f"{op.get('max_abs_error', 0):.4g}",
                          "inf" if sqnr is None or sqnr == float("inf") else f"{sqnr:.1f}")
    return table


# Renderer names a pass's declaration may give (``renderer="cost"``, see core.passes.schema).
RENDERERS: dict[str, Callable[[dict[str, Any]], RenderableType]] = {
    "generic": render_generic,
    "report_graph": render_report_graph,
    "node_type": render_node_type,
    "verify_metadata": render_verify_metadata,
    "cost": render_cost,
    "quantize": render_quantize,
    "quant_summary": render_quant_summary,
    "profile_statistics": render_profile_statistics,
    "verify_quant": render_verify_quant,
}


def renderer_for(name: str) -> Callable[[dict[str, Any]], RenderableType]:
    """The renderer the pass declares (a name in RENDERERS or a user pass's own callable)."""
    from core.passes.registry import PASSES

    spec = PASSES.get(name)
    declared = spec.renderer if spec is not None else "generic"
    if callable(declared):
        return declared
    return RENDERERS.get(declared, render_generic)


def render_pass_result(name: str, info: dict[str, Any]) -> RenderableType:
    renderer = renderer_for(name)
    try:
        return renderer(info)
    except (KeyError, TypeError):
        return render_generic(info)


def plain_info(info: Any) -> Any:
    """JSON-safe copy of a pass's info (tensors as lists, other objects as text)."""
    return to_plain(info)
