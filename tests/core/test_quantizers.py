"""Quantisers against torch's fake-quant and hand-computed values; quantised layers and
functions against hand-quantised float computations; config validation."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import QuantError
from core.quant import QUANTIZED_MODULES, quantize, quantize_module, validate_config
from core.quant.functional import add_integer, matmul_integer, mul_integer, relu_integer, sub_log
from core.quant.quantizers import (
    binary_quantizer,
    block_fp_quantizer,
    integer_quantizer,
    log_quantizer,
    minifloat_denorm_quantizer,
    minifloat_ieee_quantizer,
    ternary_quantizer,
)
from tests.helpers import INT84, q84

T = torch.tensor


# ----------------------------------------------------------------------------- integer
WF_PAIRS = [(w, f) for w in (2, 3, 4, 5, 6, 8, 10, 12, 16) for f in (-2, 0, 1, 2, 4, 5, 8, 10)]


@pytest.mark.parametrize("width,frac", WF_PAIRS)
def test_integer_equals_torch_fake_quantize(width, frac):
    gen = torch.Generator().manual_seed(width * 100 + frac + 7)
    span = 2.0 ** (width - 1 - frac)
    x = (torch.rand(4000, generator=gen) * 2.6 - 1.3) * span
    # exact ties at every half step
    ties = (torch.arange(-2 ** (width - 1) - 3, 2 ** (width - 1) + 3, dtype=torch.float64)[:2000] + 0.5) / 2.0**frac
    x = torch.cat([x, ties.float()])
    ours = integer_quantizer(x, width, frac)
    oracle = torch.fake_quantize_per_tensor_affine(x, 2.0**-frac, 0, -(2 ** (width - 1)), 2 ** (width - 1) - 1)
    assert torch.equal(ours, oracle)


def test_integer_golden_values_8_4():
    # reference mase-lab2 4.4 and cost-quant-jsc 3.1
    x = T([0.03, 0.03125, 0.09375, 0.15625, -0.09375, 7.9, 7.97, 8.5, -8.1, 100.0, 1 / 3,
           -9.0, -8.03125, -0.03125, 7.96875])
    expected = T([0.0, 0.0, 0.125, 0.125, -0.125, 7.875, 7.9375, 7.9375, -8.0, 7.9375, 0.3125,
                  -8.0, -8.0, 0.0, 7.9375])
    assert torch.equal(q84(x), expected)


@pytest.mark.parametrize("width,frac,lo,hi,step", [
    (4, 2, -2.0, 1.75, 0.25), (16, 8, -128.0, 127.99609375, 2**-8), (8, 0, -128.0, 127.0, 1.0),
    (6, 5, -1.0, 0.96875, 2**-5), (8, 10, -0.125, 0.1240234375, 2**-10),
])
def test_integer_ranges(width, frac, lo, hi, step):
    assert integer_quantizer(T([-1e6, 1e6]), width, frac).tolist() == [lo, hi]
    assert integer_quantizer(T([step * 3.4]), width, frac).item() == step * 3


def test_integer_unsigned_floor_and_default_frac():
    x = T([-1.0, 0.09375, 15.9, 100.0, -0.03125])
    assert integer_quantizer(x, 8, 4, is_signed=False).tolist() == [0.0, 0.125, 15.875, 15.9375, 0.0]
    assert integer_quantizer(x, 8, 4, floor=True).tolist() == [-1.0, 0.0625, 7.9375, 7.9375, -0.0625]
    assert torch.equal(integer_quantizer(x, 8, None), integer_quantizer(x, 8, 4))
    assert torch.equal(integer_quantizer(x, 6, "NA"), integer_quantizer(x, 6, 3))


def test_integer_straight_through_gradient_is_not_masked():
    x = T([-9.0, 0.1, 7.99, 8.5], requires_grad=True)
    (integer_quantizer(x, 8, 4) * T([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert x.grad.tolist() == [1.0, 2.0, 3.0, 4.0]  # torch's fake-quant would give 0 outside the range


def test_integer_keeps_dtype():
    for dtype in (torch.float16, torch.float64, torch.bfloat16):
        x = torch.linspace(-3, 3, 50, dtype=dtype)
        out = integer_quantizer(x, 8, 4)
        assert out.dtype == dtype
        assert torch.all((out.double() * 16) == torch.round(out.double() * 16))


# ----------------------------------------------------------------------------- minifloat
def test_minifloat_ieee_e4m3_hand_values():
    # width 8, exponent 4 (bias 7), mantissa 3: normal values 2^e (1 + k/8), e in [-6, 8];
    # subnormals k * 2^-9; saturation at 2^8 * 1.875 = 480.
    cases = {
        1.0: 1.0, 0.3: 0.3125, 1.0625: 1.0, 1.1875: 1.25, 1.99: 1.875, 480.0: 480.0, 1000.0: 480.0,
        -1000.0: -480.0, 2.0**-8: 2.0**-8, 0.00537109375: 0.005859375, 0.001: 2.0**-9,
        1e-4: 0.0, 0.0: 0.0, -0.3: -0.3125, 6.5: 6.5, 7.0: 7.0, 7.4: 7.5,
    }
    x = T(list(cases))
    assert minifloat_ieee_quantizer(x, 8, 4).tolist() == list(cases.values())
    assert torch.equal(minifloat_ieee_quantizer(x, 8, 4, "NA"), minifloat_ieee_quantizer(x, 8, 4, 7))


def test_minifloat_ieee_custom_bias_and_no_mantissa():
    # exponent bias 3 with 3 exponent bits, 2 mantissa bits: max 2^(7-3) * 1.75 = 28
    assert minifloat_ieee_quantizer(T([100.0, 3.3]), 6, 3, 3).tolist() == [28.0, 3.5]
    # width = 1 + exponent_width: values are powers of two (normal), 0 mantissa bits
    assert minifloat_ieee_quantizer(T([3.0, 5.0]), 4, 3).tolist() == [2.0, 4.0]


def test_minifloat_denorm_hand_values():
    # width 8, exponent 4 (bias 7), 3 mantissa bits, no implicit bit: 2^e * k / 8, k <= 7,
    # e = clamp(ceil(log2|x|), -7, 8) as MASE computes it (so 1.0 -> 0.875).
    cases = {0.75: 0.75, 1.0: 0.875, 0.3: 0.3125, 1000.0: 224.0, 0.0005: 2.0**-10, 0.0: 0.0,
             -0.75: -0.75, 5.0: 5.0, 0.1: 0.09375}
    x = T(list(cases))
    assert minifloat_denorm_quantizer(x, 8, 4).tolist() == list(cases.values())


# ----------------------------------------------------------------------------- log
def test_log_hand_values():
    # width 8: 7 exponent bits, bias 63: exponents in [-63, 64]
    x = T([3.0, -0.7, 0.75, 1.0, 0.0, 1e-30, 1e30, -5.0])
    expected = [4.0, -0.5, 1.0, 1.0, 2.0**-63, 2.0**-63, 2.0**64, -4.0]
    assert log_quantizer(x, 8).tolist() == expected
    # width 3: exponent bits 2, bias 1 -> {0.5, 1, 2, 4}
    assert log_quantizer(T([0.1, 0.9, 1.5, 3.5, 100.0]), 3).tolist() == [0.5, 1.0, 2.0, 4.0, 4.0]
    assert log_quantizer(T([0.1, 0.2]), 8, exponent_bias=2).tolist() == [0.25, 0.25]  # clamped at 2^-2


# ----------------------------------------------------------------------------- block_fp
def test_block_fp_hand_values():
    # width 4: 3 mantissa bits; row 0 max 1.0 -> e = 0; row 1 max 8 -> e = 3
    x = T([[1.0, 0.3, -0.01, 0.6], [8.0, 1.0, 0.0, 0.1]])
    out = block_fp_quantizer(x, 4, 8, None, [1, 4], skip_first_dim=True)
    assert out.tolist() == [[0.875, 0.25, 0.0, 0.625], [7.0, 1.0, 0.0, 0.0]]


def test_block_fp_blocks_and_padding():
    # blocks of 4 along a row of 5: [0:4] shares max 0.5 (e = -1), [4:5] is alone (e = 2 for 3.0)
    x = T([[0.5, 0.1, 0.26, -0.2, 3.0]])
    out = block_fp_quantizer(x, 4, 8, None, [4], skip_first_dim=True)
    assert out.tolist() == [[0.4375, 0.125, 0.25, -0.1875, 3.0]]
    # a weight with block [16] and no skipped dim: one block over the whole [2, 3] tensor
    w = T([[4.0, 0.3, 0.2], [1.0, 0.1, -2.5]])
    assert block_fp_quantizer(w, 4, 8, None, [16]).tolist() == [[3.5, 0.5, 0.0], [1.0, 0.0, -2.5]]
    # bias-like 1-D
    assert block_fp_quantizer(T([0.5, 0.24]), 3, 8, None, [16]).tolist() == [0.375, 0.25]


def test_block_fp_3d_activation_blocks_per_token():
    x = torch.zeros(2, 3, 4)
    x[0, 0] = T([8.0, 1.0, 0.0, 0.0])
    x[0, 1] = T([1.0, 0.5, 0.0, 0.0])
    out = block_fp_quantizer(x, 4, 8, None, [1, 4], skip_first_dim=True)
    assert out[0, 0].tolist() == [7.0, 1.0, 0.0, 0.0]  # own block, e = 3
    assert out[0, 1].tolist() == [0.875, 0.5, 0.0, 0.0]  # own block, e = 0


# ----------------------------------------------------------------------------- binary / ternary
def test_binary_hand_values():
    x = T([[1.0, -0.3, 0.0], [2.0, 0.0, -1.0]])
    assert binary_quantizer(x, bipolar=True).tolist() == [[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]]
    # {0, mean|x| of the row}: row 0 mean 1.3/3, row 1 mean 1.0
    out = binary_quantizer(x, bipolar=False)
    assert torch.allclose(out, T([[1.3 / 3, 0.0, 0.0], [1.0, 0.0, 0.0]]))


def test_binary_stochastic_probabilities():
    torch.manual_seed(0)
    x = torch.cat([torch.full((5000,), 1.0), torch.full((5000,), -3.0), torch.zeros(20000)])
    out = binary_quantizer(x, stochastic=True, bipolar=True)
    assert torch.all(out[:5000] == 1.0)
    assert (out[5000:10000] == 1.0).sum() <= 1  # probability 0 (rand can only tie at exactly 0)
    assert abs(out[10000:].mean().item()) < 0.03  # probability 1/2


def test_ternary_hand_values():
    x = T([0.2, 0.35, -0.5, 0.3, -0.31])
    # threshold 0.75 * mean = 0.3; 0.3 itself is not above it
    assert ternary_quantizer(x, mean=0.4).tolist() == [0.0, 1.0, -1.0, 0.0, -1.0]
    # no mean: 0.05 * max = 0.1
    assert ternary_quantizer(x, max=2.0).tolist() == [1.0, 1.0, -1.0, 1.0, -1.0]
    # no statistics: 0.75 * mean|x| = 0.75 * 0.332 = 0.249
    assert ternary_quantizer(x).tolist() == [0.0, 1.0, -1.0, 1.0, -1.0]
    # scaled: kept |x| mean = (0.35 + 0.5 + 0.31) / 3
    out = ternary_quantizer(x, scaling_factor=True, median=0.4)
    a = (0.35 + 0.5 + 0.31) / 3
    assert torch.allclose(out, T([0.0, a, -a, 0.0, -a]))


# ----------------------------------------------------------------------------- dispatch
def test_quantize_passes_ints_and_int_tensors_through():
    assert quantize(2, "integer", width=8, frac_width=4) == 2
    idx = torch.arange(5)
    assert quantize(idx, "integer", width=2, frac_width=0) is idx
    assert quantize(0.3, "integer", width=8, frac_width=4) == 0.3125
    assert quantize(None, "integer", width=8, frac_width=4) is None


def test_all_quantizers_have_straight_through_gradient():
    calls = [
        lambda x: minifloat_ieee_quantizer(x, 8, 4), lambda x: minifloat_denorm_quantizer(x, 8, 4),
        lambda x: log_quantizer(x, 8), lambda x: block_fp_quantizer(x, 6, 8, None, [4]),
        lambda x: binary_quantizer(x), lambda x: ternary_quantizer(x),
    ]
    for fn in calls:
        x = torch.randn(3, 4, requires_grad=True)
        fn(x).sum().backward()
        assert torch.equal(x.grad, torch.ones(3, 4))


# ----------------------------------------------------------------------------- modules
def test_linear_integer_equals_hand_quantised_linear():
    torch.manual_seed(1)
    lin = nn.Linear(16, 5)
    q = quantize_module(lin, INT84)
    assert type(q).__name__ == "LinearInteger" and isinstance(q, nn.Linear)
    x = torch.randn(8, 16) * 3
    expected = F.linear(q84(x), q84(lin.weight), q84(lin.bias))
    assert torch.equal(q(x), expected)
    # float weights stay stored; the quantised view is on the grid
    assert torch.equal(q.weight, lin.weight) and q.weight is not lin.weight
    assert not torch.equal(q.weight, q.quantized_weight())
    k = q.quantized_weight() * 16
    assert torch.equal(k, torch.round(k))
    assert torch.equal(q.quantized_bias(), q84(lin.bias))


@pytest.mark.parametrize("conv_cls,shape", [(nn.Conv2d, (2, 3, 9, 9)), (nn.Conv1d, (2, 3, 11))])
def test_quantised_conv_keeps_bias(conv_cls, shape):
    torch.manual_seed(2)
    conv = conv_cls(3, 4, 3, stride=2, padding=1, dilation=1, groups=1, bias=True)
    with torch.no_grad():
        conv.bias.copy_(T([0.5, -1.25, 2.0, 0.0625]))
    q = quantize_module(conv, INT84)
    assert torch.equal(q.bias, conv.bias)
    x = torch.randn(shape)
    fn = F.conv2d if conv_cls is nn.Conv2d else F.conv1d
    expected = fn(q84(x), q84(conv.weight), q84(conv.bias), stride=2, padding=1)
    assert torch.equal(q(x), expected)
    # the bias really contributes: without it the output differs
    assert not torch.equal(q(x), fn(q84(x), q84(conv.weight), None, stride=2, padding=1))


def test_quantised_conv_padding_mode_groups_and_no_bias():
    conv = nn.Conv2d(4, 4, 3, padding=1, groups=2, bias=False, padding_mode="reflect")
    q = quantize_module(conv, {k: v for k, v in INT84.items() if not k.startswith("bias")})
    assert q.bias is None and q.padding_mode == "reflect" and q.groups == 2
    x = torch.randn(1, 4, 6, 6)
    expected = F.conv2d(F.pad(q84(x), (1, 1, 1, 1), mode="reflect"), q84(conv.weight), None, groups=2)
    assert torch.equal(q(x), expected)


def test_module_keeps_dtype_device_grad_and_mode():
    lin = nn.Linear(4, 3).double().eval()
    lin.bias.requires_grad_(False)
    q = quantize_module(lin, INT84)
    assert q.weight.dtype == torch.float64 and q.weight.device == lin.weight.device
    assert q.weight.requires_grad and not q.bias.requires_grad and not q.training
    assert q(torch.randn(2, 4, dtype=torch.float64)).dtype == torch.float64


def test_tied_weights_stay_tied():
    a, b = nn.Linear(4, 4), nn.Linear(4, 4)
    b.weight = a.weight
    memo: dict = {}
    qa, qb = quantize_module(a, INT84, memo), quantize_module(b, INT84, memo)
    assert qa.weight is qb.weight and qa.bias is not qb.bias


def test_quantised_linear_trains_through_ste():
    lin = nn.Linear(4, 2)
    q = quantize_module(lin, INT84)
    q(torch.randn(3, 4)).sum().backward()
    assert q.weight.grad is not None and q.weight.grad.abs().sum() > 0


def test_relu_integer_is_unsigned_and_bypass():
    cfg = {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}
    relu = quantize_module(nn.ReLU(inplace=True), cfg)
    assert type(relu).__name__ == "ReLUInteger" and relu.inplace
    x = T([-1.0, 0.5, 9.0, 20.0, 0.09375])
    assert relu(x.clone()).tolist() == [0.0, 0.5, 9.0, 15.9375, 0.125]
    byp = quantize_module(nn.ReLU(), {**cfg, "bypass": True})
    assert byp(x).tolist() == F.relu(x).tolist()


def test_output_quantiser_and_other_arithmetic_classes():
    lin = nn.Linear(3, 2)
    q = quantize_module(lin, {**INT84, "data_out_width": 4, "data_out_frac_width": 1})
    y = q(torch.randn(5, 3) * 4)
    assert torch.equal(y, integer_quantizer(y, 4, 1))
    mf = {"name": "minifloat_ieee", **{f"{o}_{s}": v for o in ("data_in", "weight", "bias")
                                        for s, v in (("width", 8), ("exponent_width", 4), ("exponent_bias", None))}}
    qm = quantize_module(lin, mf)
    assert type(qm).__name__ == "LinearMinifloatIEEE"
    x = torch.randn(5, 3)
    expected = F.linear(minifloat_ieee_quantizer(x, 8, 4), minifloat_ieee_quantizer(lin.weight, 8, 4),
                        minifloat_ieee_quantizer(lin.bias, 8, 4))
    assert torch.equal(qm(x), expected)
    fixed = quantize_module(lin, {**INT84, "name": "fixed"})
    assert type(fixed).__name__ == "LinearInteger" and fixed.config["name"] == "fixed"
    assert len(QUANTIZED_MODULES) == 4 * 15 + 2  # 15 arithmetics x 4 ops + binary_residual linear, conv2d


# ----------------------------------------------------------------------------- functions
def test_quantised_functions():
    cfg = validate_config({"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}, "add")
    x, y = T([0.09375, 1.0]), T([0.03, -9.0])
    assert add_integer(x, y, config=cfg).tolist() == [0.125, -7.0]
    assert add_integer(x, 2, config=cfg).tolist() == [2.125, 3.0]  # the int 2 passes unchanged
    assert mul_integer(x, 0.3, config=cfg).tolist() == [0.125 * 0.3125, 0.3125]
    assert relu_integer(T([-1.0, 20.0]), config=cfg).tolist() == [0.0, 15.9375]
    mm_cfg = validate_config({"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                              "weight_width": 4, "weight_frac_width": 1}, "matmul")
    a, b = torch.randn(3, 4), torch.randn(4, 2)
    assert torch.equal(matmul_integer(a, b, config=mm_cfg), q84(a) @ integer_quantizer(b, 4, 1))
    log_cfg = validate_config({"name": "log", "data_in_width": 8, "data_in_exponent_bias": "NA"}, "sub")
    assert sub_log(T([3.0]), T([0.7]), config=log_cfg).tolist() == [3.5]


# ----------------------------------------------------------------------------- config
@pytest.mark.parametrize("change,fragment", [
    ({"name": "integr"}, "unknown quantiser 'integr' (did you mean 'integer'?)"),
    ({"name": "lutnet"}, "quantiser 'lutnet' is not supported by mase-tui: LUTNet layers are trained lookup tables"),
    ({"weight_widht": 8}, "unknown key 'weight_widht'"),
    ({"weight_width": 0}, "'weight_width' must be >= 1, got 0"),
    ({"weight_width": -3}, "'weight_width' must be >= 1"),
    ({"data_in_frac_width": 99}, "'data_in_frac_width' must be <= 64, got 99"),
    ({"weight_width": 8.5}, "'weight_width' must be an integer"),
    ({"bias_frac_width": None, "bias_width": None}, "'bias_width' must be an integer"),
])
def test_validate_config_errors(change, fragment):
    with pytest.raises(QuantError) as err:
        validate_config({**INT84, **change}, "linear", has_bias=True, where="entry 'linear' for node fc")
    assert fragment in str(err.value) and "entry 'linear' for node fc" in str(err.value)


def test_validate_config_missing_keys_and_defaults():
    cfg = {k: v for k, v in INT84.items() if k != "weight_frac_width"}
    with pytest.raises(QuantError, match="missing key 'weight_frac_width'"):
        validate_config(cfg, "linear")
    with pytest.raises(QuantError, match="missing key 'bias_width'"):
        validate_config({k: v for k, v in INT84.items() if not k.startswith("bias")}, "linear", has_bias=True)
    parsed = validate_config({**INT84, "weight_frac_width": "NA", "floor": 1}, "linear", has_bias=True)
    assert parsed["weight_frac_width"] == 4 and parsed["floor"] is True
    # keys of operands the op does not use are allowed and dropped
    assert validate_config(INT84, "relu") == {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4}


def test_validate_other_quantisers():
    with pytest.raises(QuantError, match="leaves -1 mantissa bits"):
        validate_config({"name": "minifloat_ieee", "data_in_width": 4, "data_in_exponent_width": 4,
                         "data_in_exponent_bias": None}, "relu")
    with pytest.raises(QuantError, match="block_size"):
        validate_config({"name": "block_fp", "data_in_width": 8, "data_in_exponent_width": 8,
                         "data_in_exponent_bias": None, "data_in_block_size": [0]}, "relu")
    # MASE's binary configs carry *_frac_width and binary_training: accepted
    parsed = validate_config({"name": "binary", "binary_training": 1, "data_in_width": 1,
                              "data_in_frac_width": 0, "data_in_stochastic": 0, "data_in_bipolar": 1}, "relu")
    assert parsed == {"name": "binary", "binary_training": True, "data_in_width": 1,
                      "data_in_stochastic": False, "data_in_bipolar": True}
    mf = validate_config({"name": "minifloat_denorm", "data_in_width": 8, "data_in_exponent_width": 4,
                          "data_in_exponent_bias": "NA"}, "relu")
    assert mf["data_in_exponent_bias"] == 7


def test_every_module_class_and_op_combination_builds():
    configs = {
        "integer": {"width": 8, "frac_width": 4},
        "minifloat_ieee": {"width": 8, "exponent_width": 4, "exponent_bias": None},
        "minifloat_denorm": {"width": 8, "exponent_width": 4, "exponent_bias": None},
        "log": {"width": 8, "exponent_bias": None},
        "block_fp": {"width": 8, "exponent_width": 8, "exponent_bias": None, "block_size": [16]},
        "binary": {"width": 1, "stochastic": False, "bipolar": True},
        "ternary": {"width": 2, "scaling_factor": False, "mean": None, "median": None, "max": None},
    }
    mods = {"linear": (nn.Linear(8, 4), (2, 8)), "conv1d": (nn.Conv1d(2, 3, 3), (2, 2, 8)),
            "conv2d": (nn.Conv2d(2, 3, 3), (2, 2, 6, 6)), "relu": (nn.ReLU(), (2, 8))}
    for (name, keys), (_op, (mod, shape)) in itertools.product(configs.items(), mods.items()):
        cfg = {"name": name, **{f"{o}_{k}": v for o in ("data_in", "weight", "bias") for k, v in keys.items()}}
        q = quantize_module(mod, cfg)
        assert isinstance(q, type(mod)) and q(torch.randn(shape)).shape == mod(torch.randn(shape)).shape
