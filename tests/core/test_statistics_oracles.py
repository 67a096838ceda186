"""Every profile statistic against an independent oracle on the pooled data: random data fed
in uneven batches, NaN and inf, integer tensors, dims other than "all", and the bounded memory
of range_quantile. Oracles are plain torch calls on the concatenated samples (torch.quantile,
torch.var, torch.amin/amax, ...) or a plain loop over samples for per_sample_mean."""

from __future__ import annotations

import math

import pytest
import torch

from core.passes import PASSES
from core.passes.analysis.stats import create_stat
from tests.helpers import Batches, annotated

SPLITS = (7, 1, 19, 3, 12, 8)  # 50 samples in uneven batches


def feed(name: str, options: dict, data: torch.Tensor, splits=SPLITS, announce: bool = True):
    """A statistic fed ``data`` (samples along dim 0) a batch at a time, as the pass does."""
    stat = create_stat(name, options)
    if announce:
        stat.expect(data.shape[0])
    start = 0
    for n in splits:
        stat.update(data[start:start + n], batched=True)
        start += n
    assert start == data.shape[0]
    return stat, stat.compute()


def same(value, expected: torch.Tensor) -> bool:
    """Bit-identical, NaN equal to NaN."""
    got = torch.as_tensor(value, dtype=expected.dtype).reshape(expected.shape)
    return torch.equal(torch.isnan(got), torch.isnan(expected)) and torch.equal(
        got.nan_to_num(0.0, 1e30, -1e30), expected.nan_to_num(0.0, 1e30, -1e30))


def close(value, expected: torch.Tensor, rel=1e-6) -> bool:
    got = torch.as_tensor(value, dtype=torch.float64).reshape(expected.shape)
    exp = expected.double()
    if not torch.equal(torch.isnan(got), torch.isnan(exp)):
        return False
    both = ~torch.isnan(exp)
    return torch.allclose(got[both], exp[both], rtol=rel, atol=1e-7)


def random_data(seed: int, shape=(50, 3, 40)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) * 3 + 0.5


# ----------------------------------------------------------------------------- range_quantile
@pytest.mark.parametrize("q", [0.97, 0.999, 0.9, 0.5, 0.6])
def test_range_quantile_pooled_is_torch_quantile_bit_for_bit(q):
    data = random_data(1)
    stat, r = feed("range_quantile", {"quantile": q}, data)
    flat = data.flatten()
    assert same(r["max"], torch.quantile(flat, q)) and same(r["min"], torch.quantile(flat, 1 - q))
    assert r["count"] == 50 * 3 * 40
    assert same(r["range"], torch.quantile(flat, q) - torch.quantile(flat, 1 - q))


def test_range_quantile_keeps_only_the_tails_it_reads():
    # 4 batches of 100 samples x 2048 values: the first batch (> 2^16 values) sets thresholds
    data = random_data(2, (400, 2048))
    stat, r = feed("range_quantile", {"quantile": 0.97}, data, splits=(100, 100, 100, 100))
    n = data.numel()
    k = math.ceil(0.03 * (n - 1)) + 2  # values each tail needs (lower: ceil(rank) + 1)
    assert stat.kept_values() <= 6 * k  # each tail holds at most 3k between cuts
    assert stat.kept_values() < 0.13 * n
    assert same(r["max"], torch.quantile(data.flatten(), 0.97))
    assert same(r["min"], torch.quantile(data.flatten(), 0.03))


def test_range_quantile_without_an_announced_count_keeps_everything_and_is_still_exact():
    data = random_data(3)
    stat, r = feed("range_quantile", {"quantile": 0.975}, data, announce=False)
    assert stat.kept_values() == data.numel()
    assert same(r["max"], torch.quantile(data.flatten(), 0.975))


def test_range_quantile_refuses_more_samples_than_announced():
    from core.errors import PassError

    stat = create_stat("range_quantile", {"quantile": 0.97})
    stat.expect(30)  # tails sized for 30 samples: values dropped earlier could matter for more
    stat.update(random_data(14)[:30], batched=True)
    with pytest.raises(PassError, match="were announced"):
        stat.update(random_data(15)[:5], batched=True)


def test_range_quantile_per_element_and_listed_dims():
    data = random_data(4)  # samples [1, 3, 40] as MASE sees them
    _, r = feed("range_quantile", {"quantile": 0.9, "dims": None}, data)
    assert r["count"] == 50
    assert same(r["max"], torch.quantile(data, 0.9, dim=0, keepdim=True))
    assert same(r["min"], torch.quantile(data, 0.1, dim=0, keepdim=True))
    _, r = feed("range_quantile", {"quantile": 0.95, "dims": [2]}, data)  # reduce the length dim
    per_channel = data.permute(1, 0, 2).reshape(3, -1)
    assert r["count"] == 50 * 40 and torch.as_tensor(r["max"]).shape == (1, 3)
    assert same(r["max"], torch.quantile(per_channel, 0.95, dim=-1).view(1, 3))
    assert same(r["min"], torch.quantile(per_channel, 0.05, dim=-1).view(1, 3))


def test_range_quantile_listed_dims_with_long_rows_merges_tails_exactly():
    # 300 samples x 40 values per channel = 12000 values a row: above the keep-everything size,
    # so each channel's tails are merged batch by batch (topk per block)
    data = random_data(16, (300, 2, 40))
    stat, r = feed("range_quantile", {"quantile": 0.97, "dims": [2]}, data, splits=(7, 93, 1, 150, 49))
    per_channel = data.permute(1, 0, 2).reshape(2, -1)
    assert same(r["max"], torch.quantile(per_channel, 0.97, dim=-1).view(1, 2))
    assert same(r["min"], torch.quantile(per_channel, 0.03, dim=-1).view(1, 2))
    assert stat.kept_values() < 0.13 * data.numel()


def test_range_quantile_of_few_values_keeps_them_and_is_exact():
    # jsc-toy's 32 samples x 16 features: 512 values, kept and sorted once
    data = random_data(17, (32, 16))
    data[3, 5] = math.inf
    stat, r = feed("range_quantile", {"quantile": 0.97}, data, splits=(8, 8, 8, 5, 3))
    assert stat.kept_values() == 512
    assert same(r["max"], torch.quantile(data.flatten(), 0.97))
    assert same(r["min"], torch.quantile(data.flatten(), 0.03))


def test_range_quantile_per_sample_mean_is_the_mean_of_each_samples_quantiles():
    data = random_data(5)
    _, r = feed("range_quantile", {"quantile": 0.97, "mode": "per_sample_mean"}, data)
    lows, highs = [], []
    for sample in data:  # the plain loop: each sample's own quantiles, then their mean
        lows.append(torch.quantile(sample.flatten().double(), 0.03))
        highs.append(torch.quantile(sample.flatten().double(), 0.97))
    assert close(r["min"], sum(lows) / len(lows)) and close(r["max"], sum(highs) / len(highs))
    assert r["count"] == data.numel()
    _, r = feed("range_quantile", {"quantile": 0.8, "mode": "per_sample_mean", "dims": [2]}, data)
    exp = torch.stack([torch.quantile(s.double(), 0.8, dim=-1) for s in data]).mean(dim=0)
    assert close(r["max"], exp.view(1, 3))


def test_range_quantile_abs():
    data = random_data(6)
    _, r = feed("range_quantile", {"quantile": 0.97, "abs": True}, data)
    assert same(r["max"], torch.quantile(data.abs().flatten(), 0.97))


# ----------------------------------------------------------------------------- moments and ranges
def test_moments_min_max_abs_mean_against_torch():
    data = random_data(7)
    flat = data.flatten().double()
    _, r = feed("variance_precise", {}, data)
    assert close(r["variance"], torch.var(flat)) and close(r["mean"], flat.mean()) and r["count"] == flat.numel()
    _, r = feed("variance_online", {}, data)
    assert close(r["variance"], torch.var(flat, correction=0))
    _, r = feed("range_min_max", {}, data)
    assert r["min"] == data.min().item() and r["max"] == data.max().item()
    _, r = feed("range_min_max", {"abs": True}, data)
    assert r["min"] == data.abs().min().item() and r["max"] == data.abs().max().item()
    _, r = feed("abs_mean", {}, data)
    assert close(r["abs_mean"], flat.abs().mean())
    _, r = feed("range_n_sigma", {"num_sigma": 2.5, "var_mode": "precise"}, data)
    assert close(r["max"], flat.mean() + 2.5 * flat.std()) and close(r["min"], flat.mean() - 2.5 * flat.std())
    _, r = feed("range_n_sigma", {}, data)  # online: population sigma, 3 by default
    assert close(r["max"], flat.mean() + 3 * flat.std(correction=0))
    _, r = feed("record", {}, data)
    assert torch.equal(torch.as_tensor(r["data"]), data) and r["count"] == 50


def test_variance_of_a_large_weight_is_accurate():
    g = torch.Generator().manual_seed(13)
    w = torch.randn(1536, 1536, generator=g) * 0.02 + 0.003  # 2.4M values, like a ResNet conv
    stat = create_stat("variance_precise", {})
    stat.expect(1)
    stat.update(w, batched=False)
    r = stat.compute()
    assert close(r["variance"], w.double().var(), rel=1e-6) and close(r["mean"], w.double().mean(), rel=1e-6)


def test_listed_and_per_element_dims_against_torch():
    data = random_data(8)
    _, r = feed("variance_precise", {"dims": [2]}, data)
    ref = data.permute(1, 0, 2).reshape(3, -1).double()
    assert close(r["variance"], ref.var(dim=-1).view(1, 3)) and close(r["mean"], ref.mean(dim=-1).view(1, 3))
    _, r = feed("variance_online", {"dims": None}, data)
    assert close(r["variance"], data.double().var(dim=0, correction=0, keepdim=True)) and r["count"] == 50
    _, r = feed("range_min_max", {"dims": [1]}, data)  # reduce channels: per position
    assert same(r["min"], data.amin(dim=(0, 1)).view(1, 40)) and same(r["max"], data.amax(dim=(0, 1)).view(1, 40))
    _, r = feed("abs_mean", {"dims": [1, 2]}, data)
    assert close(r["abs_mean"], data.abs().double().mean().view(1))


# ----------------------------------------------------------------------------- NaN, inf, integers
def with_specials(nan: bool, inf: bool) -> torch.Tensor:
    data = random_data(9)
    if nan:
        data[20, 1, 7] = math.nan  # in the fourth batch: after thresholds were set
    if inf:
        data[3, 0, 0] = math.inf
        data[40, 2, 5] = -math.inf
    return data


@pytest.mark.parametrize("nan,inf", [(True, False), (False, True), (True, True)])
def test_nan_propagates_and_inf_is_a_value(nan, inf):
    data = with_specials(nan, inf)
    flat = data.flatten()
    for q in (0.97, 0.9999):
        _, r = feed("range_quantile", {"quantile": q}, data)
        assert same(r["max"], torch.quantile(flat, q)) and same(r["min"], torch.quantile(flat, 1 - q))
    _, r = feed("range_quantile", {"quantile": 0.97, "dims": None}, data)
    assert same(r["max"], torch.quantile(data, 0.97, dim=0, keepdim=True))
    _, r = feed("range_min_max", {}, data)
    assert same(r["min"], flat.amin()) and same(r["max"], flat.amax())
    _, r = feed("variance_precise", {}, data)
    assert same(r["variance"], torch.var(flat)) and same(r["mean"], flat.mean())
    _, r = feed("abs_mean", {}, data)
    assert same(r["abs_mean"], flat.abs().mean())
    _, r = feed("range_n_sigma", {}, data)
    assert math.isnan(r["max"]) and math.isnan(r["min"])  # sigma is NaN once inf or NaN is seen


def test_integer_tensors_are_profiled_as_float32():
    g = torch.Generator().manual_seed(10)
    data = torch.randint(-50, 200, (50, 3, 40), generator=g)
    flat = data.flatten().float()
    _, r = feed("range_quantile", {"quantile": 0.97}, data)
    assert same(r["max"], torch.quantile(flat, 0.97)) and same(r["min"], torch.quantile(flat, 0.03))
    _, r = feed("range_min_max", {}, data)
    assert (r["min"], r["max"]) == (flat.min().item(), flat.max().item())
    _, r = feed("variance_precise", {}, data)
    assert close(r["variance"], flat.double().var())
    _, r = feed("record", {}, data)
    assert torch.as_tensor(r["data"]).dtype == torch.float32


# ----------------------------------------------------------------------------- through the pass
class Heads(torch.nn.Module):
    """An input whose dim 0 is not the batch (heads folded into it, as attention does)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(12, 12)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        h = self.fc(x).reshape(-1, 3, 4).transpose(0, 1).reshape(-1, 4)  # [3 * batch, 4]
        return self.act(h)


def test_pass_is_exact_when_dim_0_is_not_the_batch_and_batches_are_uneven():
    torch.manual_seed(11)
    model = Heads().eval()
    data = torch.randn(37, 12)
    mg = annotated(model, {"x": data[:4]})
    _, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
        "by": "name", "target_activation_nodes": ["act"], "num_samples": 37,
        "activation_statistics": {"range_quantile": {"quantile": 0.97}, "range_min_max": {}},
        "input_generator": Batches(data, 10)})  # 10, 10, 10, 7
    with torch.no_grad():
        h = model.fc(data).reshape(-1, 3, 4).transpose(0, 1).reshape(-1, 4)
    s = info["stats"]["act"]["data_in_0"]
    assert s["range_quantile"]["count"] == h.numel()
    assert same(s["range_quantile"]["max"], torch.quantile(h.flatten(), 0.97))
    assert same(s["range_quantile"]["min"], torch.quantile(h.flatten(), 0.03))
    assert (s["range_min_max"]["min"], s["range_min_max"]["max"]) == (h.min().item(), h.max().item())


def test_pass_per_sample_mean_on_the_lab_model():
    from tests.core.test_profile_statistics import jsc_tiny, relu_inputs

    model, data, mg = jsc_tiny()
    _, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
        "by": "type", "target_activation_nodes": ["relu"], "num_samples": 32, "input_generator": Batches(data, 8),
        "activation_statistics": {"range_quantile": {"quantile": 0.97, "mode": "per_sample_mean"}}})
    h1, _ = relu_inputs(model, data[:32])
    r = info["stats"]["seq_blocks_1"]["data_in_0"]["range_quantile"]
    highs = [torch.quantile(row.double(), 0.97) for row in h1]  # MASE's sample: one row
    lows = [torch.quantile(row.double(), 0.03) for row in h1]
    assert close(r["max"], sum(highs) / 32) and close(r["min"], sum(lows) / 32) and r["count"] == 512


def test_torch_export_graph_function_calls_profile_weights_once_and_inputs():
    from core.ir import MaseGraph
    from core.models import get_model

    torch.manual_seed(12)
    model = get_model("toy-cnn").eval()
    data = torch.randn(12, 3, 32, 32)
    mg = MaseGraph(model, tracer="export", example_inputs=(data[:2],))
    for name, args in [("init_metadata_analysis_pass", None), ("add_common_metadata_analysis_pass", {"dummy_in": {"x": data[:2]}}),
                       ("add_software_metadata_analysis_pass", None)]:
        mg, _ = PASSES[name].fn(mg, args)
    assert mg.node("conv2d").op == "call_function"  # aten.conv2d with get_attr weights
    _, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
        "by": "type", "target_weight_nodes": ["conv2d"], "target_activation_nodes": ["relu", "linear"],
        "weight_statistics": {"range_min_max": {}, "variance_precise": {}},
        "activation_statistics": {"range_quantile": {"quantile": 0.97}},
        "input_generator": Batches(data, 5), "num_samples": 12})  # 5, 5, 2
    conv = model.features[0]
    w = info["stats"]["conv2d"]["weight"]
    assert (w["range_min_max"]["min"], w["range_min_max"]["max"]) == (conv.weight.min().item(), conv.weight.max().item())
    assert close(w["variance_precise"]["variance"], conv.weight.double().var())
    assert w["variance_precise"]["count"] == conv.weight.numel()
    with torch.no_grad():
        h = model.features[1](conv(data))
        flat_in = model.features[2:](h).flatten(1)
    r = info["stats"]["relu"]["data_in_0"]["range_quantile"]
    assert same(r["max"], torch.quantile(h.flatten(), 0.97)) and same(r["min"], torch.quantile(h.flatten(), 0.03))
    assert set(info["stats"]["linear"]) == {"data_in_0"}  # its weight and bias are constants, not activations
    assert info["stats"]["linear"]["data_in_0"]["range_quantile"]["count"] == flat_in.numel()


def test_record_keeps_a_tensor_in_the_metadata_and_its_shape_in_the_info():
    import json

    from tests.core.test_profile_statistics import jsc_tiny, relu_inputs

    model, data, mg = jsc_tiny()
    mg, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
        "by": "type", "target_activation_nodes": ["relu"], "num_samples": 20, "input_generator": Batches(data, 8),
        "activation_statistics": {"record": {}}})
    h1, _ = relu_inputs(model, data[:20])
    stored = mg.node("seq_blocks_1").meta["mase"].parameters["software"]["args"]["data_in_0"]["stat"]["record"]
    assert torch.equal(stored["data"], h1)
    assert info["stats"]["seq_blocks_1"]["data_in_0"]["record"] == {"shape": [20, 16], "count": 20, "size_in_bytes": 20 * 16 * 4}
    json.dumps(info, allow_nan=False)


# ----------------------------------------------------------------------------- guesses and replays
class Wide(torch.nn.Module):
    """8192 relu-input values per batch of 8: fed to the statistics batch by batch (not
    buffered), enough for range_quantile to guess thresholds from the first batch."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(256, 1024)
        self.act = torch.nn.ReLU()

    def forward(self, x):
        return self.act(self.fc(x))


def wide_run(data: torch.Tensor, generator=None, num_samples: int | None = None, **more):
    torch.manual_seed(14)
    model = Wide().eval()
    mg = annotated(model, {"x": data[:8]})
    _, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
        "by": "name", "target_activation_nodes": ["act"], "num_samples": num_samples or data.shape[0],
        "activation_statistics": {"range_quantile": {"quantile": 0.97}, "range_min_max": {}},
        "input_generator": generator if generator is not None else Batches(data, 8), **more})
    with torch.no_grad():  # batch by batch, as the pass ran it (a GEMM's rounding depends on its shape)
        h = torch.cat([model.fc(data[i:i + 8]) for i in range(0, data.shape[0], 8)])
    return info, h


def assert_pooled_exact(info, h):
    r = info["stats"]["act"]["data_in_0"]["range_quantile"]
    assert r["count"] == h.numel()
    assert same(r["max"], torch.quantile(h.flatten(), 0.97)) and same(r["min"], torch.quantile(h.flatten(), 0.03))
    m = info["stats"]["act"]["data_in_0"]["range_min_max"]
    assert (m["min"], m["max"]) == (h.min().item(), h.max().item())


def test_range_quantile_guess_holds_on_steady_batches_and_nothing_is_replayed():
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(15))
    info, h = wide_run(data)
    assert info["replayed_statistics"] == 0
    assert_pooled_exact(info, h)


def test_range_quantile_failed_guess_is_replayed_and_exact():
    # the first batch is 10x the others: its thresholds leave far too few values of the rest
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(16))
    data[:8] *= 10
    info, h = wide_run(data)
    assert info["replayed_statistics"] == 1  # range_quantile; range_min_max never guesses
    assert_pooled_exact(info, h)


def test_replay_copes_with_a_generator_that_refills_one_tensor():
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(17))
    data[:8] *= 10

    def refilled():
        buf = torch.empty(8, 256)
        for i in range(0, 64, 8):
            buf.copy_(data[i:i + 8])
            yield {"x": buf}

    info, h = wide_run(data, refilled())
    assert info["replayed_statistics"] == 1
    assert_pooled_exact(info, h)


def test_guessed_tails_with_nan_and_inf():
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(21))
    data[3, 0] = math.inf  # a row of +-inf relu inputs in the first batch (where thresholds are guessed)
    info, h = wide_run(data)
    assert torch.isinf(h).any() and not torch.isnan(h).any()
    assert_pooled_exact(info, h)
    data[20, 0] = math.nan  # and a row of NaN in a later one
    info, h = wide_run(data)
    assert torch.isnan(h).any()
    assert_pooled_exact_nan(info, h)
    data[20, 0], data[3, 0] = 0.0, math.nan  # NaN where the guess is made: no guess, still NaN
    info, h = wide_run(data)
    assert_pooled_exact_nan(info, h)


def assert_pooled_exact_nan(info, h):
    r = info["stats"]["act"]["data_in_0"]["range_quantile"]
    flat = h.flatten()
    assert same(r["max"], torch.quantile(flat, 0.97)) and same(r["min"], torch.quantile(flat, 0.03))


def test_guessed_tails_when_the_generator_runs_out_early():
    data = torch.randn(40, 256, generator=torch.Generator().manual_seed(23))
    info, h = wide_run(data, num_samples=64)  # tails sized for 64 samples, 40 arrive
    assert info["num_samples"] == 40
    assert_pooled_exact(info, h)


@pytest.mark.parametrize("budget", [0, 0.05])  # never; 51 KB, less than the 64 KB the 8 input batches take
def test_no_guess_when_the_batches_cannot_be_kept(budget):
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(18))
    data[:8] *= 10
    info, h = wide_run(data, replay_budget_mb=budget)
    assert info["replayed_statistics"] == 0  # safe thresholds from the start
    assert_pooled_exact(info, h)


def test_replay_budget_default_and_bad_values():
    from core.errors import ConfigError
    from core.passes.analysis.stat_options import REPLAY_BUDGET_MB
    from core.passes.registry import get_pass

    declared = {a.name: a.default for a in get_pass("profile_statistics_analysis_pass").args}
    assert declared["replay_budget_mb"] == REPLAY_BUDGET_MB == 256
    data = torch.randn(16, 256, generator=torch.Generator().manual_seed(36))
    for bad in (-1, float("nan"), "lots", True):
        with pytest.raises(ConfigError, match="replay_budget_mb"):
            wide_run(data, replay_budget_mb=bad)


def test_a_replay_reports_progress_again_from_the_start():
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(37))
    data[:8] *= 10  # the first batch's guess fails: a second run over the same batches
    calls = []
    info, h = wide_run(data, progress=lambda done, total: calls.append((done, total)))
    assert info["replayed_statistics"] == 1
    steps = [(i, 64) for i in range(8, 65, 8)]
    assert calls == steps + steps
    assert_pooled_exact(info, h)


# ----------------------------------------------------------------------------- building blocks
@pytest.mark.parametrize("n", [2_049, 70_000, 200_003])
def test_order_statistics_of_long_rows_equal_a_sort(n):
    from core.passes.analysis.quantiles import order_statistics

    g = torch.Generator().manual_seed(19)
    rows = torch.randint(-500, 500, (3, n), generator=g).float()  # many ties
    positions = [0, 5, 6, n // 2, n - 3, n - 2, n - 1]
    assert torch.equal(order_statistics(rows, positions), rows.sort(dim=-1).values[:, positions])
    rows[1, 17] = math.nan
    got = order_statistics(rows, positions)
    assert math.isnan(got[1, -1]) and torch.equal(got[[0, 2]], rows[[0, 2]].sort(dim=-1).values[:, positions])


def test_moment_statistics_on_one_input_share_one_reduction_and_match_torch():
    from core.passes.analysis.stats import create_stats

    data = random_data(20)
    stats = create_stats({"variance_online": {}, "variance_precise": {}, "range_n_sigma": {"num_sigma": 2}}, "x")
    assert stats[1].parts is stats[0].parts and stats[2].parts is stats[0].parts
    for s in stats:
        s.expect(50)
    for start, n in zip((0, 7, 8, 27, 30, 42), SPLITS, strict=True):
        for s in stats:
            s.update(data[start:start + n], batched=True)
    flat = data.flatten().double()
    online, precise, sigma = (s.compute() for s in stats)
    assert close(online["variance"], torch.var(flat, correction=0)) and close(precise["variance"], torch.var(flat))
    assert close(sigma["max"], flat.mean() + 2 * flat.std(correction=0))
    assert online["count"] == precise["count"] == sigma["count"] == flat.numel()


def test_variances_beyond_float32_are_inf_without_warnings():
    import warnings

    data = torch.full((50, 3, 40), 1e30)
    data[::2] = -1e30
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, r = feed("variance_precise", {}, data)
        _, s = feed("range_n_sigma", {}, data)
    assert r["variance"] == math.inf == torch.var(data.flatten()).item()
    assert s["max"] == math.inf and s["min"] == -math.inf


def test_record_into_one_tensor_and_its_fallbacks():
    data = random_data(25)
    _, r = feed("record", {"add_new_dim_before_concat": True}, data)
    assert torch.equal(torch.as_tensor(r["data"]), data.unsqueeze(1)) and r["count"] == 50
    stat = create_stat("record", {})
    stat.expect(60)  # more announced than arrive: only what arrived is kept
    stat.update(data[:30], batched=True)
    stat.update(data[30:], batched=True)
    got = stat.compute()["data"]
    assert torch.equal(got, data) and got.shape[0] == 50
    stat = create_stat("record", {})
    stat.expect(20)  # fewer announced than arrive, then another shape: concatenated the general way
    stat.update(data[:15], batched=True)
    stat.update(data[15:30], batched=True)
    assert torch.equal(stat.compute()["data"], data[:30])
    stat = create_stat("record", {})
    stat.expect(40)
    stat.update(data[:10], batched=True)
    stat.update(data[10:20, :, :20], batched=True)
    with pytest.raises(RuntimeError):  # as torch.cat: samples of different shapes do not stack
        stat.compute()
    ints = torch.randint(-5, 5, (8, 3), generator=torch.Generator().manual_seed(26))
    _, r = feed("record", {}, ints, splits=(3, 5))
    assert r["data"].dtype == torch.float32 and torch.equal(r["data"], ints.float())


def test_pooled_selections_are_told_apart_when_the_tails_fill_and_stay_exact():
    # 100 batches of 8192 values with no guess: the first thresholds come from the first cuts
    # and let a third of each block through, so the pooled selections are split and cut
    # again and again; values never exceed what the two tails may hold between cuts
    data = random_data(31, (400, 2048))
    data[250, 7] = math.inf
    stat = create_stat("range_quantile", {"quantile": 0.97})
    stat.expect(400)
    n = data.numel()
    k = math.ceil(0.03 * (n - 1)) + 2
    most = 0
    for start in range(0, 400, 4):
        stat.update(data[start:start + 4], batched=True)
        most = max(most, stat.kept_values())
    assert most <= 6 * k + 8192
    r = stat.compute()
    flat = data.flatten()
    assert same(r["max"], torch.quantile(flat, 0.97)) and same(r["min"], torch.quantile(flat, 0.03))
    data[399, 0] = math.nan  # in the last block, pooled: the upper tail takes it, both are NaN
    stat, r = feed("range_quantile", {"quantile": 0.97}, data, splits=(4,) * 100)
    assert math.isnan(r["max"]) and math.isnan(r["min"])


def test_final_selections_on_torch_threads_give_the_same_exact_results(monkeypatch):
    import threading

    from core.passes.analysis import profile_statistics

    seen = set()
    inner = profile_statistics.merged_export

    def export(stats):
        seen.add(threading.current_thread().name.split("_")[0])
        return inner(stats)

    monkeypatch.setattr(profile_statistics, "merged_export", export)
    monkeypatch.setattr(profile_statistics, "PARALLEL_EXPORT", 0)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    data = torch.randn(64, 256, generator=torch.Generator().manual_seed(33))
    torch.manual_seed(14)
    model = Wide().eval()
    mg = annotated(model, {"x": data[:8]})
    try:
        _, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
            "by": "name", "target_activation_nodes": ["fc", "act"], "target_weight_nodes": ["fc"],
            "num_samples": 64, "weight_statistics": {"variance_precise": {}},
            "activation_statistics": {"range_quantile": {"quantile": 0.97}, "range_min_max": {}},
            "input_generator": Batches(data, 8)})
    finally:
        torch.set_num_threads(threads)
    assert seen == {"profile-export"}
    with torch.no_grad():
        h = torch.cat([model.fc(data[i:i + 8]) for i in range(0, 64, 8)])
    assert_pooled_exact(info, h)
    r = info["stats"]["fc"]["data_in_0"]["range_quantile"]
    assert same(r["max"], torch.quantile(data.flatten(), 0.97)) and same(r["min"], torch.quantile(data.flatten(), 0.03))
    w = info["stats"]["fc"]["weight"]["variance_precise"]
    assert close(w["variance"], model.fc.weight.var(), rel=1e-5)


@pytest.mark.parametrize("case", ["steady", "nan", "inf", "few", "abs", "guessed"])
def test_range_min_max_read_from_range_quantile_tails_equals_torch_aminmax(case):
    from core.passes.analysis.stats import stat_factory

    data = random_data(35, (64, 2048) if case != "few" else (6, 5))
    if case == "nan":
        data[40, 3] = math.nan
    if case == "inf":
        data[2, 0], data[50, 1] = math.inf, -math.inf
    options = {"abs": True} if case == "abs" else {}
    stats = stat_factory({"range_quantile": {"quantile": 0.97, **options}, "range_min_max": options}, "test")()
    minmax = stats[1]
    assert minmax.source is stats[0]  # no reduction of its own
    n = data.shape[0]
    for stat in stats:
        stat.expect(n, replayable=case == "guessed")
    for start in range(0, n, 8):
        for stat in stats:
            stat.update(data[start:start + 8], batched=True)
    assert not stats[0].needs_replay()
    values = data.abs() if case == "abs" else data
    r = minmax.compute()
    lo, hi = torch.aminmax(values.flatten())
    assert same(r["min"], lo) and same(r["max"], hi) and r["count"] == data.numel()
    assert torch.as_tensor(r["min"]).dtype == torch.float32


def test_range_min_max_with_other_options_reduces_on_its_own():
    from core.passes.analysis.stats import stat_factory

    stats = stat_factory({"range_quantile": {"abs": True}, "range_min_max": {}}, "test")()
    assert stats[1].source is None
    stats = stat_factory({"range_quantile": {"mode": "per_sample_mean"}, "range_min_max": {}}, "test")()
    assert stats[1].source is None


def guessed_run(data: torch.Tensor, batch: int = 8):
    """range_quantile (q = 0.97, pooled) fed ``data`` in batches, guessing from the first one as
    the pass lets it when it can replay; returns (needs a replay, kept values at most, result)
    and, when the guess failed, the result of the replay the pass would run."""
    stat = create_stat("range_quantile", {"quantile": 0.97})
    stat.expect(data.shape[0], replayable=True)
    most = 0
    for start in range(0, data.shape[0], batch):
        stat.update(data[start:start + batch], batched=True)
        most = max(most, stat.kept_values())
    failed = stat.needs_replay()
    if failed:
        stat.restart()
        stat.expect(data.shape[0], replayable=False)
        for start in range(0, data.shape[0], batch):
            stat.update(data[start:start + batch], batched=True)
    return failed, most, stat.compute()


@pytest.mark.parametrize("case", ["steady", "low side fails", "high side fails", "both fail", "ties", "ties, later narrower",
                                  "one value both sides"])
def test_one_pool_for_both_tails_is_exact_when_either_guess_fails_and_stays_bounded(case):
    # one pool holds both tails; a guessed threshold that lets too few through on one side is
    # caught at the end (a replay), while the other side fills and is cut on its own
    g = torch.Generator().manual_seed(41)
    data = torch.randn(96, 4096, generator=g)
    shift = {"low side fails": -1.5, "high side fails": 1.5, "both fail": 0.0}.get(case)
    if case == "both fail":
        data[:8] *= 4  # wide first batch: both thresholds too far out for the rest
    elif shift is not None:
        data[:8] += shift  # first batch shifted down: lo too low (few below it later), hi too low (many above)
    if case.startswith("ties"):
        data = torch.randint(0, 12, (96, 4096), generator=g).float()  # every threshold is a tie
        if case == "one value both sides":  # 96 % zeros: both thresholds are 0, its ties counted once
            data = torch.randint(0, 25, (96, 4096), generator=g).float().sub(23).clamp(min=0) * torch.rand(96, 4096)
        if case == "ties, later narrower":  # the guessed lo (0) never comes again: too few pooled
            data[8:] = torch.randint(0, 12, (88, 4096), generator=g).float().clamp(2, 9)
    failed, most, r = guessed_run(data)
    flat = data.flatten()
    assert same(r["max"], torch.quantile(flat, 0.97)) and same(r["min"], torch.quantile(flat, 0.03))
    assert failed == (case in ("low side fails", "high side fails", "both fail", "ties, later narrower"))
    k = math.ceil(0.03 * (flat.numel() - 1)) + 2
    assert most <= 6 * k + 8 * 4096  # two tails, three times over between cuts, and a block


def test_post_relu_inputs_over_many_batches_need_no_replay_and_are_exact():
    # the 0.03 quantile of a relu's output is 0, shared by half the values: a guessed lo = 0 let
    # later zeros go unpooled, and over 32 batches the first one's zeros were too few: every run
    # was replayed (twice the forwards). Ties at a guessed threshold are counted instead.
    class PostRelu(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = torch.nn.Linear(256, 1024)
            self.relu = torch.nn.ReLU()
            self.head = torch.nn.Linear(1024, 10)

        def forward(self, x):
            return self.head(self.relu(self.fc(x)))

    data = torch.randn(256, 256, generator=torch.Generator().manual_seed(43))
    torch.manual_seed(44)
    model = PostRelu().eval()
    mg = annotated(model, {"x": data[:8]})
    _, info = PASSES["profile_statistics_analysis_pass"].fn(mg, {
        "by": "name", "target_activation_nodes": ["head"], "num_samples": 256,
        "activation_statistics": {"range_quantile": {"quantile": 0.97}, "range_min_max": {}},
        "input_generator": Batches(data, 8)})
    with torch.no_grad():
        h = torch.cat([model.relu(model.fc(data[i:i + 8])) for i in range(0, 256, 8)]).flatten()
    assert info["replayed_statistics"] == 0
    r = info["stats"]["head"]["data_in_0"]["range_quantile"]
    assert r["min"] == 0.0 and same(r["max"], torch.quantile(h, 0.97)) and same(r["min"], torch.quantile(h, 0.03))
    m = info["stats"]["head"]["data_in_0"]["range_min_max"]
    assert (m["min"], m["max"]) == (0.0, h.max().item())
