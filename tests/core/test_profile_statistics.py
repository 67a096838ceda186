"""profile_statistics_analysis_pass: each statistic against direct torch computations over the
same samples, MASE's counts in the lab setting, errors, progress and cancel."""

from __future__ import annotations

import threading

import pytest
import torch

from core.errors import ConfigError, PassError
from core.ir import MaseGraph
from core.models import get_model
from core.passes import PASSES
from core.passes.analysis.stats import create_stat
from tests.helpers import Batches, annotated


def jsc_tiny(seed=0, samples=64):
    torch.manual_seed(seed)
    model = get_model("jsc-tiny")
    with torch.no_grad():  # non-trivial BatchNorm statistics
        model.seq_blocks[0].running_mean.copy_(torch.linspace(-0.5, 0.5, 16))
        model.seq_blocks[0].running_var.copy_(torch.linspace(0.5, 2.0, 16))
    data = torch.randn(samples, 16) * 2 + 0.3
    return model, data, annotated(model, {"x": data[:8]})


def profile(mg, **kwargs):
    return PASSES["profile_statistics_analysis_pass"].fn(mg, kwargs)


def relu_inputs(model, data):
    model.eval()
    with torch.no_grad():
        h1 = model.seq_blocks[0](data)
        h2 = model.seq_blocks[2](torch.relu(h1))
    return h1, h2


def stat_of(mg, node, entry="data_in_0"):
    return mg.node(node).meta["mase"].parameters["software"]["args"][entry]["stat"]


# ----------------------------------------------------------------------------- the lab setting
def test_lab_setting_counts_and_values():
    model, data, mg = jsc_tiny()
    mg.model.train()  # traced in eval mode; put graph and model (shared modules) in train mode
    bn = model.seq_blocks[0]
    running = (bn.running_mean.clone(), bn.running_var.clone())
    mg, info = profile(
        mg, by="type", target_weight_nodes=["linear"], target_activation_nodes=["relu"],
        weight_statistics={"variance_precise": {"device": "cpu", "dims": "all"}},
        activation_statistics={"range_quantile": {"device": "cpu", "dims": "all", "quantile": 0.97}},
        input_generator=Batches(data, 8), num_samples=32)
    # analysis only: BatchNorm running statistics and the train/eval modes are unchanged
    assert torch.equal(bn.running_mean, running[0]) and torch.equal(bn.running_var, running[1])
    assert bn.training and mg.model.training
    lin = model.seq_blocks[2]
    w = stat_of(mg, "seq_blocks_2", "weight")["variance_precise"]
    b = stat_of(mg, "seq_blocks_2", "bias")["variance_precise"]
    assert (w["count"], b["count"]) == (80, 5)
    assert w["variance"] == pytest.approx(torch.var(lin.weight).item(), rel=1e-6)  # unbiased
    assert w["mean"] == pytest.approx(lin.weight.mean().item(), rel=1e-6, abs=1e-9)
    assert b["variance"] == pytest.approx(torch.var(lin.bias).item(), rel=1e-6)
    h1, h2 = relu_inputs(model, data[:32])
    r1 = stat_of(mg, "seq_blocks_1")["range_quantile"]
    r2 = stat_of(mg, "seq_blocks_3")["range_quantile"]
    assert (r1["count"], r2["count"]) == (512, 160)
    assert r1["max"] == pytest.approx(torch.quantile(h1, 0.97).item(), rel=1e-6)
    assert r1["min"] == pytest.approx(torch.quantile(h1, 0.03).item(), rel=1e-6)
    assert r1["min"] < 0  # the ReLU *input*, taken before the in-place ReLU runs
    assert r2["range"] == pytest.approx((torch.quantile(h2, 0.97) - torch.quantile(h2, 0.03)).item(), rel=1e-5)
    assert stat_of(mg, "seq_blocks_2", "data_in_0") == {}  # not a target: untouched
    assert info["stats"]["seq_blocks_1"]["data_in_0"]["range_quantile"] == r1
    assert (info["num_samples"], info["num_batches"]) == (32, 4)


def test_with_the_projects_input_generator():
    from core.data import InputGenerator, get_datamodule

    model, _, mg = jsc_tiny()
    gen = InputGenerator(get_datamodule("jsc-synthetic", batch_size=8), placeholder_names=["x"])
    _, info = profile(mg, by="type", target_activation_nodes=["relu"],
                      activation_statistics={"range_min_max": {}}, input_generator=gen, num_samples=20)
    assert info["stats"]["seq_blocks_1"]["data_in_0"]["range_min_max"]["count"] == 20 * 16


# ----------------------------------------------------------------------------- every statistic
def run_act(stat_name, options, samples=30, batch=8, seed=0):
    model, data, mg = jsc_tiny(seed)
    mg, info = profile(mg, by="name", target_activation_nodes=["seq_blocks_1"],
                       activation_statistics={stat_name: options}, input_generator=Batches(data, batch),
                       num_samples=samples)
    h1, _ = relu_inputs(model, data[:samples])
    return stat_of(mg, "seq_blocks_1")[stat_name], h1


def test_variance_online_and_precise_all_dims():
    s, h = run_act("variance_online", {"dims": "all"})  # 30 samples in batches 8, 8, 8, 6
    assert s["count"] == 30 * 16
    assert s["variance"] == pytest.approx(h.var(correction=0).item(), rel=1e-6)
    assert s["mean"] == pytest.approx(h.mean().item(), rel=1e-5, abs=1e-7)
    p, _ = run_act("variance_precise", {"dims": "all"})
    assert p["variance"] == pytest.approx(h.var().item(), rel=1e-6)
    assert p["variance"] / s["variance"] == pytest.approx(480 / 479, rel=1e-6)


def test_per_element_and_listed_dims():
    s, h = run_act("variance_precise", {"dims": None})
    assert s["count"] == 30
    assert torch.allclose(torch.tensor(s["variance"]), h.var(dim=0, keepdim=True), rtol=1e-5)
    assert len(s["mean"]) == 1 and len(s["mean"][0]) == 16  # MASE's sample shape [1, 16]
    s, h = run_act("range_min_max", {"dims": [1]})  # reduce the feature dim of each sample
    assert s["count"] == 30 * 16 and s["min"] == [h.min().item()] and s["max"] == [h.max().item()]
    s, h = run_act("range_quantile", {"dims": None, "quantile": 0.9})
    assert torch.allclose(torch.tensor(s["max"]), torch.quantile(h, 0.9, dim=0, keepdim=True), rtol=1e-6)


def test_min_max_abs_mean_n_sigma_record():
    s, h = run_act("range_min_max", {"dims": "all", "abs": True})
    assert (s["min"], s["max"], s["count"]) == (h.abs().min().item(), h.abs().max().item(), 480)
    assert s["range"] == pytest.approx(h.abs().max().item() - h.abs().min().item())
    s, h = run_act("abs_mean", {})
    assert s["abs_mean"] == pytest.approx(h.abs().mean().item(), rel=1e-6) and s["count"] == 480
    s, h = run_act("range_n_sigma", {"num_sigma": 2, "var_mode": "precise"})
    assert s["max"] == pytest.approx((h.mean() + 2 * h.std()).item(), rel=1e-5)
    assert s["min"] == pytest.approx((h.mean() - 2 * h.std()).item(), rel=1e-5)
    s, h = run_act("record", {})
    assert torch.equal(s["data"], h) and s["count"] == 30 and s["size_in_bytes"] == 30 * 16 * 4
    s, _ = run_act("record", {"add_new_dim_before_concat": True})
    assert s["data"].shape == (30, 1, 16)


def test_channel_statistics_on_conv_activations():
    torch.manual_seed(3)
    model = get_model("toy-cnn").eval()
    data = torch.randn(6, 3, 32, 32)
    mg = annotated(model, {"x": data[:2]})
    mg, _ = profile(mg, by="name", target_activation_nodes=["features_2"],
                    activation_statistics={"variance_online": {"dims": [2, 3]}, "abs_mean": {"dims": [1, 2, 3]}},
                    input_generator=Batches(data, 4), num_samples=6)
    with torch.no_grad():
        h = model.features[1](model.features[0](data))
    s = stat_of(mg, "features_2")
    assert s["variance_online"]["count"] == 6 * 32 * 32
    ref = h.var(dim=(0, 2, 3), correction=0).view(1, 16)
    assert torch.allclose(torch.tensor(s["variance_online"]["variance"]), ref, rtol=1e-5)
    assert s["abs_mean"]["count"] == 6 * 16 * 32 * 32
    assert s["abs_mean"]["abs_mean"] == [pytest.approx(h.abs().mean().item(), rel=1e-6)]


def test_weight_targets_include_buffers_and_count_once():
    model, data, mg = jsc_tiny()
    mg, info = profile(mg, by="type", target_weight_nodes=["batch_norm1d"],
                       weight_statistics={"range_min_max": {}, "variance_online": {}})
    bn = model.seq_blocks[0]
    assert set(info["stats"]["seq_blocks_0"]) == {"weight", "bias", "running_mean", "running_var"}
    rm = stat_of(mg, "seq_blocks_0", "running_mean")
    assert (rm["range_min_max"]["min"], rm["range_min_max"]["max"]) == (-0.5, 0.5)
    assert rm["variance_online"]["variance"] == pytest.approx(bn.running_mean.var(correction=0).item(), rel=1e-6)
    assert rm["variance_online"]["count"] == 16 and info["num_batches"] == 0


def test_few_elements_give_na():
    stat = create_stat("variance_precise", {"dims": None})
    stat.update(torch.ones(3), batched=False)  # one weight "sample"
    assert stat.compute() == {"mean": "NA", "variance": "NA", "count": 1}
    mm = create_stat("range_min_max", {})
    mm.update(torch.tensor([2.5]), batched=False)
    assert mm.export() == {"range_min_max": {"min": 2.5, "max": 2.5, "range": "NA", "count": 1}}


# ----------------------------------------------------------------------------- errors, progress
@pytest.mark.parametrize("kwargs,exc,fragment", [
    ({"by": "kind"}, ConfigError, "'by' = 'kind' is not one of type, name"),
    ({"activation_statistics": {"range_quantil": {}}}, ConfigError, "unknown statistic 'range_quantil' (did you mean 'range_quantile'?)"),
    ({"activation_statistics": {"range_quantile": {"quantil": 0.9}}}, ConfigError, "has no option 'quantil'"),
    ({"activation_statistics": {"range_quantile": {"quantile": 1.5}}}, ConfigError, "quantile must be a number in [0, 1]"),
    ({"num_samples": 0}, ConfigError, "num_samples must be a positive integer"),
    ({"target_activation_nodes": ["conv2d"]}, PassError, "nothing to profile"),
    ({"inputs": 3}, ConfigError, "unknown argument(s) inputs for profile_statistics_analysis_pass"),
])
def test_bad_arguments(kwargs, exc, fragment):
    _, data, mg = jsc_tiny()
    args = {"by": "type", "target_activation_nodes": ["relu"], "activation_statistics": {"range_min_max": {}},
            "input_generator": Batches(data, 8), "num_samples": 16, **kwargs}
    with pytest.raises(exc) as err:
        profile(mg, **args)
    assert fragment in str(err.value)
    assert stat_of(mg, "seq_blocks_1") == {}


def test_unmatched_target_is_a_warning_and_missing_prerequisites_are_errors():
    _, data, mg = jsc_tiny()
    _, info = profile(mg, by="type", target_activation_nodes=["relu", "conv2d"],
                      activation_statistics={"range_min_max": {}}, input_generator=Batches(data, 8), num_samples=8)
    assert info["warnings"] == ["activation target 'conv2d' matches no node (by type)"]
    with pytest.raises(PassError, match="needs an input_generator"):
        profile(mg, by="type", target_activation_nodes=["relu"], activation_statistics={"range_min_max": {}})
    bare = MaseGraph(get_model("jsc-tiny"))
    with pytest.raises(PassError, match="add_common_metadata"):
        profile(bare, by="type", target_activation_nodes=["relu"], activation_statistics={"range_min_max": {}})


def test_progress_and_cancel():
    _, data, mg = jsc_tiny()
    seen = []
    profile(mg, by="type", target_activation_nodes=["relu"], activation_statistics={"abs_mean": {}},
            input_generator=Batches(data, 8), num_samples=20, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(8, 20), (16, 20), (20, 20)]
    _, data, mg = jsc_tiny()
    stop = threading.Event()
    with pytest.raises(PassError, match="cancelled"):
        profile(mg, by="type", target_activation_nodes=["relu"], activation_statistics={"abs_mean": {}},
                input_generator=Batches(data, 8), num_samples=64, cancel=stop,
                progress=lambda d, t: stop.set())
    assert stat_of(mg, "seq_blocks_1") == {}  # nothing written


def test_generator_running_out_is_a_warning(caplog):
    _, data, mg = jsc_tiny(samples=16)
    _, info = profile(mg, by="type", target_activation_nodes=["relu"], activation_statistics={"abs_mean": {}},
                      input_generator=Batches(data, 8), num_samples=100)
    assert info["num_samples"] == 16
    assert "ran out after 16 of 100 samples" in caplog.text


def test_a_second_run_sees_a_swapped_module_and_only_its_own_samples():
    # the tapped copy of the graph is reused between runs on an unchanged graph: a module a
    # transform swapped in must be the one profiled, and counts must not add up across runs
    model, data, mg = jsc_tiny()
    args = dict(by="name", target_activation_nodes=["seq_blocks_3"], num_samples=32,
                activation_statistics={"range_min_max": {"dims": "all"}})
    for _ in range(2):
        mg, _ = profile(mg, input_generator=Batches(data, 8), **args)
        r = stat_of(mg, "seq_blocks_3")["range_min_max"]
        assert r["count"] == 32 * 5
    torch.manual_seed(7)
    swapped = torch.nn.Linear(16, 5)
    setattr(mg.model.get_submodule("seq_blocks"), "2", swapped)  # as a transform swaps a module
    mg, _ = profile(mg, input_generator=Batches(data, 8), **args)
    model.eval()
    with torch.no_grad():
        expected = swapped(torch.relu(model.seq_blocks[0](data[:32])))
    r = stat_of(mg, "seq_blocks_3")["range_min_max"]
    assert r["count"] == 32 * 5
    assert r["min"] == expected.min().item() and r["max"] == expected.max().item()
