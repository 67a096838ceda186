"""OCP MX formats: bit-exact against torchao's reference ``to_mx`` / ``to_dtype`` (FLOOR scale
mode) for every FP element type over >= 10 seeds of awkward shapes, special values and partial
blocks; MXINT8 against the OCP v1.0 definition worked by hand; layers, configs and storage."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2
from torchao.prototype.mx_formats.mx_tensor import to_dtype, to_mx

from core.cost.bits import arith_bits, storage_bits
from core.errors import QuantError
from core.ir.view import entry_label
from core.quant import quantize_module, validate_config
from core.quant.mx import mx_quantizer

T = torch.tensor
ELEMENTS = {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
            "mxfp6_e3m2": DTYPE_FP6_E3M2, "mxfp6_e2m3": DTYPE_FP6_E2M3, "mxfp4_e2m1": torch.float4_e2m1fn_x2}
SHAPES = [(3, 37), (5, 64), (2, 3, 33), (1, 95), (7, 32), (4, 1), (2, 2, 2, 70), (129,), (6, 31), (3, 96)]
SPECIALS = [0.0, math.inf, -math.inf, math.nan, 1e-40, 3e38, -2.5e-39, 448.0, 57344.0 * 2, 6.0]


def torchao_round_trip(x: torch.Tensor, name: str, block: int = 32) -> torch.Tensor:
    """torchao needs whole blocks along the last dim: pad with zeros (which never change a
    block maximum), convert, and crop the padding again."""
    length = x.shape[-1]
    padded = F.pad(x, (0, (-length) % block)).contiguous()
    scale, data = to_mx(padded, ELEMENTS[name], block)
    return to_dtype(data, scale, ELEMENTS[name], block, torch.float32)[..., :length]


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.equal(torch.isnan(a), torch.isnan(b)) and torch.equal(torch.nan_to_num(a), torch.nan_to_num(b))


@pytest.mark.parametrize("name", list(ELEMENTS))
@pytest.mark.parametrize("seed", range(12))
def test_fp_formats_bit_exact_against_torchao(name, seed):
    gen = torch.Generator().manual_seed(seed * 31 + len(name))
    shape = SHAPES[seed % len(SHAPES)]
    magnitude = 10.0 ** torch.randint(-30, 30, (1,), generator=gen).item()
    x = torch.randn(*shape, generator=gen) * magnitude
    flat = x.view(-1)
    flat[0] = SPECIALS[seed % len(SPECIALS)]
    if flat.numel() > 40:
        flat[33] = SPECIALS[(seed + 3) % len(SPECIALS)]
        flat[-5:] = 0.0  # a (partly) zero last block
    if seed % 3 == 0 and flat.numel() > 8:  # values that land on element ties after scaling
        flat[1:5] = T([1.0625, 1.1875, -3.25, 0.3125]) * 2.0 ** (seed - 6)
    assert same(mx_quantizer(x, name), torchao_round_trip(x, name)), (name, seed, shape)


@pytest.mark.parametrize("name", list(ELEMENTS))
def test_fp_formats_match_torchao_on_every_element_boundary(name):
    """Every representable element value, the midpoints between neighbours (ties to even) and
    values past the maximum (saturation), in one block with a fixed scale."""
    fmt = {"mxfp8_e4m3": (4, 3, 448.0), "mxfp8_e5m2": (5, 2, 57344.0), "mxfp6_e3m2": (3, 2, 28.0),
           "mxfp6_e2m3": (2, 3, 7.5), "mxfp4_e2m1": (2, 1, 6.0)}[name]
    ebits, mbits, top = fmt
    bias = 2 ** (ebits - 1) - 1
    grid = sorted({m / 2**mbits * 2.0 ** (1 - bias) for m in range(2**mbits)}  # subnormals
                  | {(1 + m / 2**mbits) * 2.0 ** e for e in range(1 - bias, 2**ebits) for m in range(2**mbits)
                     if (1 + m / 2**mbits) * 2.0 ** e <= top})
    mids = [(a + b) / 2 for a, b in zip(grid[:-1], grid[1:], strict=True)]
    values = grid + mids + [top * 1.2, top * 3]
    x = T(values + [-v for v in values], dtype=torch.float32)
    x = F.pad(x, (0, (-x.numel()) % 32)).reshape(-1, 32)
    x[:, 0] = top  # fixes every block's scale to 2^0
    assert same(mx_quantizer(x, name), torchao_round_trip(x, name))


def test_mxfp4_block_by_hand():
    # max 5.0: floor(log2 5) = 2, E2M1 emax 2 -> scale 2^0; elements round to {0, .5, 1, 1.5, 2, 3, 4, 6}
    x = T([5.0, 0.74, 0.76, -2.5, 2.6, 1.25, 0.2, -0.3])
    assert mx_quantizer(x, "mxfp4", block_size=8).tolist() == [4.0, 0.5, 1.0, -2.0, 3.0, 1.0, 0.0, -0.5]
    # max 100: floor(log2 100) = 6 -> scale 2^4; 100/16 = 6.25 -> 6 -> 96
    assert mx_quantizer(T([100.0, 10.0, -40.0]), "mxfp4").tolist() == [96.0, 8.0, -32.0]


def test_mxint8_by_hand_from_the_ocp_definition():
    # OCP MX v1.0: INT8 elements k * 2^-6; shared scale 2^(floor(log2 amax) - 0)
    x = T([1.0, -0.5, 0.3, 3.0, 0.0, -3.9, 0.0234375, 0.0078125])
    # amax 3.9 -> floor(log2) = 1 -> X = 2; x/X * 64 = 32, -16, 9.6, 96, 0, -124.8, 0.75, 0.25
    # round half even -> 32, -16, 10, 96, 0, -125, 1, 0 ; times X / 64
    expected = [1.0, -0.5, 0.3125, 3.0, 0.0, -3.90625, 0.03125, 0.0]
    assert mx_quantizer(x, "mxint8", block_size=8).tolist() == expected
    # saturation is symmetric at 127/64 of the scale: amax 1.999 -> X = 1, 1.999*64 = 127.9 -> 127
    assert mx_quantizer(T([1.999, -1.999]), "mxint8").tolist() == [127 / 64, -127 / 64]
    # ties to even: 0.5/64 and 1.5/64 with X = 1
    assert mx_quantizer(T([1.0, 0.5 / 64, 1.5 / 64, -2.5 / 64]), "mxint8").tolist() == [1.0, 0.0, 2 / 64, -2 / 64]
    # NaN poisons its block, inf saturates: X = 2^128 for an infinite maximum
    out = mx_quantizer(T([math.nan, 1.0, 2.0] + [0.0] * 29 + [1.0, 2.0]), "mxint8")
    assert torch.isnan(out[:32]).all() and out[32:].tolist() == [1.0, 2.0]


def test_blocks_run_along_the_chosen_axis_and_partial_blocks_stand_alone():
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(40, 6, generator=gen)
    along_rows = mx_quantizer(x, "mxfp8_e4m3", axis=0)
    assert same(along_rows, torchao_round_trip(x.t().contiguous(), "mxfp8_e4m3").t())
    # 40 = one block of 32 + a partial block of 8 whose scale comes from those 8 alone
    tail = mx_quantizer(x[32:], "mxfp8_e4m3", axis=0)
    assert torch.equal(along_rows[32:], tail)


def test_mx_linear_and_conv_quantise_along_the_reduction_axis():
    torch.manual_seed(0)
    lin = nn.Linear(40, 3)
    q = quantize_module(lin, {"name": "mxfp6_e2m3"})
    x = torch.randn(2, 40)
    w = torchao_round_trip(lin.weight.detach(), "mxfp6_e2m3")
    xb = torchao_round_trip(x, "mxfp6_e2m3")
    b = torchao_round_trip(lin.bias.detach(), "mxfp6_e2m3")
    assert torch.equal(q(x), F.linear(xb, w, b))
    conv = nn.Conv2d(3, 2, 3, bias=False)
    qc = quantize_module(conv, {"name": "mxint8", "data_in_block_size": [32], "weight_block_size": 32})
    img = torch.randn(1, 3, 5, 5)
    # weight blocks over C_in*kh*kw = 27 (one partial block per output channel), input over channels
    wq = mx_quantizer(conv.weight.detach().reshape(2, 27), "mxint8").reshape(conv.weight.shape)
    xq = mx_quantizer(img.movedim(1, -1), "mxint8").movedim(-1, 1)
    assert torch.equal(qc(img), F.conv2d(xq, wq))


def test_mx_config_validation():
    assert validate_config({"name": "mxfp4"}, "relu") == {"name": "mxfp4", "data_in_width": 4, "data_in_block_size": 32}
    with pytest.raises(QuantError, match="'weight_width' = 8, but mxfp4 elements are 4 bits"):
        validate_config({"name": "mxfp4", "weight_width": 8}, "linear")
    with pytest.raises(QuantError, match="unknown quantiser 'mxfp8'") as err:
        validate_config({"name": "mxfp8"}, "linear")
    assert err.value.hint.startswith("did you mean 'mxfp8_")
    with pytest.raises(QuantError, match="use the OCP MX names"):
        validate_config({"name": "mxfp"}, "linear")


@pytest.mark.parametrize("name,width", [("mxint8", 8), ("mxfp8_e4m3", 8), ("mxfp6_e3m2", 6), ("mxfp4", 4)])
def test_mx_storage_and_bitops_bits(name, width):
    entry = {"type": name, "precision": [width, 32], "shape": [10, 70], "torch_dtype": "torch.float32",
             "block_dims": [-1]}
    assert arith_bits(entry) == (width, True)
    # 70 = 32 + 32 + 6: three scales of 8 bits per row
    assert storage_bits(entry) == 700 * width + 10 * 3 * 8
    conv_w = dict(entry, shape=[4, 16, 3, 3], block_dims=[1, 2, 3])  # 144 = 4.5 blocks -> 5
    assert storage_bits(conv_w) == 576 * width + 4 * 5 * 8
    assert entry_label(entry) == f"{name}[{width},32]"


def test_compare_views_and_histogram_show_mx_layers():
    from core.compare import quantised_views
    from core.models import get_model
    from core.passes import PASSES
    from mase_tui.widgets.histogram import compare_histogram, quant_error
    from tests.helpers import annotated

    torch.manual_seed(0)
    mg = annotated(get_model("jsc-toy").eval(), {"x": torch.randn(4, 16)})
    mg, _ = PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "linear": {"config": {"name": "mxfp4"}}})
    views = {v.label: v for v in quantised_views(mg, "seq_blocks_2")}
    w = mg.model.get_submodule("seq_blocks.2").weight.detach()
    assert views["weight"].quantiser == "mxfp4" and torch.equal(views["weight"].quant_values,
                                                               torchao_round_trip(w, "mxfp4_e2m1"))
    lines = compare_histogram(views["weight"].float_values, views["weight"].quant_values, width=60)
    assert lines[0].startswith("float") and lines[3].startswith("quantised")
    # a NaN (an MX block holding one dequantises to NaN) is left off the axis and counted
    q = mx_quantizer(T([math.nan, 1.0, 2.0, 3.0]), "mxint8")
    assert compare_histogram(T([math.nan, 1.0, 2.0, 3.0]), q, width=40)[-1] == "5 NaN/inf value(s) not drawn"
    assert quant_error(T([math.nan, 1.0]), T([1.0, 1.0])).count == 1


def test_mx_matmul_blocks_the_second_operand_down_its_rows():
    from core.quant.functional import matmul_mxfp8_e4m3

    gen = torch.Generator().manual_seed(5)
    a, b = torch.randn(3, 40, generator=gen), torch.randn(40, 7, generator=gen) * 50
    cfg = validate_config({"name": "mxfp8_e4m3"}, "matmul")
    expected = torchao_round_trip(a, "mxfp8_e4m3") @ torchao_round_trip(b.t().contiguous(), "mxfp8_e4m3").t()
    assert torch.equal(matmul_mxfp8_e4m3(a, b, config=cfg), expected)


def test_quantize_pass_writes_mx_precision_and_block_dims():
    from core.models import get_model
    from core.passes import PASSES
    from tests.helpers import annotated

    mg = annotated(get_model("toy-cnn").eval(), {"x": torch.randn(2, 3, 32, 32)})
    mg, info = PASSES["quantize_transform_pass"].fn(
        mg, {"by": "type", "conv2d": {"config": {"name": "mxfp6_e2m3"}}, "linear": {"config": {"name": "mxint8"}}})
    conv = {n["name"]: n for n in info["quantized"]}
    assert {n["after"] for n in conv.values()} == {"Conv2dMXFP6E2M3", "LinearMXInt8"}
    args = mg.node("classifier").meta["mase"].parameters["common"]["args"]
    assert args["weight"]["type"] == "mxint8" and args["weight"]["precision"] == [8, 32]
    assert args["weight"]["block_dims"] == [-1]
    conv_name = next(name for name, n in conv.items() if n["after"] == "Conv2dMXFP6E2M3")
    cargs = mg.node(conv_name).meta["mase"].parameters["common"]["args"]
    assert cargs["weight"]["precision"] == [6, 32] and cargs["weight"]["block_dims"] == [1, 2, 3]
    assert cargs["data_in_0"]["block_dims"] == [1]


@pytest.mark.parametrize("name", ["mxfp4", "binary_residual", "block_log"])
def test_new_quantised_layers_save_and_load(tmp_path, name):
    from core.models import get_model
    from core.passes import PASSES
    from core.passes.interface.save_load import load_mase_graph
    from tests.helpers import annotated

    binary = {f"{o}_{k}": v for o in ("data_in", "weight", "bias") for k, v in (("width", 1), ("stochastic", 0), ("bipolar", 1))}
    block_log = {f"{o}_{k}": v for o in ("data_in", "weight", "bias")
                 for k, v in (("width", 8), ("exponent_bias_width", 4), ("block_size", [16]))}
    cfg = {"mxfp4": {"name": "mxfp4"}, "binary_residual": {"name": "binary_residual", "binary_training": True, **binary},
           "block_log": {"name": "block_log", **block_log}}[name]
    torch.manual_seed(0)
    x = torch.randn(4, 16)
    mg = annotated(get_model("jsc-toy").eval(), {"x": x})
    mg, _ = PASSES["quantize_transform_pass"].fn(mg, {"by": "type", "linear": {"config": cfg}})
    PASSES["save_mase_graph_interface_pass"].fn(mg, {"save_dir": str(tmp_path / "g")})
    loaded = load_mase_graph(str(tmp_path / "g"))
    assert type(loaded.model.get_submodule("seq_blocks.2")) is type(mg.model.get_submodule("seq_blocks.2"))
    assert torch.equal(loaded.model(x), mg.model(x))


def ocp_mxint8(values: list[float], block: int = 32) -> list[float]:
    """MXINT8 per the OCP MX v1.0 definition, in plain Python: per block X = 2^(floor(log2
    amax) - 0), elements k/64 with k = round-half-even(x / X * 64) saturated to [-127, 127]."""
    out = []
    for i in range(0, len(values), block):
        chunk = values[i:i + block]
        amax = max(abs(v) for v in chunk)
        e = math.frexp(amax)[1] - 1 if amax >= 2.0**-126 else -127
        s = min(max(e, -127), 128)
        divisor = 2.0 ** max(s, -126)
        for v in chunk:
            k = min(max(round(v / divisor * 64), -127), 127)
            out.append(k / 64 * 2.0**s)
    return out


@pytest.mark.parametrize("seed", range(10))
def test_mxint8_matches_the_ocp_rederivation(seed):
    gen = torch.Generator().manual_seed(seed + 100)
    shape = SHAPES[seed % len(SHAPES)]
    x = torch.randn(*shape, generator=gen) * 10.0 ** torch.randint(-20, 20, (1,), generator=gen).item()
    if x.numel() > 6:
        x.view(-1)[2:6] = T([0.0, 1e-39, -0.0, 2.0 ** -100])
    rows = x.reshape(-1, shape[-1]).tolist()
    expected = T([v for row in rows for v in ocp_mxint8(row)], dtype=torch.float64).reshape(shape).float()
    assert torch.equal(mx_quantizer(x, "mxint8"), expected)
