"""`mase-tui --help`, `models`, `passes` and usage errors: real content, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from core.models import list_models
from core.passes import PASSES
from mase_tui.cli import main

REPO = Path(__file__).resolve().parents[2]


def cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "mase_tui.cli", *argv], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def test_help_lists_every_subcommand():
    done = cli("--help")
    assert done.returncode == 0
    assert done.stdout.startswith("usage: mase-tui")
    for command in ("inspect", "models", "passes", "datasets", "report", "cost", "transform", "train", "test"):
        assert command in done.stdout
    assert "--debug" in done.stdout


def test_unknown_command_is_one_line_and_exit_2():
    done = cli("frobnicate")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "invalid choice: 'frobnicate'" in lines[0] and "--help" in lines[0]


def test_unknown_model_is_one_line_and_exit_2(capsys):
    assert main(["report", "no-such-model"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [err[-1]] and err[-1].startswith("error: unknown model 'no-such-model'")
    assert "jsc-tiny" in err[-1]  # says what to choose


def test_models_lists_the_zoo(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for spec in list_models():
        assert spec.name in out
    assert "x[16]" in out and "input_ids[32]" in out and "x[3x224x224]" in out
    assert "file.py:factory" in out


def test_models_json(capsys):
    assert main(["models", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [m["name"] for m in doc] == [s.name for s in list_models()]
    tiny = doc[0]
    assert tiny == {"name": "jsc-tiny", "description": tiny["description"], "dataset": "jsc", "num_classes": 5,
                    "inputs": [{"name": "x", "kind": "features", "shape": [16]}]}
    assert "117" in tiny["description"]


def test_passes_lists_the_registry(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["passes"]) == 0
    out = capsys.readouterr().out
    for name in PASSES:
        assert name in out
    assert "dummy_in (supplied: dummy_in)" in out and "load_dir (required)" in out
    assert "[passes.quantize]" in out


def test_passes_json(capsys):
    assert main(["passes", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [p["name"] for p in doc] == list(PASSES)
    by_name = {p["name"]: p for p in doc}
    common = by_name["add_common_metadata_analysis_pass"]
    assert common["kind"] == "analysis" and common["short_name"] == "add_common_metadata"
    assert common["args"] == {"dummy_in": None, "add_value": False, "force_device_meta": False}
    assert by_name["quantize_transform_pass"]["kind"] == "transform"
    assert by_name["save_mase_graph_interface_pass"]["kind"] == "interface"
    assert by_name["save_mase_graph_interface_pass"]["args"] == {"save_dir": None}


def test_one_pass_in_detail(capsys):
    assert main(["passes", "report_graph", "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["name"] == "report_graph_analysis_pass" and entry["args"] == {"file_name": None}


def test_report_jsc_tiny_json_default_passes(capsys):
    assert main(["report", "jsc-tiny", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    names = [p["name"] for p in doc["passes"]]
    assert names == ["report_graph_analysis_pass", "report_node_type_analysis_pass",
                     "verify_common_metadata_analysis_pass"]
    graph, types, verify = (p["info"] for p in doc["passes"])
    assert graph["overview"]["call_module"] == 4
    assert [r[2:4] for r in types["rows"]] == [["placeholder", "placeholder"], ["module", "batch_norm1d"],
                                              ["module_related_func", "relu"], ["module_related_func", "linear"],
                                              ["module_related_func", "relu"], ["output", "output"]]
    assert verify == {"ok": True, "checked_nodes": 6, "problems": []}
