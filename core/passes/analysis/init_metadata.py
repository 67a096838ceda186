"""init_metadata_analysis_pass: a fresh, empty MaseMetadata on every node."""

from __future__ import annotations

from core.ir.metadata import MaseGraphMetadata, MaseMetadata
from core.passes.schema import mase_pass


@mase_pass(
    "init_metadata_analysis_pass",
    kind="analysis",
    doc="Give every node an empty MASE metadata record",
    writes_metadata=True,
)
def init_metadata_analysis_pass(graph, pass_args=None):
    for node in graph.fx_graph.nodes:
        node.meta["mase"] = MaseMetadata(node=node, model=graph.model)
    graph.meta["mase"] = MaseGraphMetadata(model=graph.model)
    return graph, {"nodes": len(graph.fx_graph.nodes)}
