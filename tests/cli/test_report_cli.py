"""`mase-tui report MODEL [--pass NAME ...] [--json]`, run in-process (one subprocess check)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mase_tui.cli import main

REPO = Path(__file__).resolve().parents[2]


def report_json(capsys, *argv: str) -> dict:
    assert main(["report", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_report_graph_overview_of_jsc_tiny(capsys):
    doc = report_json(capsys, "jsc-tiny", "--pass", "report_graph")
    assert doc["model"] == "jsc-tiny"
    assert doc["data"] == "jsc-synthetic (synthetic)"
    (entry,) = doc["passes"]
    assert entry["name"] == "report_graph_analysis_pass"
    info = entry["info"]
    assert info["overview"] == {"placeholder": 1, "get_attr": 0, "call_function": 0, "call_method": 0,
                                "call_module": 4, "output": 1}
    assert info["layer_types"] == [
        "BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)",
        "ReLU(inplace=True)",
        "Linear(in_features=16, out_features=5, bias=True)",
        "ReLU(inplace=True)",
    ]


def test_several_passes_in_order_with_hand_computed_costs(capsys):
    doc = report_json(capsys, "jsc-tiny", "--pass", "report_node_type", "--pass", "cost", "--batch-size", "4")
    assert [p["name"] for p in doc["passes"]] == ["report_node_type_analysis_pass", "cost_analysis_pass"]
    assert doc["batch_size"] == 4
    rows = doc["passes"][0]["info"]["rows"]
    assert [(r[0], r[3]) for r in rows] == [("x", "placeholder"), ("seq_blocks_0", "batch_norm1d"),
                                           ("seq_blocks_1", "relu"), ("seq_blocks_2", "linear"),
                                           ("seq_blocks_3", "relu"), ("output", "output")]
    cost = doc["passes"][1]["info"]
    # Linear(16, 5): 80 MACs a sample; float32 x float32 -> 80 x 32 x 32 BitOPs
    assert cost["totals_per_sample"]["macs"] == 80
    assert cost["totals_per_sample"]["bitops"] == 80 * 32 * 32
    # BN weight + bias (2 x 16) + Linear weight and bias (80 + 5) = 117 float32 parameters
    assert cost["totals_model"]["params"] == 117
    assert cost["totals_model"]["param_bits"] == 117 * 32
    assert cost["totals_per_batch"]["macs"] == 4 * 80


def test_default_passes_render_as_text(capsys):
    assert main(["report", "jsc-toy"]) == 0
    out = capsys.readouterr().out
    assert "report_graph_analysis_pass" in out
    assert "report_node_type_analysis_pass" in out
    assert "metadata OK: 13 nodes checked" in out
    assert "jsc-synthetic (synthetic)" in out


def test_transform_passes_are_refused(capsys):
    assert main(["report", "jsc-tiny", "--pass", "quantize"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: 'quantize_transform_pass' is a transform pass (report runs analysis passes only; "
                   "use `mase-tui transform --config`)"]


def test_unknown_pass_and_model_are_one_line_errors(capsys):
    assert main(["report", "jsc-tiny", "--pass", "report_grph"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown pass 'report_grph'" in err[0] and "did you mean 'report_graph'" in err[0]
    assert main(["report", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown model 'no-such-model'" in err[0]


def test_report_as_a_subprocess_prints_json_to_stdout():
    proc = subprocess.run([sys.executable, "-m", "mase_tui.cli", "report", "jsc-tiny", "--pass", "report_graph",
                           "--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["passes"][0]["info"]["overview"]["call_module"] == 4
