"""JSC preprocessing: drop duplicates, split 80/20 (seed 42), carve a validation split out of the
training rows, standardise with statistics of the training rows only, and cache the result.

The split reproduces ``sklearn.model_selection.train_test_split(test_size=0.2, random_state=42)``:
a legacy ``RandomState(seed)`` permutation whose first ``ceil(0.2 * n)`` entries are the test rows.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from core.errors import DataError
from core.utils.atomic import atomic_path

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

SPLIT_SEED = 42
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1  # of the train_val rows; MASE reuses the training rows as validation instead
CACHE_VERSION = 1
CACHE_SUFFIX = ".mase-tui-cache.pt"
SPLITS = ("train", "validation", "test")


@dataclass
class PreparedSplits:
    """Standardised float32 features and int64 labels for each split, plus how they were made."""

    x: dict[str, torch.Tensor]  # split -> [n, 16] float32
    y: dict[str, torch.Tensor]  # split -> [n] int64
    mean: np.ndarray
    scale: np.ndarray
    info: dict = field(default_factory=dict)


def drop_duplicates(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the first occurrence of every distinct (features, label) row, in file order."""
    rows = np.concatenate([x + 0.0, y[:, None].astype(np.float64)], axis=1)  # +0.0 folds -0.0 into 0.0
    rows = np.ascontiguousarray(rows)
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, first = np.unique(keys, return_index=True)
    keep = np.sort(first)
    return x[keep], y[keep]


def split_indices(n: int, seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION,
                  val_fraction: float = VAL_FRACTION) -> dict[str, np.ndarray]:
    """Row indices of the train, validation and test splits.

    Validation rows are the last ``ceil(val_fraction * n_train_val)`` rows of the shuffled
    train_val part, so train + validation is exactly sklearn's train_val set.
    """
    if n < 3:
        raise DataError(f"only {n} distinct rows: too few to split into train, validation and test")
    perm = np.random.RandomState(seed).permutation(n)
    n_test = math.ceil(test_fraction * n)
    train_val = perm[n_test:]
    n_val = max(1, math.ceil(val_fraction * len(train_val)))
    return {"train": train_val[:-n_val], "validation": train_val[-n_val:], "test": perm[:n_test]}


def fit_standard_scaler(x_train: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and population std (ddof=0) of the training rows; constant columns get scale 1."""
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    scale[scale == 0] = 1.0
    return mean, scale


def prepare_splits(x: np.ndarray, y: np.ndarray, *, seed: int = SPLIT_SEED) -> PreparedSplits:
    import torch

    num_raw = len(x)
    x, y = drop_duplicates(x, y)
    idx = split_indices(len(x), seed=seed)
    mean, scale = fit_standard_scaler(x[idx["train"]])
    xs = {s: torch.from_numpy(((x[i] - mean) / scale).astype(np.float32)) for s, i in idx.items()}
    ys = {s: torch.from_numpy(y[i].astype(np.int64)) for s, i in idx.items()}
    info = {
        "rows_in_file": num_raw,
        "duplicates_dropped": num_raw - len(x),
        "split_seed": seed,
        "test_fraction": TEST_FRACTION,
        "validation_fraction_of_train": VAL_FRACTION,
        "scaler": "standard, fitted on the train split only",
    }
    return PreparedSplits(xs, ys, mean, scale, info)


# --- cache next to the source file -----------------------------------------------------------


def cache_path(source: Path) -> Path:
    return source.with_name(source.name + CACHE_SUFFIX)


def _cache_key(source: Path, seed: int) -> dict:
    stat = source.stat()
    return {"version": CACHE_VERSION, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "seed": seed, "test_fraction": TEST_FRACTION, "val_fraction": VAL_FRACTION}


def load_cached(source: Path, seed: int = SPLIT_SEED) -> PreparedSplits | None:
    import torch

    path = cache_path(source)
    if not path.is_file():
        return None
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if blob.get("key") != _cache_key(source, seed):
            logger.info("cache %s is stale; preprocessing %s again", path.name, source.name)
            return None
        return PreparedSplits(
            {s: blob[f"x_{s}"] for s in SPLITS},
            {s: blob[f"y_{s}"] for s in SPLITS},
            blob["mean"].numpy(),
            blob["scale"].numpy(),
            dict(blob["info"]),
        )
    except Exception as exc:  # a broken cache is only a lost shortcut
        logger.info("ignoring unreadable cache %s (%s)", path.name, type(exc).__name__)
        return None


def save_cache(source: Path, prepared: PreparedSplits, seed: int = SPLIT_SEED) -> Path | None:
    import torch

    blob = {"key": _cache_key(source, seed), "info": prepared.info,
            "mean": torch.from_numpy(prepared.mean), "scale": torch.from_numpy(prepared.scale)}
    for s in SPLITS:
        blob[f"x_{s}"] = prepared.x[s]
        blob[f"y_{s}"] = prepared.y[s]
    path = cache_path(source)
    try:
        with atomic_path(path) as tmp:
            torch.save(blob, tmp)
            os.chmod(tmp, 0o644)
    except OSError as exc:
        logger.info("could not write the cache %s (%s); continuing without it", path, exc.strerror)
        return None
    return path


def load_prepared(source: Path, reader, *, seed: int = SPLIT_SEED, use_cache: bool = True) -> PreparedSplits:
    """Cached splits for ``source`` if fresh, else ``reader(source)`` preprocessed (and cached)."""
    if use_cache:
        cached = load_cached(source, seed)
        if cached is not None:
            cached.info["cache"] = str(cache_path(source))
            return cached
    x, y = reader(source)
    prepared = prepare_splits(x, y, seed=seed)
    if use_cache:
        written = save_cache(source, prepared, seed)
        prepared.info["cache"] = str(written) if written else None
    return prepared
