"""The JSC data set's names: 16 input features and 5 classes in MASE's order.

MASE takes labels as the argmax over the one-hot columns [j_g, j_q, j_w, j_z, j_t], so its class
order is g, q, w, z, t. OpenML's string labels sorted alphabetically would give g, q, t, w, z:
every reader here maps labels by *name* to MASE's order, never by position.
"""

from __future__ import annotations

from core.errors import DataError

# Names as in the HDF5 file (`t_allpar_new`); OpenML drops the `j_` prefix.
JSC_FEATURE_NAMES: tuple[str, ...] = (
    "j_zlogz",
    "j_c1_b0_mmdt",
    "j_c1_b1_mmdt",
    "j_c1_b2_mmdt",
    "j_c2_b1_mmdt",
    "j_c2_b2_mmdt",
    "j_d2_b1_mmdt",
    "j_d2_b2_mmdt",
    "j_d2_a1_b1_mmdt",
    "j_d2_a1_b2_mmdt",
    "j_m2_b1_mmdt",
    "j_m2_b2_mmdt",
    "j_n2_b1_mmdt",
    "j_n2_b2_mmdt",
    "j_mass_mmdt",
    "j_multiplicity",
)

JSC_CLASS_NAMES: tuple[str, ...] = ("g", "q", "w", "z", "t")
JSC_ONEHOT_COLUMNS: tuple[str, ...] = tuple(f"j_{c}" for c in JSC_CLASS_NAMES)
JSC_CLASS_LONG_NAMES: tuple[str, ...] = ("gluon", "quark", "W boson", "Z boson", "top quark")

# Column names that hold a string class label in CSV/ARFF/parquet exports.
LABEL_COLUMN_NAMES: tuple[str, ...] = ("class", "jet_type", "label", "labels", "target", "y")

_LABEL_ALIASES: dict[str, int] = {}
for _index, (_short, _long) in enumerate(zip(JSC_CLASS_NAMES, JSC_CLASS_LONG_NAMES, strict=True)):
    for _alias in (_short, f"j_{_short}", _long, _long.split()[0]):
        _LABEL_ALIASES[_alias.lower()] = _index


def canonical_feature(name: str) -> str:
    """Map an exported column name to the HDF5 spelling (``zlogz`` -> ``j_zlogz``)."""
    key = name.strip().strip("'\"").lower()
    return key if key.startswith("j_") else f"j_{key}"


def feature_columns(header: list[str], source: str) -> list[int]:
    """Positions of the 16 features in ``header``, in MASE's order."""
    positions = {canonical_feature(col): i for i, col in enumerate(header)}
    missing = [f for f in JSC_FEATURE_NAMES if f not in positions]
    if missing:
        raise DataError(
            f"{source} lacks JSC feature column(s) {', '.join(missing[:4])}"
            + (f" and {len(missing) - 4} more" if len(missing) > 4 else ""),
            hint="expected the 16 hls4ml jet features, with or without the j_ prefix",
        )
    return [positions[f] for f in JSC_FEATURE_NAMES]


def label_index(name: str) -> int:
    """Class index (MASE order) of a label given by name; accepts g/q/w/z/t and long names."""
    key = str(name).strip().strip("'\"").lower()
    if key in _LABEL_ALIASES:
        return _LABEL_ALIASES[key]
    raise DataError(
        f"unknown JSC class label '{name}'",
        hint="labels must name the jet type: g, q, w, z or t",
    )
