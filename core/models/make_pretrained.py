"""Regenerate the shipped checkpoints: ``python -m core.models.make_pretrained [--out DIR]``.

Deterministic: one torch thread (summation order then does not depend on the machine's core
count), fixed seeds, fixed synthetic data. Logs each model's test metrics, which are the numbers
recorded in ``core/models/pretrained.py``.
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

logger = logging.getLogger("core.models.make_pretrained")


def make(model_name: str, out_dir: Path) -> dict:
    import torch

    from core.data import get_datamodule
    from core.models import get_model
    from core.models.pretrained import DATASET, PRETRAINED, RECIPE
    from core.train import (
        TrainConfig,
        evaluate,
        lightning_checkpoint,
        save_checkpoint,
        seed_everything,
        train,
    )

    torch.set_num_threads(1)
    dm = get_datamodule(DATASET, batch_size=RECIPE["batch_size"], seed=RECIPE["seed"])
    seed_everything(RECIPE["seed"])
    model = get_model(model_name)
    config = TrainConfig(max_epochs=RECIPE["max_epochs"], learning_rate=RECIPE["learning_rate"],
                         optimizer=RECIPE["optimizer"], seed=RECIPE["seed"])
    result = train(model, dm, config)
    test = evaluate(model, dm.test_dataloader())
    metrics = {"test_loss": test["loss"], "test_accuracy": test["accuracy"], **result.history[-1]}
    ckpt = lightning_checkpoint(model, epoch=result.epochs - 1, global_step=result.steps, metrics=metrics,
                                hyper_parameters={"model": model_name, "dataset": dm.display_name, **RECIPE})
    path = save_checkpoint(ckpt, out_dir / PRETRAINED[model_name]["file"])
    logger.info("%s: test accuracy %.4f, test loss %.4f -> %s", model_name, test["accuracy"], test["loss"], path)
    return {"model": model_name, "test_accuracy": round(test["accuracy"], 4), "test_loss": round(test["loss"], 4),
            "file": str(path)}


def main(argv: list[str] | None = None) -> int:
    from core.models.pretrained import PRETRAINED, PRETRAINED_DIR

    parser = argparse.ArgumentParser(description="Train and write the shipped jsc checkpoints.")
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR, help="directory to write (default: the package's)")
    parser.add_argument("models", nargs="*", default=list(PRETRAINED), help="models to train (default: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = [make(name, args.out) for name in args.models]
    logger.info(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
