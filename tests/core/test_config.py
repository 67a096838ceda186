"""core.config: MASE TOML loading, "NA" handling, validation against the pass registry, writing."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.config import (
    config_from_dict,
    dumps_toml,
    load_config,
    na_to_none,
    none_to_na,
    parse_toml,
    read_toml,
    save_config,
)
from core.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "configs" / "examples"


def write(tmp_path: Path, text: str, name: str = "c.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_na_becomes_none_recursively_also_in_lists():
    data = parse_toml('a = "NA"\nb = ["NA", 4, "NAB"]\n[t.u]\nc = "NA"\nd = [["NA"]]\n')
    assert data == {"a": None, "b": [None, 4, "NAB"], "t": {"u": {"c": None, "d": [[None]]}}}
    assert na_to_none(("NA", 1)) == (None, 1)
    assert none_to_na({"x": [None, {"y": None}]}) == {"x": ["NA", {"y": "NA"}]}


def test_lab_config_loads_with_passes_in_file_order_and_search_ignored(caplog):
    with caplog.at_level(logging.WARNING):
        cfg = load_config(EXAMPLES / "jsc_toy_by_type.toml")
    assert cfg.settings["model"] == "jsc-tiny"
    assert cfg.settings["dataset"] == "jsc"
    assert cfg.settings["batch_size"] == 512
    assert cfg.settings["seed"] == 42
    assert cfg.settings["accelerator"] == "gpu"
    assert cfg.settings["project"] == "jsc-tiny"
    assert cfg.style == "graph"
    assert [(p.key, p.name) for p in cfg.passes] == [("quantize", "quantize_transform_pass")]
    q = cfg.passes[0].args
    assert q["by"] == "type"
    assert q["default"] == {"config": {"name": None}}
    assert q["linear"]["config"] == {"name": "integer", "data_in_width": 8, "data_in_frac_width": 4,
                                     "weight_width": 8, "weight_frac_width": 4,
                                     "bias_width": 8, "bias_frac_width": 4}
    assert cfg.ignored_sections == ["search"]
    notices = [r.getMessage() for r in caplog.records if "[search]" in r.getMessage()]
    assert len(notices) == 1
    # trainer-only keys are kept but reported as unused
    assert set(cfg.unused_settings) == {"max_epochs", "learning_rate", "log_every_n_steps"}
    # the search space's "NA" lists became [None]
    assert cfg.raw["search"]["search_space"]["seed"]["default"]["config"]["name"] == [None]


def test_pass_order_follows_the_file(tmp_path):
    path = write(tmp_path, "[passes.report_graph]\n[passes.quantize]\nby='type'\n"
                           "[passes.quantize.default.config]\nname='NA'\n[passes.report_node_type]\n")
    cfg = load_config(path)
    assert [p.name for p in cfg.passes] == ["report_graph_analysis_pass", "quantize_transform_pass",
                                            "report_node_type_analysis_pass"]


@pytest.mark.parametrize("text, line, col", [
    ("model = 'jsc-tiny'\nbatch_size = = 3\n", 2, 14),
    ("a = 1\n\n\n[passes.quantize\n", 4, 17),
    ("a = 1\na = 2\n", 2, 6),
])
def test_malformed_toml_names_line_and_column(tmp_path, text, line, col):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert f"line {line}, column {col}" in msg
    assert str(path) in msg
    assert "\n" not in msg


def test_errors_at_the_end_of_the_file_name_the_last_line(tmp_path):
    with pytest.raises(ConfigError, match=r"at line 3, column 10: Illegal character"):
        load_config(write(tmp_path, 'a = 1\nb = 2\nc = "oops\n'))
    with pytest.raises(ConfigError, match=r"at line 2 \(end of file\): Invalid value"):
        load_config(write(tmp_path, "a = 1\nb = [\n", "b.toml"))
    with pytest.raises(ConfigError, match=r"at line 1 \(end of file\): Unterminated string"):
        load_config(write(tmp_path, 'a = "x', "c.toml"))


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    other = write(tmp_path, "a = 1\n", "c.yaml")
    with pytest.raises(ConfigError, match=r"must be a \.toml file"):
        read_toml(other)
    (tmp_path / "d.toml").mkdir()
    with pytest.raises(ConfigError, match="is a directory"):
        read_toml(tmp_path / "d.toml")


def test_unknown_pass_suggests_the_nearest_name(tmp_path):
    path = write(tmp_path, "[passes.quantise]\nby = 'type'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "unknown pass 'quantise'" in str(info.value)
    assert "did you mean 'quantize'" in str(info.value)


def test_unknown_pass_arguments_are_named(tmp_path):
    path = write(tmp_path, "[passes.profile_statistics]\nnum_sample = 4\ncolour = 'red'\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    msg = str(info.value)
    assert "num_sample, colour" in msg
    assert "did you mean 'num_samples'" in msg


def test_pass_argument_types_follow_the_defaults(tmp_path):
    path = write(tmp_path, "[passes.profile_statistics]\nnum_samples = 'many'\n")
    with pytest.raises(ConfigError, match="'num_samples' must be an integer"):
        load_config(path)
    ok = load_config(write(tmp_path, "[passes.profile_statistics]\nnum_samples = 8\n"
                                     "target_weight_nodes = ['linear']\n", "ok.toml"))
    assert ok.passes[0].args == {"num_samples": 8, "target_weight_nodes": ["linear"]}


def test_passes_with_no_arguments_reject_any(tmp_path):
    path = write(tmp_path, "[passes.verify_common_metadata]\nstrict = true\n")
    with pytest.raises(ConfigError, match="unknown argument.*strict.*accepted: none"):
        load_config(path)


def test_aliases_resolve(tmp_path):
    cfg = load_config(write(tmp_path, "[passes.cost]\n[passes.summarize_quantization]\n"
                                      "[passes.report_node_meta_param]\nwhich = ['common']\n"))
    assert [p.name for p in cfg.passes] == ["cost_analysis_pass", "summarize_quantization_analysis_pass",
                                            "report_node_meta_param_analysis_pass"]


def test_setting_types_and_choices(tmp_path):
    with pytest.raises(ConfigError, match="'batch_size' must be int"):
        load_config(write(tmp_path, "batch_size = '512'\n"))
    with pytest.raises(ConfigError, match="'load_type' = 'hf' is not one of pt, pl, mz"):
        load_config(write(tmp_path, "load_type = 'hf'\n", "b.toml"))
    with pytest.raises(ConfigError, match="'batch_size' must be at least 1"):
        load_config(write(tmp_path, "batch_size = 0\n", "c.toml"))
    with pytest.raises(ConfigError, match="'seed' must be int"):
        load_config(write(tmp_path, "seed = true\n", "d.toml"))


def test_unknown_setting_is_a_warning_with_suggestion(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        cfg = load_config(write(tmp_path, "batchsize = 3\n"))
    assert "batchsize" in cfg.unused_settings
    assert any("did you mean 'batch_size'" in r.getMessage() for r in caplog.records)


def test_transform_style(tmp_path):
    assert load_config(write(tmp_path, "[transform]\nstyle = 'module'\n")).style == "module"
    assert load_config(write(tmp_path, "[transform]\n", "e.toml")).style == "graph"
    with pytest.raises(ConfigError, match="style = 'layer' is not one of graph, module"):
        load_config(write(tmp_path, "[transform]\nstyle = 'layer'\n", "f.toml"))


def test_passes_must_be_tables():
    with pytest.raises(ConfigError, match=r"\[passes.quantize\] must be a table"):
        config_from_dict({"passes": {"quantize": 3}})


def test_writer_round_trips_mase_layout(tmp_path):
    data = {
        "model": "jsc-tiny", "batch_size": 512, "learning_rate": 0.01, "accelerator": "gpu",
        "passes": {"quantize": {"by": "type", "default": {"config": {"name": None}},
                                "linear": {"config": {"name": "integer", "data_in_width": 8}}}},
        "transform": {"style": "graph"},
        "odd key": {"x.y": [1.5, None, True, "a\"b\\c\n"], "inf": float("inf")},
    }
    text = dumps_toml(data)
    assert 'name = "NA"' in text
    assert "[passes.quantize.default.config]" in text
    assert parse_toml(text) == data
    path = save_config(data, tmp_path / "out" / "saved.toml")
    assert read_toml(path) == data


def test_writer_refuses_unknown_objects():
    with pytest.raises(ConfigError, match="cannot write object"):
        dumps_toml({"a": object()})


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.name)
def test_every_example_config_validates(path):
    cfg = load_config(path)
    assert cfg.settings.get("model")
    assert cfg.settings.get("dataset")
    assert cfg.passes or "search" in cfg.ignored_sections  # search configs need no passes


def test_every_argument_a_pass_declares_is_accepted_in_a_config(tmp_path):
    # both were rejected while the config loader kept its own list apart from the passes'
    path = write(tmp_path, "[passes.profile_statistics]\nprofile_output_activation = false\nnum_samples = 8\n"
                           "[passes.verify_quantization]\nnum_samples = 8\n")
    loaded = load_config(path)
    assert [(e.name, e.args) for e in loaded.passes] == [
        ("profile_statistics_analysis_pass", {"profile_output_activation": False, "num_samples": 8}),
        ("verify_quantization_analysis_pass", {"num_samples": 8}),
    ]
    with pytest.raises(ConfigError, match="'by' = 'kind' is not one of type, name"):
        load_config(write(tmp_path, "[passes.profile_statistics]\nby = 'kind'\n", "by.toml"))
