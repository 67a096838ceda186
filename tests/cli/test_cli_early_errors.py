"""Errors the command line or the config alone reveal come first: one `error:` line, exit 2,
nothing written, torch never imported. Plus markup-safe printing and file permissions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAB = (REPO / "configs" / "examples" / "jsc_toy_by_type.toml").read_text()

# main() then report whether torch was imported (the interpreter is fresh for each case)
PROBE = ("import sys\nfrom mase_tui.cli import main\ncode = main(sys.argv[1:])\n"
         "print('TORCH-IMPORTED' if 'torch' in sys.modules else 'TORCH-NOT-IMPORTED', code)\n")


def run_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    env.pop("MASE_TUI_JSC_PATH", None)
    return subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


CASES = {
    "unknown quantiser": (LAB.replace('name = "integer"', 'name = "integr"'),
                          ["transform", "jsc-toy", "--config", "c.toml"],
                          "error: c.toml: [passes.quantize]: entry 'linear': unknown quantiser 'integr' "
                          "(did you mean 'integer'?)"),
    "unknown quantiser key": (LAB.replace('"weight_width" = 8', '"weight_widht" = 8'),
                              ["transform", "--config", "c.toml"],
                              "error: c.toml: [passes.quantize]: entry 'linear': unknown key 'weight_widht'"),
    "default entry quantiser": (LAB.replace('name = "NA"', 'name = "minifloat_iee"'),
                                ["transform", "--config", "c.toml"],
                                "error: c.toml: [passes.quantize]: entry 'default': unknown quantiser 'minifloat_iee'"),
    "model in the config": (LAB.replace('model = "jsc-tiny"', 'model = "jsc-tinny"'),
                            ["transform", "--config", "c.toml"],
                            "error: unknown model 'jsc-tinny' (did you mean 'jsc-tiny'?"),
    "model on the command line": (LAB, ["transform", "resnet19", "--config", "c.toml"],
                                  "error: unknown model 'resnet19' (did you mean 'resnet18'?"),
    "dataset": (LAB.replace('dataset = "jsc"', 'dataset = "jsc-synthetc"'), ["transform", "--config", "c.toml"],
                "error: unknown dataset 'jsc-synthetc' (did you mean 'jsc-synthetic'?"),
    "inspect unknown model": (None, ["inspect", "resnet19"], "error: unknown model 'resnet19' (did you mean 'resnet18'?"),
    "inspect user model without data": (None, ["inspect", "net.py:make"], "error: no data set for user model net.py:make"),
    "inspect missing model file": (None, ["inspect", "nets/none.py:make", "--dataset", "jsc"],
                                   "error: model file nets/none.py not found"),
    "inspect bad config": (LAB.replace('name = "integer"', 'name = "integr"'),
                           ["inspect", "jsc-toy", "--config", "c.toml"],
                           "error: c.toml: [passes.quantize]: entry 'linear': unknown quantiser 'integr'"),
    "cost bad config": (LAB.replace('name = "integer"', 'name = "integr"'), ["cost", "jsc-toy", "--config", "c.toml"],
                        "error: c.toml: [passes.quantize]: entry 'linear': unknown quantiser 'integr'"),
    "report dataset": (None, ["report", "jsc-toy", "--dataset", "mnistt"], "error: unknown dataset 'mnistt'"),
    "train model": (None, ["train", "jsc-tny", "jsc"], "error: unknown model 'jsc-tny' (did you mean 'jsc-tiny'?"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_error_before_torch_one_line_exit_2_nothing_written(case, tmp_path):
    text, args, expected = CASES[case]
    if text is not None:
        (tmp_path / "c.toml").write_text(text)
    (tmp_path / "net.py").write_text("def make():\n    raise AssertionError('never built')\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = run_cli(args, tmp_path)
    assert proc.returncode == 0, proc.stderr  # the probe itself
    assert proc.stdout.strip().endswith("TORCH-NOT-IMPORTED 2"), proc.stdout
    assert proc.stdout.strip().splitlines() == [proc.stdout.strip().splitlines()[-1]]  # nothing printed before
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(expected), proc.stderr
    assert all(not line.startswith(("Traceback", "ERROR")) for line in proc.stderr.splitlines())
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no mase_output/, nothing else


# ---------------------------------------------------------------------- item 4: markup
def test_cost_prints_config_table_names_and_file_names_as_they_are(tmp_path, capsys, monkeypatch):
    from mase_tui.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "[lab]").mkdir()
    (tmp_path / "[lab]" / "q.toml").write_text(LAB)
    assert main(["cost", "jsc-toy", "--config", "[lab]/q.toml"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "quantised with [passes.quantize] of [lab]/q.toml" in out


def test_rich_markup_characters_in_table_cells_survive():
    import io

    from rich.console import Console

    from mase_tui.markup import PlainTable
    from mase_tui.render import render_pass_result

    table = PlainTable(title="[passes.quantize] of [bold]x.toml")
    table.add_column("name")
    table.add_row("[passes.quantize]")
    console = Console(file=io.StringIO(), width=120, color_system=None)
    console.print(table)
    console.print(render_pass_result("verify_common_metadata_analysis_pass",
                                     {"ok": False, "problems": [{"node": "[red]x", "problem": "[b]y[/b]"}]}))
    text = console.file.getvalue()
    assert "[passes.quantize]of[bold]x.toml" in "".join(text.split()) and text.count("[passes.quantize]") == 2
    assert "[red]x" in text and "[b]y[/b]" in text


# ---------------------------------------------------------------------- item 5: permissions
@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_writes_have_plain_open_permissions(tmp_path, umask_022):
    from core.utils.atomic import atomic_dir, atomic_path, atomic_write_text

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    (tmp_path / "plain_dir").mkdir()
    assert (_mode(plain), _mode(tmp_path / "plain_dir")) == (0o644, 0o755)  # the oracle: open() and mkdir()
    assert _mode(atomic_write_text(tmp_path / "a.txt", "x")) == 0o644
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"x")
    assert _mode(tmp_path / "b.bin") == 0o644
    with atomic_dir(tmp_path / "d") as tmp:
        (tmp / "f").write_text("x")
    assert _mode(tmp_path / "d") == 0o755 and _mode(tmp_path / "d" / "f") == 0o644
    # replacing a file keeps its own mode, as open(path, "w") would
    os.chmod(tmp_path / "a.txt", 0o600)
    atomic_write_text(tmp_path / "a.txt", "y")
    assert _mode(tmp_path / "a.txt") == 0o600


def test_transform_output_is_readable_by_others(tmp_path, monkeypatch, capsys, umask_022):
    from mase_tui.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(LAB.replace('accelerator = "gpu"', 'accelerator = "cpu"'))
    assert main(["transform", "jsc-toy", "--config", "c.toml", "--no-eval", "--batch-size", "8"]) == 0
    out = tmp_path / "mase_output" / "jsc-toy" / "software" / "transform"
    modes = {str(p.relative_to(out)): _mode(p) for p in [out, *out.rglob("*")]}
    dirs = {k: v for k, v in modes.items() if (out / k).is_dir()}
    files = {k: v for k, v in modes.items() if not (out / k).is_dir()}
    assert set(dirs.values()) == {0o755}, dirs
    assert set(files.values()) == {0o644}, files
    assert "quantize/quantize_table.csv" in files and "summary.json" in files
    summary = json.loads((out / "summary.json").read_text())
    assert summary["settings"]["project"] == "jsc-toy"
