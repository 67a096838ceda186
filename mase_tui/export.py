"""Reports the app exports with ``e``: one table plus context, written as JSON, CSV or Markdown.

No Textual here: the app picks which report matches the visible tab, these functions build
and write it. A pane can supply its own by defining ``export_report() -> Report``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.utils.atomic import atomic_write_text
from core.utils.plain import to_plain

FORMATS = {"json": ".json", "csv": ".csv", "md": ".md"}


@dataclass
class Report:
    name: str  # short, used in the file name: "nodes", "costs", "pass-quantize"
    title: str
    columns: list[str]
    rows: list[list[Any]]
    meta: dict[str, Any] = field(default_factory=dict)  # model, data, graph state, ...
    extra: dict[str, Any] = field(default_factory=dict)  # full data for JSON (e.g. a pass's info)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def to_json(report: Report) -> str:
    payload = {
        "title": report.title,
        "meta": to_plain(report.meta),
        "columns": report.columns,
        "rows": [dict(zip(report.columns, to_plain(row), strict=False)) for row in report.rows],
    }
    if report.extra:
        payload["data"] = to_plain(report.extra)
    return json.dumps(payload, indent=2) + "\n"


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(report.columns)
    for row in report.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    lines = [f"# {report.title}", ""]
    for key, value in report.meta.items():
        lines.append(f"- **{key}**: {_md_escape(_cell(value))}")
    if report.meta:
        lines.append("")
    lines.append("| " + " | ".join(_md_escape(c) for c in report.columns) + " |")
    lines.append("|" + "|".join("---" for _ in report.columns) + "|")
    for row in report.rows:
        lines.append("| " + " | ".join(_md_escape(_cell(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


WRITERS = {"json": to_json, "csv": to_csv, "md": to_markdown}


def report_filename(report: Report, model: str, fmt: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"mase-tui-{model}-{report.name}").strip("-")
    return stem + FORMATS[fmt]


def write_report(report: Report, fmt: str, directory: Path, model: str) -> Path:
    """Write the report; an existing file is never overwritten (-1, -2, ... are appended)."""
    if fmt not in WRITERS:
        raise ValueError(f"unknown export format {fmt!r}; use one of {', '.join(WRITERS)}")
    base = directory / report_filename(report, model, fmt)
    path, n = base, 0
    while path.exists():
        n += 1
        path = base.with_name(f"{base.stem}-{n}{base.suffix}")
    atomic_write_text(path, WRITERS[fmt](report))
    return path


# ------------------------------------------------------------------------ report builders
def session_meta(session) -> dict[str, Any]:
    from mase_tui.widgets.graph_overview import graph_state

    return {
        "model": session.model_name,
        "weights": session.weights_source,
        "data": session.data_label,
        "synthetic": session.synthetic,
        "graph": graph_state(session),
        "passes": [run.name for run in session.history],
    }


COST_COLUMNS = ("macs", "flops_total", "bitops", "params", "param_bits")


def nodes_report(session, cost_info: dict | None = None) -> Report:
    """Every node of the current graph: ops, output shape and precision, and its cost if known."""
    from core.ir.view import node_views
    from mase_tui.node_index import node_rows

    rows = node_rows(session.current)
    views = {v.name: v for v in node_views(session.current)}
    costs = {n["name"]: n for n in (cost_info or {}).get("nodes", [])}
    columns = ["name", "fx_op", "mase_type", "mase_op", "module", "module_class", "out_shape", "out_type",
               "out_precision", "precisions"]
    if costs:
        columns += [f"{c} (per sample)" if c in ("macs", "flops_total", "bitops") else c for c in COST_COLUMNS]
    table = []
    for row in rows:
        # every arg and result: a quantised Linear's output stays float, its inputs and weights do not
        view = views.get(row.name)
        precisions = "; ".join(f"{k} {v}" for k, v in view.precisions.items()) if view is not None else ""
        line = [row.name, row.op, row.mase_type, row.mase_op, row.target if row.op == "call_module" else "",
                row.module_class or "", row.out_shape, row.value_type, row.out_label, precisions]
        if costs:
            cost = costs.get(row.name, {})
            line += [cost.get(c) for c in COST_COLUMNS]
        table.append(line)
    meta = session_meta(session)
    meta["nodes"] = len(rows)
    if cost_info:
        meta["cost totals per sample"] = cost_info.get("totals_per_sample")
        meta["cost totals per model"] = cost_info.get("totals_model")
    return Report("nodes", f"Nodes of {session.model_name} ({meta['graph']} graph)", columns, table, meta)


def cost_report(session, cost_info: dict) -> Report:
    columns = ["name", "mase_op", "module", "rule", "macs", "flops_core", "flops_elementwise", "flops_total",
               "bitops", "act_bits", "params", "param_bits", "formula"]
    rows = [[n.get(c) for c in columns] for n in cost_info.get("nodes", [])]
    meta = session_meta(session)
    meta["unit"] = "per sample (params and param_bits: per model)"
    meta["totals per sample"] = cost_info.get("totals_per_sample")
    meta["totals per model"] = cost_info.get("totals_model")
    return Report("costs", f"Cost of {session.model_name} ({meta['graph']} graph)", columns, rows, meta,
                  extra={"cost_analysis_pass": cost_info})


COMPARE_METRICS = ("macs", "flops_total", "bitops", "param_bits")


def comparison_report(session, comparison: dict, accuracy: dict | None = None) -> Report:
    """What the Costs tab shows: per node the original and current cost with delta and ratio,
    the precisions, and in the meta the totals (original / current / delta) and the accuracy
    before/after when it was evaluated."""
    columns = ["name", "mase_op", "status", "precision original", "precision current"]
    for metric in COMPARE_METRICS:
        columns += [f"{metric} original", f"{metric} current", f"{metric} delta"]
    columns.append("bitops ratio")
    rows = []
    for node in comparison["nodes"]:
        row = [node["name"], node["mase_op"], node["status"],
               _precisions(node.get("precision_a")), _precisions(node.get("precision_b"))]
        for metric in COMPARE_METRICS:
            pair = node.get(metric) or {}
            row += [pair.get("a"), pair.get("b"), pair.get("delta")]
        row.append(node.get("bitops_ratio"))
        rows.append(row)
    meta = session_meta(session)
    meta["unit"] = "per sample (param_bits: per model); delta = current - original, ratio = current / original"
    meta["totals per sample"] = {k: {"original": v["a"], "current": v["b"], "delta": v["delta"]}
                                 for k, v in comparison["totals_per_sample"].items()}
    meta["totals per model"] = {k: {"original": v["a"], "current": v["b"], "delta": v["delta"]}
                                for k, v in comparison["totals_model"].items()}
    meta["changed nodes"] = comparison.get("changed_nodes", [])
    if accuracy:
        meta["accuracy"] = {which: {k: result.get(k) for k in ("accuracy", "samples", "data", "split")}
                            for which, result in accuracy.items()}
    return Report("costs", f"Cost of {session.model_name}: original vs current ({meta['graph']})", columns, rows,
                  meta, extra={"compare": comparison})


def _precisions(precision: Any) -> str:
    """{"data_in_0": "integer[8,4]", ...} as one cell."""
    if isinstance(precision, dict):
        return "; ".join(f"{k} {v}" for k, v in precision.items())
    return "" if precision is None else str(precision)


def pass_report(session, run) -> Report:
    """The latest pass run: its info as key/value rows (JSON keeps the whole info)."""
    info = run.info or {}
    rows = []
    for key, value in info.items():
        shown = value if isinstance(value, (str, int, float, bool)) or value is None else json.dumps(to_plain(value))
        if isinstance(shown, str) and len(shown) > 500:
            shown = shown[:500] + " ..."
        rows.append([key, shown])
    meta = session_meta(session)
    meta.update({"pass": run.name, "ok": run.ok, "error": run.error, "seconds": round(run.seconds, 3),
                 "args": to_plain(run.args)})
    return Report(f"pass-{run.name}", f"{run.name} on {session.model_name}", ["key", "value"], rows, meta,
                  extra={"info": info})
