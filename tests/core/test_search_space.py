"""The [search] config and the search space: checked before torch, invalid formats never offered."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import parse_toml, read_toml
from core.errors import ConfigError
from core.search.choices import operand_choices
from core.search.config import parse_search

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "configs" / "examples" / "search_jsc_toy_tpe.toml"

SEARCH = """
model = "jsc-toy"
[search.search_space]
name = "graph/quantize/mixed_precision_ptq"
[search.search_space.setup]
by = "name"
[search.search_space.seed.default.config]
name = ["integer"]
data_in_width = [4, 8]
data_in_frac_width = [3, 4, 5]
weight_width = [2, 4, 8]
weight_frac_width = [3, 4, 5]
bias_width = [8]
bias_frac_width = ["NA"]
[search.strategy]
name = "optuna"
[search.strategy.sw_runner.basic_evaluation]
num_samples = 128
[search.strategy.setup]
n_trials = 5
sampler = "tpe"
sum_scaled_metrics = false
[search.strategy.metrics]
accuracy.scale = 1.0
accuracy.direction = "maximize"
bitops.scale = 1.0
bitops.direction = "minimize"
"""


def parse(text: str = SEARCH):
    return parse_search(parse_toml(text))


def test_mase_example_parses_with_mase_meanings():
    cfg = parse_search(read_toml(EXAMPLE), EXAMPLE)
    assert cfg.by == "name"
    assert cfg.sampler == "tpe" and cfg.n_trials == 20 and cfg.n_jobs == 1 and cfg.timeout == 20000
    assert cfg.num_samples == 512 and cfg.split == "validation"  # data_loader = "val_dataloader"
    # objectives in metric-name order, as MASE orders them
    assert [(m.name, m.scale, m.direction) for m in cfg.metrics] == [
        ("accuracy", 1.0, "maximize"), ("average_bitwidth", 0.2, "minimize")]
    assert cfg.directions == ["maximize", "minimize"]
    assert cfg.compare_to == 32.0


def test_frac_above_width_is_never_a_choice():
    seed = {"name": ["integer"], "weight_width": [2, 4, 8], "weight_frac_width": [3, 4, 5, 6, 7, 8, 9]}
    pairs = [(c["weight_width"], c["weight_frac_width"]) for c in operand_choices(seed, "integer", "weight", "t")]
    # width 2 has no valid frac in 3..9; width 4 keeps 3, 4; width 8 keeps 3..8
    assert pairs == [(4, 3), (4, 4), (8, 3), (8, 4), (8, 5), (8, 6), (8, 7), (8, 8)]


def test_na_frac_resolves_to_half_width_and_duplicates_merge():
    seed = {"name": ["integer"], "data_in_width": [4, 8, 8], "data_in_frac_width": ["NA", None]}
    pairs = [(c["data_in_width"], c["data_in_frac_width"]) for c in operand_choices(seed, "integer", "data_in", "t")]
    assert pairs == [(4, 2), (8, 4)]


def test_minifloat_choices_without_mantissa_are_dropped():
    seed = {"name": ["minifloat_ieee"], "weight_width": [4, 8], "weight_exponent_width": [3, 5],
            "weight_exponent_bias": ["NA"]}
    got = [(c["weight_width"], c["weight_exponent_width"], c["weight_exponent_bias"])
           for c in operand_choices(seed, "minifloat_ieee", "weight", "t")]
    # width 4 with 5 exponent bits leaves -2 mantissa bits; bias NA = 2^(e-1) - 1
    assert got == [(4, 3, 3), (8, 3, 3), (8, 5, 15)]


@pytest.mark.parametrize("edit, message", [
    (("bitops.direction", "bitop.direction"), "unknown metric 'bitop' (did you mean 'bitops'?)"),
    (('sampler = "tpe"', 'sampler = "tpee"'), "unknown sampler 'tpee' (did you mean 'tpe'?)"),
    (('name = ["integer"]', 'name = ["integr"]'), "unknown quantiser 'integr' (did you mean 'integer'?)"),
    (("weight_width = [2, 4, 8]", "weight_widht = [2, 4, 8]"), "unknown key 'weight_widht'"),
    (('by = "name"', 'by = "regex"'), 'by must be "name" or "type"'),
    (("num_samples = 128", "num_sample = 128"), "unknown key 'num_sample' (did you mean 'num_samples'?)"),
    (("weight_frac_width = [3, 4, 5]", "weight_frac_width = [9]"), "no valid integer format for weight"),
    (('accuracy.direction = "maximize"', 'accuracy.direction = "max"'), 'must be "maximize" or "minimize"'),
    (("n_trials = 5", "n_trials = 0"), "n_trials must be an integer >= 1"),
])
def test_bad_configs_fail_with_one_line_naming_the_fix(edit, message):
    with pytest.raises(ConfigError) as err:
        parse(SEARCH.replace(*edit))
    assert message in err.value.one_line()
    assert "\n" not in err.value.one_line()


def test_accuracy_without_its_runner_is_refused():
    text = SEARCH.replace("[search.strategy.sw_runner.basic_evaluation]\nnum_samples = 128\n", "")
    with pytest.raises(ConfigError, match="needs \\[search.strategy.sw_runner.basic_evaluation\\]"):
        parse(text)


def test_config_errors_come_before_torch_is_imported(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SEARCH.replace('sampler = "tpe"', 'sampler = "tpee"'))
    code = ("import sys\nfrom mase_tui.cli import main\n"
            f"rc = main(['search', '--config', {str(bad)!r}])\n"
            "print(rc, 'torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "2 False", done.stderr
    assert done.stderr.strip().splitlines()[-1] == \
        f"error: {bad}: [search.strategy].setup: unknown sampler 'tpee' (did you mean 'tpe'?)"


# --------------------------------------------------------------------------- over the graph
@pytest.fixture(scope="module")
def jsc_toy_graph():
    from core.session import Session

    return Session("jsc-toy").load(progress=lambda m: None).original


def test_space_has_one_parameter_per_operand_a_node_reads(jsc_toy_graph):
    from core.search.space import build_space

    space = build_space(jsc_toy_graph, parse())
    # 3 linears x (data_in, weight) + 4 relus x data_in; bias has one choice (8, NA -> 4): a constant
    assert space.param_names == [
        "seq_blocks_1/data_in", "seq_blocks_2/data_in", "seq_blocks_2/weight", "seq_blocks_4/data_in",
        "seq_blocks_5/data_in", "seq_blocks_5/weight", "seq_blocks_7/data_in", "seq_blocks_8/data_in",
        "seq_blocks_8/weight", "seq_blocks_10/data_in"]
    # data_in: (4,3) (4,4) (8,3) (8,4) (8,5) = 5 choices; weight: 2 dropped, (4,3) (4,4) (8,3..5) = 5
    assert space.size == 5 ** 10


def test_every_point_of_the_space_is_a_valid_quantize_config(jsc_toy_graph):
    from core.passes.transforms.quantize import validate_pass_args
    from core.search.space import build_space

    space = build_space(jsc_toy_graph, parse())
    rng = random.Random(0)
    for _ in range(50):
        config = space.from_params(space.random_params(rng))
        validate_pass_args(jsc_toy_graph, config)
        for key, entry in config.items():
            if key in ("by", "default"):
                continue
            c = entry["config"]
            for operand in ("data_in", "weight", "bias"):
                if f"{operand}_width" in c:
                    assert c[f"{operand}_frac_width"] <= c[f"{operand}_width"]


def test_by_type_quantises_every_node_of_the_op_with_the_sampled_values(jsc_toy_graph):
    from core.search.space import build_space

    text = SEARCH.replace('by = "name"', 'by = "type"').replace(
        "[search.search_space.seed.default.config]",
        '[search.search_space.seed.default.config]\nname = ["NA"]\n[search.search_space.seed.linear.config]')
    space = build_space(jsc_toy_graph, parse(text))
    assert space.param_names == ["linear/data_in", "linear/weight"]
    config = space.from_params({"linear/data_in": "4,3", "linear/weight": "8,5"})
    assert config == {"by": "type", "default": {"config": {"name": None}},
                      "linear": {"config": {"name": "integer", "data_in_width": 4, "data_in_frac_width": 3,
                                            "weight_width": 8, "weight_frac_width": 5,
                                            "bias_width": 8, "bias_frac_width": 4}}}


def test_seed_for_a_node_that_is_not_in_the_graph_is_refused(jsc_toy_graph):
    from core.search.space import build_space

    text = SEARCH + '\n[search.search_space.seed.seq_blocks_22.config]\nname = ["NA"]\n'
    with pytest.raises(ConfigError, match="seed 'seq_blocks_22' is not a node of the graph .did you mean 'seq_blocks_2'"):
        build_space(jsc_toy_graph, parse(text))
