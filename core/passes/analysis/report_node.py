"""Node reports: types, shapes and the metadata table (MASE's report_node_* passes)."""

from __future__ import annotations

import logging
import pprint
from pathlib import Path
from typing import Any

import torch

from core.errors import PassError
from core.ir.metadata import read_mase
from core.passes.schema import Arg, mase_pass
from core.utils.atomic import atomic_write_text
from core.utils.plain import to_plain
from core.utils.tables import grid, simple

logger = logging.getLogger(__name__)

WHICH = ("all", "common", "hardware", "software")


def _short(value: Any) -> Any:
    """Metadata with tensors summarised, so tables stay readable."""
    if isinstance(value, torch.Tensor):
        return f"tensor(shape={list(value.shape)}, dtype={value.dtype})"
    if isinstance(value, dict):
        return {k: _short(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_short(v) for v in value)
    return value


def _save(text: str, save_path) -> str | None:
    if not save_path:
        return None
    atomic_write_text(Path(save_path), text + "\n")
    return str(save_path)


@mase_pass(
    "report_node_type_analysis_pass",
    kind="analysis",
    doc="Table of node name, fx op, MASE type and op, value type",
    args=[Arg("save_path", "path", None, "also write the table to this file", output="report/node_type.txt")],
    renderer="node_type",
)
def report_node_type_analysis_pass(graph, pass_args=None):
    pass_args = dict(pass_args or {})
    headers = ["Node name", "Fx Node op", "Mase type", "Mase op", "Value type"]
    rows = []
    for node in graph.fx_graph.nodes:
        common = read_mase(node).parameters["common"]
        value_type = common.get("args", {}).get("data_in_0", {})
        value_type = value_type.get("type", "NA") if isinstance(value_type, dict) else "NA"
        rows.append([node.name, node.op, common.get("mase_type"), common.get("mase_op"), value_type])
    text = simple(headers, rows)
    logger.info("Inspecting graph [add_common_node_type_analysis_pass]\n%s", text)
    info = {"headers": headers, "rows": rows, "text": text, "file": _save(text, pass_args.get("save_path"))}
    return graph, info


@mase_pass(
    "report_node_shape_analysis_pass",
    kind="analysis",
    doc="Input and output shapes of every node",
    args=[Arg("save_path", "path", None, "also write the report to this file", output="report/node_shape.txt")],
)
def report_node_shape_analysis_pass(graph, pass_args=None):
    pass_args = dict(pass_args or {})
    rows = []
    blocks = []
    for node in graph.fx_graph.nodes:
        common = read_mase(node).parameters["common"]
        ins = {}
        for name, entry in common.get("args", {}).items():
            ins[name] = entry.get("shape") if isinstance(entry, dict) and "shape" in entry else entry
        outs = {name: entry.get("shape") for name, entry in common.get("results", {}).items()}
        rows.append({"name": node.name, "in": ins, "out": outs})
        lines = [f"{node.name}:", "in:"] + [f"{k} = {v}" for k, v in ins.items()]
        lines += ["out:"] + [f"{k} = {v}" for k, v in outs.items()]
        blocks.append("\n".join(lines))
    text = "\n".join(blocks)
    logger.info("Inspecting graph [add_common_node_shape_analysis_pass]\n%s", text)
    return graph, {"rows": _short(rows), "text": text, "file": _save(text, pass_args.get("save_path"))}


@mase_pass(
    "report_node_meta_param_analysis_pass",
    kind="analysis",
    doc="Table of each node's common/software/hardware metadata",
    args=[
        Arg("which", "list|str", ["all"], "any of all, common, software, hardware",
            choices=("all", "common", "hardware", "software")),
        Arg("save_path", "path", None, "also write the table to this file", output="report/node_meta_param.txt"),
    ],
)
def report_node_meta_param_analysis_pass(graph, pass_args=None):
    pass_args = dict(pass_args or {})
    which = pass_args.get("which", ("all",))
    if isinstance(which, str):
        which = (which,)
    if not isinstance(which, (list, tuple)) or not which or any(w not in WHICH for w in which):
        raise PassError(f"report_node_meta_param: bad 'which' {which!r}", hint=f"use a list of {', '.join(WHICH)}")
    show = [w for w in ("common", "hardware", "software") if "all" in which or w in which]
    headers = ["Node name", "Fx Node op", "Mase type", "Mase op"] + [f"{w.capitalize()} Param" for w in show]
    rows, data = [], []
    for node in graph.fx_graph.nodes:
        params = read_mase(node).parameters
        common = params["common"]
        row = [node.name, node.op, common.get("mase_type"), common.get("mase_op")]
        entry = {"name": node.name, "op": node.op, "mase_type": common.get("mase_type"), "mase_op": common.get("mase_op")}
        for w in show:
            short = _short(params.get(w, {}))
            row.append(pprint.pformat(short, width=80, sort_dicts=True))
            entry[w] = short
        rows.append(row)
        data.append(entry)
    text = grid(headers, rows)
    logger.info("Inspecting graph [add_common_meta_param_analysis_pass]\n%s", text)
    saved = _save(text, pass_args.get("save_path"))
    if saved:
        logger.info("Node meta param table is saved to %s", saved)
    return graph, {"which": list(which), "nodes": to_plain(data), "text": text, "file": saved}
