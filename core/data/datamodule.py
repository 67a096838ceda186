"""DataModule: one data set's splits, loaders and description, and ``get_datamodule``."""

from __future__ import annotations

import functools
import logging
import math
import os
from pathlib import Path
from typing import Any

from core.data.jsc_schema import JSC_CLASS_NAMES, JSC_FEATURE_NAMES
from core.errors import DataError

logger = logging.getLogger(__name__)

ENV_JSC_PATH = "MASE_TUI_JSC_PATH"
# File names looked for when a directory is given (MASE's cache name first, then OpenML exports).
JSC_FILE_NAMES = (
    "processed-pythia82-lhc13-all-pt1-50k-r1_h022_e0175_t220_nonu_truth.z",
    "hls4ml_lhc_jets_hlf.arff",
    "hls4ml_lhc_jets_hlf.arff.gz",
    "hls4ml_lhc_jets_hlf.csv",
    "hls4ml_lhc_jets_hlf.csv.gz",
    "jsc.h5",
    "jsc.npz",
    "jsc.pt",
)
SPLIT_ALIASES = {"train": "train", "val": "validation", "validation": "validation", "test": "test", "pred": "test"}


class DataModule:
    """Train/validation/test loaders of ``(inputs, labels)`` batches and what the data is.

    ``synthetic`` is True for generated data; ``display_name`` then says so, and every front end
    shows ``display_name`` wherever it names the data.
    """

    def __init__(self, name: str, *, synthetic: bool, num_classes: int, input_shape: tuple[int, ...],
                 loaders: dict[str, Any], batch_size: int, seed: int, class_names: tuple[str, ...] = (),
                 feature_names: tuple[str, ...] = (), input_kind: str = "features",
                 info: dict[str, Any] | None = None) -> None:
        self.name = name
        self.synthetic = synthetic
        self.num_classes = num_classes
        self.input_shape = tuple(input_shape)
        self.input_kind = input_kind
        self.class_names = tuple(class_names)
        self.feature_names = tuple(feature_names)
        self.batch_size = batch_size
        self.seed = seed
        self._loaders = loaders  # split -> factory(batch_size, seed, train) -> loader
        self._info = dict(info or {})

    @property
    def display_name(self) -> str:
        return f"{self.name} (synthetic)" if self.synthetic else self.name

    @property
    def num_features(self) -> int:
        return math.prod(self.input_shape)

    @property
    def input_names(self) -> tuple[str, ...]:
        """Names of the input features (the 16 JSC features); empty for images and tokens."""
        return self.feature_names

    def split_size(self, split: str) -> int:
        return self._loaders[self._split(split)](1, self.seed, False).num_samples

    @property
    def dataset_info(self) -> dict[str, Any]:
        info = {
            "name": self.name,
            "display_name": self.display_name,
            "synthetic": self.synthetic,
            "num_classes": self.num_classes,
            "num_features": self.num_features,
            "input_shape": list(self.input_shape),
            "input_kind": self.input_kind,
            "class_names": list(self.class_names),
            "feature_names": list(self.feature_names),
            "splits": {s: self.split_size(s) for s in ("train", "validation", "test")},
        }
        info.update(self._info)
        return info

    def dataloader(self, split: str, *, shuffle: bool | None = None, batch_size: int | None = None):
        split = self._split(split)
        train = (split == "train") if shuffle is None else shuffle
        return self._loaders[split](batch_size or self.batch_size, self.seed, train)

    def train_dataloader(self):
        return self.dataloader("train")

    def val_dataloader(self):
        return self.dataloader("validation")

    def test_dataloader(self):
        return self.dataloader("test")

    # MASE's data modules are prepared and set up before use; ours are ready when built.
    def prepare_data(self) -> None:
        return None

    def setup(self, stage: str | None = None) -> None:
        return None

    def _split(self, split: str) -> str:
        try:
            return SPLIT_ALIASES[split]
        except KeyError:
            raise DataError(f"unknown split '{split}'", hint="use train, validation or test") from None

    def __repr__(self) -> str:
        return f"DataModule({self.display_name}, {self.num_classes} classes, batch {self.batch_size})"


# --- JSC -------------------------------------------------------------------------------------


def resolve_jsc_path(dataset_path: str | os.PathLike | None) -> Path | None:
    """The JSC file to read: an explicit path (must exist), else $MASE_TUI_JSC_PATH, else None."""
    if dataset_path:
        path = Path(dataset_path).expanduser()
        if not path.exists():
            raise DataError(f"JSC data file not found: {path}", hint="check --dataset-path / dataset_path")
        return _file_in(path)
    env = os.environ.get(ENV_JSC_PATH)
    if env:
        path = Path(env).expanduser()
        if path.exists():
            return _file_in(path)
        logger.warning("%s points to %s, which does not exist", ENV_JSC_PATH, path)
    return None


def _file_in(path: Path) -> Path:
    if path.is_file():
        return path
    for name in JSC_FILE_NAMES:
        if (path / name).is_file():
            return path / name
    raise DataError(f"no JSC data file in directory {path}", hint=f"expected one of {', '.join(JSC_FILE_NAMES[:3])}, ...")


def jsc_datamodule(path: Path | None, *, batch_size: int, seed: int, use_cache: bool = True) -> DataModule:
    from core.data.jsc_readers import read_jsc_file
    from core.data.preprocess import load_prepared

    if path is None:
        prepared = _synthetic_splits()
        name, synthetic = "jsc-synthetic", True
    else:
        prepared = load_prepared(path, read_jsc_file, use_cache=use_cache)
        name, synthetic = "jsc", False
        prepared.info["source"] = str(path)
    from core.data.loaders import TensorBatchLoader

    def factory(split: str):
        def make(bs: int, sd: int, train: bool) -> TensorBatchLoader:
            return TensorBatchLoader(prepared.x[split], prepared.y[split], bs, shuffle=train, seed=sd)
        return make

    info = dict(prepared.info)
    info["scaler_mean"] = [float(v) for v in prepared.mean]
    info["scaler_scale"] = [float(v) for v in prepared.scale]
    return DataModule(
        name, synthetic=synthetic, num_classes=len(JSC_CLASS_NAMES), input_shape=(len(JSC_FEATURE_NAMES),),
        loaders={s: factory(s) for s in ("train", "validation", "test")}, batch_size=batch_size, seed=seed,
        class_names=JSC_CLASS_NAMES, feature_names=JSC_FEATURE_NAMES, info=info,
    )


@functools.lru_cache(maxsize=1)
def _synthetic_splits():
    """jsc-synthetic is one fixed data set: make it once per process (loaders only read it)."""
    from core.data.jsc_synthetic import SYNTHETIC_SAMPLES, SYNTHETIC_SEED, make_jsc_synthetic
    from core.data.preprocess import prepare_splits

    prepared = prepare_splits(*make_jsc_synthetic())
    prepared.info.update({"source": "generated", "generator_seed": SYNTHETIC_SEED,
                          "generated_rows": SYNTHETIC_SAMPLES})
    return prepared


# --- generated image / token data ------------------------------------------------------------


HF_DEFAULT_SEQ_LEN = 128


def generated_datamodule(name: str, *, model_name: str | None, batch_size: int, seed: int,
                         seq_len: int | None = None, model_inputs: dict | None = None) -> DataModule:
    from core.data.catalog import GENERATED
    from core.data.loaders import GeneratedBatchLoader
    from core.data.synthetic_inputs import ImageBatches, TokenBatches

    spec = GENERATED[name]
    shape, num_classes, vocab = spec.shape, spec.num_classes, spec.vocab_size
    model_spec = _zoo_spec(model_name)
    if model_spec is not None and model_spec.dataset == name:
        # Follow the model's own input (e.g. toy reads flat 784-vectors, not 1x28x28 images).
        shape = tuple(model_spec.inputs[0].shape)
        num_classes = model_spec.num_classes
        vocab = model_spec.inputs[0].vocab_size or vocab
    shape, vocab = _follow_model_config(spec.kind, shape, vocab, model_inputs or {}, model_spec is not None)
    if seq_len is not None:
        if spec.kind != "tokens":
            raise DataError(f"--seq-len applies to token data, not to {name}", hint="drop --seq-len")
        shape = (int(seq_len),)
    data_seed = sum(ord(c) for c in name) * 7919  # fixed per data set, like jsc-synthetic
    if spec.kind == "tokens":
        make = TokenBatches(shape[0], vocab, num_classes)
    else:
        make = ImageBatches(shape, num_classes, data_seed)
    sizes = dict(zip(("train", "validation", "test"), spec.sizes, strict=True))
    offsets = {"train": 1, "validation": 2, "test": 3}

    def factory(split: str):
        def build(bs: int, sd: int, train: bool) -> GeneratedBatchLoader:
            # Evaluation splits never depend on the training seed; the training stream does.
            loader_seed = data_seed * 10 + offsets[split] + (sd * 101 if split == "train" else 0)
            return GeneratedBatchLoader(make, sizes[split], bs, seed=loader_seed, fresh_each_pass=train)
        return build

    info = {"source": "generated", "description": spec.description}
    if vocab:
        info["vocab_size"] = vocab
    return DataModule(
        name, synthetic=True, num_classes=num_classes, input_shape=shape,
        loaders={s: factory(s) for s in sizes}, batch_size=batch_size, seed=seed,
        class_names=tuple(str(i) for i in range(num_classes)), input_kind=spec.kind, info=info,
    )


def _follow_model_config(kind: str, shape: tuple, vocab: int, model_inputs: dict, zoo: bool) -> tuple[tuple, int]:
    """Token ids drawn below the model's vocabulary size; images of the model's shape; a
    Hugging Face language model outside the zoo reads 128 tokens by default."""
    if kind == "tokens" and model_inputs.get("kind") == "tokens":
        vocab = int(model_inputs["vocab_size"])
        if not zoo:
            shape = (HF_DEFAULT_SEQ_LEN,)
    elif kind == "image" and model_inputs.get("kind") == "image":
        shape = tuple(model_inputs["shape"])
    return shape, vocab


def _zoo_spec(model_name: str | None):
    if not model_name:
        return None
    from core.models import MODELS

    return MODELS.get(model_name)
