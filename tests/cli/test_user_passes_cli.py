"""User pass files from the command line: `--passes FILE` (before or after the command), a TOML
config's passes_files, and an installed package's mase_tui.passes entry point; each listed by
`mase-tui passes` and run by `transform`. Broken files and raising passes: one error line, exit 2,
nothing written."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.passes.user_passes import loaded_files, unload_pass_file
from mase_tui.cli import main

REPO = Path(__file__).resolve().parents[2]
COUNT_OPS = REPO / "examples" / "passes" / "count_ops.py"
# jsc-toy per sample (reference cost-quant-jsc.md): 596 FLOPs (core + elementwise), 232 MACs,
# BitOPs 232 x 32 x 32 = 237,568 in float32
JSC_TOY = {"macs": 232, "flops": 596, "bitops": 237568}
CONFIG = 'model = "jsc-toy"\ndataset = "jsc"\n\n[passes.count_ops]\n'


@pytest.fixture(autouse=True)
def forget_user_passes():
    yield
    for path in list(loaded_files()):
        unload_pass_file(path)


def csv_totals(path: Path) -> dict[str, int]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["node"] == "x" and rows[-1]["node"] == "output"
    return {key: sum(int(r[key]) for r in rows) for key in ("macs", "flops", "bitops")}


def transform(tmp_path: Path, *argv: str, before: tuple[str, ...] = ()) -> tuple[int, Path]:
    code = main([*before, "transform", *argv, "--project-dir", str(tmp_path / "out"), "--project", "p",
                 "--eval-batches", "1"])
    return code, tmp_path / "out" / "p" / "software" / "transform"


def test_the_flag_loads_a_pass_file_that_transform_runs(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text(CONFIG)
    code, out = transform(tmp_path, "--config", str(config), before=("--passes", str(COUNT_OPS)))
    assert code == 0, capsys.readouterr().err
    # the pass declares save_path with output="count_ops.csv": transform puts it in the run's directory
    assert csv_totals(out / "count_ops.csv") == JSC_TOY
    summary = json.loads((out / "summary.json").read_text())
    assert [p["pass"] for p in summary["passes"]] == ["count_ops_analysis_pass"]


def test_the_flag_also_works_after_the_command(tmp_path, capsys):
    assert main(["passes", "--passes", str(COUNT_OPS), "--json"]) == 0
    doc = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    entry = doc["count_ops_analysis_pass"]
    line = COUNT_OPS.read_text().splitlines().index("@mase_pass(") + 1
    assert entry["origin"] == str(COUNT_OPS) and entry["source"] == f"{COUNT_OPS}:{line}"
    assert entry["arguments"] == [{"name": "save_path", "type": "path", "default": None,
                                   "doc": "also write the table to this CSV file", "required": False,
                                   "choices": [], "supplied": None, "output": "count_ops.csv"}]
    assert "cost_analysis_pass" in doc  # the built-ins are all still there


def test_passes_files_in_the_config_are_relative_to_it(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    shutil.copy(COUNT_OPS, tmp_path / "mine" / "count_ops.py")
    (tmp_path / "configs").mkdir()
    config = tmp_path / "configs" / "c.toml"
    config.write_text('passes_files = ["../mine/count_ops.py"]\n' + CONFIG + 'save_path = "ops/table.csv"\n')
    code, out = transform(tmp_path, "--config", str(config))
    assert code == 0, capsys.readouterr().err
    assert csv_totals(out / "ops" / "table.csv") == JSC_TOY  # a relative output path lands in the run's directory


def write_package(site: Path) -> None:
    """A package installed as pip would: its module and a dist-info declaring the entry point."""
    shutil.copy(COUNT_OPS, site / "student_ops.py")
    info = site / "student_ops-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: student-ops\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[mase_tui.passes]\ncount_ops = student_ops\n")


def run_cli(args: list[str], cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess:
    path = [str(REPO)] + ([str(site)] if site else [])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "mase_tui.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def test_an_installed_entry_point_is_listed_and_run_by_transform(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_package(site)
    listed = run_cli(["passes", "count_ops", "--json"], tmp_path, site)
    assert listed.returncode == 0, listed.stderr
    (entry,) = json.loads(listed.stdout)
    assert entry["name"] == "count_ops_analysis_pass" and entry["origin"] == "entry point 'count_ops = student_ops'"
    (tmp_path / "c.toml").write_text(CONFIG)
    done = run_cli(["transform", "--config", "c.toml", "--project-dir", "out", "--project", "p", "--no-eval"],
                   tmp_path, site)
    assert done.returncode == 0, done.stderr
    assert csv_totals(tmp_path / "out" / "p" / "software" / "transform" / "count_ops.csv") == JSC_TOY


def test_a_pass_file_with_a_syntax_error_is_one_line_and_exit_2(tmp_path, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text("from core.passes import mase_pass\n\n@mase_pass('x_pass', kind='analysis'\ndef x_pass(g, a=None):\n")
    assert main(["--passes", str(broken), "passes"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {broken}:3: syntax error: ")


def test_a_raising_user_pass_stops_transform_with_its_file_and_line(tmp_path, capsys):
    raising = tmp_path / "raising.py"
    raising.write_text(textwrap.dedent('''\
        from core.passes import mase_pass


        @mase_pass("explode_analysis_pass", kind="analysis", doc="always fails")
        def explode_analysis_pass(graph, pass_args=None):
            names = [n.name for n in graph.fx_graph.nodes]
            return graph, {"first": names[100]}
        '''))
    config = tmp_path / "c.toml"
    config.write_text('model = "jsc-toy"\n\n[passes.explode]\n')
    capsys.readouterr()
    code, out = transform(tmp_path, "--config", str(config), before=("--passes", str(raising)))
    assert code == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: [passes.explode] failed: explode_analysis_pass failed at {raising}:7: "
                   "IndexError: list index out of range"]
    assert not (tmp_path / "out").exists()  # nothing half-written
