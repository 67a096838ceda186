"""quantize_transform_pass on the zoo graphs: the lab flow, by type/name/regex, functional ops,
metadata, re-tracing, saving, and configs that must leave the graph untouched."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.config import load_config
from core.errors import ConfigError, QuantError
from core.ir import MaseGraph
from core.models import get_model
from core.passes import PASSES
from core.quant.functional import FUNCTION_TO_OP
from core.quant.quantizers import integer_quantizer
from tests.helpers import INT84, LAB_ARGS, annotated, q84


def quantize(mg, args):
    return PASSES["quantize_transform_pass"].fn(mg, args)


def zoo(name: str, batch: int = 8, seed: int = 0):
    torch.manual_seed(seed)
    model = get_model(name).eval()
    if name.startswith("jsc"):
        x = {"x": torch.randn(batch, 16)}
    elif name == "toy-fn":
        x = {"x": torch.randn(batch, 192)}
    elif name == "toy-cnn":
        x = {"x": torch.randn(batch, 3, 32, 32)}
    elif name == "jsc-mlp":
        x = {"x": torch.randn(batch, 16)}
    else:
        x = {"input_ids": torch.randint(0, 256, (batch, 32))}
    return model, x, annotated(model, x)


def fingerprint(mg) -> list:
    """Everything a failed transform must leave as it was."""
    out = []
    for node in mg.model.graph.nodes:
        mod = type(mg.model.get_submodule(node.target)).__name__ if node.op == "call_module" else None
        common = node.meta["mase"].parameters["common"]
        precs = {k: (v.get("type"), v.get("precision")) for sec in ("args", "results")
                 for k, v in common.get(sec, {}).items() if isinstance(v, dict)}
        out.append((node.name, node.op, str(node.target), mod, repr(node.kwargs), precs))
    return out + [mg.model.code]


# ----------------------------------------------------------------------------- the lab flow
def test_lab_flow_jsc_tiny_changes_exactly_one_op():
    model, x, mg = zoo("jsc-tiny")
    names_before = [n.name for n in mg.nodes]
    args = copy.deepcopy(LAB_ARGS)
    mg, info = quantize(mg, args)
    assert args == LAB_ARGS  # the caller's dict (with "by") is not mutated
    assert info["counts"] == {"quantized": 1, "float": 2}
    assert [(c["name"], c["before"], c["after"]) for c in info["quantized"]] == [("seq_blocks_2", "Linear", "LinearInteger")]
    assert [n.name for n in mg.nodes] == names_before
    mods = mg.modules
    assert type(mods["seq_blocks.1"]) is nn.ReLU and type(mods["seq_blocks.3"]) is nn.ReLU  # default None
    assert type(mods["seq_blocks.0"]) is nn.BatchNorm1d
    common = mg.node("seq_blocks_2").meta["mase"].parameters["common"]
    for arg in ("data_in_0", "weight", "bias"):
        assert (common["args"][arg]["type"], common["args"][arg]["precision"]) == ("integer", [8, 4])
    assert (common["results"]["data_out_0"]["type"], common["results"]["data_out_0"]["precision"]) == ("float", [32])
    relu_common = mg.node("seq_blocks_3").meta["mase"].parameters["common"]
    assert relu_common["args"]["data_in_0"]["type"] == "float"
    # output equals the hand-quantised float model
    with torch.no_grad():
        h = model.seq_blocks[1](model.seq_blocks[0](x["x"]))
        expected = F.relu(F.linear(q84(h), q84(model.seq_blocks[2].weight), q84(model.seq_blocks[2].bias)))
        assert torch.equal(mg.model(**x), expected)
    # the same dict works a second time (MASE pops "by" and would fail)
    _, again = quantize(annotated(model, x), args)
    assert again["counts"]["quantized"] == 1


def test_lab_flow_jsc_toy_changes_the_three_linears():
    _, _, mg = zoo("jsc-toy")
    mg, info = quantize(mg, LAB_ARGS)
    assert [c["name"] for c in info["quantized"]] == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]
    assert sum(type(m).__name__ == "LinearInteger" for m in mg.modules.values()) == 3
    assert sum(type(m) is nn.ReLU for m in mg.modules.values()) == 4


@pytest.mark.parametrize("default", [{"config": {"name": None}}, {"config": {"name": "NA"}}, "NA", None, "absent"])
def test_float_defaults_leave_relu_alone(default):
    _, _, mg = zoo("jsc-tiny")
    args = {"by": "type", "linear": {"config": dict(INT84)}}
    if default != "absent":
        args["default"] = default
    mg, info = quantize(mg, args)
    assert info["counts"]["quantized"] == 1
    assert {s["name"] for s in info["skipped"]} == {"seq_blocks_1", "seq_blocks_3"}


def test_integer_default_quantises_relus_unsigned():
    model, x, mg = zoo("jsc-tiny")
    relu_cfg = {"name": "integer", "data_in_width": 4, "data_in_frac_width": 2}
    mg, info = quantize(mg, {"by": "type", "default": {"config": relu_cfg}, "linear": {"config": INT84}})
    assert [c["after"] for c in info["quantized"]] == ["ReLUInteger", "LinearInteger", "ReLUInteger"]
    with torch.no_grad():
        h = F.relu(integer_quantizer(model.seq_blocks[0](x["x"]), 4, 2, is_signed=False))
        y = F.linear(q84(h), q84(model.seq_blocks[2].weight), q84(model.seq_blocks[2].bias))
        assert torch.equal(mg.model(**x), F.relu(integer_quantizer(y, 4, 2, is_signed=False)))


# ----------------------------------------------------------------------------- by name / regex
def test_by_name_and_regex_name():
    _, _, mg = zoo("jsc-toy")
    mg, info = quantize(mg, {"by": "name", "default": {"config": {"name": "NA"}}, "seq_blocks_5": {"config": INT84}})
    assert [c["name"] for c in info["quantized"]] == ["seq_blocks_5"]
    _, _, mg = zoo("jsc-toy")
    four = {**INT84, "weight_width": 4, "weight_frac_width": 2}
    args = {"by": "regex_name", "default": {"config": {"name": None}},
            "seq_blocks_(2|8)": {"config": INT84}, "seq_blocks_\\d": {"config": four}}
    mg, info = quantize(mg, args)
    got = {c["name"]: c["metadata"]["weight"]["precision"] for c in info["quantized"] if c["op"] == "linear"}
    assert got == {"seq_blocks_2": [8, 4], "seq_blocks_5": [4, 2], "seq_blocks_8": [8, 4]}  # first match wins
    # the single-digit pattern also takes the ReLUs 1, 4, 7 (fullmatch: not seq_blocks_10)
    assert [c["name"] for c in info["quantized"] if c["op"] == "relu"] == ["seq_blocks_1", "seq_blocks_4", "seq_blocks_7"]


# ----------------------------------------------------------------------------- functional ops
FN_ARGS = {"by": "type", "default": {"config": {"name": None}},
           **{op: {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}} for op in ("add", "sub", "mul", "relu")},
           **{op: {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                              "weight_width": 8, "weight_frac_width": 4}} for op in ("matmul", "bmm")}}


def test_toy_fn_functional_ops_are_quantised_by_type():
    model, x, mg = zoo("toy-fn")
    mg, info = quantize(mg, FN_ARGS)
    got = {c["name"]: c["after"] for c in info["quantized"]}
    assert got == {"act": "ReLUInteger", "relu": "relu_integer", "add": "add_integer", "add_1": "add_integer",
                   "mul": "mul_integer", "mul_1": "mul_integer", "sub": "sub_integer", "sub_1": "sub_integer",
                   "matmul": "matmul_integer", "bmm": "bmm_integer"}
    for name in got:
        common = mg.node(name).meta["mase"].parameters["common"]
        assert common["args"]["data_in_0"]["type"] == "integer"
    assert mg.node("matmul").meta["mase"].parameters["common"]["args"]["data_in_1"]["precision"] == [8, 4]
    # the same computation written by hand
    with torch.no_grad():
        xi = torch.flatten(x["x"], 1)

        def qu(t):
            return integer_quantizer(t, 8, 4, is_signed=False)
        y = F.relu(qu(model.fc(xi)))
        y = F.relu(qu(y))
        y = q84(y) + q84(xi)
        y = q84(y) + 2
        y = q84(y) * 0.5
        y = q84(y) * q84(xi)
        y = q84(y) - q84(xi)
        y = q84(y) - 1
        b = y.size(0)
        img = F.conv2d(y.view(b, 3, 8, 8), model.conv_w, padding=1)
        seq = F.adaptive_avg_pool2d(img, (4, 4)).view(b, 4, 16)
        seq = F.conv1d(seq, model.conv1d_w, padding=1)
        m = (q84(seq) @ q84(torch.ones(16, 4))).view(b, 4, 4)
        m = torch.bmm(q84(m), q84(m))
        expected = model.head(m.view(b, 16))
        assert torch.equal(mg.model(**x), expected)


def test_tiny_transformer_attention_products_are_quantised():
    _, x, mg = zoo("tiny-transformer", batch=2)
    mg, info = quantize(mg, FN_ARGS)
    ops = {}
    for c in info["quantized"]:
        ops.setdefault(c["op"], []).append(c["name"])
    assert ops["bmm"] == ["bmm", "bmm_1"] and ops["matmul"] == ["matmul", "matmul_1"]
    assert len(ops["add"]) == 5  # embedding + position, then 2 residual adds per layer
    retraced = MaseGraph(mg.model)
    targets = {n.target for n in retraced.nodes if n.op == "call_function"}
    assert {FUNCTION_TO_OP[t] for t in targets if t in FUNCTION_TO_OP} == {"add", "mul", "bmm", "matmul"}
    assert torch.equal(retraced.model(**x), mg.model(**x))


def test_shape_arithmetic_is_not_counted():
    _, _, mg = zoo("tiny-transformer", batch=2)
    muls = [n.name for n in mg.nodes if n.op == "call_function" and n.meta["mase"].parameters["common"]["mase_op"] == "mul"]
    _, info = quantize(mg, FN_ARGS)
    quantised_muls = [c["name"] for c in info["quantized"] if c["op"] == "mul"]
    # q/k/v reshape sizes (b * heads) are int products: left out
    assert 0 < len(quantised_muls) < len(muls)
    for name in set(muls) - set(quantised_muls):
        args = mg.node(name).meta["mase"].parameters["common"]["args"]
        assert not any(isinstance(v, dict) and "torch_dtype" in v for v in args.values())


# ----------------------------------------------------------------------------- conv, re-trace, save
def test_toy_cnn_conv_keeps_bias_and_retraces():
    model, x, mg = zoo("toy-cnn", batch=2)
    conv_cfg = {"by": "type", "default": {"config": {"name": None}}, "conv2d": {"config": INT84}, "linear": {"config": INT84}}
    mg, info = quantize(mg, conv_cfg)
    assert [c["after"] for c in info["quantized"]] == ["Conv2dInteger", "Conv2dInteger", "LinearInteger"]
    qconv, conv = mg.modules["features.0"], model.features[0]
    assert torch.equal(qconv.bias, conv.bias) and conv.bias.abs().sum() > 0
    xin = x["x"]
    assert torch.equal(qconv(xin), F.conv2d(q84(xin), q84(conv.weight), q84(conv.bias), padding=1))
    retraced = MaseGraph(mg.model)
    assert type(retraced.modules["features.0"]).__name__ == "Conv2dInteger"
    assert [n.op for n in retraced.nodes] == [n.op for n in mg.nodes]
    with torch.no_grad():
        assert torch.equal(retraced.model(**x), mg.model(**x))
    # the original model is untouched
    assert type(model.features[0]) is nn.Conv2d


def test_saved_and_reloaded_quantised_graph_gives_identical_outputs(tmp_path):
    from core.passes.interface.save_load import load_mase_graph, save_mase_graph

    _, x, mg = zoo("toy-fn", batch=4)
    mg, _ = quantize(mg, {**FN_ARGS, "linear": {"config": INT84}})
    save_mase_graph(mg, tmp_path / "saved")
    loaded = load_mase_graph(tmp_path / "saved")
    assert type(loaded.modules["fc"]).__name__ == "LinearInteger"
    with torch.no_grad():
        assert torch.equal(loaded.model(**x), mg.model(**x))


def test_data_out_updates_results_and_requantising_keeps_float_weights():
    model, x, mg = zoo("jsc-tiny")
    cfg = {**INT84, "data_out_width": 8, "data_out_frac_width": 2}
    mg, _ = quantize(mg, {"by": "name", "seq_blocks_2": {"config": cfg}})
    res = mg.node("seq_blocks_2").meta["mase"].parameters["common"]["results"]["data_out_0"]
    assert (res["type"], res["precision"]) == ("integer", [8, 2])
    mf = {"name": "minifloat_ieee", **{f"{o}_{s}": v for o in ("data_in", "weight", "bias")
                                        for s, v in (("width", 8), ("exponent_width", 4), ("exponent_bias", "NA"))}}
    mg, info = quantize(mg, {"by": "type", "linear": {"config": mf}})
    assert info["quantized"][0]["before"] == "LinearInteger" and info["quantized"][0]["after"] == "LinearMinifloatIEEE"
    assert torch.equal(mg.modules["seq_blocks.2"].weight, model.seq_blocks[2].weight)
    w = mg.node("seq_blocks_2").meta["mase"].parameters["common"]["args"]["weight"]
    assert (w["type"], w["precision"]) == ("minifloat_ieee", [8, 4, 7])


def test_example_configs_quantise_their_models():
    for path, expected in [("configs/examples/jsc_toy_by_regex.toml", 7), ("configs/examples/jsc_toy_by_name.toml", 3),
                           ("configs/examples/toy_cnn_minifloat.toml", 5), ("configs/examples/toy_cnn_block_fp.toml", 3)]:
        cfg = load_config(path)
        args = next(p.args for p in cfg.passes if p.name == "quantize_transform_pass")
        _, x, mg = zoo(cfg.settings["model"], batch=2)
        mg, info = quantize(mg, args)
        assert info["counts"]["quantized"] == expected, path
        mg.model(**x)


# ----------------------------------------------------------------------------- invalid configs
def _lab_with(**linear_changes):
    cfg = {**INT84, **linear_changes}
    return {"by": "type", "default": {"config": {"name": None}}, "linear": {"config": {k: v for k, v in cfg.items() if v != "DROP"}}}


@pytest.mark.parametrize("model_name,args,fragments", [
    ("jsc-toy", _lab_with(name="intger"), ["entry 'linear' for node 'seq_blocks_2'", "unknown quantiser 'intger'", "did you mean 'integer'"]),
    ("jsc-toy", _lab_with(bias_frac_width="DROP"), ["node 'seq_blocks_2'", "missing key 'bias_frac_width'", "and 2 more"]),
    ("jsc-toy", _lab_with(weight_widht=8), ["node 'seq_blocks_2'", "unknown key 'weight_widht'", "did you mean 'weight_width'"]),
    ("jsc-toy", _lab_with(weight_width=0), ["node 'seq_blocks_2'", "'weight_width' must be >= 1, got 0"]),
    ("jsc-toy", _lab_with(data_in_frac_width=100), ["node 'seq_blocks_2'", "'data_in_frac_width' must be <= 64"]),
    ("jsc-toy", {"by": "name", "seq_blocks_99": {"config": INT84}}, ["no node named 'seq_blocks_99'", "did you mean"]),
    ("jsc-toy", {"by": "name", "seq_blocks_0": {"config": INT84}}, ["node 'seq_blocks_0' (batch_norm1d) cannot be quantised"]),
    ("jsc-toy", {"by": "regex_name", "conv.*": {"config": INT84}}, ["regex 'conv.*' matches no node name"]),
    ("jsc-toy", {"by": "regex_name", "seq_blocks_(": {"config": INT84}}, ["'seq_blocks_(' is not a valid regular expression"]),
    ("jsc-toy", {"by": "type", "lienar": {"config": INT84}}, ["unknown op 'lienar'", "did you mean 'linear'"]),
    ("jsc-toy", {"by": "type", "batch_norm1d": {"config": INT84}}, ["op 'batch_norm1d' cannot be quantised"]),
    ("jsc-toy", {"by": "type", "linear": INT84}, ["entry 'linear' must be a table holding a 'config' table"]),
    # the linears are valid and come first; the ReLU default is not: nothing may change
    ("jsc-toy", {"by": "type", "linear": {"config": INT84},
                 "default": {"config": {"name": "integer", "data_in_width": 8}}},
     ["entry 'default' for node 'seq_blocks_1' (relu)", "missing key 'data_in_frac_width'"]),
    ("jsc-mlp", {"by": "name", "act": {"config": {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}}},
     ["module 'act' is called by nodes act, act_1, act_2"]),
])
def test_invalid_config_leaves_graph_unchanged(model_name, args, fragments):
    _, x, mg = zoo(model_name)
    before, out_before = fingerprint(mg), mg.model(**x)
    saved = copy.deepcopy(args)
    with pytest.raises(QuantError) as err:
        quantize(mg, args)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert "\n" not in str(err.value)
    assert fingerprint(mg) == before and args == saved
    assert torch.equal(mg.model(**x), out_before)


def test_an_undeclared_by_value_is_rejected_by_the_declaration():
    _, _, mg = zoo("jsc-toy")
    before = fingerprint(mg)
    with pytest.raises(ConfigError, match="'by' = 'kind' is not one of type, name, regex_name"):
        quantize(mg, {"by": "kind", "linear": {"config": INT84}})
    assert fingerprint(mg) == before


def test_failure_while_applying_rolls_back(monkeypatch):
    import core.passes.transforms.quantize as qmod

    _, x, mg = zoo("jsc-toy")
    before = fingerprint(mg)
    calls = {"n": 0}
    real = qmod.quantize_module

    def flaky(module, config, memo=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("out of memory")
        return real(module, config, memo)

    monkeypatch.setattr(qmod, "quantize_module", flaky)
    with pytest.raises(RuntimeError):
        quantize(mg, LAB_ARGS)
    assert fingerprint(mg) == before
    assert all(type(m).__name__ != "LinearInteger" for m in mg.modules.values())


def test_session_runtime_hooks_are_not_config_entries():
    import threading

    _, _, mg = zoo("jsc-tiny")
    args = {**LAB_ARGS, "progress": lambda done, total: None, "cancel": threading.Event()}
    mg, info = quantize(mg, args)
    assert info["counts"]["quantized"] == 1


def test_lab_flow_through_a_session(tmp_path):
    """The Session supplies input generator, original graph, progress and cancel hooks."""
    from core.session import Session

    session = Session("jsc-tiny", dataset="jsc-synthetic", batch_size=8, pretrained=False).load()
    seen = []
    run = session.run_pass("profile_statistics_analysis_pass", None, progress=lambda d, t: seen.append(d))
    assert run.ok, run.error
    stats = run.info["stats"]
    assert stats["seq_blocks_2"]["weight"]["variance_precise"]["count"] == 80
    assert stats["seq_blocks_2"]["bias"]["variance_precise"]["count"] == 5
    assert stats["seq_blocks_1"]["data_in_0"]["range_quantile"]["count"] == 512
    assert stats["seq_blocks_3"]["data_in_0"]["range_quantile"]["count"] == 160
    assert seen == [8, 16, 24, 32]
    run = session.run_pass("quantize_transform_pass", LAB_ARGS)
    assert run.ok, run.error
    assert run.info["counts"]["quantized"] == 1
    run = session.run_pass("summarize_quantization_analysis_pass", {"save_dir": str(tmp_path)})
    assert run.ok, run.error
    assert [r["Changed"] for r in run.info["histogram"]] == [0, 1, 0, 0, 0]
    assert (tmp_path / "quantize_histogram.csv").exists()
    run = session.run_pass("verify_quantization_analysis_pass", None)
    assert run.ok, run.error
    assert run.info["all_on_grid"] and run.info["inputs_checked"] and run.info["checked"] == 3
