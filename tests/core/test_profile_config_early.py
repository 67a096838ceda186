"""A profile_statistics config that is wrong on its own is refused when the config loads, before
torch: statistic names, options and values, the replay budget."""

from __future__ import annotations

import pytest

from core.config import config_from_dict
from core.errors import MaseError
from tests.helpers import load_config_in_fresh_python


def profile(**args):
    return {"model": "jsc-toy", "passes": {"profile_statistics": {"by": "type", **args}}}


@pytest.mark.parametrize("args,message", [
    ({"activation_statistics": {"range_quantil": {"quantile": 0.97}}},
     "activation_statistics: unknown statistic 'range_quantil'"),
    ({"weight_statistics": {"variance_precise": {"dim": "all"}}},
     "weight_statistics: statistic 'variance_precise' has no option 'dim'"),
    ({"activation_statistics": {"range_quantile": {"quantile": 1.5}}}, "quantile must be a number in \\[0, 1\\]"),
    ({"activation_statistics": {"range_quantile": {"mode": "per_sample"}}}, "mode must be \"pooled\""),
    ({"activation_statistics": {"range_n_sigma": {"num_sigma": 0}}}, "num_sigma must be a positive number"),
    ({"activation_statistics": {"abs_mean": {"dims": "some"}}}, "dims must be \"all\", None or a list of ints"),
    ({"activation_statistics": {"record": {"device": 3}}}, "device must be a string"),
    ({"activation_statistics": {"range_min_max": 3}}, "options of 'range_min_max' must be a table"),
    ({"replay_budget_mb": -1}, "replay_budget_mb must be a number >= 0"),
])
def test_config_alone_refutes(args, message):
    with pytest.raises(MaseError, match=message) as err:
        config_from_dict(profile(**args))
    assert "[passes.profile_statistics]" in err.value.message


def test_a_good_config_passes_the_early_check():
    config = config_from_dict(profile(
        target_activation_nodes=["relu"], replay_budget_mb=0,
        weight_statistics={"variance_precise": {"device": "cpu", "dims": "all"}},
        activation_statistics={"range_quantile": {"device": "cpu", "dims": [1], "quantile": 0.97,
                                                  "mode": "per_sample_mean"}, "range_n_sigma": {"num_sigma": 2.5}}))
    assert config.passes[0].name == "profile_statistics_analysis_pass"


def test_the_statistics_and_the_early_check_share_their_options():
    from core.passes.analysis.stat_options import OPTIONS
    from core.passes.analysis.stats import STATS

    assert {name: cls.options for name, cls in STATS.items()} == OPTIONS


def test_the_early_check_does_not_import_torch(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('model = "jsc-toy"\n[passes.profile_statistics]\nby = "type"\n'
                   '[passes.profile_statistics.activation_statistics.range_quantil]\nquantile = 0.97\n')
    message, torch_loaded = load_config_in_fresh_python(bad)
    assert "unknown statistic 'range_quantil'" in message and not torch_loaded
