"""report_graph_analysis_pass: fx graph text, opcode counts ("Network overview") and layer types."""

from __future__ import annotations

import logging
from pathlib import Path

from core.passes.schema import Arg, mase_pass
from core.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)

OPCODES = ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output")


def graph_report(graph) -> dict:
    counts = {op: 0 for op in OPCODES}
    layer_types = []
    seen_paths: set[str] = set()
    capture = getattr(graph, "capture", None) or {}
    exported = capture.get("tracer") == "export"  # fx graphs keep MASE's list: called modules only
    for node in graph.fx_graph.nodes:
        counts[node.op] = counts.get(node.op, 0) + 1
        if node.op == "call_module":
            layer_types.append(repr(graph.model.get_submodule(node.target)))
        elif exported and node.op == "call_function" and node.meta.get("nn_module_stack"):
            # exported graphs have no module calls: name each module that ran, with its class
            path, cls = list(node.meta["nn_module_stack"].values())[-1]
            if path not in seen_paths:
                seen_paths.add(path)
                layer_types.append(f"{str(cls).rpartition('.')[2]}({path or '<root>'})")
    graph_text = str(graph.fx_graph).rstrip("\n")
    text = (
        f"{graph_text}\nNetwork overview:\n{counts}\nLayer types:\n[{', '.join(layer_types)}]"
    )
    if capture:
        text += f"\nCaptured with: {capture.get('reason', capture.get('tracer'))}"
    return {"graph_text": graph_text, "overview": counts, "layer_types": layer_types, "text": text,
            "capture": dict(capture)}


@mase_pass(
    "report_graph_analysis_pass",
    kind="analysis",
    doc="fx graph text, opcode counts and layer types",
    args=[Arg("file_name", "path", None, "also write the report to this file", output="report_graph.txt")],
    renderer="report_graph",
)
def report_graph_analysis_pass(graph, pass_args=None):
    pass_args = dict(pass_args or {})
    info = graph_report(graph)
    logger.info("%s", info["text"])
    file_name = pass_args.get("file_name")
    if file_name:
        atomic_write_text(Path(file_name), info["text"] + "\n")
        info["file"] = str(file_name)
    return graph, info
