"""The differences from MASE that issue 12 removed, each with MASE's observed behaviour written
out as expected values (facts about MASE, worked by hand; no MASE code)."""

from __future__ import annotations

import logging

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import QuantError
from core.models import get_model
from core.passes import PASSES
from core.quant import quantize_module, validate_config
from core.quant.functional import linear_binary
from core.quant.quantizers import (
    binary_quantizer,
    block_fp_quantizer,
    ternary_quantizer,
)
from tests.helpers import annotated

T = torch.tensor
BINARY_KEYS = {f"{o}_{k}": v for o in ("data_in", "weight", "bias")
               for k, v in (("width", 1), ("stochastic", 0), ("bipolar", 1))}
TERNARY_KEYS = {f"{o}_{k}": v for o in ("data_in", "weight", "bias")
                for k, v in (("width", 2), ("scaling_factor", False), ("mean", None), ("median", None), ("max", None))}


# 1. binary_training = "NA" (MASE's binary.toml), absent, None
@pytest.mark.parametrize("value", ["NA", None, "absent", True, False, 0, 1])
def test_binary_training_accepts_mase_spellings(value):
    config = {"name": "binary", **BINARY_KEYS}
    if value != "absent":
        config["binary_training"] = value
    parsed = validate_config(config, "linear", has_bias=True)
    expected = None if value in ("NA", None, "absent") else bool(value)
    assert parsed.get("binary_training") == expected


def test_binary_training_still_rejects_nonsense():
    with pytest.raises(QuantError, match="'binary_training' must be true/false"):
        validate_config({"name": "binary", "binary_training": "yes", **BINARY_KEYS}, "linear", has_bias=True)


# 2. binary and ternary Linear/Conv2d/ReLU modules quantise only the weight
def test_linear_binary_quantises_only_the_weight():
    lin = nn.Linear(3, 2)
    with torch.no_grad():
        lin.weight.copy_(T([[0.5, -0.25, 0.0], [-2.0, 3.0, -0.1]]))
        lin.bias.copy_(T([0.3, -0.7]))
    q = quantize_module(lin, {"name": "binary", "binary_training": "NA", **BINARY_KEYS})
    x = T([[0.2, -1.5, 4.0]])
    # MASE: input and bias pass through, weight -> {+1 (w >= 0), -1}
    w = T([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]])
    expected = T([[0.2 * 1 + -1.5 * -1 + 4.0 * 1 + 0.3, 0.2 * -1 + -1.5 * 1 + 4.0 * -1 - 0.7]])
    assert torch.allclose(q(x), expected, atol=1e-6)
    assert torch.equal(q(x), F.linear(x, w, T([0.3, -0.7])))


def test_data_in_width_32_keeps_activations_float_for_binary_conv2d():
    conv = nn.Conv2d(1, 1, 2, bias=True)
    with torch.no_grad():
        conv.weight.copy_(T([[[[0.4, -0.3], [0.0, -5.0]]]]))
        conv.bias.fill_(0.25)
    keys = dict(BINARY_KEYS, data_in_width=32)
    q = quantize_module(conv, {"name": "binary", **keys})
    x = T([[[[0.5, 2.0], [-3.0, 0.1]]]])
    # 0.5*1 + 2.0*-1 + -3.0*1 + 0.1*-1 + 0.25 = -4.35 (input and bias float)
    assert q(x).flatten().tolist() == pytest.approx([-4.35])


@pytest.mark.parametrize("quantiser,keys", [("binary", BINARY_KEYS), ("ternary", TERNARY_KEYS)])
def test_relu_binary_and_ternary_pass_their_input_through(quantiser, keys):
    q = quantize_module(nn.ReLU(), {"name": quantiser, **{k: v for k, v in keys.items() if k.startswith("data_in")}})
    x = T([[-1.5, 0.3, 2.7, -0.01]])
    assert torch.equal(q(x), T([[0.0, 0.3, 2.7, 0.0]]))


def test_linear_ternary_quantises_only_the_weight():
    lin = nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(T([[1.0, 0.1], [10.0, 5.0]]))
        lin.bias.copy_(T([0.5, -0.5]))
    q = quantize_module(lin, {"name": "ternary", **TERNARY_KEYS})
    x = T([[0.3, -0.2]])
    # weight rows: threshold 0.75 * 0.55 and 0.75 * 7.5 -> [[1, 0], [1, 0]]; x and bias float
    assert torch.allclose(q(x), T([[0.3 + 0.5, 0.3 - 0.5]]))


def test_conv1d_and_functional_binary_quantise_inputs_too():
    conv = nn.Conv1d(1, 1, 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(T([[[2.0, -1.0]]]))
    q = quantize_module(conv, {"name": "binary", **{k: v for k, v in BINARY_KEYS.items() if not k.startswith("bias")}})
    x = T([[[0.7, -0.2, 3.0]]])
    # input -> [1, -1, 1], weight -> [1, -1]: outputs 1*1 + -1*-1 = 2, -1*1 + 1*-1 = -2
    assert q(x).flatten().tolist() == [2.0, -2.0]
    cfg = validate_config({"name": "binary", **BINARY_KEYS}, "linear", has_bias=True)
    out = linear_binary(T([[0.7, -0.2]]), T([[0.5, 0.5]]), T([-0.3]), config=cfg)
    assert out.flatten().tolist() == [1 * 1 + -1 * 1 + -1.0]


def test_quantize_pass_metadata_reflects_weight_only_modules():
    torch.manual_seed(0)
    mg = annotated(get_model("jsc-tiny").eval(), {"x": torch.randn(4, 16)})
    mg, info = PASSES["quantize_transform_pass"].fn(
        mg, {"by": "type", "linear": {"config": {"name": "binary", "binary_training": "NA", **BINARY_KEYS}}})
    args = mg.node("seq_blocks_2").meta["mase"].parameters["common"]["args"]
    assert args["weight"]["type"] == "binary" and args["weight"]["precision"] == [1, False, True]
    assert args["data_in_0"]["type"] == "float" and args["bias"]["type"] == "float"
    assert info["quantized"][0]["metadata"] == {"weight": {"type": "binary", "precision": [1, False, True]}}


# 3. ternary without statistics: one threshold and scale per first-dimension slice
def test_ternary_per_first_dim_slice_issue_example():
    x = T([[[[1.0, 0.1]]], [[[10.0, 5.0]]]])
    assert ternary_quantizer(x).flatten().tolist() == [1.0, 0.0, 1.0, 0.0]  # MASE; one global threshold gave [0,0,1,1]


def test_ternary_scaled_per_slice_by_hand():
    x = T([[0.2, -0.9, 0.05, 1.3], [4.0, -4.0, 0.5, 0.1]])
    # row 0: mean|x| = 0.6125, threshold 0.459375 -> keep -0.9, 1.3, alpha = 1.1
    # row 1: mean|x| = 2.15, threshold 1.6125 -> keep 4, -4, alpha = 4
    assert torch.allclose(ternary_quantizer(x, scaling_factor=True),
                          T([[0.0, -1.1, 0.0, 1.1], [4.0, -4.0, 0.0, 0.0]]))


# 4. direct calls: MASE's keywords, positional order and defaults
def test_binary_quantizer_default_is_not_bipolar():
    x = T([[0.5, -1.0, 0.0, 2.5]])
    # MASE default bipolar=False: x > 0 -> mean|x| of the slice (1.0), else 0
    assert binary_quantizer(x).tolist() == [[1.0, 0.0, 0.0, 1.0]]
    assert binary_quantizer(x, False, True).tolist() == [[1.0, -1.0, 1.0, 1.0]]


def test_block_fp_skip_first_dim_defaults_true():
    x = T([[0.1, 0.2], [3.0, -6.0]])
    # MASE default: each row is its own block. Row 0: e = ceil(log2 0.2) = -2, step 2^-2 / 2^3
    assert block_fp_quantizer(x, 4, 8, None, [16]).tolist() == [[0.09375, 0.1875], [3.0, -6.0]]
    # skip_first_dim=False: one block, e = 3, step 1: 0.1 and 0.2 round to 0
    assert block_fp_quantizer(x, 4, 8, None, [16], skip_first_dim=False).tolist() == [[0.0, 0.0], [3.0, -6.0]]


def test_ternary_quantizer_mase_keywords_and_positional_order():
    x = T([0.3, -0.05, 0.2, -1.0])
    # (x, threshold, maximum, median, mean, scaling_factor)
    assert ternary_quantizer(x, maximum=5.0).tolist() == [1.0, 0.0, 0.0, -1.0]  # threshold 0.05 * 5
    assert ternary_quantizer(x, None, None, None, 0.4).tolist() == [0.0, 0.0, 0.0, -1.0]  # 0.75 * mean
    assert ternary_quantizer(x, 0.1).tolist() == [1.0, 0.0, 1.0, -1.0]
    assert ternary_quantizer(x, None, None, 0.2).tolist() == [1.0, 0.0, 1.0, -1.0]  # 0.75 * median
    assert torch.equal(ternary_quantizer(x, maximum=5.0), ternary_quantizer(x, max=5.0))


# 5. by-type config with a table named after a node: skipped with one warning
TERNARY_SCALED = {  # MASE's configs/tests/quantize/ternary_scaled.toml as its loader reads it
    "by": "type", "report": True,
    "default": {"config": {"name": "ternary", "data_in_width": 2, "data_in_scaling_factor": True,
                           "weight_width": 2, "weight_scaling_factor": False, "bias_width": 2,
                           "bias_scaling_factor": False, **{f"{o}_{s}": None for o in ("data_in", "weight", "bias")
                                                            for s in ("mean", "median", "max")}}},
    "seq_blocks_1": {"config": {"name": "ternary", "data_in_scaling_factor": True, "data_in_width": 2,
                                "data_in_frac_width": 0, "data_in_mean": None,
                                "data_in_median": -0.009714938700199127, "data_in_max": 6.568027019500732}},
}


def test_node_name_table_under_by_type_is_skipped_with_one_warning(caplog):
    torch.manual_seed(0)
    mg = annotated(get_model("toy").eval(), {"x": torch.randn(2, 784)})
    with caplog.at_level(logging.WARNING):
        mg, info = PASSES["quantize_transform_pass"].fn(mg, TERNARY_SCALED)
    node_warnings = [w for w in info["warnings"] if "seq_blocks_1" in w]
    assert len(node_warnings) == 1 and 'use by = "name"' in node_warnings[0]
    assert sum("seq_blocks_1" in r.getMessage() for r in caplog.records) == 1
    # MASE applies the default to every quantisable node, seq_blocks_1 included
    changed = {c["name"]: c["entry"] for c in info["quantized"]}
    assert changed["seq_blocks_1"] == "default" and set(changed.values()) == {"default"}


def test_typo_under_by_type_is_still_an_error_with_did_you_mean():
    mg = annotated(get_model("toy").eval(), {"x": torch.randn(2, 784)})
    with pytest.raises(QuantError, match="unknown op 'linaer'") as err:
        PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "linaer": {"config": {"name": None}}})
    assert err.value.hint == "did you mean 'linear'?"
    with pytest.raises(QuantError, match="unknown op 'seq_block_1'") as err:
        PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "seq_block_1": {"config": {"name": None}}})
    assert err.value.hint == "did you mean 'seq_blocks_1'?"


def test_integer_floor_quantizer_mase_name():
    from core.quant.quantizers import integer_floor_quantizer

    # (8, 4): floor(x * 16) / 16 -> 0.09375 -> 0.0625, -0.03 -> -0.0625
    assert integer_floor_quantizer(T([0.09375, -0.03, 100.0]), 8, 4).tolist() == [0.0625, -0.0625, 7.9375]
