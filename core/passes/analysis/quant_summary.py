"""summarize_quantization_analysis_pass: what quantisation changed, node by node and by type.

Two signatures, as MASE had both:
  ``summarize_quantization_analysis_pass(graph, {"original_graph": ori, "save_dir": d})``
  ``summarize_quantization_analysis_pass(ori_mg, mg, save_dir=d)`` (the lab notebook's)

The per-node table has MASE's columns (Ori name, New name, MASE_TYPE, Mase_OP, Original type,
Quantized type, Changed); the "Quantized graph histogram" groups it by Original type, sorted
in ASCII order as pandas' groupby does. Nodes are matched by name (transforms keep names),
then by position and fx op. Unlike MASE, a function replaced by a quantised function (F.relu ->
relu_integer) counts as changed: the comparison is on the target, not on ``type()`` of it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any, Sequence

from core.errors import PassError
from core.ir.classify import classify_node
from core.passes.schema import Arg, mase_pass
from core.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

TABLE_HEADERS = ("Ori name", "New name", "MASE_TYPE", "Mase_OP", "Original type", "Quantized type", "Changed")
HISTOGRAM_HEADERS = ("Original type", "OP", "Total", "Changed", "Unchanged")
TABLE_CSV = "quantize_table.csv"
HISTOGRAM_CSV = "quantize_histogram.csv"
SUMMARY_JSON = "quantize_summary.json"


# ------------------------------------------------------------------------ text table
def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def orgtbl(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """tabulate's ``orgtbl``: a column is as wide as its widest cell or its header + 2,
    numeric columns (and their headers) are right-aligned, text left-aligned."""
    body = [[str(v) for v in row] for row in rows]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]
    widths = [max([len(h) + 2] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(parts) + " |"

    out = [line(list(headers)), "|-" + "-+-".join("-" * w for w in widths) + "-|"]
    out += [line(r) for r in body]
    return "\n".join(out)


# ------------------------------------------------------------------------ rows
def _is_graph(value: Any) -> bool:
    return hasattr(value, "model") and hasattr(value.model, "graph")


def _type_label(model, node) -> str:
    if node.op == "call_module":
        try:
            return type(model.get_submodule(node.target)).__name__
        except AttributeError:
            return str(node.target)
    if node.op == "call_function":
        return getattr(node.target, "__name__", None) or type(node.target).__name__
    return str(node.target)


def _mase(model, node) -> tuple[str, str]:
    meta = node.meta.get("mase")
    common = meta.parameters.get("common", {}) if meta is not None else {}
    if common.get("mase_type") and common.get("mase_op"):
        return common["mase_type"], common["mase_op"]
    return classify_node(node, model)


def _changed(ori_model, ori, new_model, new) -> bool:
    if ori.op != new.op:
        return True
    if new.op == "call_module":
        a, b = ori_model.get_submodule(ori.target), new_model.get_submodule(new.target)
        return type(a) is not type(b) or getattr(a, "config", None) != getattr(b, "config", None)
    if new.op == "call_function":
        return ori.target is not new.target or ori.kwargs.get("config") != new.kwargs.get("config")
    return False


def _match(ori_nodes: list, new_nodes: list) -> list[tuple[Any, Any]]:
    """(original, current) pairs: by name first, then the same position with the same fx op."""
    by_name = {n.name: n for n in ori_nodes}
    new_names = {n.name for n in new_nodes}
    used: set = set()
    pairs: list[tuple[Any, Any]] = []
    for i, node in enumerate(new_nodes):
        ori = by_name.get(node.name)
        if ori is None and i < len(ori_nodes):
            cand = ori_nodes[i]
            if cand.op == node.op and cand.name not in new_names and cand not in used:
                ori = cand
        if ori is not None:
            used.add(ori)
        pairs.append((ori, node))
    pairs += [(n, None) for n in ori_nodes if n not in used]
    return pairs


def summary_rows(original, current) -> list[dict[str, Any]]:
    """One dict per node with the table's columns."""
    ori_model, new_model = original.model, current.model
    rows = []
    for ori, new in _match(list(ori_model.graph.nodes), list(new_model.graph.nodes)):
        ref = new if new is not None else ori
        ref_model = new_model if new is not None else ori_model
        mase_type, mase_op = _mase(ref_model, ref)
        changed = ori is None or new is None or _changed(ori_model, ori, new_model, new)
        rows.append({
            "Ori name": ori.name if ori is not None else "",
            "New name": new.name if new is not None else "",
            "MASE_TYPE": mase_type,
            "Mase_OP": mase_op,
            "Original type": _type_label(ori_model, ori) if ori is not None else "",
            "Quantized type": _type_label(new_model, new) if new is not None else "",
            "Changed": bool(changed),
        })
    return rows


def histogram_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row["Original type"]
        g = groups.setdefault(key, {"Original type": key, "OP": row["Mase_OP"], "Total": 0,
                                    "Changed": 0, "Unchanged": 0})
        g["Total"] += 1
        g["Changed" if row["Changed"] else "Unchanged"] += 1
    return [groups[k] for k in sorted(groups)]


# ------------------------------------------------------------------------ files
def _csv_text(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return buf.getvalue()


def _write_files(save_dir: str | Path, rows: list[dict], hist: list[dict]) -> dict[str, str]:
    directory = Path(save_dir)
    table = _csv_text(("",) + TABLE_HEADERS, [[i] + [r[h] for h in TABLE_HEADERS] for i, r in enumerate(rows)])
    histogram = _csv_text(HISTOGRAM_HEADERS, [[r[h] for h in HISTOGRAM_HEADERS] for r in hist])
    summary = json.dumps({"table": rows, "histogram": hist}, indent=2)
    files = {
        "table_csv": atomic_write_text(directory / TABLE_CSV, table),
        "histogram_csv": atomic_write_text(directory / HISTOGRAM_CSV, histogram),
        "json": atomic_write_text(directory / SUMMARY_JSON, summary + "\n"),
    }
    return {k: str(v) for k, v in files.items()}


# ------------------------------------------------------------------------ the pass
@mase_pass(
    "summarize_quantization_analysis_pass",
    kind="analysis",
    doc="Per-node table and histogram of what quantisation changed (quantize_table.csv, quantize_histogram.csv)",
    args=[
        Arg("original_graph", "object", None, "the graph before quantisation", supplied="original_graph"),
        Arg("save_dir", "path", None, "directory for the CSV and JSON files", output="quantize"),
    ],
    renderer="quant_summary",
)
def summarize_quantization_analysis_pass(graph, pass_args=None, save_dir: str | Path | None = None):
    """Compare the original and the quantised graph; returns ``(current_graph, info)``."""
    if _is_graph(pass_args):
        original, current = graph, pass_args
    else:
        if pass_args is not None and not isinstance(pass_args, dict):
            raise PassError(f"summarize_quantization: pass_args must be a dict, got {type(pass_args).__name__}")
        args = dict(pass_args or {})
        original, current = args.get("original_graph"), graph
        save_dir = args.get("save_dir", save_dir)
        if original is None:
            raise PassError("summarize_quantization needs the original graph",
                            hint="pass {'original_graph': ori_mg} or call it as (ori_mg, mg, save_dir=...)")
    if not _is_graph(original) or not _is_graph(current):
        raise PassError("summarize_quantization: both arguments must be MaseGraphs")
    rows = summary_rows(original, current)
    hist = histogram_rows(rows)
    table_text = orgtbl(TABLE_HEADERS, [[r[h] for h in TABLE_HEADERS] for r in rows])
    hist_text = orgtbl(HISTOGRAM_HEADERS, [[r[h] for h in HISTOGRAM_HEADERS] for r in hist])
    logger.debug("Compare nodes:\n%s", table_text)
    logger.info("Quantized graph histogram:\n%s", hist_text)
    files = _write_files(save_dir, rows, hist) if save_dir else {}
    changed = sum(1 for r in rows if r["Changed"])
    info = {"table": rows, "histogram": hist, "text": {"table": table_text, "histogram": hist_text},
            "changed": changed, "unchanged": len(rows) - changed, "files": files}
    return current, info
