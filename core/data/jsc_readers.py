"""Readers for the JSC files users have: MASE/hls4ml HDF5, OpenML ARFF, CSV, .npz and .pt.

Each reader returns raw ``(x, y)``: float64 features [N, 16] in MASE's feature order and int64
labels [N] in MASE's class order (g, q, w, z, t), mapped by name wherever the file names them.
"""

from __future__ import annotations

import csv
import gzip
import logging
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from core.data.jsc_schema import (
    JSC_CLASS_NAMES,
    JSC_FEATURE_NAMES,
    JSC_ONEHOT_COLUMNS,
    LABEL_COLUMN_NAMES,
    canonical_feature,
    feature_columns,
    label_index,
)
from core.errors import DataError

logger = logging.getLogger(__name__)

H5_HINT = "pip install 'mase-tui[h5]'"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_GZIP_MAGIC = b"\x1f\x8b"
_X_KEYS = ("x", "X", "features", "inputs", "data")
_Y_KEYS = ("y", "Y", "labels", "label", "targets", "target")
_CLASS_KEYS = ("classes", "class_names")

SUPPORTED_SUFFIXES = (".h5", ".hdf5", ".z", ".arff", ".arff.gz", ".csv", ".csv.gz", ".npz", ".pt")


def read_jsc_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read any supported JSC file; the format comes from the content's magic bytes, then the name."""
    head = _head(path)
    name = path.name.lower()
    if head.startswith(_HDF5_MAGIC) or name.endswith((".h5", ".hdf5", ".z")):
        x, y = _read_hdf5(path)
    elif name.endswith(".npz"):
        x, y = _read_npz(path)
    elif name.endswith(".pt"):
        x, y = _read_pt(path)
    elif ".arff" in name:
        x, y = _read_arff(_read_text(path, head), path.name)
    elif ".csv" in name:
        x, y = _read_csv(_read_text(path, head), path.name)
    else:
        raise DataError(
            f"cannot tell the format of {path.name}",
            hint=f"JSC files must end in one of {', '.join(SUPPORTED_SUFFIXES)}",
        )
    return _check(x, y, path.name)


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(8)
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror}") from exc


def _read_text(path: Path, head: bytes) -> str:
    try:
        if head.startswith(_GZIP_MAGIC):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"cannot read {path.name}: {exc}") from exc


def _check(x: np.ndarray, y: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != len(JSC_FEATURE_NAMES):
        raise DataError(f"{source}: features have shape {list(x.shape)}, expected [N, 16]")
    if y.shape != (x.shape[0],):
        raise DataError(f"{source}: {x.shape[0]} feature rows but labels of shape {list(y.shape)}")
    if x.shape[0] == 0:
        raise DataError(f"{source} holds no rows")
    if ((y < 0) | (y >= len(JSC_CLASS_NAMES))).any():
        raise DataError(f"{source}: labels outside 0..4", hint="labels must be the 5 JSC classes")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise DataError(f"{source}: {int(bad.sum())} rows hold NaN or infinite values", hint="clean the file first")
    return x, y


# --- HDF5 ------------------------------------------------------------------------------------


def _read_hdf5(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        import h5py
    except ImportError:
        raise DataError(f"reading the HDF5 file {path.name} needs h5py", hint=H5_HINT) from None
    try:
        with h5py.File(path, "r") as fh:
            if "t_allpar_new" in fh:
                return _from_columns(fh["t_allpar_new"][()], path.name)
            if "jets" in fh and "jetFeatureNames" in fh:
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in fh["jetFeatureNames"][()]]
                jets = np.asarray(fh["jets"][()])
                return _from_columns({n: jets[:, i] for i, n in enumerate(names)}, path.name)
            keys = ", ".join(list(fh.keys())[:6])
    except OSError as exc:
        raise DataError(f"cannot read {path.name} as HDF5: {exc}") from exc
    raise DataError(f"{path.name} has no 't_allpar_new' or 'jets' dataset (found: {keys})")


def _from_columns(table: Any, source: str) -> tuple[np.ndarray, np.ndarray]:
    """A structured array or name->column mapping with j_* features and one-hot j_g..j_t labels."""
    names = list(table.dtype.names) if hasattr(table, "dtype") else list(table)
    by_name = {canonical_feature(n): n for n in names}
    missing = [c for c in JSC_FEATURE_NAMES + JSC_ONEHOT_COLUMNS if c not in by_name]
    if missing:
        raise DataError(f"{source} lacks column(s) {', '.join(missing[:5])}")
    x = np.stack([np.asarray(table[by_name[f]], dtype=np.float64) for f in JSC_FEATURE_NAMES], axis=1)
    onehot = np.stack([np.asarray(table[by_name[c]], dtype=np.float64) for c in JSC_ONEHOT_COLUMNS], axis=1)
    return _onehot_rows(x, onehot, source)


def _onehot_rows(x: np.ndarray, onehot: np.ndarray, source: str) -> tuple[np.ndarray, np.ndarray]:
    # MASE's argmax would call an all-zero row a gluon; such rows carry no label, so drop them.
    labelled = onehot.max(axis=1) > 0
    if not labelled.all():
        logger.warning("%s: dropped %d rows without a class label", source, int((~labelled).sum()))
    return x[labelled], onehot[labelled].argmax(axis=1)


# --- ARFF and CSV ----------------------------------------------------------------------------


def _read_arff(text: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    header: list[str] = []
    lines = text.splitlines()
    for number, line in enumerate(lines):
        stripped = line.strip()
        lowered = stripped.lower()
        if lowered.startswith("@attribute"):
            header.append(_arff_attribute_name(stripped[len("@attribute"):].strip()))
        elif lowered.startswith("@data"):
            rows = [r for r in lines[number + 1:] if r.strip() and not r.lstrip().startswith("%")]
            if rows and rows[0].lstrip().startswith("{"):
                raise DataError(f"{source} is a sparse ARFF file", hint="export it as dense ARFF or CSV")
            return _table(header, rows, source)
    raise DataError(f"{source} has no @data section", hint="is it an ARFF file?")


def _arff_attribute_name(rest: str) -> str:
    if rest[:1] in "'\"":
        end = rest.find(rest[0], 1)
        return rest[1:end]
    return rest.split()[0]


def _read_csv(text: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError(f"{source} is empty")
    header = next(csv.reader([lines[0]]))
    return _table(header, lines[1:], source)


def _table(header: list[str], rows: list[str], source: str) -> tuple[np.ndarray, np.ndarray]:
    columns = feature_columns(header, source)
    if not rows:
        raise DataError(f"{source} has a header but no rows")
    try:
        x = np.loadtxt(rows, delimiter=",", usecols=columns, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise DataError(f"{source}: a feature value is not a number ({exc})", hint="missing values ('?') are not supported") from exc
    lowered = [canonical_feature(h) for h in header]
    label_col = next((i for i, h in enumerate(header) if h.strip().strip("'\"").lower() in LABEL_COLUMN_NAMES), None)
    if label_col is not None:
        values = [row[label_col] for row in csv.reader(rows)]
        return x, _labels_from_values(values, source)
    if all(c in lowered for c in JSC_ONEHOT_COLUMNS):
        onehot = np.loadtxt(rows, delimiter=",", usecols=[lowered.index(c) for c in JSC_ONEHOT_COLUMNS], ndmin=2)
        return _onehot_rows(x, onehot, source)
    raise DataError(
        f"{source} has no label column",
        hint=f"name it one of {', '.join(LABEL_COLUMN_NAMES)} or give one-hot columns j_g, j_q, j_w, j_z, j_t",
    )


def _labels_from_values(values: list[Any], source: str) -> np.ndarray:
    strings = [str(v).strip().strip("'\"") for v in values]
    if all(s.lstrip("-").isdigit() for s in strings):
        # A bare number does not say which class it means: we can only assume MASE's order.
        logger.warning("%s: numeric labels taken in MASE's class order g, q, w, z, t", source)
        return np.asarray([int(s) for s in strings], dtype=np.int64)
    lookup: dict[str, int] = {}
    out = np.empty(len(strings), dtype=np.int64)
    for i, s in enumerate(strings):
        if s not in lookup:
            lookup[s] = label_index(s)
        out[i] = lookup[s]
    return out


# --- tensors (.npz / .pt) --------------------------------------------------------------------


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except ValueError as exc:
        raise DataError(f"{path.name} holds pickled objects, which are not loaded", hint="save plain arrays") from exc
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read {path.name} as .npz: {exc}") from exc
    return _from_arrays(arrays, path.name)


def _read_pt(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean "cannot use it"
        raise DataError(f"cannot read {path.name} as a tensor file: {type(exc).__name__}", hint="save a dict of tensors with torch.save") from exc
    if isinstance(obj, (tuple, list)) and len(obj) == 2:
        obj = {"x": obj[0], "y": obj[1]}
    if not isinstance(obj, Mapping):
        raise DataError(f"{path.name} holds a {type(obj).__name__}", hint="save {'x': features, 'y': labels}")
    arrays = {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in obj.items()}
    return _from_arrays(arrays, path.name)


def _from_arrays(arrays: Mapping[str, Any], source: str) -> tuple[np.ndarray, np.ndarray]:
    x_key = next((k for k in _X_KEYS if k in arrays), None)
    y_key = next((k for k in _Y_KEYS if k in arrays), None)
    if x_key is None or y_key is None:
        raise DataError(
            f"{source} has keys {', '.join(sorted(map(str, arrays))[:6])}",
            hint="expected features under 'x' and labels under 'y' (optional 'classes', 'feature_names')",
        )
    x = np.asarray(arrays[x_key], dtype=np.float64)
    if "feature_names" in arrays:
        names = [str(n) for n in np.asarray(arrays["feature_names"]).tolist()]
        x = x[:, feature_columns(names, source)]
    y = np.asarray(arrays[y_key])
    class_key = next((k for k in _CLASS_KEYS if k in arrays), None)
    class_map = None
    if class_key is not None:
        class_map = np.asarray([label_index(str(c)) for c in np.asarray(arrays[class_key]).tolist()])
    if y.ndim == 2:
        if class_map is None and y.shape[1] == len(JSC_CLASS_NAMES):
            logger.warning("%s: one-hot labels without 'classes' taken in MASE's order g, q, w, z, t", source)
        x, y = _onehot_rows(x, y.astype(np.float64), source)
    elif y.dtype.kind in "US":
        return x, _labels_from_values(y.tolist(), source)
    elif class_map is None:
        logger.warning("%s: integer labels without 'classes' taken in MASE's order g, q, w, z, t", source)
    y = y.astype(np.int64)
    if class_map is not None:
        if y.size and (y.min() < 0 or y.max() >= len(class_map)):
            raise DataError(f"{source}: a label index is outside the {len(class_map)} 'classes'")
        y = class_map[y]
    return x, y
