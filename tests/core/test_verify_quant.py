"""verify_quantization_analysis_pass: effective weights, biases and inputs on the grid, with
distinct counts, max error and SQNR checked against direct computations; off-grid values found."""

from __future__ import annotations

import math

import pytest
import torch

from core.models import get_model
from core.passes import PASSES
from core.passes.analysis.verify_quant import check_operand
from core.quant import validate_config
from core.quant.quantizers import integer_quantizer
from tests.helpers import INT84, Batches, annotated

KEYS = {
    "integer": {"width": 8, "frac_width": 4},
    "minifloat_ieee": {"width": 8, "exponent_width": 4, "exponent_bias": None},
    "minifloat_denorm": {"width": 8, "exponent_width": 4, "exponent_bias": None},
    "log": {"width": 8, "exponent_bias": None},
    "block_fp": {"width": 6, "exponent_width": 8, "exponent_bias": None, "block_size": [16]},
    "binary": {"width": 1, "stochastic": False, "bipolar": False},
    "ternary": {"width": 2, "scaling_factor": True, "mean": None, "median": None, "max": None},
    "block_minifloat": {"width": 8, "exponent_width": 4, "exponent_bias_width": 4, "block_size": [16]},
    "block_log": {"width": 8, "exponent_bias_width": 4, "block_size": [16]},
    "mxint8": {},
    "mxfp8_e5m2": {"block_size": 32},
    "mxfp6_e3m2": {"width": 6},
    "mxfp4": {},
}


def verify(mg, **args):
    return PASSES["verify_quantization_analysis_pass"].fn(mg, args)


def full_config(name):
    return {"name": name, **{f"{o}_{k}": v for o in ("data_in", "weight", "bias") for k, v in KEYS[name].items()}}


def test_lab_linear_weights_and_inputs_on_the_fixed_point_grid():
    torch.manual_seed(0)
    model = get_model("jsc-tiny").eval()
    data = torch.randn(16, 16) * 3
    mg = annotated(model, {"x": data[:8]})
    mg, _ = PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "linear": {"config": INT84}})
    mg, info = verify(mg, input_generator=Batches(data, 8))
    assert info["all_on_grid"] and info["inputs_checked"] and info["checked"] == 3
    (node,) = info["nodes"]
    assert node["name"] == "seq_blocks_2" and node["output_check"] == {"max_abs_diff": 0.0}
    ops = {o["arg"]: o for o in node["operands"]}
    w = model.seq_blocks[2].weight.detach()
    qw = integer_quantizer(w, 8, 4)
    k = qw * 16
    assert torch.equal(k, torch.round(k)) and k.min() >= -128 and k.max() <= 127  # the claim, directly
    assert ops["weight"]["grid"] == "k * 2^-4, k in [-128, 127]" and ops["weight"]["levels"] == 256
    assert ops["weight"]["distinct"] == torch.unique(qw).numel()
    assert ops["weight"]["max_abs_error"] == pytest.approx((qw - w).abs().max().item())
    sqnr = 10 * math.log10((w.double() ** 2).sum().item() / ((w.double() - qw.double()) ** 2).sum().item())
    assert ops["weight"]["sqnr_db"] == pytest.approx(sqnr, rel=1e-9)
    # the input of the linear is the first batch after BatchNorm and ReLU
    with torch.no_grad():
        h = torch.relu(model.seq_blocks[0](data[:8]))
    qh = integer_quantizer(h, 8, 4)
    assert ops["data_in_0"]["distinct"] == torch.unique(qh).numel()
    assert ops["data_in_0"]["range"] == [qh.min().item(), qh.max().item()]
    assert "seq_blocks_2" in info["text"] and "k * 2^-4" in info["text"]


@pytest.mark.parametrize("name", list(KEYS))
def test_every_quantiser_puts_toy_fn_on_its_grid(name):
    torch.manual_seed(1)
    model = get_model("toy-fn").eval()
    data = torch.randn(8, 192)
    mg = annotated(model, {"x": data[:4]})
    mg, q = PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "default": {"config": full_config(name)}})
    mg, info = verify(mg, input_generator=Batches(data, 4))
    assert info["all_on_grid"], info["text"]
    assert len(info["nodes"]) == q["counts"]["quantized"] == 14
    for node in info["nodes"]:
        if name in ("binary", "ternary") and node["kind"] == "module" and node["op"] == "relu":
            assert node["operands"] == []  # MASE's ReLUBinary / ReLUTernary quantise nothing
            continue
        assert node["operands"], node
        if "output_check" in node:
            assert node["output_check"]["max_abs_diff"] == 0.0


@pytest.mark.parametrize("name,values,off", [
    ("integer", [0.0625, 0.03, -8.0, 8.0], 2),          # 0.03 not a multiple of 1/16, 8.0 out of range
    ("minifloat_ieee", [1.0, 0.3, 480.0, 2.0**-9], 1),   # 0.3 needs more mantissa bits
    ("minifloat_denorm", [0.75, 0.3, 224.0, 2.0**-10], 1),
    ("log", [4.0, 3.0, 0.5, 0.0], 2),                    # 3 is not a power of two, 0 unrepresentable
    ("block_fp", [0.96875, 0.5, 0.3, 0.015625], 2),      # shared e = 0, values k/32: 0.3 and 1/64 are off
    ("binary", [0.5, 0.0, 0.25, 0.5], 1),
    ("ternary", [1.5, 0.0, -1.5, 0.7], 1),
])
def test_off_grid_values_are_found(name, values, off):
    config = validate_config(full_config(name), "relu")
    x = torch.tensor([values])
    report = check_operand(config, "data_in", x, q=x.clone())  # pretend the float values were "quantised"
    assert report["off_grid"] == off and not report["on_grid"]
    assert report["exact"] and report["sqnr_db"] is None


def test_without_generator_only_weights_and_without_quantised_nodes_nothing():
    model = get_model("jsc-toy")
    mg = annotated(model, {"x": torch.randn(8, 16)})
    _, info = verify(mg)
    assert (info["checked"], info["nodes"], info["all_on_grid"]) == (0, [], True)
    mg, _ = PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "linear": {"config": INT84}})
    _, info = verify(mg)
    assert not info["inputs_checked"] and info["checked"] == 6
    assert {o["arg"] for n in info["nodes"] for o in n["operands"]} == {"weight", "bias"}


def test_session_runtime_hooks_are_accepted():
    import threading

    model = get_model("jsc-tiny")
    mg = annotated(model, {"x": torch.randn(8, 16)})
    mg, _ = PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "linear": {"config": INT84}})
    _, info = verify(mg, input_generator=Batches(torch.randn(8, 16), 8), progress=print, cancel=threading.Event())
    assert info["all_on_grid"] and info["checked"] == 3
