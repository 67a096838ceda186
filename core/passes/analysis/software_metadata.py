"""add_software_metadata_analysis_pass: empty ``stat`` slots where the profiler will write."""

from __future__ import annotations

from core.ir.metadata import get_mase
from core.passes.schema import mase_pass

_FUNCTIONAL_PARAM_NAMES = {
    "batch_norm": {1: "weight", 2: "bias", 3: "running_mean", 4: "running_var"},
    "conv1d": {1: "weight", 2: "bias"},
    "conv2d": {1: "weight", 2: "bias"},
    "layer_norm": {1: "weight", 2: "bias"},
    "linear": {1: "weight", 2: "bias"},
}


@mase_pass(
    "add_software_metadata_analysis_pass",
    kind="analysis",
    doc="Empty statistic slots for every arg and result",
    writes_metadata=True,
)
def add_software_metadata_analysis_pass(graph, pass_args=None):
    for node in graph.fx_graph.nodes:
        meta = get_mase(node)
        common = meta.parameters["common"]
        mase_type = common.get("mase_type")
        args: dict = {}
        results = {"data_out_0": {"stat": {}}}
        if node.op in ("placeholder", "get_attr"):
            meta.parameters["software"] = {"results": results}
            continue
        if node.op == "output":
            meta.parameters["software"] = {"args": {"data_in_0": {"stat": {}}}}
            continue
        if node.op == "call_module":
            module = graph.model.get_submodule(node.target)
            for i, _ in enumerate(_tensor_inputs(node)):
                args[f"data_in_{i}"] = {"stat": {}}
            for name, _ in module.named_parameters():
                args[name.replace(".", "_")] = {"stat": {}}
            for name, _ in module.named_buffers():
                if not name.endswith("num_batches_tracked"):
                    args[name.replace(".", "_")] = {"stat": {}}
        else:
            renames = _FUNCTIONAL_PARAM_NAMES.get(common.get("mase_op"), {}) if mase_type == "module_related_func" else {}
            for i, _ in enumerate(_tensor_inputs(node)):
                args[renames.get(i, f"data_in_{i}")] = {"stat": {}}
            if mase_type == "implicit_func" and common.get("mase_op") == "size":
                results = {}
        software = {"args": args}
        if results:
            software["results"] = results
        meta.parameters["software"] = software
    return graph, {}


def _tensor_inputs(node):
    """Input nodes in argument order (what the profiler sees as the node's tensor inputs)."""
    return node.all_input_nodes
