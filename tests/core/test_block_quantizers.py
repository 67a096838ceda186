"""block_minifloat, block_log and binary_residual: hand-worked values on small tensors and an
independent per-element re-derivation in plain Python (math.frexp, no torch arithmetic)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import QuantError
from core.quant import quantize_module, validate_config
from core.quant.quantizers import (
    block_log_quantizer,
    block_minifloat_quantizer,
    residual_sign_quantizer,
)

T = torch.tensor


def floor_log2(v: float) -> int:
    return math.frexp(v)[1] - 1


def ceil_log2(v: float) -> int:
    m, e = math.frexp(v)
    return e - 1 if m == 0.5 else e


def round_even(v: float) -> float:
    return float(round(v))  # Python's round is half to even


def ref_minifloat_ieee(v: float, width: int, ew: int, bias: int) -> float:
    """IEEE-style minifloat: implicit 1, subnormals at the lowest exponent, saturating."""
    m = width - ew - 1
    if v == 0:
        return 0.0
    a = abs(v)
    e = min(max(floor_log2(a), -bias), 2**ew - 1 - bias)
    if e == -bias:  # subnormal range: k * 2^(e + 1 - m)
        k = min(round_even(a / 2.0 ** (e + 1 - m)), 2**m - 1)
        mag = k * 2.0 ** (e + 1 - m)
    else:
        k = min(max(round_even(a / 2.0 ** (e - m) - 2**m), 0), 2**m - 1)
        mag = (2**m + k) * 2.0 ** (e - m)
    return math.copysign(mag, v)


def ref_log(v: float, width: int, bias: float) -> float:
    lo, hi = -bias, 2 ** (width - 1) - 1 - bias
    a = abs(v) if v != 0 else 2.0**lo
    e = min(max(round_even(math.log2(a)), lo), hi)
    return (-1.0 if v < 0 else 1.0) * 2.0**e


def blocks_1d(values: list[float], size: int) -> list[list[float]]:
    return [values[i:i + size] for i in range(0, len(values), size)]


def ref_block_minifloat(values, width, ew, bias_width, size):
    out = []
    maxima = [max(abs(v) for v in b) for b in blocks_1d(values, size)]
    nonzero = [m for m in maxima if m > 0]
    for block, m in zip(blocks_1d(values, size), maxima, strict=True):
        m = m if m > 0 else (min(nonzero) if nonzero else 1.0)
        bias = min(max(floor_log2(m), 0), 2**bias_width - 1)
        out += [ref_minifloat_ieee(v, width, ew, bias) for v in block]
    return out


def ref_block_log(values, width, bias_width, size):
    out = []
    maxima = [max(abs(v) for v in b) for b in blocks_1d(values, size)]
    nonzero = [m for m in maxima if m > 0]
    for block, m in zip(blocks_1d(values, size), maxima, strict=True):
        m = m if m > 0 else (min(nonzero) if nonzero else 1.0)
        bias = min(max(2 ** (width - 1) - 1 - ceil_log2(m), 0), 2**bias_width - 1)
        out += [ref_log(v, width, bias) for v in block]
    return out


def test_block_minifloat_by_hand():
    # block max 100: bias = floor(log2 100) = 6; E4M3 exponents [-6, 9]
    # 100 = 1.5625 * 2^6 -> mantissa 12.5 -> 12 (even) -> 96; 0.3 = 1.2 * 2^-2 -> 1.25 -> 0.3125
    # -0.01 < 2^-6: subnormal k * 2^-8, 2.56 -> 3 -> -0.01171875
    out = block_minifloat_quantizer(T([[0.3, 5.0, 100.0, -0.01]]), 8, 4, 4, [4])
    assert out.tolist() == [[0.3125, 5.0, 96.0, -0.01171875]]


def test_block_log_by_hand():
    # block 1 max 100: bias = 2^7 - 1 - ceil(log2 100) = 120 -> clamped to 2^4 - 1 = 15
    # block 2 is all zero: it takes the smallest non-zero block max (100), 0 -> +2^-15
    out = block_log_quantizer(T([[0.3, 5.0, 100.0, -0.01, 0.0]]), 8, 4, [4])
    assert out.tolist() == [[0.25, 4.0, 128.0, -0.0078125, 2.0**-15]]
    # width 4 (3 exponent bits): bias = 7 - ceil(log2 3) = 5 -> exponents [-5, 2]: 3 -> 4, 0.01 -> 2^-5
    assert block_log_quantizer(T([3.0, 0.01, -0.7]), 4, 4, [16]).tolist() == [4.0, 0.03125, -0.5]


@pytest.mark.parametrize("seed", range(10))
def test_block_minifloat_and_log_match_the_rederivation(seed):
    gen = torch.Generator().manual_seed(seed)
    n, size = 37, [4, 8, 16][seed % 3]
    x = torch.randn(n, generator=gen, dtype=torch.float64) * 10.0 ** (seed % 5 - 2)
    x[5:9] = 0.0
    values = x.tolist()
    for width, ew, bw in ((8, 4, 4), (6, 2, 3), (5, 3, 2)):
        got = block_minifloat_quantizer(x, width, ew, bw, [size]).tolist()
        assert got == ref_block_minifloat(values, width, ew, bw, size), (width, ew, bw)
    for width, bw in ((8, 4), (5, 3), (4, 2)):
        got = block_log_quantizer(x, width, bw, [size]).tolist()
        assert got == ref_block_log(values, width, bw, size), (width, bw)


def test_block_formats_skip_first_dim_blocks_each_row():
    x = T([[0.1, 0.2], [30.0, -60.0]])
    rows = block_log_quantizer(x, 8, 8, [16], skip_first_dim=True)
    assert rows.tolist() == [ref_block_log([0.1, 0.2], 8, 8, 16), ref_block_log([30.0, -60.0], 8, 8, 16)]


def test_residual_sign_by_hand():
    # levels 2, means [2/3, 1/3]: b0 = sign(clamp(x)) * 2/3, r1 = x - b0, b1 = sign(clamp(r1)) * 1/3
    x = T([[0.9, -0.2, 0.0, 3.0]])
    means = T([2 / 3, 1 / 3])
    out = residual_sign_quantizer(2, None, means, x)
    b0 = [2 / 3, -2 / 3, 0.0, 2 / 3]
    r1 = [0.9 - 2 / 3, -0.2 + 2 / 3, 0.0, 3.0 - 2 / 3]
    b1 = [math.copysign(1 / 3, r) if r else 0.0 for r in r1]
    assert torch.allclose(out, T([[b0], [b1]]))


def test_linear_binary_residual_layer_by_hand():
    lin = nn.Linear(2, 1)
    with torch.no_grad():
        lin.weight.copy_(T([[0.4, -1.7]]))
        lin.bias.fill_(0.25)
    keys = {f"{o}_{k}": v for o in ("data_in", "weight", "bias") for k, v in (("width", 1), ("stochastic", 0), ("bipolar", 1))}
    trained = quantize_module(lin, {"name": "binary_residual", "binary_training": True, **keys})
    x = T([[0.5, -2.0]])
    # input: 0.5 -> 2/3 + (0.5 - 2/3 < 0 -> -1/3) = 1/3 ; -2 -> -2/3 + (-4/3 -> -1/3) = -1
    # weight: bipolar binary [1, -1] times |gamma| = 1; bias float
    assert torch.allclose(trained(x), T([[1 / 3 * 1 + -1 * -1 + 0.25]]))
    untrained = quantize_module(lin, {"name": "binary_residual", "binary_training": "NA", **keys})
    # binary_training off: the weight is clamped to [-1, 1] instead: [0.4, -1]
    assert torch.allclose(untrained(x), T([[1 / 3 * 0.4 + -1 * -1 + 0.25]]))
    assert lin.weight.tolist() == [[pytest.approx(0.4), pytest.approx(-1.7)]]  # the float weight is untouched
    single = quantize_module(lin, {"name": "binary_residual", "binary_training": True, "data_in_levels": 1,
                                   "data_in_residual_sign": False, **keys})
    assert torch.allclose(single(x), F.linear(x, T([[1.0, -1.0]]), T([0.25])))  # no residual sign: float input


def test_binary_residual_only_for_linear_and_conv2d():
    keys = {f"data_in_{k}": v for k, v in (("width", 1), ("stochastic", 0), ("bipolar", 1))}
    with pytest.raises(QuantError, match="quantiser 'binary_residual' has no quantised relu"):
        validate_config({"name": "binary_residual", **keys}, "relu")


def test_block_config_keys_as_mase_writes_them():
    cfg = {"name": "block_minifloat", **{f"{o}_{k}": v for o in ("data_in", "weight", "bias")
                                          for k, v in (("width", 8), ("exponent_width", 4),
                                                       ("exponent_bias_width", 4), ("block_size", [16]))}}
    lin = nn.Linear(20, 3)
    q = quantize_module(lin, cfg)
    assert type(q).__name__ == "LinearBlockMinifloat"
    x = torch.randn(2, 20)
    # data_in blocks skip the first dim (each sample apart); weights are blocked as a whole
    expected = F.linear(block_minifloat_quantizer(x, 8, 4, 4, [16], skip_first_dim=True),
                        block_minifloat_quantizer(lin.weight, 8, 4, 4, [16]),
                        block_minifloat_quantizer(lin.bias, 8, 4, 4, [16]))
    assert torch.equal(q(x), expected)
    with pytest.raises(QuantError, match="missing key 'weight_exponent_bias_width'"):
        validate_config({k: v for k, v in cfg.items() if k != "weight_exponent_bias_width"}, "linear", has_bias=True)


def test_four_d_activations_block_per_sample_and_channel_plane():
    from core.quant.quantizers import block_fp_quantizer

    # MASE flattens an N,C,H,W activation to (N*C),H,W before blocking: a block never spans
    # channels. Channel 0 holds small values, channel 1 a large one.
    x = torch.zeros(1, 2, 1, 4)
    x[0, 0, 0] = T([0.1, 0.2, 0.3, 0.05])
    x[0, 1, 0] = T([100.0, 0.0, 0.0, 0.0])
    out = block_fp_quantizer(x, 4, 8, None, [16], skip_first_dim=True)
    # channel 0: e = ceil(log2 0.3) = -1, step 2^-1 / 8 = 1/16 -> 0.125, 0.1875, 0.3125, 0.0625
    assert out[0, 0, 0].tolist() == [0.125, 0.1875, 0.3125, 0.0625]
    assert out[0, 1, 0].tolist() == [96.0, 0.0, 0.0, 0.0]  # e = 7, step 16: 100 -> 96
