"""cost_analysis_pass: FLOPs against torch's FlopCounterMode, BitOPs against the worked numbers of
the reference notes (cost-quant-jsc.md sections 1.2, 2.2 and 5), and hand-computed rules."""

from __future__ import annotations

import json
import logging
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from core.cost import RULES, compare_costs
from core.cost.bits import block_count, storage_bits
from core.errors import ConfigError, PassError
from core.ir import MaseGraph
from core.ir.metadata import get_mase
from core.models import get_model_spec, list_models
from core.passes import PASSES, get_pass
from core.passes.analysis.cost import cost_analysis_pass
from tests.helpers import INT84

ZOO = [spec.name for spec in list_models() if not spec.extra]  # HF models: test_export_capture.py


# ------------------------------------------------------------------ helpers
def annotate(model: nn.Module, x: torch.Tensor, *, meta: bool = False, leaves=()) -> MaseGraph:
    graph = MaseGraph(model.eval(), custom_leaf_modules=leaves)
    graph, _ = PASSES["init_metadata_analysis_pass"].fn(graph, None)
    (name,) = graph.placeholder_names()
    graph, _ = PASSES["add_common_metadata_analysis_pass"].fn(graph, {"dummy_in": {name: x}, "force_device_meta": meta})
    return graph


def zoo_input(name: str, batch: int) -> torch.Tensor:
    (spec_in,) = get_model_spec(name).inputs
    if spec_in.kind == "tokens":
        return torch.randint(0, spec_in.vocab_size, (batch, *spec_in.shape))
    return torch.randn(batch, *spec_in.shape)


def zoo(name: str, batch: int = 2, meta: bool | None = None) -> MaseGraph:
    torch.manual_seed(0)
    if meta is None:
        meta = name == "resnet18"  # shapes only: keeps ResNet-18 cheap on 2 cores
    return annotate(get_model_spec(name).build(), zoo_input(name, batch), meta=meta)


def flop_counter(model: nn.Module, x: torch.Tensor) -> int:
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model.eval()(x)
    return counter.get_total_flops()


def cost(graph: MaseGraph, **args) -> dict:
    return cost_analysis_pass(graph, args)[1]


def node_row(info: dict, name: str) -> dict:
    return next(r for r in info["nodes"] if r["name"] == name)


def set_precision(graph: MaseGraph, node_name: str, args: dict[str, list]) -> None:
    """Write precisions exactly as quantize_transform_pass does (type "integer", [width, frac])."""
    common = get_mase(graph.node(node_name)).parameters["common"]
    for arg, precision in args.items():
        common["args"][arg]["type"] = "integer"
        common["args"][arg]["precision"] = precision


def quantise_linears_by_hand(graph: MaseGraph, width: int = 8, frac: int = 4) -> None:
    for node in graph.nodes:
        if get_mase(node).parameters["common"].get("mase_op") == "linear":
            set_precision(graph, node.name, {"data_in_0": [width, frac], "weight": [width, frac], "bias": [width, frac]})


# ------------------------------------------------------------------ FLOPs = FlopCounterMode
@pytest.mark.parametrize("name", ZOO)
def test_core_flops_equal_flop_counter_mode_for_every_zoo_model(name):
    batch = 1 if name == "resnet18" else 3
    torch.manual_seed(0)
    model = get_model_spec(name).build().eval()
    x = zoo_input(name, batch)
    if name == "resnet18":
        model, x = model.to("meta"), x.to("meta")
    expected = flop_counter(model, x)
    info = cost(annotate(model, x, meta=name == "resnet18"))
    per_sample, per_batch = info["totals_per_sample"], info["totals_per_batch"]
    assert per_batch["flops_core"] == expected
    assert per_sample["flops_core"] * batch == expected
    assert per_sample["flops_core"] == 2 * per_sample["macs"]
    assert info["unruled_ops"] == []
    assert info["totals_model"]["params"] == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name, flops", [("jsc-tiny", 160), ("jsc-toy", 464), ("jsc-s", 10_560), ("jsc-mlp", 8_512),
                                         ("toy-cnn", 3_284_992), ("resnet18", 3_628_146_688)])
def test_reference_flop_constants_per_sample(name, flops):
    assert cost(zoo(name, batch=4 if name != "resnet18" else 1))["totals_per_sample"]["flops_core"] == flops


def test_elementwise_bucket_matches_reference_totals():
    tiny = cost(zoo("jsc-tiny"))
    # BN 2 x 16 + ReLU 16 + bias 5 + ReLU 5
    assert [node_row(tiny, n)["flops_elementwise"] for n in ("seq_blocks_0", "seq_blocks_1", "seq_blocks_2", "seq_blocks_3")] == [32, 16, 5, 5]
    assert tiny["totals_per_sample"]["flops_total"] == 218
    assert cost(zoo("jsc-toy"))["totals_per_sample"]["flops_total"] == 596
    # no BN: biases 64+32+32+5 and ReLUs 64+32+32
    assert cost(zoo("jsc-mlp"))["totals_per_sample"]["flops_total"] == 8_512 + 133 + 128
    # DeepSpeed's 3,636,250,112 + linear bias 1,000 + residual adds 752,640 (reference section 5)
    resnet = cost(zoo("resnet18", batch=1))["totals_per_sample"]
    assert resnet["flops_total"] == 3_637_003_752
    assert resnet["flops_elementwise"] == 3_637_003_752 - 3_628_146_688


# ------------------------------------------------------------------ BitOPs worked numbers
@pytest.mark.parametrize("name, fp32, uniq", [("jsc-tiny", 81_920, 87_360), ("jsc-toy", 237_568, 253_240),
                                              ("jsc-mlp", 4_358_144, 4_652_832)])
def test_bitops_fp32_and_uniq(name, fp32, uniq):
    info = cost(zoo(name, batch=8), uniq=True)
    assert info["totals_per_sample"]["bitops"] == fp32
    assert info["totals_per_sample"]["bitops_uniq"] == pytest.approx(uniq, abs=1e-6)
    assert cost(zoo(name))["totals_per_sample"]["bitops_uniq"] is None  # only when asked


@pytest.mark.parametrize("name, w8a8, uniq", [("jsc-tiny", 5_120, 6_720), ("jsc-toy", 14_848, 19_384),
                                              ("jsc-mlp", 272_384, 362_784)])
def test_bitops_8bit_with_metadata_set_as_the_quantize_pass_writes_it(name, w8a8, uniq):
    graph = zoo(name, batch=8)
    quantise_linears_by_hand(graph)
    info = cost(graph, uniq=True)
    assert info["totals_per_sample"]["bitops"] == w8a8
    assert info["totals_per_sample"]["bitops_uniq"] == pytest.approx(uniq, abs=1e-6)
    # width, never width + frac
    linear = next(r for r in info["nodes"] if r["mase_op"] == "linear")
    assert linear["bits"] == {"data_in_0": 8, "weight": 8}
    assert linear["precision"] == {"data_in_0": "integer[8,4]", "weight": "integer[8,4]"}


def test_jsc_toy_with_only_seq_blocks_2_quantised():
    graph = zoo("jsc-toy")
    set_precision(graph, "seq_blocks_2", {"data_in_0": [8, 4], "weight": [8, 4], "bias": [8, 4]})
    assert cost(graph)["totals_per_sample"]["bitops"] == 128 * 64 + 104 * 1024 == 114_688


def test_resnet18_bitops_fp32_and_w8a8_hawq_v3():
    graph = zoo("resnet18", batch=1)
    assert cost(graph)["totals_per_sample"]["bitops"] == 1_857_611_104_256
    for node in graph.nodes:
        if get_mase(node).parameters["common"]["mase_op"] in ("conv2d", "linear"):
            args = {"data_in_0": [8, 4], "weight": [8, 4]}
            if "bias" in get_mase(node).parameters["common"]["args"]:
                args["bias"] = [8, 4]
            set_precision(graph, node.name, args)
    assert cost(graph)["totals_per_sample"]["bitops"] == 116_100_694_016


def test_half_precision_counts_16_bits():
    model = get_model_spec("jsc-mlp").build().to(torch.bfloat16)
    info = cost(annotate(model, torch.randn(2, 16, dtype=torch.bfloat16), meta=True))
    assert info["totals_per_sample"]["bitops"] == 4_256 * 16 * 16
    assert node_row(info, "fc1")["precision"] == {"data_in_0": "bfloat16", "weight": "bfloat16"}


@pytest.mark.parametrize("name, config, bitops, param_bits", [
    ("jsc-tiny", {"by": "type", "default": {"config": {"name": None}}, "linear": {"config": INT84}},
     5_120, 32 * 32 + 85 * 8),
    ("jsc-toy", {"by": "type", "default": {"config": {"name": None}}, "linear": {"config": INT84}},
     14_848, 74 * 32 + 253 * 8),
    ("jsc-toy", {"by": "name", "default": {"config": {"name": None}}, "seq_blocks_2": {"config": INT84}},
     114_688, (327 - 136) * 32 + 136 * 8),
])
def test_bitops_after_the_real_quantize_pass(name, config, bitops, param_bits):
    graph = zoo(name, batch=8)
    before = cost(graph)
    quantised, _ = get_pass("quantize_transform_pass")(graph.copy(), config)
    after = cost(quantised, uniq=True)
    assert after["totals_per_sample"]["bitops"] == bitops
    assert after["totals_model"]["param_bits"] == param_bits
    cmp = compare_costs(before, after)
    assert cmp["bitops_ratio"] == pytest.approx(bitops / before["totals_per_sample"]["bitops"])
    assert cmp["storage_ratio"] == pytest.approx(param_bits / (32 * before["totals_model"]["params"]))
    assert cmp["flops_delta"] == 0
    assert set(cmp["changed_nodes"]) == {r["name"] for r in after["nodes"] if r["bits"].get("weight") == 8}


def test_block_fp_storage_adds_the_shared_exponent_per_block():
    block = {"name": "block_fp", **{f"{op}_{k}": v for op in ("data_in", "weight", "bias") for k, v in
                                    (("width", 8), ("exponent_width", 8), ("exponent_bias", None), ("block_size", [16]))}}
    graph = zoo("jsc-tiny")
    quantised, _ = get_pass("quantize_transform_pass")(graph.copy(), {"by": "type", "linear": {"config": block}})
    info = cost(quantised)
    # weight [5, 16]: 80 x 8 bits + 5 blocks x 8; bias [5]: 5 x 8 + 1 block x 8; BN stays float32
    assert node_row(info, "seq_blocks_2")["param_bits"] == 80 * 8 + 5 * 8 + 5 * 8 + 8
    assert info["totals_model"]["param_bits"] == 32 * 32 + 728
    assert info["totals_per_sample"]["bitops"] == 80 * 8 * 8


def test_block_counts_and_storage_by_hand():
    assert block_count([5, 16], [16]) == 5
    assert block_count([5, 10], [16]) == 5  # each row padded to a whole block
    assert block_count([8, 16], [1, 16]) == 8
    assert block_count([64, 3, 3, 3], [16]) == 64 * 3 * 3
    entry = {"shape": [5, 16], "type": "block_fp", "precision": [7, 8, 127, [1, 16]]}
    assert storage_bits(entry) == 80 * 7 + 5 * 8
    assert storage_bits({"shape": [4, 4], "type": "integer", "precision": [6, 3]}) == 16 * 6


# ------------------------------------------------------------------ conv variants, matmul
class Convs(nn.Module):
    def __init__(self):
        super().__init__()
        self.grouped = nn.Conv2d(8, 16, 3, padding=1, groups=4)
        self.depthwise = nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=16, bias=False)
        self.up = nn.ConvTranspose2d(16, 4, 2, stride=2, groups=2)

    def forward(self, x):
        return self.up(self.depthwise(self.grouped(x)))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 5)

    def forward(self, x):
        return self.conv(x)


def test_grouped_depthwise_and_transposed_conv():
    x = torch.randn(2, 8, 10, 10)
    model = Convs()
    info = cost(annotate(model, x), uniq=True)
    grouped, depthwise, up = (node_row(info, n) for n in ("grouped", "depthwise", "up"))
    assert grouped["macs"] == 16 * 10 * 10 * (8 // 4) * 9  # out per sample x C_in/groups x k
    assert grouped["flops_elementwise"] == 16 * 10 * 10  # bias
    assert grouped["bitops_uniq"] == pytest.approx(grouped["macs"] * (1024 + 64 + math.log2(18)))
    assert depthwise["macs"] == 16 * 5 * 5 * 1 * 9 and depthwise["flops_elementwise"] == 0
    assert up["macs"] == 16 * 5 * 5 * (4 // 2) * 4  # in per sample x C_out/groups x k
    assert info["totals_per_batch"]["flops_core"] == flop_counter(model, x)


def test_conv1d():
    x = torch.randn(3, 4, 20)
    info = cost(annotate(Conv1dNet(), x))
    assert node_row(info, "conv")["macs"] == 6 * 16 * 4 * 5
    assert info["totals_per_batch"]["flops_core"] == flop_counter(Conv1dNet(), x)


class Matmuls(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 7))

    def forward(self, x):
        b = x.size(0)
        a = x.view(b, 4, 6)
        s = torch.bmm(a, a.transpose(1, 2))  # [b, 4, 4], K = 6
        m = torch.matmul(s, self.w)  # broadcast [b, 4, 4] @ [4, 7], K = 4
        v = torch.matmul(x.view(b, 2, 2, 6), torch.ones(6, 3))  # 4-D broadcast, K = 6
        return m.sum() + v.sum()


def test_batched_matmul_and_activation_x_activation_bitops():
    x = torch.randn(5, 24)
    graph = annotate(Matmuls(), x)
    info = cost(graph)
    assert node_row(info, "bmm")["macs"] == 4 * 4 * 6
    assert node_row(info, "matmul")["macs"] == 4 * 7 * 4
    assert node_row(info, "matmul_1")["macs"] == 2 * 2 * 3 * 6
    assert info["totals_per_batch"]["flops_core"] == flop_counter(Matmuls(), x)
    assert node_row(info, "w")["params"] == 28  # the parameter read by get_attr
    # activation x activation: both activation widths, not a weight width
    set_precision(graph, "bmm", {"data_in_0": [8, 4], "data_in_1": [4, 2]})
    assert node_row(cost(graph), "bmm")["bitops"] == 96 * 8 * 4


class Attention(nn.Module):
    def forward(self, x):
        q = x.view(x.size(0), 2, 8, 4)
        return F.scaled_dot_product_attention(q, q, q)


def test_scaled_dot_product_attention_rule():
    info = cost(annotate(Attention(), torch.randn(3, 64)))
    row = node_row(info, "scaled_dot_product_attention")
    assert row["macs"] == 2 * 8 * 8 * (4 + 4)  # heads x L x S x (E + Ev), per sample
    assert row["flops_elementwise"] == 2 * 2 * 8 * 8  # scale + softmax over the scores


# ------------------------------------------------------------------ ops without a rule
class Mystery(nn.Module):
    """A user leaf module: the pass cannot know what it computes."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(6))

    def forward(self, x):
        return x * self.scale


class WithUnruled(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(6, 6)
        self.mystery = Mystery()

    def forward(self, x):
        y = self.mystery(self.fc(x))
        return torch.einsum("bi,bj->bij", y, y).flatten(1)


def test_ops_without_a_rule_are_listed_with_zero_cost_and_a_warning(caplog):
    graph = annotate(WithUnruled(), torch.randn(2, 6), leaves=(Mystery,))
    with caplog.at_level(logging.WARNING, logger="core.passes.analysis.cost"):
        info = cost(graph)
    assert [(u["name"], u["mase_op"]) for u in info["unruled_ops"]] == [("mystery", "user_defined_module")]
    row = node_row(info, "mystery")
    assert row["rule"] == "unruled"
    assert (row["macs"], row["flops_elementwise"], row["bitops"]) == (0, 0, 0)
    assert row["params"] == 6  # parameters are counted anyway
    # einsum has a rule: "bi,bj->bij" sums over no label, so it is a broadcast multiply
    # (FlopCounterMode counts no bmm for it either): 0 MACs, 6 x 6 multiplies per sample
    einsum = node_row(info, "einsum")
    assert (einsum["rule"], einsum["macs"], einsum["flops_elementwise"]) == ("mac", 0, 36)
    assert node_row(info, "einsum")["act_bits"] == 36 * 32
    assert info["totals_per_sample"]["macs"] == 36
    assert any("mystery (user_defined_module)" in w for w in info["warnings"])
    assert "mystery (user_defined_module)" in caplog.text
    # implicit ops are zero-cost by rule, not unruled
    assert node_row(info, "flatten")["rule"] == "zero"
    assert info["zero_cost_ops"]["flatten"] == 1


def test_every_zoo_op_has_a_rule_and_every_rule_a_formula():
    assert all(rule.formula and rule.bucket in ("mac", "elementwise", "zero") for rule in RULES.values())
    info = cost(zoo("toy-fn"))
    assert info["unruled_ops"] == [] and info["warnings"] == []
    # python int arithmetic on sizes (tiny-transformer: b * heads) is zero by the scalar rule
    transformer = cost(zoo("tiny-transformer"))
    scalar = node_row(transformer, "mul")
    assert scalar["rule"] == "zero" and "scalar" in scalar["formula"]


class PythonSizes(nn.Module):
    def forward(self, x):
        n = math.ceil(x.size(1) / 2)  # math is autowrapped: `ceil` becomes a graph node
        return x[:, :n].sum()


def test_pure_python_nodes_are_zero_by_the_scalar_rule_even_without_a_table_entry():
    info = cost(annotate(PythonSizes(), torch.randn(2, 6)))
    assert {r["name"]: r["rule"] for r in info["nodes"]}["ceil"] == "zero"
    assert "scalar" in node_row(info, "ceil")["formula"]
    assert info["unruled_ops"] == [] and info["warnings"] == []
    assert node_row(info, "sum_1")["flops_elementwise"] == 3  # [2, 3] slice summed, per sample


# ------------------------------------------------------------------ batch, meta, memory, subtotals
def test_per_sample_and_per_batch():
    graph = zoo("jsc-tiny", batch=8)
    info = cost(graph)
    assert (info["dummy_batch_size"], info["batch_size"]) == (8, 8)
    assert info["totals_per_sample"]["flops_core"] == 160
    assert info["totals_per_batch"]["flops_core"] == 1_280  # FlopCounterMode at batch 8
    big = cost(graph, batch_size=32)
    assert big["totals_per_sample"] == info["totals_per_sample"]
    assert big["totals_per_batch"]["bitops"] == 32 * 81_920
    assert big["columns"]["bitops@batch"] == "BitOPs per batch of 32"
    assert big["columns"]["bitops"] == "BitOPs per sample"
    assert big["columns"]["params"] == "parameters (per model)"


def test_activation_memory():
    info = cost(zoo("jsc-tiny"))
    # input 16 + BN 16 + ReLU 16 + Linear 5 + ReLU 5 float32 values a sample
    assert info["totals_per_sample"]["act_bits"] == 58 * 32
    assert info["totals_per_sample"]["act_bytes"] == 58 * 4
    toy = cost(zoo("toy"))
    assert node_row(toy, "view")["act_bits"] == 0  # a view makes no new data
    assert node_row(toy, "seq_blocks_0")["act_bits"] == 100 * 32


@pytest.mark.parametrize("name", ["jsc-toy", "toy-fn", "toy-cnn", "tiny-transformer"])
def test_meta_device_graph_gives_identical_numbers(name):
    real, meta = cost(zoo(name, meta=False), uniq=True), cost(zoo(name, meta=True), uniq=True)
    assert meta["nodes"] == real["nodes"]
    assert meta["totals_per_sample"] == real["totals_per_sample"]
    assert meta["totals_model"] == real["totals_model"]


@pytest.mark.parametrize("name", ["jsc-toy", "tiny-transformer", "resnet18"])
def test_module_subtotals_sum_to_totals(name):
    info = cost(zoo(name, batch=1 if name == "resnet18" else 2), uniq=True)
    keys = ("macs", "flops_total", "bitops", "act_bits", "params", "param_bits")
    for module in info["modules"]:
        inside = [r for r in info["nodes"] if r["module"] == module["path"] or r["module"].startswith(module["path"] + ".")]
        for key in keys:
            assert module[key] == sum(r[key] for r in inside), (module["path"], key)
        assert module["bitops_uniq"] == pytest.approx(sum(r["bitops_uniq"] for r in inside))
    top = [m for m in info["modules"] if m["depth"] == 0]
    root = [r for r in info["nodes"] if r["module"] == ""]
    for key in ("macs", "flops_total", "bitops", "act_bits"):
        assert sum(m[key] for m in top) + sum(r[key] for r in root) == info["totals_per_sample"][key]
    for key in ("params", "param_bits"):
        assert sum(m[key] for m in top) + sum(r[key] for r in root) == info["totals_model"][key]


def test_module_subtotals_of_jsc_tiny_and_transformer_paths():
    tiny = cost(zoo("jsc-tiny"))
    assert [(m["path"], m["macs"], m["params"]) for m in tiny["modules"]] == [
        ("seq_blocks", 80, 117), ("seq_blocks.0", 0, 32), ("seq_blocks.1", 0, 0), ("seq_blocks.2", 80, 85),
        ("seq_blocks.3", 0, 0)]
    transformer = {m["path"]: m for m in cost(zoo("tiny-transformer"))["modules"]}
    # attention: qkv 64x192 + scores 32x32x16 x 4 heads + AV 32x32x16 x 4 + proj 64x64, over 32 tokens
    assert transformer["layers.0.attn"]["macs"] == 32 * 64 * 192 + 2 * 4 * 32 * 32 * 16 + 32 * 64 * 64
    assert transformer["layers.0.attn"]["parent"] == "layers.0"


def test_shared_module_parameters_are_counted_once():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            return self.fc(self.fc(x))

    info = cost(annotate(Twice(), torch.randn(2, 4)))
    assert info["totals_model"]["params"] == 20
    assert info["totals_per_sample"]["macs"] == 32


# ------------------------------------------------------------------ compare
def test_compare_costs_by_hand():
    fp32 = cost(zoo("jsc-toy"))
    graph = zoo("jsc-toy")
    quantise_linears_by_hand(graph)
    q = cost(graph)
    cmp = compare_costs(fp32, q)
    assert cmp["bitops_ratio"] == 14_848 / 237_568 == 0.0625
    # 253 linear parameters go from 32 to 8 bits; the 74 BN parameters stay float32
    assert cmp["storage_ratio"] == (74 * 32 + 253 * 8) / (327 * 32)
    assert cmp["flops_delta"] == 0
    assert cmp["totals_per_sample"]["bitops"]["delta"] == 14_848 - 237_568
    assert cmp["changed_nodes"] == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]
    row = next(r for r in cmp["nodes"] if r["name"] == "seq_blocks_5")
    assert (row["bitops"]["a"], row["bitops"]["b"], row["bitops_ratio"]) == (64 * 1024, 64 * 64, 0.0625)
    assert row["storage_ratio"] == 0.25
    assert row["precision_b"] == {"data_in_0": "integer[8,4]", "weight": "integer[8,4]"}
    relu = next(r for r in cmp["nodes"] if r["name"] == "seq_blocks_4")
    assert relu["status"] == "unchanged" and relu["bitops_ratio"] is None  # 0 BitOPs: no ratio


def test_compare_costs_reports_added_and_removed_nodes():
    a = cost(zoo("jsc-tiny"))
    b = json.loads(json.dumps(a))
    removed = b["nodes"].pop(2)
    b["nodes"].append({**removed, "name": "extra"})
    cmp = compare_costs(a, b)
    status = {r["name"]: r["status"] for r in cmp["nodes"]}
    assert status[removed["name"]] == "removed" and status["extra"] == "added"
    assert next(r for r in cmp["nodes"] if r["name"] == "extra")["bitops"]["a"] is None


# ------------------------------------------------------------------ pass contract
def test_pass_contract():
    graph = zoo("jsc-tiny")
    args = {"batch_size": 4, "uniq": True}
    returned, info = cost_analysis_pass(graph, args)
    assert returned is graph and args == {"batch_size": 4, "uniq": True}
    json.dumps(info)  # plain data
    assert get_pass("calculate_cost_analysis_pass").fn is cost_analysis_pass
    assert get_pass("flop_bitop_analysis_pass").fn is cost_analysis_pass
    with pytest.raises(ConfigError, match="unknown argument.*batchsize.*did you mean 'batch_size'"):
        cost_analysis_pass(graph, {"batchsize": 4})
    with pytest.raises(PassError, match="batch_size"):
        cost_analysis_pass(graph, {"batch_size": 0})
    with pytest.raises(PassError, match="add_common_metadata"):
        cost_analysis_pass(MaseGraph(get_model_spec("jsc-tiny").build()), None)
