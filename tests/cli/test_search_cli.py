"""`mase-tui search` / `ch search`: MASE's example TOML (rewritten for jsc-toy) as is, the
Pareto configs through `ch transform`, `--show` from the storage alone, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from core.config import read_toml
from mase_tui.cli import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "configs" / "examples" / "search_jsc_toy_tpe.toml"


@pytest.fixture(scope="module")
def example_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("search")
    code = main(["search", "--config", str(EXAMPLE), "--project-dir", str(tmp), "--n-trials", "8", "--no-progress"])
    assert code == 0
    out = tmp / "jsc-toy_search_tpe" / "software" / "search" / "jsc-toy_search_jsc_toy_tpe"
    return tmp, out


def test_mase_example_runs_unchanged(example_run):
    _, out = example_run
    assert (out / "study.db").is_file()  # the default storage (with SQLite's WAL files and our lock file)
    assert sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.startswith("study.db")) == [
        "pareto.csv", "pareto.json", "trials.json"]
    doc = json.loads((out / "pareto.json").read_text())
    assert doc["objectives"] == ["accuracy", "average_bitwidth"]
    assert doc["directions"] == ["maximize", "minimize"]
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 8
    for t in trials:  # scaled objectives: accuracy x 1.0, average_bitwidth x 0.2 (the example's scales)
        assert t["values"] == pytest.approx([t["metrics"]["accuracy"], 0.2 * t["metrics"]["average_bitwidth"]])
    header = (out / "pareto.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["trial", "precision", "accuracy", "average_bitwidth"]


def test_pareto_config_runs_in_ch_transform_and_reproduces_the_trial(example_run, capsys):
    tmp, out = example_run
    record = json.loads((out / "pareto.json").read_text())["front"][0]
    toml = out / "pareto" / f"trial_{record['trial']}.toml"
    assert main(["transform", "--config", str(toml), "--project-dir", str(tmp), "--eval-batches", "1"]) == 0
    capsys.readouterr()
    project = read_toml(toml)["project"]
    result = tmp / project / "software" / "transform"
    cost = json.loads((result / "cost" / "cost.json").read_text())
    assert cost["after"]["totals_per_sample"]["bitops"] == record["metrics"]["bitops"]

    # accuracy of the transformed graph on the first 512 validation samples, by a plain loop
    from core.data import get_datamodule
    from core.passes.interface.save_load import load_mase_graph

    graph = load_mase_graph(str(result / "transformed_ckpt"))
    x, y = next(iter(get_datamodule("jsc", model_name="jsc-toy", batch_size=512).dataloader("validation", shuffle=False)))
    graph.model.eval()
    with torch.no_grad():
        correct = (graph.model(x).argmax(dim=1) == y).sum().item()
    assert correct / 512 == record["metrics"]["accuracy"]


def test_show_reads_the_front_from_the_storage_alone(example_run, capsys):
    tmp, out = example_run
    capsys.readouterr()
    url = f"sqlite:///{out / 'study.db'}"
    code = main(["search", "--show", "--storage", url, "--study", "jsc-toy_search_jsc_toy_tpe",
                 "--project-dir", str(tmp / "shown")])
    text = capsys.readouterr().out
    assert code == 0
    assert "Pareto front" in text and "8 complete trials" in " ".join(text.split())
    shown = json.loads((tmp / "shown" / "search" / "jsc-toy_search_jsc_toy_tpe" / "pareto.json").read_text())
    assert shown["front"] == json.loads((out / "pareto.json").read_text())["front"]


def test_rerun_of_a_finished_study_evaluates_nothing(example_run, capsys):
    tmp, _ = example_run
    capsys.readouterr()
    code = main(["search", "--config", str(EXAMPLE), "--project-dir", str(tmp), "--n-trials", "8", "--no-progress"])
    text = " ".join(capsys.readouterr().out.split())
    assert code == 0
    assert "8 trials complete (trial budget reached); 0 evaluated by this run" in text


def test_a_different_config_cannot_join_the_study(example_run, tmp_path, capsys):
    tmp, _ = example_run
    other = tmp_path / "other.toml"
    other.write_text(EXAMPLE.read_text().replace("data_in_width = [4, 8]", "data_in_width = [8]"))
    code = main(["search", "--config", str(other), "--project-dir", str(tmp), "--study", "jsc-toy_search_jsc_toy_tpe",
                 "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("error: study 'jsc-toy_search_jsc_toy_tpe' was made with a different search (seeds differ)")


def test_unreachable_storage_is_one_line(tmp_path, capsys):
    code = main(["search", "--config", str(EXAMPLE), "--project-dir", str(tmp_path), "--no-progress",
                 "--storage", f"postgresql+psycopg2://nobody@/db?host={tmp_path}/nowhere&port=1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: cannot open the Optuna storage postgresql+psycopg2://nobody@/db")
