"""`mase-tui train MODEL [DATASET]`: train with a plain torch loop and write MASE-style
``<project_dir>/<project>/software/training_ckpts/{best,last}.ckpt`` (load them with
``--load-type pl``)."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from mase_tui.commands.common import add_run_options, check_accelerator, preflight, resolve_dataset

DEFAULT_PROJECT_DIR = "mase_output"
TASK = "classification"


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model and write best.ckpt / last.ckpt",
        description="Train MODEL on DATASET (default: the model's own; jsc falls back to jsc-synthetic "
                    "when no file is found). Checkpoints go to <project-dir>/<project>/software/training_ckpts/.",
    )
    add_run_options(p)
    p.add_argument("--max-epochs", type=int, default=20, help="epochs (default 20)")
    p.add_argument("--learning-rate", type=float, default=1e-3, help="initial learning rate (default 1e-3; MASE's 1e-5 barely moves jsc models)")
    p.add_argument("--weight-decay", type=float, default=0.0)
    p.add_argument("--training-optimizer", default="adam", choices=["adam", "adamw", "sgd"], help="default adam")
    p.add_argument("--project-dir", default=DEFAULT_PROJECT_DIR, help="default ./mase_output")
    p.add_argument("--project", default=None, help="default {model}_classification_{dataset}_{YYYY-MM-DD}")
    p.set_defaults(func=run, batch_size=128)


def default_project(model: str, dataset: str, today: datetime.date | None = None) -> str:
    day = (today or datetime.date.today()).isoformat()
    model_part = re.sub(r"[/\\:]+", "-", model).strip("-")
    return f"{model_part}_{TASK}_{dataset}_{day}"


def build_model(args):
    """The model with the requested weights (a checkpoint for --load), seeded first."""
    from core.checkpoint import load_model
    from core.errors import CheckpointError
    from core.models import get_model
    from core.train import seed_everything

    seed_everything(args.seed)
    model = get_model(args.model)
    if args.load_name:
        loaded = load_model(args.load_name, args.load_type, model, trust=args.trust_checkpoint)
        if loaded is not model:  # an mz graph: train its GraphModule
            model = getattr(loaded, "model", None)
            if model is None:
                raise CheckpointError(f"{args.load_name} did not give a model to train")
    return model


def run(args) -> int:
    preflight(args)
    from rich.console import Console
    from rich.markup import escape

    from core.data import get_datamodule
    from core.train import TrainConfig

    check_accelerator(args)
    console = Console()
    config = TrainConfig(max_epochs=args.max_epochs, learning_rate=args.learning_rate,
                         optimizer=args.training_optimizer, weight_decay=args.weight_decay, seed=args.seed)
    config.validate()  # fail before any heavy work
    dataset = resolve_dataset(args.model, args.dataset)
    dm = get_datamodule(dataset, model_name=args.model, batch_size=args.batch_size,
                        dataset_path=args.dataset_path, seed=args.seed)
    model = build_model(args)
    project = args.project or default_project(args.model, dm.name)
    ckpt_dir = Path(args.project_dir) / project / "software" / "training_ckpts"
    console.print(f"training [bold]{escape(args.model)}[/] on [bold]{escape(dm.display_name)}[/] "
                  f"({dm.split_size('train')} train / {dm.split_size('validation')} validation samples), "
                  f"{config.optimizer} lr {config.learning_rate:g}, batch {dm.batch_size}, {config.max_epochs} epochs")
    result = _train_with_progress(console, model, dm, config, ckpt_dir,
                                  {"model": args.model, "dataset": dm.display_name, "project": project})
    if result.best_epoch >= 0:
        best = result.history[result.best_epoch]
        console.print(f"best epoch {result.best_epoch}: val_loss {best['val_loss']:.4f}, "
                      f"val_accuracy {best['val_accuracy'] * 100:.2f}%  ({result.samples_per_second:,.0f} samples/s)")
    console.print(f"checkpoints: {result.best_path}  {result.last_path}", markup=False)
    console.print(f"evaluate: mase-tui test {args.model} {dataset} --load {result.best_path} --load-type pl",
                  soft_wrap=True, markup=False)
    return 0


def _train_with_progress(console, model, dm, config, ckpt_dir: Path, hparams: dict):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from core.train import train

    columns = (TextColumn("epoch {task.fields[epoch]}/{task.fields[epochs]}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("loss {task.fields[loss]}  acc {task.fields[acc]}"), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("train", total=None, epoch=1, epochs=config.max_epochs, loss="-", acc="-")

        def callback(epoch: int, step: int, total: int, metrics: dict) -> None:
            fields = {"epoch": epoch + 1}
            if "train_loss" in metrics:
                fields.update(loss=f"{metrics['train_loss']:.4f}", acc=f"{metrics['train_accuracy'] * 100:.1f}%")
            progress.update(task, completed=step, total=total, **fields)
            if metrics.get("epoch_end"):
                progress.console.print(
                    f"epoch {epoch + 1:>3}/{config.max_epochs}  train_loss {metrics['train_loss']:.4f}  "
                    f"train_acc {metrics['train_accuracy'] * 100:6.2f}%  val_loss {metrics['val_loss']:.4f}  "
                    f"val_acc {metrics['val_accuracy'] * 100:6.2f}%")

        return train(model, dm, config, callback=callback, checkpoint_dir=ckpt_dir, hyper_parameters=hparams)
