"""The shipped checkpoints: present, small, loadable as pl, and as accurate as recorded."""

from __future__ import annotations

import pytest
import torch

from core.checkpoint import load_model
from core.data import get_datamodule
from core.models import get_model
from core.models.pretrained import PRETRAINED, pretrained_info, pretrained_path
from core.train import evaluate

TOLERANCE = 0.002   # evaluation is deterministic; this only absorbs float differences across CPUs


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_shipped_checkpoint_reaches_its_recorded_accuracy(name):
    path = pretrained_path(name)
    assert path is not None and path.stat().st_size < 50_000
    raw = torch.load(path, weights_only=True)
    assert all(k.startswith("model.") for k in raw["state_dict"])
    assert raw["hyper_parameters"]["dataset"] == "jsc-synthetic (synthetic)"
    model = load_model(path, "pl", get_model(name))
    dm = get_datamodule("jsc-synthetic", batch_size=4096)
    result = evaluate(model, dm.test_dataloader())
    recorded = PRETRAINED[name]
    assert result["accuracy"] == pytest.approx(recorded["test_accuracy"], abs=TOLERANCE)
    assert result["loss"] == pytest.approx(recorded["test_loss"], abs=TOLERANCE)
    assert 0.65 <= result["accuracy"] <= 0.80   # clearly above chance (0.2), not perfect
    assert raw["metrics"]["test_accuracy"] == pytest.approx(result["accuracy"], abs=1e-9)


def test_models_without_shipped_weights():
    assert pretrained_path("resnet18") is None and pretrained_info("resnet18") is None
    info = pretrained_info("jsc-toy")
    assert info["dataset"] == "jsc-synthetic" and info["recipe"]["optimizer"] == "adam"
