"""Checkpoints shipped with the package: jsc-tiny and jsc-toy trained on jsc-synthetic.

The files are Lightning-style (``state_dict`` keys carry the ``model.`` prefix), so they load
with ``load_model(path, "pl", model)`` like any MASE Lab 1 checkpoint. They are made by
``python -m core.models.make_pretrained`` from the recipe below; the accuracies are those that
run printed, measured on jsc-synthetic's test split. They are accuracies on *synthetic* data.
"""

from __future__ import annotations

from pathlib import Path

PRETRAINED_DIR = Path(__file__).with_name("pretrained")
DATASET = "jsc-synthetic"

# How the shipped files were trained (read by make_pretrained, shown by front ends).
RECIPE = {"batch_size": 256, "max_epochs": 15, "learning_rate": 5e-3, "optimizer": "adam", "seed": 0}

# Test-split metrics on jsc-synthetic, as printed by make_pretrained.
PRETRAINED: dict[str, dict] = {
    "jsc-tiny": {"file": "jsc-tiny.pt", "dataset": DATASET, "test_accuracy": 0.7115, "test_loss": 0.7144},
    "jsc-toy": {"file": "jsc-toy.pt", "dataset": DATASET, "test_accuracy": 0.7248, "test_loss": 0.6299},
}


def pretrained_path(model_name: str) -> Path | None:
    """The shipped checkpoint of ``model_name``, or None when there is none."""
    entry = PRETRAINED.get(model_name)
    if entry is None:
        return None
    path = PRETRAINED_DIR / entry["file"]
    return path if path.is_file() else None


def pretrained_info(model_name: str) -> dict | None:
    """What the shipped checkpoint is: file, data set, recipe and recorded test metrics."""
    entry = PRETRAINED.get(model_name)
    if entry is None:
        return None
    return {**entry, "recipe": dict(RECIPE), "path": str(PRETRAINED_DIR / entry["file"])}
