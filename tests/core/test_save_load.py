"""save_mase_graph / load_mase_graph: exact round trips of graphs, weights and metadata (what a
load refuses is in test_save_load_safety.py)."""

from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import CheckpointError
from core.ir import MaseGraph
from core.models import get_model, get_model_spec
from core.passes import PASSES
from core.passes.interface.save_load import (
    load_mase_graph,
    load_mase_graph_interface_pass,
    save_mase_graph,
    save_mase_graph_interface_pass,
)
from tests import helpers
from tests.helpers import LAB_ARGS


def inputs_for(name: str, batch: int = 4, seed: int = 0) -> dict[str, torch.Tensor]:
    return get_model_spec(name).random_inputs(batch, seed)


def annotated(model: nn.Module, dummy_in: dict, **kwargs) -> MaseGraph:
    """In eval mode and with values in the metadata, so saves round-trip tensors too."""
    return helpers.annotated(model.eval(), dummy_in, add_value=True, **kwargs)


def assert_same(a, b, where="value"):
    """Deep equality that also requires the same types (tuple stays tuple, dtype stays dtype)."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), where
    elif isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} != {list(b)}"
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), where
    elif isinstance(a, functools.partial):
        assert a.func is b.func and a.args == b.args and a.keywords == b.keywords, where
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_round_trip(graph: MaseGraph, loaded: MaseGraph, dummy_in: dict) -> None:
    assert type(loaded.model).__name__ == type(graph.model).__name__
    before = [(n.name, n.op, n.target) for n in graph.nodes]
    after = [(n.name, n.op, n.target) for n in loaded.nodes]
    assert before == after  # function targets are the very same functions
    sd1, sd2 = graph.model.state_dict(), loaded.model.state_dict()
    assert list(sd1) == list(sd2)
    for key in sd1:
        assert_same(sd1[key], sd2[key], key)
    assert [(p, type(m).__name__, m.training) for p, m in graph.model.named_modules()] == \
           [(p, type(m).__name__, m.training) for p, m in loaded.model.named_modules()]
    for node in graph.nodes:
        assert_same(node.meta["mase"].parameters, loaded.node(node.name).meta["mase"].parameters, node.name)
        assert loaded.node(node.name).meta["mase"].node is loaded.node(node.name)
    assert_same(graph.meta["mase"].parameters, loaded.meta["mase"].parameters, "graph")
    with torch.no_grad():
        assert torch.equal(graph.model(*dummy_in.values()), loaded.model(*dummy_in.values()))


@pytest.mark.parametrize("name", ["jsc-tiny", "jsc-toy", "toy", "toy-fn", "toy-cnn", "tiny-transformer"])
def test_zoo_round_trip(name, tmp_path):
    torch.manual_seed(0)
    dummy_in = inputs_for(name)
    graph = annotated(get_model(name), dummy_in)
    info = save_mase_graph(graph, tmp_path / "saved")
    assert info["untrusted"] == [] and info["nodes"] == len(graph.fx_graph.nodes)
    loaded = load_mase_graph(tmp_path / "saved")
    assert_round_trip(graph, loaded, dummy_in)
    with torch.no_grad():  # and on an input the metadata never saw
        fresh = inputs_for(name, batch=3, seed=7)
        assert torch.equal(graph.model(*fresh.values()), loaded.model(*fresh.values()))
    manifest = json.loads((tmp_path / "saved" / "manifest.json").read_text())
    assert manifest["format"] == "mase-tui-graph" and manifest["format_version"] == 1
    assert manifest["torch_version"] == torch.__version__
    assert manifest["model_class"] == type(get_model(name)).__name__
    assert manifest["node_count"] == len(graph.fx_graph.nodes)
    assert manifest["untrusted"] == []
    loaded.copy()  # a loaded graph (tensors in its metadata) still copies


def test_saved_files_hold_data_not_code(tmp_path):
    dummy_in = inputs_for("toy-fn")
    save_mase_graph(annotated(get_model("toy-fn"), dummy_in), tmp_path / "g")
    files = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert files == ["extra_tensors.pt", "graph.json", "manifest.json", "meta_tensors.pt",
                     "node_meta_param.json", "state_dict.pt"]
    for pt in ("state_dict.pt", "extra_tensors.pt", "meta_tensors.pt"):
        torch.load(tmp_path / "g" / pt, weights_only=True)  # raises if anything but tensors
    doc = json.loads((tmp_path / "g" / "graph.json").read_text())
    targets = {n["name"]: n["target"] for n in doc["nodes"]}
    assert targets["add"] == {"__ref__": "operator:add"}
    assert targets["matmul"] == {"__ref__": "torch:matmul"}
    assert targets["relu"] == {"__ref__": "torch.nn.functional:relu"}
    assert targets["flatten"] == {"__ref__": "torch:flatten"}
    assert targets["view"] == "view" and targets["fc"] == "fc"
    modules = {m["path"]: m for m in doc["modules"]}
    assert modules["fc"]["class"] == "torch.nn.modules.linear:Linear"
    assert modules["fc"]["kwargs"] == {"in_features": 192, "out_features": 192, "bias": True}
    meta = json.loads((tmp_path / "g" / "node_meta_param.json").read_text())
    conv = meta["nodes"]["conv2d"]["common"]
    assert conv["args"]["weight"]["torch_dtype"] == {"__dtype__": "float32"}
    assert conv["args"]["weight"]["from"] == "conv_w"
    assert set(conv["args"]["weight"]["value"]) == {"__tensor__"}


def test_metadata_values_round_trip_as_themselves(tmp_path):
    dummy_in = {"x": torch.randn(2, 16)}
    graph = annotated(get_model("jsc-tiny"), dummy_in)
    odd = {
        "tuple": (1, (2, 3), [4, (5,)]),
        "dtypes": [torch.float16, torch.int8, torch.bool],
        "device": torch.device("cpu"),
        "floats": [float("nan"), float("inf"), -float("inf"), 0.1],
        "complex": 1 + 2j,
        "slice": slice(1, None, 2),
        "ellipsis": ...,
        "size": torch.Size([2, 3]),
        "np_f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "np_i64": np.array([1, -2], dtype=np.int64),
        "np_scalar": np.float32(1.5),
        "np_dtype": np.dtype("int16"),
        "set": {1, 2},
        "int_keys": {0: "a", 1: "b"},
        "tag_like_key": {"__tuple__": "not a tuple"},
        "function": F.relu,
        "class": nn.Linear,
        "partial": functools.partial(torch.clamp, min=0.0),
        "int_tensor": torch.tensor([1, 2, 3]),
        "none": None,
    }
    graph.node("seq_blocks_2").meta["mase"].parameters["hardware"]["odd"] = odd
    save_mase_graph(graph, tmp_path / "g")
    loaded = load_mase_graph(tmp_path / "g")
    back = loaded.node("seq_blocks_2").meta["mase"].parameters["hardware"]["odd"]
    assert_same(odd, back, "odd")
    assert back["np_scalar"].dtype == np.float32
    assert back["function"] is F.relu and back["class"] is nn.Linear


def test_quantised_graph_round_trip(tmp_path):
    quantize = PASSES["quantize_transform_pass"].fn
    torch.manual_seed(0)
    dummy_in = {"x": torch.randn(8, 16)}
    graph = annotated(get_model("jsc-toy"), dummy_in)
    graph, info = quantize(graph, LAB_ARGS)
    assert type(graph.model.get_submodule("seq_blocks.2")).__name__ == "LinearInteger"
    save_mase_graph(graph, tmp_path / "q")
    loaded = load_mase_graph(tmp_path / "q")
    assert_round_trip(graph, loaded, dummy_in)
    lin = loaded.model.get_submodule("seq_blocks.2")
    assert type(lin).__name__ == "LinearInteger"
    assert lin.config == graph.model.get_submodule("seq_blocks.2").config
    entry = loaded.node("seq_blocks_2").meta["mase"].parameters["common"]["args"]["weight"]
    assert entry["type"] == "integer" and entry["precision"] == [8, 4]


def test_quantised_functions_round_trip(tmp_path):
    quantize = PASSES["quantize_transform_pass"].fn
    torch.manual_seed(0)
    dummy_in = inputs_for("toy-fn")
    graph = annotated(get_model("toy-fn"), dummy_in)
    data = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}
    graph, _ = quantize(graph, {"by": "type", "default": {"config": {"name": None}},
                                "add": {"config": dict(data)}, "relu": {"config": dict(data)},
                                "matmul": {"config": {**data, "weight_width": 8, "weight_frac_width": 4}}})
    names = {n.name: getattr(n.target, "__name__", n.target) for n in graph.nodes}
    assert names["add"] == "add_integer" and names["matmul"] == "matmul_integer"
    save_mase_graph(graph, tmp_path / "q")
    doc = json.loads((tmp_path / "q" / "graph.json").read_text())
    add = next(n for n in doc["nodes"] if n["name"] == "add")
    assert add["target"] == {"__ref__": "core.quant.functional:add_integer"}
    assert add["kwargs"]["config"]["data_in_width"] == 8
    loaded = load_mase_graph(tmp_path / "q")
    assert_round_trip(graph, loaded, dummy_in)


class TiedNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(6, 6)
        self.dec = nn.Linear(6, 6)
        self.dec.weight = self.enc.weight
        self.scale = nn.Parameter(torch.full((6,), 0.5))
        self.blocks = nn.ModuleList([nn.LayerNorm(6), nn.Dropout(0.25)])

    def forward(self, x):
        y = self.blocks[0](self.enc(x)) * self.scale
        return self.dec(self.blocks[1](y)).clamp(min=-1.0)


def test_dtype_ties_frozen_parameters_and_training_flags_survive(tmp_path):
    torch.manual_seed(0)
    model = TiedNet().double()
    model.enc.bias.requires_grad_(False)
    x = torch.randn(3, 6, dtype=torch.float64)
    graph = annotated(model, {"x": x})
    graph.model.get_submodule("blocks.1").train()  # one module left in training mode
    save_mase_graph(graph, tmp_path / "t")
    loaded = load_mase_graph(tmp_path / "t")
    m = loaded.model
    assert m.get_submodule("dec").weight is m.get_submodule("enc").weight
    assert m.get_submodule("enc").weight.dtype == torch.float64
    assert not m.get_submodule("enc").bias.requires_grad and m.scale.requires_grad
    assert m.get_submodule("blocks.1").training and not m.get_submodule("blocks.0").training
    assert m.get_submodule("blocks.1").p == 0.25
    graph.model.get_submodule("blocks.1").eval()
    m.get_submodule("blocks.1").eval()
    assert_round_trip(graph, loaded, {"x": x})


def test_interface_passes_follow_mase_signatures(tmp_path):
    dummy_in = {"x": torch.randn(2, 16)}
    graph = annotated(get_model("jsc-tiny"), dummy_in)
    assert PASSES["save_mase_graph_interface_pass"].fn is save_mase_graph_interface_pass
    assert PASSES["load_mase_graph_interface_pass"].fn is load_mase_graph_interface_pass
    same, info = save_mase_graph_interface_pass(graph, str(tmp_path / "a"))  # MASE: a path
    assert same is graph and info["save_dir"] == str(tmp_path / "a")
    args = {"save_dir": str(tmp_path / "b")}
    save_mase_graph_interface_pass(graph, args)
    assert args == {"save_dir": str(tmp_path / "b")}
    json.dumps(info)
    load_args = {"load_dir": str(tmp_path / "b" / "state_dict.pt")}  # MASE: a file inside works
    loaded, info = load_mase_graph_interface_pass(None, load_args)
    assert load_args == {"load_dir": str(tmp_path / "b" / "state_dict.pt")}
    assert isinstance(loaded, MaseGraph) and loaded is not graph
    assert info["verified"] == "meta" and info["nodes"] == 6
    json.dumps(info)
    assert_round_trip(graph, loaded, dummy_in)
    with pytest.raises(CheckpointError, match="needs a directory"):
        save_mase_graph_interface_pass(graph, {})


def test_session_round_trip_keeps_quantised_metadata(tmp_path):
    from core.session import Session

    session = Session("jsc-toy", pretrained=False).load(progress=lambda _: None)
    run = session.run_pass("quantize_transform_pass", LAB_ARGS)
    assert run.ok, run.error
    run = session.run_pass("save_mase_graph_interface_pass", {"save_dir": str(tmp_path / "saved")})
    assert run.ok and run.info["nodes"] == 13
    cost = session.run_pass("cost_analysis_pass").info["totals_per_sample"]

    again = Session("jsc-toy", load=str(tmp_path / "saved"), load_type="mz").load(progress=lambda _: None)
    assert type(again.current.model.get_submodule("seq_blocks.5")).__name__ == "LinearInteger"
    weight = again.current.node("seq_blocks_5").meta["mase"].parameters["common"]["args"]["weight"]
    assert weight["type"] == "integer" and weight["precision"] == [8, 4]
    # BitOPs count the saved 8-bit precisions, not float32: Linear 16x8 + 8x8 + 8x5 = 232 MACs x 8 x 8
    assert again.run_pass("cost_analysis_pass").info["totals_per_sample"] == cost
    assert cost["bitops"] == 232 * 8 * 8
    for a, b in zip(session.current.nodes, again.current.nodes, strict=True):
        assert_same(a.meta["mase"].parameters["common"], b.meta["mase"].parameters["common"], a.name)


def test_a_graph_without_metadata_round_trips(tmp_path):
    torch.manual_seed(0)
    graph = MaseGraph(get_model("toy-cnn").eval())
    save_mase_graph(graph, tmp_path / "bare")
    loaded, info = load_mase_graph_interface_pass(None, {"load_dir": str(tmp_path / "bare")})
    assert info["verified"] == "compiled"  # nothing describes the inputs, so nothing was run
    assert all("mase" not in n.meta for n in loaded.nodes)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(graph.model(x), loaded.model(x))


def test_session_opens_a_transform_output_directory_as_the_model(tmp_path):
    """`mase-tui inspect DIR`: the saved graph keeps its quantised precisions, and the model and
    data come from the transform's config.toml one level up."""
    from core.passes.interface.save_load import save_mase_graph
    from core.session import Session

    first = Session("jsc-toy").load(lambda msg: None)
    first.run_pass("quantize", {"by": "type", "default": {"config": {"name": None}},
                                "linear": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                                                      "weight_width": 8, "weight_frac_width": 4,
                                                      "bias_width": 8, "bias_frac_width": 4}}})
    saved = tmp_path / "transform" / "transformed_ckpt"
    save_mase_graph(first.current, saved)
    (tmp_path / "transform" / "config.toml").write_text('model = "jsc-toy"\ndataset = "jsc-synthetic"\n')
    second = Session(str(saved)).load(lambda msg: None)
    assert second.model_name == "jsc-toy" and second.load_type == "mz"
    assert second.run_pass("cost").info["totals_per_sample"]["bitops"] == 232 * 8 * 8
