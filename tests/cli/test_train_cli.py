"""`mase-tui train` and `mase-tui test` through the real command line entry point."""

from __future__ import annotations

import datetime
import json

import pytest
import torch

from core.checkpoint import load_model
from core.data import get_datamodule
from core.models import get_model
from core.models.pretrained import PRETRAINED
from core.train import evaluate
from mase_tui.cli import main
from mase_tui.commands.train import default_project


def test_default_project_name_follows_mase():
    day = datetime.date(2024, 2, 3)
    assert default_project("jsc-toy", "jsc", day) == "jsc-toy_classification_jsc_2024-02-03"
    assert default_project("nets/my.py:build", "jsc-synthetic", day) == \
        "nets-my.py-build_classification_jsc-synthetic_2024-02-03"


def test_train_writes_checkpoints_that_test_loads(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MASE_TUI_JSC_PATH", raising=False)
    code = main(["train", "jsc-tiny", "jsc", "--max-epochs", "2", "--batch-size", "1024",
                 "--learning-rate", "1e-2", "--seed", "1", "--cpu=0", "--accelerator", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    project = default_project("jsc-tiny", "jsc-synthetic")   # the fallback data names the project
    ckpts = tmp_path / "mase_output" / project / "software" / "training_ckpts"
    assert (ckpts / "best.ckpt").is_file() and (ckpts / "last.ckpt").is_file()
    assert "jsc-synthetic (synthetic)" in out and "epoch   2/2" in out

    code = main(["test", "jsc-tiny", "jsc-synthetic", "--load", str(ckpts / "best.ckpt"), "--load-type", "pl",
                 "--json"])
    report = json.loads(capsys.readouterr().out)
    model = load_model(ckpts / "best.ckpt", "pl", get_model("jsc-tiny"))
    expected = evaluate(model, get_datamodule("jsc-synthetic", batch_size=128).test_dataloader())
    assert code == 0 and report["accuracy"] == expected["accuracy"] and report["loss"] == pytest.approx(expected["loss"])
    assert report["synthetic"] is True and report["samples"] == 20000


def test_train_project_options_and_text_output(tmp_path, capsys):
    code = main(["train", "jsc-tiny", "jsc-synthetic", "--max-epochs", "1", "--batch-size", "2048",
                 "--project-dir", str(tmp_path), "--project", "mine", "--training-optimizer", "sgd",
                 "--learning-rate", "0.1"])
    assert code == 0
    last = torch.load(tmp_path / "mine" / "software" / "training_ckpts" / "last.ckpt", weights_only=True)
    assert last["hyper_parameters"]["optimizer"] == "sgd" and last["hyper_parameters"]["project"] == "mine"
    capsys.readouterr()
    assert main(["test", "jsc-tiny", "--load", str(tmp_path / "mine/software/training_ckpts/last.ckpt")]) == 0
    out = capsys.readouterr().out
    assert "accuracy" in out and "jsc-synthetic (synthetic)" in out


def test_test_uses_shipped_weights_by_default(capsys):
    assert main(["test", "jsc-toy", "jsc-synthetic", "--batch-size", "4096", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["weights"].startswith("shipped") and report["accuracy"] == pytest.approx(
        PRETRAINED["jsc-toy"]["test_accuracy"], abs=0.002)


@pytest.mark.parametrize("argv,needle", [
    (["test", "jsc-toy", "jsc-synthetic", "--load", "missing.ckpt"], "checkpoint not found"),
    (["test", "jsc-s", "jsc-synthetic"], "test needs weights for jsc-s"),
    (["train", "jsc-toy", "nosuchdata", "--max-epochs", "1"], "unknown dataset 'nosuchdata'"),
    (["train", "jsc-toy", "--max-epochs", "0"], "max_epochs must be at least 1"),
    (["train", "jsc-toy", "--accelerator", "gpu"], "--accelerator gpu is not supported"),
])
def test_errors_are_one_line_with_exit_code_2(capsys, argv, needle):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and needle in err[-1]
