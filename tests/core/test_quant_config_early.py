"""A quantize config that is wrong on its own is refused when the config loads, before torch."""

from __future__ import annotations

import pytest

from core.config import config_from_dict
from core.errors import MaseError
from tests.helpers import load_config_in_fresh_python


def quantize(**entries):
    return {"model": "jsc-toy", "passes": {"quantize": {"by": "type", **entries}}}


@pytest.mark.parametrize("entries,message", [
    ({"by": "tipe"}, "'by' = 'tipe' is not one of type, name, regex_name"),
    ({"linear": {"config": {"name": "mxfp8"}}}, "unknown quantiser 'mxfp8'"),
    ({"linear": {"config": {"name": "lutnet"}}}, "quantiser 'lutnet' is not supported by mase-tui: LUTNet"),
    ({"default": {"config": {"name": "binary", "binary_training": "maybe"}}}, "'binary_training' must be true/false"),
    ({"seq_blocks_1": {"config": {"name": "ternary", "data_in_widht": 2}}}, "unknown key 'data_in_widht'"),
    ({"relu": {"config": {"name": "binary_residual", "data_in_width": 1, "data_in_stochastic": 0,
                          "data_in_bipolar": 1}}}, "has no quantised relu"),
    ({"linear": {"config": {"name": "mxfp4", "weight_width": 8}}}, "mxfp4 elements are 4 bits"),
    ({"linear": "integer"}, "'linear' must be a table"),
    ({"conv2d": {"confg": {"name": "integer"}}}, "entry 'conv2d' must be a table holding a 'config' table"),
])
def test_config_alone_refutes(entries, message):
    with pytest.raises(MaseError, match=message) as err:
        config_from_dict(quantize(**entries))
    assert "[passes.quantize]" in err.value.message


def test_graph_dependent_keys_wait_for_the_graph():
    # a node name (seq_blocks_1) and MASE's "NA" spellings pass the early check
    config = config_from_dict(quantize(
        default={"config": {"name": "NA"}},
        seq_blocks_1={"config": {"name": "ternary", "data_in_width": 2, "data_in_scaling_factor": True,
                                 "data_in_mean": None, "data_in_median": -0.0097, "data_in_max": 6.57}},
        linear={"config": {"name": "binary", "binary_training": None, **{
            f"{o}_{k}": v for o in ("data_in", "weight", "bias") for k, v in (("width", 1), ("stochastic", 0),
                                                                             ("bipolar", 1))}}}))
    assert config.passes[0].name == "quantize_transform_pass"


def test_the_early_check_does_not_import_torch(tmp_path):
    bad = tmp_path / "q.toml"
    bad.write_text('model = "jsc-toy"\n[passes.quantize]\nby = "type"\n[passes.quantize.linear.config]\nname = "mxfp8"\n')
    message, torch_loaded = load_config_in_fresh_python(bad)
    assert "unknown quantiser 'mxfp8'" in message and not torch_loaded
