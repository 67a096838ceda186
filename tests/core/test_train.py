"""core.train: evaluation numbers by hand, a short run that learns, reproducibility, the
schedule, the callback and the Lightning-style checkpoints."""

from __future__ import annotations

import math
import threading

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core.data import get_datamodule
from core.data.loaders import TensorBatchLoader
from core.errors import ConfigError, MaseError
from core.models import get_model
from core.train import TrainConfig, evaluate, seed_everything, train


@pytest.fixture(scope="module")
def jsc():
    return get_datamodule("jsc-synthetic", batch_size=512, seed=0)


def test_evaluate_matches_hand_computed_loss_and_accuracy():
    model = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    x = torch.tensor([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    y = torch.tensor([0, 1, 2, 2])
    # logits rows: [2,0,0] [0,1,0] [1,1,0] [0,0,0]; argmax (first max wins): 0, 1, 0, 0 -> 2 of 4 right
    nll = [2 - math.log(math.exp(2) + 2), 1 - math.log(math.e + 2), 0 - math.log(2 * math.e + 1), -math.log(3)]
    expected_loss = -sum(nll) / 4
    result = evaluate(model, TensorBatchLoader(x, y, batch_size=3))  # batches of 3 and 1
    assert result["accuracy"] == 0.5 and result["samples"] == 4
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert result["loss"] == pytest.approx(F.cross_entropy(model(x), y).item(), rel=1e-6)


def test_evaluate_restores_mode_limits_batches_reports_progress_and_cancels(jsc):
    model = get_model("jsc-toy").train()
    seen = []
    result = evaluate(model, jsc.test_dataloader(), max_batches=3, progress=lambda d, t: seen.append((d, t)))
    assert model.training and result["samples"] == 3 * 512 and seen == [(1, 3), (2, 3), (3, 3)]
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(MaseError, match="cancelled"):
        evaluate(model, jsc.test_dataloader(), cancel=cancel)


def test_evaluate_accepts_a_mase_graph_and_reports_class_mismatch(jsc):
    from core.ir import MaseGraph

    seed_everything(0)
    model = get_model("jsc-tiny").eval()
    graph = MaseGraph(model)
    assert evaluate(graph, jsc.val_dataloader()) == evaluate(model, jsc.val_dataloader())
    from core.errors import ModelError

    with pytest.raises(ModelError, match="does not fit labels"):
        evaluate(nn.Linear(16, 3), jsc.val_dataloader())


def test_short_training_run_improves_accuracy(jsc):
    seed_everything(0)
    model = get_model("jsc-toy")
    before = evaluate(model, jsc.test_dataloader())["accuracy"]
    result = train(model, jsc, TrainConfig(max_epochs=2, learning_rate=5e-3, seed=0))
    after = evaluate(model, jsc.test_dataloader())["accuracy"]
    assert before < 0.35 and after > 0.65 and after > before + 0.3
    assert result.epochs == 2 and result.steps == 2 * math.ceil(72000 / 512) and result.samples == 2 * 72000
    assert result.history[1]["val_accuracy"] > 0.65


def test_training_is_reproducible_for_a_seed(jsc):
    def run(seed):
        seed_everything(seed)
        model = get_model("jsc-tiny")
        train(model, jsc, TrainConfig(max_epochs=1, seed=seed))
        return model.state_dict()

    a, b, c = run(3), run(3), run(4)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_cosine_schedule_callback_and_checkpoints(jsc, tmp_path):
    dm = get_datamodule("jsc-synthetic", batch_size=4096, seed=0)
    calls = []
    seed_everything(0)
    model = get_model("jsc-tiny")
    config = TrainConfig(max_epochs=3, learning_rate=1e-2, optimizer="adamw", seed=0)
    result = train(model, dm, config, callback=lambda *a: calls.append(a), checkpoint_dir=tmp_path)
    per_epoch = math.ceil(72000 / 4096)
    steps = [c[1] for c in calls if not c[3].get("epoch_end")]
    assert steps == list(range(1, 3 * per_epoch + 1)) and {c[2] for c in calls} == {3 * per_epoch}
    ends = [c for c in calls if c[3].get("epoch_end")]
    assert [c[0] for c in ends] == [0, 1, 2] and all("val_accuracy" in c[3] for c in ends)
    # CosineAnnealingLR(T_max=epochs, eta_min=1e-6), stepped once per epoch
    for epoch, metrics in enumerate(result.history):
        expected = 1e-6 + (1e-2 - 1e-6) * (1 + math.cos(math.pi * epoch / 3)) / 2
        assert metrics["lr"] == pytest.approx(expected)

    best = torch.load(tmp_path / "best.ckpt", weights_only=True)   # plain data only
    last = torch.load(tmp_path / "last.ckpt", weights_only=True)
    best_epoch = min(range(3), key=lambda e: result.history[e]["val_loss"])
    assert best["epoch"] == best_epoch == result.best_epoch and last["epoch"] == 2
    assert last["global_step"] == 3 * per_epoch
    assert set(last["state_dict"]) == {f"model.{k}" for k in model.state_dict()}
    assert all(torch.equal(last["state_dict"][f"model.{k}"], v) for k, v in model.state_dict().items())
    assert best["metrics"]["val_loss"] == pytest.approx(result.best_val_loss)
    assert last["hyper_parameters"]["optimizer"] == "adamw" and last["optimizer_states"]
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tmp"]


def test_cancel_stops_training_without_writing_a_partial_epoch(jsc, tmp_path):
    cancel = threading.Event()

    def callback(epoch, step, total, metrics):
        if step == 5:
            cancel.set()

    result = train(get_model("jsc-tiny"), jsc, TrainConfig(max_epochs=5), callback=callback,
                   checkpoint_dir=tmp_path, cancel=cancel)
    assert result.cancelled and result.steps == 5 and result.epochs == 0 and result.history == []
    assert not (tmp_path / "last.ckpt").exists()


@pytest.mark.parametrize("config,needle", [
    (TrainConfig(optimizer="rmsprop"), "unknown optimizer"),
    (TrainConfig(max_epochs=0), "max_epochs"),
    (TrainConfig(learning_rate=0.0), "learning_rate"),
])
def test_bad_training_configs_are_config_errors(jsc, config, needle):
    with pytest.raises(ConfigError, match=needle):
        train(get_model("jsc-tiny"), jsc, config)
