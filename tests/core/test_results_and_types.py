"""Finding 4 (container results are described element by element; torch ops outside MASE's
tables are typed and named, not verification problems) and finding 5 (non-tensor results are
stored as plain descriptions: copy, pickle, save and load never touch live objects)."""

from __future__ import annotations

import copy
import json
import pickle

import torch

from core.ir import MaseGraph
from core.passes.analysis.cost import cost_analysis_pass
from core.passes.analysis.verify_metadata import verify_common_metadata_analysis_pass
from core.passes.interface.save_load import (
    load_mase_graph_interface_pass,
    save_mase_graph_interface_pass,
)
from core.utils.plain import to_plain
from tests.helpers import annotated
from tests.pattern_models import (
    AuxHeadNet,
    DataclassResultNet,
    FinfoNet,
    SDPABlock,
    SDPAModel,
    StochasticDepthNet,
    ViTBlock,
    dtype_info,
    make_output,
    stochastic_depth,
)


def common(graph: MaseGraph, name: str) -> dict:
    return graph.node(name).meta["mase"].parameters["common"]


def verify(graph: MaseGraph) -> dict:
    return verify_common_metadata_analysis_pass(graph)[1]


# ------------------------------------------------------------------ finding 4
def test_mha_tensor_none_result_is_two_elements_and_verifies():
    torch.manual_seed(0)
    graph = annotated(ViTBlock(16, 2, need_weights=False), {"x": torch.randn(2, 5, 16)})
    attn = common(graph, "attn")
    assert attn["mase_type"] == "module_related_func" and attn["mase_op"] == "multihead_attention"
    assert attn["results"]["data_out_0"]["shape"] == [2, 5, 16]
    assert attn["results"]["data_out_1"] == {"type": "NoneType", "shape": [], "value": None}
    getitem = common(graph, "getitem")
    assert getitem["args"]["data_in_0"]["shape"] == [2, 5, 16] and getitem["args"]["data_in_0"]["from"] == "attn"
    assert verify(graph) == {"ok": True, "checked_nodes": len(graph.nodes), "problems": []}


def test_hf_style_attention_leaf_returning_tensor_and_none():
    torch.manual_seed(0)
    graph = annotated(SDPAModel(), {"x": torch.randn(2, 7, 16)}, custom_leaf_modules=(SDPABlock,))
    results = common(graph, "attn")["results"]
    assert results["data_out_0"]["shape"] == [2, 7, 16] and results["data_out_1"]["type"] == "NoneType"
    assert verify(graph)["problems"] == []


def test_namedtuple_output_of_the_training_graph_is_named_and_typed():
    torch.manual_seed(0)
    model = AuxHeadNet()
    graph = MaseGraph(model, training=True)
    from core.passes import PASSES

    graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
    graph, info = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": {"x": torch.randn(3, 16)}})
    (node,) = [n for n in graph.nodes if n.op == "call_function" and n.target.__name__ == "NetOutputs"]
    meta = common(graph, node.name)
    assert (meta["mase_type"], meta["mase_op"]) == ("implicit_func", "NetOutputs")
    assert meta["results"]["data_out_0"]["name"] == "logits" and meta["results"]["data_out_0"]["shape"] == [3, 5]
    assert meta["results"]["data_out_1"]["name"] == "aux_logits" and meta["results"]["data_out_1"]["shape"] == [3, 5]
    assert info["unknown_ops"] == [] and verify(graph)["problems"] == []
    row = next(r for r in cost_analysis_pass(graph, {})[1]["nodes"] if r["name"] == node.name)
    assert row["rule"] == "zero" and row["flops_total"] == 0


def test_stochastic_depth_leaf_is_a_named_op_with_a_rule():
    graph = annotated(StochasticDepthNet(), {"x": torch.randn(4, 16)}, custom_leaf_functions=(stochastic_depth,))
    meta = common(graph, "stochastic_depth")
    assert (meta["mase_type"], meta["mase_op"]) == ("builtin_func", "stochastic_depth")
    assert meta["args"]["training"] is False
    assert verify(graph)["problems"] == []
    info = cost_analysis_pass(graph, {})[1]
    assert info["unruled_ops"] == []
    row = next(r for r in info["nodes"] if r["name"] == "stochastic_depth")
    assert row["flops_total"] == 0  # identity in eval


def test_dataclass_result_is_described_by_field():
    graph = annotated(DataclassResultNet(), {"x": torch.randn(2, 16)}, custom_leaf_functions=(make_output,))
    results = common(graph, "make_output")["results"]
    assert results["data_out_0"]["name"] == "hidden" and results["data_out_0"]["shape"] == [2, 16]
    assert results["data_out_1"] == {"type": "NoneType", "shape": [], "value": None, "name": "weights"}
    assert common(graph, "getattr_1")["args"]["data_in_0"]["from"] == "make_output"
    assert verify(graph)["problems"] == []


# ------------------------------------------------------------------ finding 5
def test_non_tensor_results_are_plain_descriptions():
    torch.manual_seed(0)
    graph = annotated(FinfoNet(), {"x": torch.randn(2, 16)}, custom_leaf_functions=(dtype_info,))
    info = common(graph, "dtype_info")["results"]["data_out_0"]
    assert info["type"] == "finfo" and info["shape"] == [1]
    assert info["value"] == {"dtype": "float32", "bits": 32, "min": -3.4028234663852886e38,
                             "max": 3.4028234663852886e38, "eps": 2.0 ** -23, "tiny": 2.0 ** -126,
                             "resolution": 1e-06}
    assert common(graph, "getattr_1")["results"]["data_out_0"] == {"type": "dtype", "shape": [1], "value": "torch.float32"}
    assert common(graph, "getattr_2")["results"]["data_out_0"] == {"type": "device", "shape": [1], "value": "cpu"}
    assert common(graph, "size")["results"]["data_out_0"] == {"type": "Size", "shape": [2], "value": [2, 16]}
    assert common(graph, "getattr_3")["results"]["data_out_0"]["value"] == -3.4028234663852886e38
    # every non-tensor entry is JSON data; the whole metadata deep-copies and pickles
    for node in graph.nodes:
        for entry in common(graph, node.name)["results"].values():
            if "torch_dtype" not in entry:
                json.dumps(entry)
        pickle.dumps(node.meta["mase"].parameters)
    copied = graph.copy()
    assert copy.deepcopy(graph).node("dtype_info").meta["mase"].parameters["common"]["results"] == \
        common(graph, "dtype_info")["results"]
    x = torch.randn(2, 16) * 20
    assert torch.equal(copied.model(x), graph.model(x))


def test_graph_with_a_finfo_node_saves_and_loads(tmp_path):
    torch.manual_seed(0)
    graph = annotated(FinfoNet(), {"x": torch.randn(2, 16)}, custom_leaf_functions=(dtype_info,))
    save_mase_graph_interface_pass(graph, {"save_dir": str(tmp_path / "g")})
    # the leaf function is the user's code, so loading it needs trust; the metadata does not
    loaded, _ = load_mase_graph_interface_pass(None, {"load_dir": str(tmp_path / "g"), "trust": True})
    assert common(loaded, "dtype_info")["results"] == common(graph, "dtype_info")["results"]
    assert to_plain(common(loaded, "size")["results"]) == {"data_out_0": {"type": "Size", "shape": [2], "value": [2, 16]}}
    x = torch.randn(2, 16) * 20
    assert torch.equal(loaded.model(x), graph.model(x))


def test_nested_container_result_of_an_lstm():
    class Recurrent(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(4, 6)

        def forward(self, x):
            out, (h, c) = self.lstm(x)
            return out.sum() + h.sum() + c.sum()

    graph = annotated(Recurrent(), {"x": torch.randn(3, 2, 4)})
    results = common(graph, "lstm")["results"]
    assert results["data_out_0"]["shape"] == [3, 2, 6]
    assert results["data_out_1"] == {"type": "tuple", "shape": [2], "value": ["tensor[1, 2, 6]", "tensor[1, 2, 6]"]}
    assert common(graph, "lstm")["mase_op"] == "lstm" and verify(graph)["problems"] == []
