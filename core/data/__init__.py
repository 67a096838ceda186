"""Data sets: the real JSC file when the user has one, and synthetic data for every zoo model.

``get_datamodule(name, ...)`` gives a DataModule; ``InputGenerator`` feeds graphs with batches;
``list_datasets()`` names what is available.
"""

from __future__ import annotations

import logging

from core.data.datamodule import ENV_JSC_PATH, DataModule, resolve_jsc_path
from core.data.input_generator import InputGenerator
from core.data.jsc_schema import JSC_CLASS_NAMES, JSC_FEATURE_NAMES
from core.errors import DataError

logger = logging.getLogger(__name__)

_JSC = {
    "jsc": "hls4ml LHC jet substructure, 16 features, 5 classes, from your file "
           f"(--dataset-path or ${ENV_JSC_PATH}); jsc-synthetic when there is none",
    "jsc-synthetic": "synthetic stand-in for jsc: same 16 features and 5 classes, generated, not real jets",
}


def list_datasets() -> list[tuple[str, str]]:
    from core.data.catalog import GENERATED

    return list(_JSC.items()) + [(name, spec.description) for name, spec in GENERATED.items()]


def get_datamodule(dataset: str, *, model_name: str | None = None, batch_size: int = 128,
                   dataset_path: str | None = None, num_workers: int = 0, seed: int = 42,
                   use_cache: bool = True, seq_len: int | None = None,
                   model_inputs: dict | None = None) -> DataModule:
    """Build the named data set. ``jsc`` reads the user's file, or falls back to jsc-synthetic
    with a one-line warning. ``num_workers`` is accepted for MASE's CLI; data is in memory or
    generated per batch, so no worker processes are used. ``seed`` drives shuffling only: the
    splits (seed 42, as MASE) and the synthetic data are fixed. Generated token and image data
    follow the model: ``model_inputs`` is what a Hugging Face config says (vocabulary size, image
    shape; ``core.models.hf.config_inputs``) and ``seq_len`` the sequence length (128 by default
    for Hugging Face language models)."""
    from core.data.catalog import GENERATED
    from core.data.datamodule import generated_datamodule, jsc_datamodule

    name = (dataset or "").strip().lower()
    if not isinstance(batch_size, int) or batch_size < 1:
        raise DataError(f"batch size must be a positive integer, got {batch_size!r}")
    if name == "jsc":
        path = resolve_jsc_path(dataset_path)
        if path is None:
            logger.warning("no JSC data file found (give --dataset-path or set %s): using jsc-synthetic, "
                           "which is synthetic data", ENV_JSC_PATH)
        return jsc_datamodule(path, batch_size=batch_size, seed=seed, use_cache=use_cache)
    if name == "jsc-synthetic":
        return jsc_datamodule(None, batch_size=batch_size, seed=seed)
    if name in GENERATED:
        return generated_datamodule(name, model_name=model_name, batch_size=batch_size, seed=seed,
                                    seq_len=seq_len, model_inputs=model_inputs)
    known = ", ".join(n for n, _ in list_datasets())
    raise DataError(f"unknown dataset '{dataset}'", hint=f"choose one of: {known}")


__all__ = [
    "ENV_JSC_PATH",
    "JSC_CLASS_NAMES",
    "JSC_FEATURE_NAMES",
    "DataModule",
    "InputGenerator",
    "get_datamodule",
    "list_datasets",
]
