"""Quantisation config: per-quantiser keys, validation, and the metadata precision lists.

A node config is MASE's flat dict, e.g. ``{"name": "integer", "data_in_width": 8,
"data_in_frac_width": 4, "weight_width": 8, ...}``: for every operand (``data_in``,
``weight``, ``bias``, ``data_out``) one key per suffix of the quantiser. ``"NA"`` / None
values mean "use the default" for the keys that have one (``frac_width`` -> width // 2,
``exponent_bias`` -> 2^(e-1) - 1, ternary statistics -> measured on the tensor).
"""

from __future__ import annotations

import difflib
from typing import Any

from core.errors import QuantError

# The suffixes of each quantiser, in MASE's order (QUANT_ARITH_TO_SUFFIXES): metadata
# ``precision`` is the list of these values.
QUANT_ARITH_SUFFIXES: dict[str, tuple[str, ...]] = {
    "integer": ("width", "frac_width"),
    "fixed": ("width", "frac_width"),
    "minifloat_ieee": ("width", "exponent_width", "exponent_bias"),
    "minifloat_denorm": ("width", "exponent_width", "exponent_bias"),
    "log": ("width", "exponent_bias"),
    "block_fp": ("width", "exponent_width", "exponent_bias", "block_size"),
    "binary": ("width", "stochastic", "bipolar"),
    "ternary": ("width", "scaling_factor", "mean", "median", "max"),
}
QUANTIZER_NAMES = tuple(QUANT_ARITH_SUFFIXES)
ALIASES = {"fixed": "integer"}
# MASE quantisers this project does not implement (named so the error can say so).
UNSUPPORTED = ("block_minifloat", "block_log", "binary_residual", "lutnet", "logicnets",
               "mxint", "mxfp", "mxint_hardware", "flexround", "scale_integer")

OPERANDS = ("data_in", "weight", "bias", "data_out")
# Suffixes whose value may be None / "NA" (a default applies).
NULLABLE = {"frac_width", "exponent_bias", "mean", "median", "max"}
# Options that are not per operand.
GLOBAL_OPTIONS: dict[str, tuple[str, ...]] = {
    "integer": ("floor",),
    "fixed": ("floor",),
    "binary": ("binary_training",),
}
# Keys MASE's own config files carry for these quantisers although nothing reads them
# (e.g. configs/tests/quantize/ternary_scaled.toml has data_in_frac_width): accepted, ignored.
TOLERATED_SUFFIXES: dict[str, tuple[str, ...]] = {
    "binary": ("frac_width",),
    "ternary": ("frac_width",),
}

# op -> (required operands, optional operands). ``bias`` is required when the layer has one.
OP_OPERANDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "linear": (("data_in", "weight"), ("bias", "data_out")),
    "conv1d": (("data_in", "weight"), ("bias", "data_out")),
    "conv2d": (("data_in", "weight"), ("bias", "data_out")),
    "relu": (("data_in",), ("data_out",)),
    "add": (("data_in",), ("data_out",)),
    "sub": (("data_in",), ("data_out",)),
    "mul": (("data_in",), ("data_out",)),
    "matmul": (("data_in", "weight"), ("data_out",)),
    "bmm": (("data_in", "weight"), ("data_out",)),
}
QUANTIZABLE_OPS = tuple(OP_OPERANDS)

# (operand, metadata arg) pairs updated by the transform (MASE_OP_TO_INPUT_ENTRIES_AND_ARGS).
OP_METADATA_ARGS: dict[str, tuple[tuple[str, str], ...]] = {
    "linear": (("data_in", "data_in_0"), ("weight", "weight"), ("bias", "bias")),
    "conv1d": (("data_in", "data_in_0"), ("weight", "weight"), ("bias", "bias")),
    "conv2d": (("data_in", "data_in_0"), ("weight", "weight"), ("bias", "bias")),
    "relu": (("data_in", "data_in_0"),),
    "add": (("data_in", "data_in_0"), ("data_in", "data_in_1")),
    "sub": (("data_in", "data_in_0"), ("data_in", "data_in_1")),
    "mul": (("data_in", "data_in_0"), ("data_in", "data_in_1")),
    "matmul": (("data_in", "data_in_0"), ("weight", "data_in_1")),
    "bmm": (("data_in", "data_in_0"), ("weight", "data_in_1")),
}

MAX_WIDTH = 64
# 2^(2^10) still fits in float64, where the exponent arithmetic runs.
MAX_EXPONENT_WIDTH = 10
FRAC_RANGE = (-64, 64)


def is_none(value: Any) -> bool:
    """MASE's TOML writes None as "NA"."""
    return value is None or (isinstance(value, str) and value.strip().lower() in ("na", "none"))


def canonical_name(name: str) -> str:
    return ALIASES.get(name, name)


def is_float_config(config: Any) -> bool:
    """True for the configs that mean "leave this node in float"."""
    if is_none(config):
        return True
    if isinstance(config, dict):
        return is_none(config.get("name"))
    return False


def allowed_keys(name: str) -> set[str]:
    keys = {"name", "bypass"}
    keys.update(GLOBAL_OPTIONS.get(name, ()))
    for operand in OPERANDS:
        for suffix in QUANT_ARITH_SUFFIXES[name] + TOLERATED_SUFFIXES.get(name, ()):
            keys.add(f"{operand}_{suffix}")
    return keys


def _fail(where: str, message: str, hint: str | None = None) -> QuantError:
    return QuantError(f"{where}: {message}", hint=hint)


def _int(where: str, key: str, value: Any, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise _fail(where, f"'{key}' must be an integer, got {value!r}")
    if lo is not None and value < lo:
        raise _fail(where, f"'{key}' must be >= {lo}, got {value}")
    if hi is not None and value > hi:
        raise _fail(where, f"'{key}' must be <= {hi}, got {value}")
    return value


def _bool(where: str, key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise _fail(where, f"'{key}' must be true/false (or 1/0), got {value!r}")


def _number_or_none(where: str, key: str, value: Any) -> float | None:
    if is_none(value):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(where, f"'{key}' must be a number or \"NA\", got {value!r}")
    return float(value)


def _check_operand(name: str, operand: str, cfg: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate and normalise one operand's keys; returns ``{key: value}`` with defaults resolved."""
    p = f"{operand}_"
    out: dict[str, Any] = {}
    width = _int(where, p + "width", cfg[p + "width"], 1, MAX_WIDTH)
    out[p + "width"] = width
    if name in ("integer", "fixed"):
        frac = cfg[p + "frac_width"]
        frac = width // 2 if is_none(frac) else _int(where, p + "frac_width", frac, *FRAC_RANGE)
        out[p + "frac_width"] = frac
    elif name in ("minifloat_ieee", "minifloat_denorm", "block_fp"):
        min_mant = 1 if name == "minifloat_denorm" else 0
        if name == "block_fp":
            if width < 2:
                raise _fail(where, f"'{p}width' must be >= 2 (sign + mantissa bits), got {width}")
            ew = _int(where, p + "exponent_width", cfg[p + "exponent_width"], 1, MAX_EXPONENT_WIDTH)
        else:
            ew = _int(where, p + "exponent_width", cfg[p + "exponent_width"], 1, MAX_EXPONENT_WIDTH)
            if width - ew - 1 < min_mant:
                raise _fail(where, f"'{p}exponent_width' = {ew} leaves {width - ew - 1} mantissa bits "
                                   f"in width {width}", hint=f"use exponent_width <= {width - 1 - min_mant}")
        out[p + "exponent_width"] = ew
        bias = cfg[p + "exponent_bias"]
        out[p + "exponent_bias"] = 2 ** (ew - 1) - 1 if is_none(bias) else _int(where, p + "exponent_bias", bias)
        if name == "block_fp":
            bs = cfg[p + "block_size"]
            sizes = [bs] if isinstance(bs, int) and not isinstance(bs, bool) else bs
            if not isinstance(sizes, (list, tuple)) or not sizes or any(
                isinstance(b, bool) or not isinstance(b, int) or (b < 1 and b != -1) for b in sizes
            ):
                raise _fail(where, f"'{p}block_size' must be a positive integer or a list of them "
                                   f"(-1 = whole dim), got {bs!r}")
            out[p + "block_size"] = [int(b) for b in sizes]
    elif name == "log":
        if width < 2:
            raise _fail(where, f"'{p}width' must be >= 2 (sign + exponent bits), got {width}")
        if width - 1 > MAX_EXPONENT_WIDTH:
            raise _fail(where, f"'{p}width' must be <= {MAX_EXPONENT_WIDTH + 1} for log "
                               f"({MAX_EXPONENT_WIDTH} exponent bits), got {width}")
        bias = cfg[p + "exponent_bias"]
        out[p + "exponent_bias"] = 2 ** (width - 2) - 1 if is_none(bias) else _int(where, p + "exponent_bias", bias)
    elif name == "binary":
        out[p + "stochastic"] = _bool(where, p + "stochastic", cfg[p + "stochastic"])
        out[p + "bipolar"] = _bool(where, p + "bipolar", cfg[p + "bipolar"])
    elif name == "ternary":
        out[p + "scaling_factor"] = _bool(where, p + "scaling_factor", cfg[p + "scaling_factor"])
        for stat in ("mean", "median", "max"):
            out[p + stat] = _number_or_none(where, p + stat, cfg[p + stat])
    return out


def validate_config(
    config: dict[str, Any],
    op: str,
    *,
    has_bias: bool = False,
    where: str = "quantisation config",
) -> dict[str, Any]:
    """Check a node config for ``op`` and return its normalised copy (only the keys the op
    uses, defaults resolved). Raises QuantError naming ``where`` and the key."""
    if not isinstance(config, dict):
        raise _fail(where, f"config must be a table of keys, got {type(config).__name__}")
    if op not in OP_OPERANDS:
        raise _fail(where, f"op '{op}' cannot be quantised", hint=f"quantisable ops: {', '.join(QUANTIZABLE_OPS)}")
    raw_name = config.get("name")
    if not isinstance(raw_name, str):
        raise _fail(where, f"'name' must be a quantiser name, got {raw_name!r}",
                    hint=f"one of {', '.join(QUANTIZER_NAMES)}, or \"NA\" to leave it in float")
    if raw_name not in QUANT_ARITH_SUFFIXES:
        if raw_name in UNSUPPORTED:
            raise _fail(where, f"quantiser '{raw_name}' is not supported by mase-tui",
                        hint=f"supported: {', '.join(QUANTIZER_NAMES)}")
        close = difflib.get_close_matches(raw_name, QUANTIZER_NAMES, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"one of {', '.join(QUANTIZER_NAMES)}"
        raise _fail(where, f"unknown quantiser '{raw_name}'", hint=hint)
    allowed = allowed_keys(raw_name)
    for key in config:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"keys for {raw_name}: {', '.join(sorted(allowed))}"
            raise _fail(where, f"unknown key '{key}' for quantiser '{raw_name}'", hint=hint)
    parsed: dict[str, Any] = {"name": raw_name}
    if "bypass" in config:
        parsed["bypass"] = _bool(where, "bypass", config["bypass"])
    for option in GLOBAL_OPTIONS.get(raw_name, ()):
        if option in config:
            parsed[option] = _bool(where, option, config[option])
    required, optional = OP_OPERANDS[op]
    operands = list(required)
    for operand in optional:
        if operand == "bias":
            if has_bias:
                operands.append(operand)
        elif any(k.startswith(operand + "_") for k in config):
            operands.append(operand)
    for operand in operands:
        for suffix in QUANT_ARITH_SUFFIXES[raw_name]:
            key = f"{operand}_{suffix}"
            if key not in config:
                nullable = " (\"NA\" for the default)" if suffix in NULLABLE else ""
                raise _fail(where, f"missing key '{key}' for quantiser '{raw_name}' on op '{op}'",
                            hint=f"add {key} = <value>{nullable}")
        parsed.update(_check_operand(raw_name, operand, config, where))
    return parsed


def operand_kwargs(config: dict[str, Any], operand: str) -> dict[str, Any]:
    """Keyword arguments of the quantiser function for one operand of a normalised config."""
    name = canonical_name(config["name"])
    p = f"{operand}_"
    if name == "integer":
        return {"width": config[p + "width"], "frac_width": config.get(p + "frac_width"),
                "floor": bool(config.get("floor", False))}
    if name in ("minifloat_ieee", "minifloat_denorm"):
        return {"width": config[p + "width"], "exponent_width": config[p + "exponent_width"],
                "exponent_bias": config.get(p + "exponent_bias")}
    if name == "log":
        return {"width": config[p + "width"], "exponent_bias": config.get(p + "exponent_bias")}
    if name == "block_fp":
        return {"width": config[p + "width"], "exponent_width": config[p + "exponent_width"],
                "exponent_bias": config.get(p + "exponent_bias"), "block_size": config[p + "block_size"],
                "skip_first_dim": operand in ("data_in", "data_out")}
    if name == "binary":
        return {"stochastic": bool(config.get(p + "stochastic", False)),
                "bipolar": bool(config.get(p + "bipolar", True))}
    if name == "ternary":
        return {"scaling_factor": bool(config.get(p + "scaling_factor", False)),
                "mean": config.get(p + "mean"), "median": config.get(p + "median"),
                "max": config.get(p + "max")}
    raise QuantError(f"unknown quantiser '{config['name']}'")


def has_operand(config: dict[str, Any], operand: str) -> bool:
    return f"{operand}_width" in config


def quantized_metadata_entries(common: dict[str, Any], op: str, config: dict[str, Any]):
    """(label, entry, operand) for each metadata entry a quantiser config governs: the op's
    args (``weight``, ``data_in_0`` ...) and, with ``data_out_*``, ``results.data_out_0``."""
    targets = [(arg, (common.get("args") or {}).get(arg), operand) for operand, arg in OP_METADATA_ARGS.get(op, ())]
    if has_operand(config, "data_out"):
        targets.append(("results.data_out_0", (common.get("results") or {}).get("data_out_0"), "data_out"))
    for label, entry, operand in targets:
        if isinstance(entry, dict) and has_operand(config, operand):
            yield label, entry, operand


def precision(config: dict[str, Any], operand: str) -> list[Any]:
    """MASE's metadata precision: the operand's values in suffix order, e.g. ``[8, 4]``."""
    return [config.get(f"{operand}_{suffix}") for suffix in QUANT_ARITH_SUFFIXES[config["name"]]]
