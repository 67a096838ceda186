"""Node metadata of JSC-Tiny at batch 8 (reference 2.2, 1.3), meta device, values, reports,
and graph copies."""

from __future__ import annotations

import copy

import pytest
import torch

from core.ir import MaseGraph
from core.models import get_model
from core.passes.analysis.common_metadata import add_common_metadata_analysis_pass
from core.passes.analysis.init_metadata import init_metadata_analysis_pass
from core.passes.analysis.report_graph import report_graph_analysis_pass
from core.passes.analysis.software_metadata import add_software_metadata_analysis_pass

F32 = {"torch_dtype": torch.float32, "type": "float", "precision": [32]}


def entry(shape, source=None):
    return {"shape": shape, **F32, "from": source}


def jsc_tiny(add_value=False, force_device_meta=False, batch=8):
    torch.manual_seed(0)
    model = get_model("jsc-tiny").eval()
    x = torch.randn(batch, 16)
    graph = MaseGraph(model)
    graph, _ = init_metadata_analysis_pass(graph)
    graph, info = add_common_metadata_analysis_pass(
        graph, {"dummy_in": {"x": x}, "add_value": add_value, "force_device_meta": force_device_meta})
    graph, _ = add_software_metadata_analysis_pass(graph)
    return graph, model, x, info


def common(graph, name):
    return graph.node(name).meta["mase"].parameters["common"]


def without_values(d):
    if isinstance(d, dict):
        return {k: without_values(v) for k, v in d.items() if k != "value"}
    return d


# The whole common metadata of JSC-Tiny at batch 8, as reference section 2.2 lays it out.
JSC_TINY_COMMON = {
    "x": {"mase_type": "placeholder", "mase_op": "placeholder", "args": {},
          "results": {"data_out_0": entry([8, 16])}},
    "seq_blocks_0": {"mase_type": "module", "mase_op": "batch_norm1d",
                     "args": {"data_in_0": entry([8, 16], "x"), "weight": entry([16]), "bias": entry([16])},
                     "results": {"data_out_0": entry([8, 16])}},
    "seq_blocks_1": {"mase_type": "module_related_func", "mase_op": "relu",
                     "args": {"data_in_0": entry([8, 16], "seq_blocks_0")},
                     "results": {"data_out_0": entry([8, 16])}},
    "seq_blocks_2": {"mase_type": "module_related_func", "mase_op": "linear",
                     "args": {"data_in_0": entry([8, 16], "seq_blocks_1"), "weight": entry([5, 16]), "bias": entry([5])},
                     "results": {"data_out_0": entry([8, 5])}},
    "seq_blocks_3": {"mase_type": "module_related_func", "mase_op": "relu",
                     "args": {"data_in_0": entry([8, 5], "seq_blocks_2")},
                     "results": {"data_out_0": entry([8, 5])}},
    "output": {"mase_type": "output", "mase_op": "output",
               "args": {"data_in_0": entry([8, 5], "seq_blocks_3")},
               "results": {"data_out_0": entry([8, 5])}},
}


def test_jsc_tiny_common_metadata_at_batch_8():
    graph, _, _, info = jsc_tiny()
    assert [n.name for n in graph.nodes] == list(JSC_TINY_COMMON)
    for name, expected in JSC_TINY_COMMON.items():
        assert common(graph, name) == expected, name
    assert common(graph, "seq_blocks_2")["args"]["weight"]["torch_dtype"] is torch.float32
    assert info == {"nodes": 6, "unknown_ops": [], "device": "real"}


def test_jsc_tiny_graph_level_metadata():
    graph, _, _, _ = jsc_tiny()
    g = graph.meta["mase"].parameters["common"]
    assert g["nodes_in"] == ["seq_blocks_0"]
    assert g["nodes_out"] == ["seq_blocks_3"]
    assert g["args"] == {"seq_blocks_0.data_in_0": entry([8, 16], "x")}
    assert g["results"] == {"seq_blocks_3.data_out_0": entry([8, 5])}


def test_force_device_meta_gives_the_same_shapes():
    real, _, _, _ = jsc_tiny()
    meta, model, _, info = jsc_tiny(force_device_meta=True)
    assert info["device"] == "meta"
    for node in real.nodes:
        assert common(meta, node.name) == common(real, node.name)
    assert meta.meta["mase"].parameters["common"] == real.meta["mase"].parameters["common"]
    # the model's own weights never moved to the meta device
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert all(p.device.type == "cpu" for p in meta.model.parameters())


def test_force_device_meta_on_resnet18_shapes():
    torch.manual_seed(0)
    graph = MaseGraph(get_model("resnet18").eval())
    graph, _ = init_metadata_analysis_pass(graph)
    graph, info = add_common_metadata_analysis_pass(
        graph, {"dummy_in": {"x": torch.randn(2, 3, 224, 224)}, "force_device_meta": True})
    assert info["device"] == "meta"
    assert common(graph, "conv1")["results"]["data_out_0"]["shape"] == [2, 64, 112, 112]
    assert common(graph, "maxpool")["results"]["data_out_0"]["shape"] == [2, 64, 56, 56]
    assert common(graph, "layer4_1_relu_1")["results"]["data_out_0"]["shape"] == [2, 512, 7, 7]
    assert common(graph, "fc")["args"]["weight"]["shape"] == [1000, 512]
    assert common(graph, "fc")["results"]["data_out_0"]["shape"] == [2, 1000]


def test_add_value_stores_detached_values_and_the_graph_deep_copies():
    graph, model, x, _ = jsc_tiny(add_value=True)
    assert bool((x < 0).any())  # the dummy input itself is left alone
    with torch.no_grad():
        bn = model.seq_blocks[0](x)
        lin = model.seq_blocks[2](torch.relu(bn))
        out = torch.relu(lin)
    c0 = common(graph, "seq_blocks_0")
    # the BN output as produced, before the in-place ReLU after it ran (it has negatives)
    assert torch.equal(c0["results"]["data_out_0"]["value"], bn)
    assert bool((c0["results"]["data_out_0"]["value"] < 0).any())
    c2 = common(graph, "seq_blocks_2")
    assert torch.equal(c2["args"]["data_in_0"]["value"], torch.relu(bn))
    assert torch.equal(c2["results"]["data_out_0"]["value"], lin)
    assert torch.equal(common(graph, "output")["args"]["data_in_0"]["value"], out)
    weight = c2["args"]["weight"]["value"]
    assert torch.equal(weight, model.seq_blocks[2].weight)
    assert weight is not model.seq_blocks[2].weight and type(weight) is torch.Tensor
    for node in graph.nodes:
        for side in ("args", "results"):
            for e in common(graph, node.name)[side].values():
                if isinstance(e, dict) and "value" in e:
                    assert e["value"].grad_fn is None and not e["value"].requires_grad
    deep = copy.deepcopy(graph)
    cp = graph.copy()
    for other in (deep, cp):
        v = common(other, "seq_blocks_0")["results"]["data_out_0"]["value"]
        assert torch.equal(v, bn) and v is not c0["results"]["data_out_0"]["value"]


def test_dummy_input_is_not_mutated_by_an_inplace_first_op():
    model = torch.nn.Sequential(torch.nn.ReLU(inplace=True), torch.nn.Linear(4, 2)).eval()
    x = torch.tensor([[-1.0, 2.0, -3.0, 4.0]])
    graph = MaseGraph(model)
    graph, _ = init_metadata_analysis_pass(graph)
    add_common_metadata_analysis_pass(graph, {"dummy_in": {graph.placeholder_names()[0]: x}})
    assert x.tolist() == [[-1.0, 2.0, -3.0, 4.0]]


def test_report_graph_counts_jsc_tiny():
    graph, _, _, _ = jsc_tiny()
    _, info = report_graph_analysis_pass(graph)
    assert info["overview"] == {"placeholder": 1, "get_attr": 0, "call_function": 0, "call_method": 0,
                                "call_module": 4, "output": 1}
    assert info["layer_types"] == [
        "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)",
        "ReLU(inplace=True)",
        "Linear(in_features=16, out_features=5, bias=True)",
        "ReLU(inplace=True)",
    ]
    assert "Network overview:\n{'placeholder': 1, 'get_attr': 0, 'call_function': 0, 'call_method': 0, " \
           "'call_module': 4, 'output': 1}\nLayer types:\n[BatchNorm1d(16" in info["text"]
    assert info["text"].startswith("graph():\n    %x : [num_users=1] = placeholder[target=x]\n")


@pytest.mark.parametrize("name, inputs, overview", [
    # toy-fn: get_attr = conv_w, conv1d_w, _tensor_constant0; 13 functions (flatten, relu, 2 add,
    # 2 mul, 2 sub, conv2d, adaptive_avg_pool2d, conv1d, matmul, bmm); size + 4 views; fc, act, head
    ("toy-fn", {"x": torch.randn(2, 192)}, (1, 3, 13, 5, 3, 1)),
    # resnet18: 8 residual adds, x.flatten(1); 20 conv + 20 bn + 17 relu calls + maxpool, avgpool, fc
    ("resnet18", {"x": torch.randn(1, 3, 64, 64)}, (1, 0, 8, 1, 60, 1)),
    # tiny-transformer: pos; the embedding add + per layer getattr, 6 getitem, 4 mul, bmm, softmax,
    # matmul, gelu, 2 add (17 x 2); per layer 2 view, permute, 4 reshape, 2 transpose, + mean;
    # embed + per layer ln1, qkv, proj, ln2, fc1, fc2 + ln_f, head
    ("tiny-transformer", {"input_ids": torch.randint(0, 256, (2, 32))}, (1, 1, 35, 19, 15, 1)),
])
def test_report_graph_counts(name, inputs, overview):
    graph = MaseGraph(get_model(name).eval())
    graph, _ = init_metadata_analysis_pass(graph)
    graph, _ = add_common_metadata_analysis_pass(graph, {"dummy_in": inputs})
    _, info = report_graph_analysis_pass(graph)
    keys = ("placeholder", "get_attr", "call_function", "call_method", "call_module", "output")
    assert info["overview"] == dict(zip(keys, overview, strict=True))
    assert len(info["layer_types"]) == overview[4]


def test_copy_is_independent():
    graph, model, x, _ = jsc_tiny()
    before_weight = model.seq_blocks[2].weight.detach().clone()
    before_meta = copy.deepcopy(common(graph, "seq_blocks_2"))
    other = graph.copy()
    assert other.model is not graph.model
    assert other.model.get_submodule("seq_blocks.2").weight is not graph.model.get_submodule("seq_blocks.2").weight
    with torch.no_grad():
        other.model.get_submodule("seq_blocks.2").weight.add_(1.0)
        other.model.get_submodule("seq_blocks.0").running_mean.fill_(3.0)
    meta = common(other, "seq_blocks_2")
    meta["args"]["weight"]["shape"].append(99)
    meta["mase_op"] = "changed"
    other.node("seq_blocks_2").meta["mase"].parameters["software"]["args"]["weight"]["stat"]["x"] = 1
    other.meta["mase"].parameters["common"]["nodes_in"].append("nope")
    assert torch.equal(graph.model.get_submodule("seq_blocks.2").weight, before_weight)
    assert torch.equal(graph.model.get_submodule("seq_blocks.0").running_mean, torch.zeros(16))
    assert common(graph, "seq_blocks_2") == before_meta
    assert graph.node("seq_blocks_2").meta["mase"].parameters["software"]["args"]["weight"] == {"stat": {}}
    assert graph.meta["mase"].parameters["common"]["nodes_in"] == ["seq_blocks_0"]
    # the copy's metadata points at the copy's nodes and model
    for node in other.nodes:
        assert node.meta["mase"].node is node
        assert node.meta["mase"].model is other.model
    assert other.node("seq_blocks_2").meta["mase"].module is other.model.get_submodule("seq_blocks.2")
    # the copy runs and differs only by the edited weights
    with torch.no_grad():
        assert not torch.equal(other.model(x), graph.model(x))
        assert torch.equal(graph.model(x), model(x))


def test_software_metadata_layout_jsc_tiny():
    graph, _, _, _ = jsc_tiny()
    empty = {"stat": {}}
    expected = {
        "x": {"results": {"data_out_0": empty}},
        # BatchNorm buffers appear in the software args (reference 1.3), num_batches_tracked does not
        "seq_blocks_0": {"args": {"bias": empty, "data_in_0": empty, "running_mean": empty,
                                  "running_var": empty, "weight": empty},
                         "results": {"data_out_0": empty}},
        "seq_blocks_1": {"args": {"data_in_0": empty}, "results": {"data_out_0": empty}},
        "seq_blocks_2": {"args": {"bias": empty, "data_in_0": empty, "weight": empty},
                         "results": {"data_out_0": empty}},
        "seq_blocks_3": {"args": {"data_in_0": empty}, "results": {"data_out_0": empty}},
        "output": {"args": {"data_in_0": empty}},
    }
    for node in graph.nodes:
        assert node.meta["mase"].parameters["software"] == expected[node.name], node.name


def test_analysis_leaves_per_module_training_flags_alone():
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.5)).eval()
    graph = MaseGraph(model)
    graph.model.get_submodule("1").train()
    graph, _ = init_metadata_analysis_pass(graph)
    add_common_metadata_analysis_pass(graph, {"dummy_in": {graph.placeholder_names()[0]: torch.randn(2, 4)}})
    assert graph.model.get_submodule("1").training
    assert not graph.model.training and not graph.model.get_submodule("0").training
