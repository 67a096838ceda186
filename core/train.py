"""Training and evaluation: a plain torch loop with MASE's choices (cross-entropy, Adam/AdamW/SGD,
cosine schedule stepped per epoch, best checkpoint by validation loss) and Lightning-style
``best.ckpt`` / ``last.ckpt`` files that load with ``--load-type pl``.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ConfigError, MaseError, ModelError
from core.utils.atomic import atomic_path

logger = logging.getLogger(__name__)

OPTIMIZERS = ("adam", "adamw", "sgd")
CHECKPOINT_FORMAT = 1

# callback(epoch, step, total_steps, metrics): step counts from 1 over the whole run.
ProgressCallback = Callable[[int, int, int, dict], None]


@dataclass
class TrainConfig:
    max_epochs: int = 20
    learning_rate: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    seed: int = 0
    eta_min: float = 1e-6          # cosine floor, as MASE (0 for SGD, as MASE)
    log_every_n_steps: int = 50    # how often the running train metrics are brought up to date

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer '{self.optimizer}'", hint=f"choose one of {', '.join(OPTIMIZERS)}")
        if int(self.max_epochs) < 1:
            raise ConfigError(f"max_epochs must be at least 1, got {self.max_epochs}")
        if not self.learning_rate > 0:
            raise ConfigError(f"learning_rate must be positive, got {self.learning_rate}")


@dataclass
class TrainResult:
    epochs: int
    steps: int
    seconds: float
    samples: int
    history: list[dict] = field(default_factory=list)   # one dict of metrics per epoch
    best_epoch: int = -1
    best_val_loss: float = float("inf")
    best_path: str | None = None
    last_path: str | None = None
    cancelled: bool = False

    @property
    def samples_per_second(self) -> float:
        return self.samples / self.seconds if self.seconds > 0 else 0.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def make_optimizer(name: str, params, learning_rate: float, weight_decay: float = 0.0) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=learning_rate, weight_decay=weight_decay)
    raise ConfigError(f"unknown optimizer '{name}'", hint=f"choose one of {', '.join(OPTIMIZERS)}")


def _module_of(model_or_graph: Any) -> nn.Module:
    if isinstance(model_or_graph, nn.Module):
        return model_or_graph
    inner = getattr(model_or_graph, "model", None)  # a MaseGraph
    if isinstance(inner, nn.Module):
        return inner
    raise ModelError(f"cannot run a {type(model_or_graph).__name__}", hint="give an nn.Module or a MaseGraph")


def _loss(logits: torch.Tensor, labels: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    try:
        return F.cross_entropy(logits, labels, reduction=reduction)
    except (RuntimeError, IndexError, ValueError) as exc:
        raise ModelError(
            f"model output of shape {list(logits.shape)} does not fit labels of shape {list(labels.shape)} "
            f"(largest label {int(labels.max())})",
            hint="use a model whose classes match the data set",
        ) from exc


@torch.no_grad()
def evaluate(model_or_graph_module: Any, dataloader, *, max_batches: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             cancel: threading.Event | None = None) -> dict[str, float]:
    """Mean cross-entropy and accuracy (fraction correct) over ``dataloader`` (or its first
    ``max_batches`` batches). ``progress(done, total)`` is called after each batch; setting
    ``cancel`` stops with a MaseError rather than returning numbers from part of the data."""
    model = _module_of(model_or_graph_module)
    total = len(dataloader) if max_batches is None else min(len(dataloader), max(0, max_batches))
    if total == 0:
        return {"loss": float("nan"), "accuracy": float("nan"), "samples": 0}
    was_training = model.training
    model.eval()
    loss_sum = torch.zeros((), dtype=torch.float64)
    correct = torch.zeros((), dtype=torch.int64)
    seen = 0
    try:
        for done, (inputs, labels) in enumerate(dataloader, start=1):
            if cancel is not None and cancel.is_set():
                raise MaseError("evaluation cancelled")
            logits = model(inputs)
            loss_sum += _loss(logits, labels, "sum").double()
            correct += (logits.argmax(dim=1) == labels).sum()
            seen += len(labels)
            if progress is not None:
                progress(done, total)
            if done >= total:
                break
    finally:
        model.train(was_training)
    if seen == 0:
        return {"loss": float("nan"), "accuracy": float("nan"), "samples": 0}
    return {"loss": float(loss_sum) / seen, "accuracy": int(correct) / seen, "samples": seen}


def lightning_checkpoint(model: nn.Module, *, epoch: int, global_step: int, metrics: dict,
                         optimizer: torch.optim.Optimizer | None = None, scheduler: Any = None,
                         hyper_parameters: dict | None = None) -> dict:
    """A Lightning-shaped checkpoint: ``state_dict`` keys carry the ``model.`` prefix of MASE's
    Lightning wrapper. Only tensors and plain data, so it loads with ``weights_only=True``."""
    return {
        "epoch": epoch,
        "global_step": global_step,
        "state_dict": {f"model.{k}": v.detach().clone() for k, v in model.state_dict().items()},
        "optimizer_states": [optimizer.state_dict()] if optimizer is not None else [],
        "lr_schedulers": [scheduler.state_dict()] if scheduler is not None else [],
        "hyper_parameters": dict(hyper_parameters or {}),
        "metrics": dict(metrics),
        "mase_tui_checkpoint_format": CHECKPOINT_FORMAT,
    }


def save_checkpoint(checkpoint: dict, path: Path | str) -> Path:
    """Write atomically: a crash mid-save never leaves a truncated best.ckpt behind."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(checkpoint, tmp)
        os.chmod(tmp, 0o644)  # the temporary file is private; a checkpoint is not
    return path


def train(model: nn.Module, datamodule, config: TrainConfig | None = None, *,
          callback: ProgressCallback | None = None, checkpoint_dir: Path | str | None = None,
          hyper_parameters: dict | None = None, cancel: threading.Event | None = None) -> TrainResult:
    """Train ``model`` in place on ``datamodule``'s train split, validating after each epoch.

    With ``checkpoint_dir``, writes ``last.ckpt`` after every epoch and ``best.ckpt`` whenever
    the validation loss improves (MASE monitors ``val_loss_epoch``, mode min). Setting
    ``cancel`` stops within one step; the epoch in progress is then dropped (no validation, no
    checkpoint) and the result says ``cancelled``.
    """
    config = config or TrainConfig()
    config.validate()
    seed_everything(config.seed)
    optimizer = make_optimizer(config.optimizer, model.parameters(), config.learning_rate, config.weight_decay)
    eta_min = 0.0 if config.optimizer == "sgd" else config.eta_min
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.max_epochs, eta_min=eta_min)
    train_loader = datamodule.train_dataloader()
    val_loader = datamodule.val_dataloader()
    steps_per_epoch = len(train_loader)
    total_steps = steps_per_epoch * config.max_epochs
    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
    hparams = {"model": type(model).__name__, "dataset": getattr(datamodule, "display_name", None),
               "batch_size": getattr(datamodule, "batch_size", None), **vars(config), **(hyper_parameters or {})}
    result = TrainResult(epochs=0, steps=0, seconds=0.0, samples=0)
    log_every = max(1, int(config.log_every_n_steps))
    step = 0
    start = time.perf_counter()
    for epoch in range(config.max_epochs):
        model.train()
        # Running sums stay tensors: reading them every step would stall on tiny models.
        loss_sum = torch.zeros(())
        correct = torch.zeros((), dtype=torch.int64)
        seen = 0
        metrics: dict[str, float] = {"lr": optimizer.param_groups[0]["lr"]}
        for inputs, labels in train_loader:
            if cancel is not None and cancel.is_set():
                result.cancelled = True
                break
            logits = model(inputs)
            loss = _loss(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            seen += len(labels)
            loss_sum.add_(loss.detach(), alpha=len(labels))
            correct.add_((logits.detach().argmax(dim=1) == labels).sum())
            if callback is not None:
                if step % log_every == 0 or step % steps_per_epoch == 0:
                    metrics = {"train_loss": float(loss_sum) / seen, "train_accuracy": int(correct) / seen,
                               "lr": optimizer.param_groups[0]["lr"]}
                callback(epoch, step, total_steps, metrics)
        result.samples += seen
        if result.cancelled:
            break
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        val = evaluate(model, val_loader)
        epoch_metrics = {"epoch": epoch, "lr": lr, "train_loss": float(loss_sum) / max(seen, 1),
                         "train_accuracy": int(correct) / max(seen, 1),
                         "val_loss": val["loss"], "val_accuracy": val["accuracy"]}
        result.history.append(epoch_metrics)
        improved = val["loss"] < result.best_val_loss
        if improved:
            result.best_val_loss, result.best_epoch = val["loss"], epoch
        if ckpt_dir is not None:
            ckpt = lightning_checkpoint(model, epoch=epoch, global_step=step, metrics=epoch_metrics,
                                        optimizer=optimizer, scheduler=scheduler, hyper_parameters=hparams)
            result.last_path = str(save_checkpoint(ckpt, ckpt_dir / "last.ckpt"))
            if improved:
                result.best_path = str(save_checkpoint(ckpt, ckpt_dir / "best.ckpt"))
        logger.info("epoch %d: val_loss %.4f val_accuracy %.4f", epoch, val["loss"], val["accuracy"])
        if callback is not None:
            callback(epoch, step, total_steps, {**epoch_metrics, "epoch_end": True})
        result.epochs = epoch + 1
    result.steps = step
    result.seconds = time.perf_counter() - start
    return result
