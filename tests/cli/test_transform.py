"""`ch transform` / `mase-tui transform`: the lab command verbatim, every example config, flag
precedence, atomic outputs and one-line errors.

Most runs call mase_tui.cli.main in-process (torch is imported once); three run as true
subprocesses to check the console scripts, the real stderr and the exit code.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mase_tui.cli import build_parser, main
from mase_tui.commands.transform_settings import explicit_flags, merge_settings

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "configs" / "examples"
LAB_CONFIG = "configs/examples/jsc_toy_by_type.toml"
LAB_ARGS = ["transform", "--config", LAB_CONFIG, "--task", "cls", "--cpu=0"]
HISTOGRAM_HEADER = ["Original type", "OP", "Total", "Changed", "Unchanged"]
LAB_HISTOGRAM = [
    ["BatchNorm1d", "batch_norm1d", "1", "0", "1"],
    ["Linear", "linear", "1", "1", "0"],
    ["ReLU", "relu", "2", "0", "2"],
    ["output", "output", "1", "0", "1"],
    ["x", "placeholder", "1", "0", "1"],
]


# --------------------------------------------------------------------------- helpers
def lab_tree(tmp_path: Path) -> Path:
    """A working directory laid out like the repository root, holding the lab config."""
    (tmp_path / "configs" / "examples").mkdir(parents=True)
    shutil.copy(EXAMPLES / "jsc_toy_by_type.toml", tmp_path / LAB_CONFIG)
    return tmp_path


def script(name: str) -> list[str]:
    path = Path(sys.executable).parent / name
    if path.exists():
        return [str(path)]
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", "mase_tui.cli"]


def run_script(name: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "120"}
    env.pop("MASE_TUI_JSC_PATH", None)
    return subprocess.run([*script(name), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def cost_doc(out: Path) -> dict:
    return json.loads((out / "cost" / "cost.json").read_text())["comparison"]


def totals(out: Path, key: str, scope: str = "totals_per_sample") -> tuple:
    pair = cost_doc(out)[scope][key]
    return pair["a"], pair["b"]


def histogram(out: Path) -> dict[str, list[int]]:
    rows = read_csv(out / "quantize" / "quantize_histogram.csv")
    assert rows[0] == HISTOGRAM_HEADER
    return {r[0]: [int(v) for v in r[2:]] for r in rows[1:]}


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def transform(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["transform", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --------------------------------------------------------------------------- the lab command
def check_lab_outputs(out: Path) -> None:
    assert read_csv(out / "quantize" / "quantize_histogram.csv") == [HISTOGRAM_HEADER, *LAB_HISTOGRAM]
    table = read_csv(out / "quantize" / "quantize_table.csv")
    changed = {row[1]: (row[5], row[6], row[7]) for row in table[1:]}
    assert changed["seq_blocks_2"] == ("Linear", "LinearInteger", "True")
    assert {name for name, (_, _, flag) in changed.items() if flag == "True"} == {"seq_blocks_2"}
    # Linear(16, 5): 80 MACs a sample; 32 x 32 bits before, 8 x 8 after
    assert totals(out, "bitops") == (80 * 32 * 32, 80 * 8 * 8)
    # 117 float32 parameters before; after, Linear's 80 weights and 5 biases are 8-bit
    assert totals(out, "param_bits", "totals_model") == (117 * 32, 32 * 32 + 85 * 8)
    md = (out / "cost" / "cost.md").read_text()
    assert "| BitOPs | 81,920 | 5,120 | 0.0625 |" in md
    assert "| seq_blocks_2 | linear | float32 | integer[8,4] |" in md
    assert (out / "transformed_ckpt" / "manifest.json").is_file()


def test_lab_command_verbatim_with_ch(tmp_path):
    cwd = lab_tree(tmp_path)
    proc = run_script("ch", LAB_ARGS, cwd)
    assert proc.returncode == 0, proc.stderr
    out = cwd / "mase_output" / "jsc-tiny" / "software" / "transform"
    check_lab_outputs(out)
    # nothing but the transform directory: no temporary siblings left over
    assert sorted(p.name for p in (cwd / "mase_output" / "jsc-tiny" / "software").iterdir()) == ["transform"]
    assert "Quantisation histogram" in proc.stdout
    assert "Transformation is completed" in proc.stdout
    assert "jsc-synthetic (synthetic)" in proc.stdout
    assert "accelerator 'gpu' requested but no GPU is available: running on the CPU" in proc.stderr
    assert "ignoring section(s) [search]" in proc.stderr
    assert "error" not in proc.stderr.lower()
    # the saved graph loads back with the quantised Linear in place
    from core.passes.interface.save_load import load_mase_graph

    graph = load_mase_graph(str(out / "transformed_ckpt"))
    assert type(graph.model.get_submodule("seq_blocks.2")).__name__ == "LinearInteger"


def test_lab_command_with_the_mase_tui_spelling(tmp_path):
    cwd = lab_tree(tmp_path)
    proc = run_script("mase-tui", LAB_ARGS, cwd)
    assert proc.returncode == 0, proc.stderr
    check_lab_outputs(cwd / "mase_output" / "jsc-tiny" / "software" / "transform")


def test_malformed_config_in_a_subprocess_is_one_line_on_stderr(tmp_path):
    (tmp_path / "bad.toml").write_text('model = "jsc-tiny"\n\n[passes.quantize]\nby = = "type"\n')
    proc = run_script("ch", ["transform", "--config", "bad.toml"], tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "error: malformed TOML in bad.toml at line 4, column 6: Invalid value "
        "(fix the file; see https://toml.io for the syntax)"]
    assert files_under(tmp_path) == ["bad.toml"]
    # a pass that fails after the model and data are loaded (by name: which node an entry is for
    # needs the graph): still one line, and no output
    (tmp_path / "q.toml").write_text(BAD_QUANT)
    proc = run_script("ch", ["transform", "--config", "q.toml"], tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("error: [passes.quantize] failed: quantize: no node named 'seq_blocks_7'")
    assert files_under(tmp_path) == ["bad.toml", "q.toml"]


def test_lab_command_in_process_prints_histogram_cost_and_accuracy(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(lab_tree(tmp_path))
    code, out, _ = transform(capsys, *LAB_ARGS[1:])
    assert code == 0
    check_lab_outputs(tmp_path / "mase_output" / "jsc-tiny" / "software" / "transform")
    lines = out.splitlines()
    for name, op, total, changed, unchanged in LAB_HISTOGRAM:
        assert any(line.split() == [name, op, total, changed, unchanged] for line in lines), name
    assert any(line.split()[:6] == ["BitOPs", "per", "sample", "81,920", "5,120", "0.0625"] for line in lines)
    assert any(line.split()[:6] == ["parameter", "storage", "bits", "3,744", "1,704", "0.4551"] for line in lines)
    # the whole jsc-synthetic test split (20,000 samples) before and after
    summary = json.loads((tmp_path / "mase_output/jsc-tiny/software/transform/summary.json").read_text())
    acc = summary["accuracy"]
    assert acc["before"]["samples"] == acc["after"]["samples"] == 20000
    assert acc["synthetic"] is True
    assert "20000 test samples of jsc-synthetic (synthetic)" in " ".join(out.split())


# --------------------------------------------------------------------------- example configs
def run_example(tmp_path, capsys, name: str, *extra: str) -> Path:
    code, out, err = transform(capsys, "--config", str(EXAMPLES / name), "--project-dir", str(tmp_path),
                               "--project", "p", "--eval-batches", "2", *extra)
    assert code == 0, err
    return tmp_path / "p" / "software" / "transform"


def test_example_jsc_toy_by_name(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "jsc_toy_by_name.toml", "--batch-size", "16")
    assert histogram(out)["Linear"] == [3, 3, 0]
    assert histogram(out)["ReLU"] == [4, 0, 4]
    # Linear 16x8 (128 MACs) at 8x8 bits, 8x8 (64) at 8x6, 8x5 (40) at 8x4
    assert totals(out, "bitops") == (232 * 1024, 128 * 64 + 64 * 48 + 40 * 32)
    # weights 128x8 + 64x6 + 40x4 bits, biases 21x8 bits, 74 BatchNorm parameters in float32
    assert totals(out, "param_bits", "totals_model") == (327 * 32, 1024 + 384 + 160 + 168 + 74 * 32)
    assert "Network overview:" in (out / "report_graph.txt").read_text()
    assert "seq_blocks_8" in (out / "report" / "node_type.txt").read_text()


def test_example_jsc_toy_by_regex(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "jsc_toy_by_regex.toml", "--batch-size", "16")
    assert histogram(out)["Linear"] == [3, 3, 0]
    assert histogram(out)["ReLU"] == [4, 4, 0]
    assert totals(out, "bitops") == (232 * 1024, 232 * 64)
    assert totals(out, "param_bits", "totals_model") == (327 * 32, 253 * 8 + 74 * 32)
    assert (out / "report" / "node_meta_param.txt").is_file()


def test_example_jsc_s_mixed(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "jsc_s_mixed.toml", "--batch-size", "64")
    assert histogram(out)["Linear"] == [5, 5, 0]
    # MACs 1024, 2048, 1024, 1024, 160 at 8x8, 6x4, 4x4, 4x2, 8x8 bits
    assert totals(out, "bitops") == (5280 * 1024, 1024 * 64 + 2048 * 24 + 1024 * 16 + 1024 * 8 + 160 * 64)
    passes = [p["pass"] for p in json.loads((out / "summary.json").read_text())["passes"]]
    assert passes == ["profile_statistics_analysis_pass", "quantize_transform_pass",
                      "summarize_quantization_analysis_pass", "verify_quantization_analysis_pass"]


def test_example_toy_cnn_minifloat(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "toy_cnn_minifloat.toml", "--batch-size", "4")
    hist = histogram(out)
    assert hist["Conv2d"] == [2, 2, 0] and hist["Linear"] == [1, 1, 0] and hist["ReLU"] == [2, 2, 0]
    # conv 3->16 on 32x32 (442,368 MACs), conv 16->32 on 16x16 (1,179,648), linear 2048->10 (20,480)
    macs = 442_368 + 1_179_648 + 20_480
    assert totals(out, "macs") == (macs, macs)
    assert totals(out, "bitops") == (macs * 32 * 32, macs * 8 * 8)


def test_example_toy_cnn_block_fp(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "toy_cnn_block_fp.toml", "--batch-size", "4")
    hist = histogram(out)
    assert hist["Conv2d"] == [2, 2, 0] and hist["Linear"] == [1, 1, 0] and hist["ReLU"] == [2, 0, 2]
    macs = 1_642_496
    assert totals(out, "bitops") == (macs * 32 * 32, macs * 8 * 8)
    before, after = totals(out, "param_bits", "totals_model")
    # 8-bit mantissas plus a shared 8-bit exponent a block: more than 8 bits a weight, far below 32
    assert 8 * before / 32 < after < before / 3


def test_example_resnet18_integer(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "resnet18_integer.toml", "--batch-size", "1", "--eval-batches", "1")
    hist = histogram(out)
    assert hist["Conv2d"] == [20, 20, 0]
    assert hist["Linear"] == [1, 1, 0]
    assert hist["add"] == [8, 8, 0]
    assert hist["ReLU"] == [17, 17, 0]
    assert hist["BatchNorm2d"] == [20, 0, 20]
    # ResNet-18 at 224x224: 1.814 GMACs (the figure torchvision's model card gives)
    assert totals(out, "macs") == (1_814_073_344, 1_814_073_344)
    assert totals(out, "bitops")[1] == 1_814_073_344 * 64


def test_example_tiny_transformer_integer(tmp_path, capsys):
    out = run_example(tmp_path, capsys, "tiny_transformer_integer.toml", "--batch-size", "4")
    hist = histogram(out)
    assert hist["Linear"] == [9, 9, 0]
    assert hist["bmm"] == [2, 2, 0]
    assert hist["matmul"] == [2, 2, 0]
    assert hist["add"] == [5, 5, 0]
    assert hist["mul"] == [8, 0, 8]  # scalar scalings are not in the config
    before, after = totals(out, "bitops")
    assert after * 16 == before  # every MAC (linear, bmm, matmul) went from 32x32 to 8x8 bits


def test_module_style_runs_by_type_configs_and_explains_otherwise(tmp_path, capsys):
    text = (EXAMPLES / "jsc_toy_by_type.toml").read_text().replace('style = "graph"', 'style = "module"')
    (tmp_path / "module.toml").write_text(text)
    code, _, err = transform(capsys, "--config", str(tmp_path / "module.toml"), "--project-dir", str(tmp_path / "o"),
                             "--no-eval")
    assert code == 0, err
    assert histogram(tmp_path / "o" / "jsc-tiny" / "software" / "transform")["Linear"] == [1, 1, 0]
    (tmp_path / "bad.toml").write_text('model = "jsc-tiny"\n[passes.report_graph]\n[transform]\nstyle = "module"\n')
    code, _, err = transform(capsys, "--config", str(tmp_path / "bad.toml"), "--project-dir", str(tmp_path / "b"))
    assert code == 2
    assert err.splitlines() == [
        'error: [transform] style = "module" only runs [passes.quantize] with by = "type"; [passes.report_graph] '
        'needs the graph style (set style = "graph" (the default), which runs every pass)']
    assert not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- precedence
def parse(*argv: str):
    return build_parser().parse_args(["transform", *argv])


def test_explicit_flags_are_what_was_typed_even_when_equal_to_the_default():
    args = parse("--config", "c.toml", "--batch-size", "128", "--cpu=0")
    assert explicit_flags(args) == {"batch_size": 128, "num_workers": 0}
    settings = merge_settings({"model": "jsc-tiny", "batch_size": 512, "num_workers": 4}, explicit_flags(args))
    assert settings["batch_size"] == 128  # typed 128 beats the config's 512
    assert settings["num_workers"] == 0
    assert explicit_flags(parse("--num-workers", "3"))["num_workers"] == 3
    assert explicit_flags(parse("jsc-toy", "jsc")) == {"model": "jsc-toy", "dataset": "jsc"}
    assert explicit_flags(parse("--load", "a.ckpt", "--debug")) == {"load_name": "a.ckpt", "to_debug": True}


def test_defaults_then_config_then_flags():
    config = {"model": "jsc-tiny", "dataset": "jsc", "batch_size": 512, "seed": 42, "project": "jsc-tiny",
              "accelerator": "gpu", "max_epochs": 5}
    s = merge_settings(config, {"batch_size": 16, "seed": 7})
    assert (s["batch_size"], s["seed"], s["project"], s["accelerator"]) == (16, 7, "jsc-tiny", "gpu")
    assert s["task"] == "classification" and s["log_level"] == "warning"
    row = {r[0]: r for r in s.rows()}
    assert row["batch_size"] == ("batch_size", "128", "512", "16", "16")
    assert row["seed"] == ("seed", "0", "42", "7", "7")
    assert row["project"] == ("project", "(generated)", "jsc-tiny", "", "jsc-tiny")
    assert "max_epochs" not in row


@pytest.mark.parametrize("width", [80, 100, 160])
def test_settings_table_never_splits_a_word(width):
    import datetime

    from rich.console import Console

    from mase_tui.commands.transform import settings_table

    project = "jsc-tiny_classification_jsc_2026-12-02"
    s = merge_settings({"model": "jsc-tiny", "dataset": "jsc", "project": project},
                       {"model": "jsc-toy", "batch_size": 256}, today=datetime.date(2026, 12, 2))
    console = Console(width=width, record=True)
    console.print(settings_table(s, "configs/examples/jsc_toy_by_type.toml"))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= width
    rows = {line.split()[0]: line.split() for line in lines[3:] if line.strip()}
    assert rows["project"][-1] == project  # the effective name, whole on its row
    assert rows["model"][-3:] == ["jsc-tiny", "jsc-toy", "jsc-toy"]  # config, override, effective
    assert rows["batch_size"][-2:] == ["256", "256"]
    assert rows["task"][-1] == "classification"
    if width >= 160:  # room for everything: the defaults too, and the config's name whole
        assert rows["project"][1:] == ["(generated)", project, project]


def test_default_project_name_and_dataset():
    day = dt.date(2024, 1, 2)
    s = merge_settings({}, {"model": "jsc-toy", "task": "cls"}, today=day)
    assert s["dataset"] == "jsc"
    assert s["project"] == "jsc-toy_classification_jsc_2024-01-02"
    s = merge_settings({"dataset": "jsc"}, {"model": "models/my.py:build"}, today=day)
    assert s["project"] == "models-my.py:build_classification_jsc_2024-01-02"


def test_load_type_follows_the_path_unless_given():
    assert merge_settings({"model": "jsc-tiny", "load_name": "a/best.ckpt"}, {})["load_type"] == "pl"
    assert merge_settings({"model": "jsc-tiny", "load_name": "w.pt"}, {})["load_type"] == "pt"
    assert merge_settings({"model": "jsc-tiny", "load_name": "out/transformed_ckpt"}, {})["load_type"] == "mz"
    assert merge_settings({"model": "jsc-tiny", "load_name": "w.pt", "load_type": "pl"}, {})["load_type"] == "pl"


def test_precedence_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(lab_tree(tmp_path))
    code, out, err = transform(capsys, *LAB_ARGS[1:], "--batch-size", "16", "--seed", "7", "--project", "pp",
                               "--no-eval")
    assert code == 0, err
    result = tmp_path / "mase_output" / "pp" / "software" / "transform"
    settings = json.loads((result / "summary.json").read_text())["settings"]
    assert (settings["batch_size"], settings["seed"], settings["project"]) == (16, 7, "pp")
    assert "batch_size = 16" in (result / "config.toml").read_text()
    assert cost_doc(result)["batch_size_a"] == 16
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["batch_size"])
    assert row == ["batch_size", "128", "512", "16", "16"]
    assert not (tmp_path / "mase_output" / "jsc-tiny").exists()


# --------------------------------------------------------------------------- errors and atomicity
# refuted by the graph only (jsc-tiny has no node seq_blocks_7): fails after model and data load
BAD_QUANT = ('model = "jsc-tiny"\ndataset = "jsc-synthetic"\nbatch_size = 8\n[passes.quantize]\nby = "name"\n'
             '[passes.quantize.seq_blocks_7.config]\nname = "integer"\ndata_in_width = 8\ndata_in_frac_width = 4\n')
# refuted by the config alone: fails before torch or the model is loaded
BAD_QUANT_KEYS = ('model = "jsc-tiny"\ndataset = "jsc-synthetic"\nbatch_size = 8\n[passes.quantize]\nby = "type"\n'
                  '[passes.quantize.linear.config]\nname = "integer"\ndata_in_width = "eight"\n')
GOOD = 'model = "jsc-tiny"\ndataset = "jsc-synthetic"\nbatch_size = 8\n[passes.report_graph]\n'

ERROR_CASES = {
    "missing config": (None, ["--config", "nope.toml"], "error: config file not found: nope.toml"),
    "no config": (None, [], "error: transform needs a config"),
    "not toml": ("c.yaml", ["--config", "c.yaml"], "error: config file must be a .toml file"),
    "malformed": ('model = "jsc-tiny"\n\nbatch_size = [1,\n', ["--config", "c.toml"],
                  "error: malformed TOML in c.toml at line 3 (end of file)"),
    "unknown pass": ('model = "jsc-tiny"\n[passes.quantise]\nby = "type"\n', ["--config", "c.toml"],
                     "error: c.toml: [passes.quantise]: unknown pass 'quantise' (did you mean 'quantize'?)"),
    "bad pass argument": ('model = "jsc-tiny"\n[passes.report_graph]\nfile = "g.txt"\n', ["--config", "c.toml"],
                          "error: c.toml: [passes.report_graph]: unknown argument(s) file for report_graph_analysis_pass"),
    "bad pass argument type": ('model = "jsc-tiny"\n[passes.profile_statistics]\nnum_samples = "all"\n',
                               ["--config", "c.toml"], "error: c.toml: [passes.profile_statistics]: 'num_samples' must be an integer"),
    "unknown statistic": ('model = "jsc-tiny"\n[passes.profile_statistics]\nby = "type"\n'
                          '[passes.profile_statistics.activation_statistics.range_quantil]\nquantile = 0.97\n',
                          ["--config", "c.toml"], "error: c.toml: [passes.profile_statistics]: activation_statistics: "
                          "unknown statistic 'range_quantil' (did you mean 'range_quantile'?)"),
    "bad quantize config": (BAD_QUANT, ["--config", "c.toml"],
                            "error: [passes.quantize] failed: quantize: no node named 'seq_blocks_7'"),
    "bad quantize keys": (BAD_QUANT_KEYS, ["--config", "c.toml"],
                          "error: c.toml: [passes.quantize]: entry 'linear': missing key 'data_in_frac_width'"),
    "unknown quantiser": (BAD_QUANT_KEYS.replace('"integer"', '"mxfp8"'), ["--config", "c.toml"],
                          "error: c.toml: [passes.quantize]: entry 'linear': unknown quantiser 'mxfp8' "
                          "(did you mean 'mxfp8_e4m3' or 'mxfp8_e5m2'?)"),
    "unknown model": (GOOD.replace("jsc-tiny", "jsc-huge"), ["--config", "c.toml"], "error: unknown model 'jsc-huge'"),
    "unknown dataset": (GOOD.replace("jsc-synthetic", "mnist"), ["--config", "c.toml"], "error: unknown dataset 'mnist'"),
    "missing checkpoint": (GOOD, ["--config", "c.toml", "--load", "runs/best.ckpt"],
                           "error: checkpoint not found: runs/best.ckpt"),
    "wrong load type": (GOOD, ["--config", "c.toml", "--load", "w.pt", "--load-type", "mz"], "error: "),
    "unsupported task": (GOOD, ["--config", "c.toml", "--task", "lm"], "error: task 'language_modeling' is not supported"),
    "bad batch size": (GOOD, ["--config", "c.toml", "--batch-size", "0"], "error: batch size must be at least 1"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_each_error_is_one_line_exit_2_and_leaves_nothing(case, tmp_path, monkeypatch, capsys):
    text, argv, expected = ERROR_CASES[case]
    monkeypatch.chdir(tmp_path)
    if text is not None:
        (tmp_path / ("c.yaml" if case == "not toml" else "c.toml")).write_text(text)
    if case == "wrong load type":
        import torch

        from core.models import get_model

        torch.save(get_model("jsc-tiny").state_dict(), tmp_path / "w.pt")
    before = files_under(tmp_path)
    code, _, err = transform(capsys, *argv)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]
    assert files_under(tmp_path) == before  # no mase_output/, no temporary directory


def test_wrong_load_type_choice_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main(["transform", "--config", "c.toml", "--load", "w.ckpt", "--load-type", "hf"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "argument --load-type: invalid choice: 'hf'" in err[0]
    assert files_under(tmp_path) == []


def test_failed_run_keeps_previous_output_and_the_input_checkpoint(tmp_path, monkeypatch, capsys):
    import torch

    from core.models import get_model

    monkeypatch.chdir(tmp_path)
    ckpt = tmp_path / "weights.pt"
    torch.save(get_model("jsc-tiny").state_dict(), ckpt)
    ckpt_bytes, ckpt_mtime = ckpt.read_bytes(), ckpt.stat().st_mtime_ns
    (tmp_path / "good.toml").write_text('project = "p"\n' + GOOD)
    (tmp_path / "bad.toml").write_text('project = "p"\n' + BAD_QUANT)
    code, out, err = transform(capsys, "--config", "good.toml", "--load", "weights.pt", "--no-eval")
    assert code == 0, err
    assert "weights.pt (pt)" in " ".join(out.split())
    result = tmp_path / "mase_output" / "p" / "software" / "transform"
    kept = {f: (result / f).read_bytes() for f in files_under(result) if (result / f).is_file()}
    assert "report_graph.txt" in kept and "cost/cost.json" in kept
    code, _, err = transform(capsys, "--config", "bad.toml", "--load", "weights.pt", "--no-eval")
    assert code == 2 and len(err.splitlines()) == 1
    assert {f: (result / f).read_bytes() for f in files_under(result) if (result / f).is_file()} == kept
    assert sorted(p.name for p in result.parent.iterdir()) == ["transform"]
    assert ckpt.read_bytes() == ckpt_bytes and ckpt.stat().st_mtime_ns == ckpt_mtime


def test_a_rerun_never_replaces_an_earlier_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text('project = "p"\n' + GOOD)
    assert transform(capsys, "--config", "c.toml", "--no-eval")[0] == 0
    result = tmp_path / "mase_output" / "p" / "software" / "transform"
    (result / "own-notes.txt").write_text("from an older run")
    first = files_under(result)
    (tmp_path / "c.toml").write_text('project = "p"\n' + GOOD.replace("report_graph", "report_node_type"))
    code, out, _ = transform(capsys, "--config", "c.toml", "--no-eval")
    assert code == 0
    assert files_under(result) == first  # the earlier run is untouched
    second = result.with_name("transform-1")
    names = files_under(second)
    assert "report/node_type.txt" in names and "report_graph.txt" not in names
    flat = " ".join(out.split())
    assert "mase_output/p/software/transform holds an earlier run's output: this run writes " \
           "mase_output/p/software/transform-1" in flat
    assert "Saved to mase_output/p/software/transform-1" in flat
    assert transform(capsys, "--config", "c.toml", "--no-eval")[0] == 0
    assert sorted(p.name for p in result.parent.iterdir()) == ["transform", "transform-1", "transform-2"]


def test_positional_model_and_dataset_override_the_config(tmp_path, monkeypatch, capsys, caplog):
    """MASE's `ch transform MODEL DATASET --config ...`: the lab's by-type config on jsc-toy."""
    monkeypatch.chdir(lab_tree(tmp_path))
    code, out, err = transform(capsys, "jsc-toy", "jsc-synthetic", "--config", LAB_CONFIG, "--batch-size", "32",
                               "--no-eval")
    assert code == 0, err
    # the config's project is named after its model (jsc-tiny): a jsc-toy run gets its own
    assert not (tmp_path / "mase_output" / "jsc-tiny").exists()
    result = tmp_path / "mase_output" / "jsc-toy" / "software" / "transform"
    assert json.loads((result / "summary.json").read_text())["settings"]["project"] == "jsc-toy"
    assert "project 'jsc-tiny' in the config is named after its model 'jsc-tiny'" in caplog.text
    assert histogram(result)["Linear"] == [3, 3, 0]
    assert histogram(result)["BatchNorm1d"] == [4, 0, 4]
    assert totals(result, "bitops") == (232 * 32 * 32, 232 * 8 * 8)
    row = next(line.split() for line in out.splitlines() if line.split()[:1] == ["model"])
    assert row == ["model", "jsc-tiny", "jsc-toy", "jsc-toy"]
