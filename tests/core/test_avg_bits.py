"""calculate_avg_bits_mg_analysis_pass: MASE's average input/weight bit widths, by hand."""

from __future__ import annotations

import pytest
import torch

from core.errors import ConfigError, PassError
from core.models import get_model
from core.passes import PASSES, get_pass
from core.passes.registry import resolve_pass_name
from tests.helpers import INT84, annotated


def graph():
    torch.manual_seed(0)
    return annotated(get_model("jsc-toy").eval(), {"x": torch.randn(4, 16)})


def avg_bits(mg, **args):
    return PASSES["calculate_avg_bits_mg_analysis_pass"].fn(mg, args)[1]


def test_names_resolve_like_mase():
    for name in ("calculate_avg_bits_mg_analysis_pass", "calculate_avg_bits_mg", "calculate_avg_bits"):
        assert resolve_pass_name(name) == "calculate_avg_bits_mg_analysis_pass"
    assert get_pass("calculate_avg_bits").kind == "analysis"


def test_float_graph_is_32_bits():
    info = avg_bits(graph())
    assert (info["data_avg_bit"], info["w_avg_bit"]) == (32.0, 32.0)
    # inputs of the three Linear layers at batch 4: [4,16], [4,8], [4,8]; weights 128 + 64 + 40
    assert (info["data_elements"], info["weight_elements"]) == (128, 232)
    assert [n["name"] for n in info["nodes"]] == ["seq_blocks_2", "seq_blocks_5", "seq_blocks_8"]


def test_one_layer_in_integer_8_4_weighted_by_elements():
    mg, _ = PASSES["quantize_transform_pass"].fn(graph(), {"by": "name", "seq_blocks_2": {"config": dict(INT84)}})
    info = avg_bits(mg)
    assert info["data_avg_bit"] == (64 * 8 + 64 * 32) / 128  # 20.0
    assert info["w_avg_bit"] == pytest.approx((128 * 8 + 104 * 32) / 232)
    # MASE sums the precision list: [8, 4] counts as 12 bits
    mase = avg_bits(mg, mase_sum_precision=True)
    assert mase["data_avg_bit"] == (64 * 12 + 64 * 32) / 128
    assert mase["w_avg_bit"] == pytest.approx((128 * 12 + 104 * 32) / 232)


def test_mx_and_weight_only_binary():
    mg, _ = PASSES["quantize_transform_pass"].fn(graph(), {"by": "type", "linear": {"config": {"name": "mxfp4"}}})
    info = avg_bits(mg)
    assert (info["data_avg_bit"], info["w_avg_bit"]) == (4.0, 4.0)
    keys = {f"{o}_{k}": v for o in ("data_in", "weight", "bias") for k, v in (("width", 1), ("stochastic", 0), ("bipolar", 1))}
    mg, _ = PASSES["quantize_transform_pass"].fn(graph(), {"by": "type", "linear": {"config": {"name": "binary", **keys}}})
    info = avg_bits(mg)
    assert (info["data_avg_bit"], info["w_avg_bit"]) == (32.0, 1.0)  # LinearBinary keeps inputs float


def test_needs_metadata_and_known_arguments():
    from core.ir import MaseGraph

    with pytest.raises(PassError, match="no MASE metadata"):
        avg_bits(MaseGraph(get_model("jsc-toy")))
    with pytest.raises(ConfigError, match="unknown argument") as err:
        avg_bits(graph(), sum_precision=True)
    assert "did you mean 'mase_sum_precision'?" in err.value.hint
