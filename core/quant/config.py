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
from core.mx_names import MX_ALIASES, MX_DEFAULT_BLOCK_SIZE, MX_NAMES, MX_WIDTHS

# The suffixes of each quantiser, in MASE's order (QUANT_ARITH_TO_SUFFIXES): metadata
# ``precision`` is the list of these values.
QUANT_ARITH_SUFFIXES: dict[str, tuple[str, ...]] = {
    "integer": ("width", "frac_width"),
    "fixed": ("width", "frac_width"),
    "minifloat_ieee": ("width", "exponent_width", "exponent_bias"),
    "minifloat_denorm": ("width", "exponent_width", "exponent_bias"),
    "log": ("width", "exponent_bias"),
    "block_fp": ("width", "exponent_width", "exponent_bias", "block_size"),
    "block_minifloat": ("width", "exponent_width", "exponent_bias_width", "block_size"),
    "block_log": ("width", "exponent_bias_width", "block_size"),
    "binary": ("width", "stochastic", "bipolar"),
    "binary_residual": ("width", "stochastic", "bipolar"),
    "ternary": ("width", "scaling_factor", "mean", "median", "max"),
    # OCP MX: element width (fixed by the format) and block size, both optional
    **{name: ("width", "block_size") for name in MX_NAMES},
}
QUANTIZER_NAMES = tuple(QUANT_ARITH_SUFFIXES)
ALIASES = {"fixed": "integer", **MX_ALIASES}
# MASE quantisers this project does not implement, with the reason the error gives.
UNSUPPORTED: dict[str, str] = {
    "lutnet": "LUTNet layers are trained lookup tables (MASE builds them from a trained binary "
              "baseline and its LUT trainer); post-training fake quantisation cannot produce them",
    "logicnets": "LogicNets layers are truth tables enumerated from a trained sparse network and "
                 "fused with its neighbouring layers (MASE's training-time structures); "
                 "post-training fake quantisation cannot produce them",
    "mxint": "use the OCP MX names: mxint8",
    "mxfp": "use the OCP MX names: mxfp8_e4m3, mxfp8_e5m2, mxfp6_e3m2, mxfp6_e2m3, mxfp4",
    "mxint_hardware": "MASE's hardware MXINT variant is not implemented; use mxint8",
    "flexround": "FlexRound learns its rounding during training; not implemented",
    "scale_integer": "not a graph quantiser in MASE either",
}

OPERANDS = ("data_in", "weight", "bias", "data_out")
# Quantisers that exist only for some ops (module layers in MASE, no functional form).
OP_RESTRICTED: dict[str, tuple[str, ...]] = {"binary_residual": ("linear", "conv2d")}
# Suffixes whose value may be None / "NA" (a default applies).
NULLABLE = {"frac_width", "exponent_bias", "mean", "median", "max"}
# Suffixes that may be left out altogether (their default applies).
OPTIONAL_SUFFIXES: dict[str, tuple[str, ...]] = {name: ("width", "block_size") for name in MX_NAMES}
# Options that are not per operand: name -> (option, kind, default)
GLOBAL_OPTIONS: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "integer": (("floor", "bool", False),),
    "fixed": (("floor", "bool", False),),
    # MASE's binary.toml writes binary_training = "NA": absent / "NA" / None mean false
    "binary": (("binary_training", "bool_or_none", None),),
    "binary_residual": (("binary_training", "bool_or_none", None),
                        ("data_in_levels", "levels", 2),
                        ("data_in_residual_sign", "bool", True)),
}
# Keys MASE's own config files carry for these quantisers although nothing reads them
# (e.g. configs/tests/quantize/ternary_scaled.toml has data_in_frac_width): accepted, ignored.
TOLERATED_SUFFIXES: dict[str, tuple[str, ...]] = {
    "binary": ("frac_width",),
    "binary_residual": ("frac_width",),
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
    keys.update(option for option, _, _ in GLOBAL_OPTIONS.get(name, ()))
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


def _block_sizes(where: str, p: str, bs: Any) -> list[int]:
    sizes = [bs] if isinstance(bs, int) and not isinstance(bs, bool) else bs
    if not isinstance(sizes, (list, tuple)) or not sizes or any(
        isinstance(b, bool) or not isinstance(b, int) or (b < 1 and b != -1) for b in sizes
    ):
        raise _fail(where, f"'{p}block_size' must be a positive integer or a list of them "
                           f"(-1 = whole dim), got {bs!r}")
    return [int(b) for b in sizes]


def _option(where: str, key: str, kind: str, value: Any) -> Any:
    if kind == "bool_or_none":
        return None if is_none(value) else _bool(where, key, value)
    if kind == "levels":
        return _int(where, key, value, 1, 8)
    return _bool(where, key, value)


def _check_operand(name: str, operand: str, cfg: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate and normalise one operand's keys; returns ``{key: value}`` with defaults resolved."""
    p = f"{operand}_"
    out: dict[str, Any] = {}
    if name in MX_NAMES:
        element = MX_WIDTHS[canonical_name(name)]
        width = cfg.get(p + "width")
        width = element if is_none(width) else _int(where, p + "width", width)
        if width != element:
            raise _fail(where, f"'{p}width' = {width}, but {name} elements are {element} bits",
                        hint=f"use {p}width = {element} (or leave it out)")
        bs = cfg.get(p + "block_size")
        if isinstance(bs, (list, tuple)) and len(bs) == 1:
            bs = bs[0]  # MASE writes block sizes as lists
        bs = MX_DEFAULT_BLOCK_SIZE if is_none(bs) else _int(where, p + "block_size", bs, 1, 1 << 16)
        out[p + "width"], out[p + "block_size"] = width, bs
        return out
    width = _int(where, p + "width", cfg[p + "width"], 1, MAX_WIDTH)
    out[p + "width"] = width
    if name in ("block_minifloat", "block_log"):
        if name == "block_minifloat":
            ew = _int(where, p + "exponent_width", cfg[p + "exponent_width"], 1, MAX_EXPONENT_WIDTH)
            if width - ew - 1 < 0:
                raise _fail(where, f"'{p}exponent_width' = {ew} leaves {width - ew - 1} mantissa bits "
                                   f"in width {width}", hint=f"use exponent_width <= {width - 1}")
            out[p + "exponent_width"] = ew
        elif width < 2 or width - 1 > MAX_EXPONENT_WIDTH:
            raise _fail(where, f"'{p}width' must be 2..{MAX_EXPONENT_WIDTH + 1} for block_log "
                               f"(sign + exponent bits), got {width}")
        out[p + "exponent_bias_width"] = _int(where, p + "exponent_bias_width",
                                              cfg[p + "exponent_bias_width"], 1, MAX_EXPONENT_WIDTH)
        out[p + "block_size"] = _block_sizes(where, p, cfg[p + "block_size"])
        return out
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
            out[p + "block_size"] = _block_sizes(where, p, cfg[p + "block_size"])
    elif name == "log":
        if width < 2:
            raise _fail(where, f"'{p}width' must be >= 2 (sign + exponent bits), got {width}")
        if width - 1 > MAX_EXPONENT_WIDTH:
            raise _fail(where, f"'{p}width' must be <= {MAX_EXPONENT_WIDTH + 1} for log "
                               f"({MAX_EXPONENT_WIDTH} exponent bits), got {width}")
        bias = cfg[p + "exponent_bias"]
        out[p + "exponent_bias"] = 2 ** (width - 2) - 1 if is_none(bias) else _int(where, p + "exponent_bias", bias)
    elif name in ("binary", "binary_residual"):
        out[p + "stochastic"] = _bool(where, p + "stochastic", cfg[p + "stochastic"])
        out[p + "bipolar"] = _bool(where, p + "bipolar", cfg[p + "bipolar"])
    elif name == "ternary":
        out[p + "scaling_factor"] = _bool(where, p + "scaling_factor", cfg[p + "scaling_factor"])
        for stat in ("mean", "median", "max"):
            out[p + stat] = _number_or_none(where, p + stat, cfg[p + stat])
    return out


def _check_name(config: dict[str, Any], where: str) -> str:
    raw_name = config.get("name")
    if not isinstance(raw_name, str):
        raise _fail(where, f"'name' must be a quantiser name, got {raw_name!r}",
                    hint=f"one of {', '.join(QUANTIZER_NAMES)}, or \"NA\" to leave it in float")
    if raw_name not in QUANT_ARITH_SUFFIXES:
        if raw_name in UNSUPPORTED:
            raise _fail(where, f"quantiser '{raw_name}' is not supported by mase-tui: "
                               f"{UNSUPPORTED[raw_name]}")
        variants = [n for n in QUANTIZER_NAMES if n.startswith(raw_name + "_")]  # mxfp8 -> its element types
        close = variants or difflib.get_close_matches(raw_name, QUANTIZER_NAMES, n=1)
        hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
                else f"one of {', '.join(QUANTIZER_NAMES)}")
        raise _fail(where, f"unknown quantiser '{raw_name}'", hint=hint)
    return raw_name


def _check_keys(config: dict[str, Any], name: str, where: str) -> None:
    allowed = allowed_keys(name)
    for key in config:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"keys for {name}: {', '.join(sorted(allowed))}"
            raise _fail(where, f"unknown key '{key}' for quantiser '{name}'", hint=hint)


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
    raw_name = _check_name(config, where)
    if raw_name in OP_RESTRICTED and op not in OP_RESTRICTED[raw_name]:
        raise _fail(where, f"quantiser '{raw_name}' has no quantised {op} (MASE has it only for "
                           f"{', '.join(OP_RESTRICTED[raw_name])} layers)",
                    hint="give this op another quantiser, or \"NA\" to leave it in float")
    _check_keys(config, raw_name, where)
    parsed: dict[str, Any] = {"name": raw_name}
    if "bypass" in config:
        parsed["bypass"] = _bool(where, "bypass", config["bypass"])
    for option, kind, default in GLOBAL_OPTIONS.get(raw_name, ()):
        if option in config:
            parsed[option] = _option(where, option, kind, config[option])
        elif default is not None and default is not False:  # defaults that change behaviour
            parsed[option] = default
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
            if key not in config and suffix not in OPTIONAL_SUFFIXES.get(raw_name, ()):
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
    if name in ("binary", "binary_residual"):
        return {"stochastic": bool(config.get(p + "stochastic", False)),
                "bipolar": bool(config.get(p + "bipolar", False))}
    if name == "ternary":
        return {"scaling_factor": bool(config.get(p + "scaling_factor", False)),
                "mean": config.get(p + "mean"), "median": config.get(p + "median"),
                "maximum": config.get(p + "max")}
    if name == "block_minifloat":
        return {"width": config[p + "width"], "exponent_width": config[p + "exponent_width"],
                "exponent_bias_width": config[p + "exponent_bias_width"],
                "block_size": config[p + "block_size"], "skip_first_dim": operand in ("data_in", "data_out")}
    if name == "block_log":
        return {"width": config[p + "width"], "exponent_bias_width": config[p + "exponent_bias_width"],
                "block_size": config[p + "block_size"], "skip_first_dim": operand in ("data_in", "data_out")}
    if name in MX_NAMES:
        return {"width": config.get(p + "width"),
                "block_size": config.get(p + "block_size") or MX_DEFAULT_BLOCK_SIZE}
    raise QuantError(f"unknown quantiser '{config['name']}'")


def has_operand(config: dict[str, Any], operand: str) -> bool:
    return f"{operand}_width" in config


# What each quantised module quantises, as MASE's classes do: the binary and ternary Linear,
# Conv2d and ReLU modules quantise only the weight (their input and bias quantisers are
# pass-throughs in MASE); the binary_residual layers keep a float bias. Conv1d modules and every
# functional form quantise all configured operands.
MODULE_SKIPPED_OPERANDS: dict[tuple[str, str], frozenset[str]] = {
    **{(op, q): frozenset({"data_in", "bias"}) for op in ("linear", "conv2d", "relu") for q in ("binary", "ternary")},
    ("linear", "binary_residual"): frozenset({"bias"}),
    ("conv2d", "binary_residual"): frozenset({"bias"}),
}

# The axis (or flattened trailing dims) each operand's MX blocks run along: the reduction axis
# where there is one (a Linear's in_features, a conv weight's C_in*k, a conv input's channels,
# a matmul's second operand's rows), else the last dim.
MX_BLOCK_AXES: dict[str, dict[str, Any]] = {
    "conv1d": {"data_in": 1, "weight": (1, 2), "data_out": 1},
    "conv2d": {"data_in": 1, "weight": (1, 2, 3), "data_out": 1},
    "matmul": {"weight": -2},
    "bmm": {"weight": -2},
}


def mx_axis(op: str, operand: str, ndim: int | None = None) -> Any:
    axis = MX_BLOCK_AXES.get(op, {}).get(operand, -1)
    if axis == -2 and ndim is not None and ndim < 2:
        return -1  # a vector operand of matmul
    return axis


def skipped_operands(op: str, config: dict[str, Any], kind: str) -> frozenset[str]:
    """Operands a quantised *module* leaves in float although the config has keys for them."""
    if kind != "module":
        return frozenset()
    return MODULE_SKIPPED_OPERANDS.get((op, canonical_name(str(config.get("name")))), frozenset())


def quantized_metadata_entries(common: dict[str, Any], op: str, config: dict[str, Any], kind: str = "function"):
    """(label, entry, operand) for each metadata entry a quantiser config governs: the op's
    args (``weight``, ``data_in_0`` ...) and, with ``data_out_*``, ``results.data_out_0``.
    ``kind="module"`` leaves out the operands MASE's module classes do not quantise."""
    skipped = skipped_operands(op, config, kind)
    targets = [(arg, (common.get("args") or {}).get(arg), operand) for operand, arg in OP_METADATA_ARGS.get(op, ())]
    if has_operand(config, "data_out"):
        targets.append(("results.data_out_0", (common.get("results") or {}).get("data_out_0"), "data_out"))
    for label, entry, operand in targets:
        if isinstance(entry, dict) and has_operand(config, operand) and operand not in skipped:
            yield label, entry, operand


def write_quantized_entry(entry: dict[str, Any], config: dict[str, Any], op: str, operand: str) -> None:
    """Set a metadata entry's ``type`` and ``precision`` (MASE's layout); MX entries also get
    ``block_dims``, the dims their blocks run along (storage counts one scale per block)."""
    entry["type"] = config["name"]
    entry["precision"] = precision(config, operand)
    if config["name"] in MX_NAMES:
        shape = entry.get("shape")
        axis = mx_axis(op, operand, len(shape) if isinstance(shape, (list, tuple)) else None)
        entry["block_dims"] = list(axis) if isinstance(axis, tuple) else [axis]


def precision(config: dict[str, Any], operand: str) -> list[Any]:
    """MASE's metadata precision: the operand's values in suffix order, e.g. ``[8, 4]``."""
    return [config.get(f"{operand}_{suffix}") for suffix in QUANT_ARITH_SUFFIXES[config["name"]]]


BY_VALUES = ("type", "name", "regex_name")
# Top-level keys of quantize's pass_args that are not entries (MASE's test configs carry
# ``report``; the Session adds ``progress`` and ``cancel``).
NON_ENTRY_KEYS = ("by", "report", "progress", "cancel")


def check_quantize_args(args: dict[str, Any], where: str = "quantize") -> None:
    """What a quantize config alone shows to be wrong, before any model or torch is loaded: a
    bad ``by``, an entry that is not ``{config = {...}}``, an unknown quantiser or key, a bad
    value, and (under ``by = "type"``, where the key is the op) a key the op needs. Checks that
    need the graph (node names, biases, functional forms) happen when the pass runs."""
    by = args.get("by", "type")
    if by not in BY_VALUES:
        raise QuantError(f"{where}: unsupported by '{by}'", hint="use by = \"type\", \"name\" or \"regex_name\"")
    for key, value in args.items():
        if key in NON_ENTRY_KEYS and not isinstance(value, dict):
            continue
        if is_none(value):
            continue
        if not isinstance(value, dict) or "config" not in value:
            raise QuantError(f"{where}: entry '{key}' must be a table holding a 'config' table",
                             hint=f"write [passes.quantize.{key}.config] with name = ... inside")
        config = value["config"]
        if is_float_config(config):
            continue
        if not isinstance(config, dict):
            raise QuantError(f"{where}: '{key}.config' must be a table, got {type(config).__name__}")
        entry = f"{where}: entry '{key}'"
        if by == "type" and key in OP_OPERANDS:
            validate_config(config, key, has_bias=False, where=entry)
        else:
            _check_name_and_keys(config, entry)


def _check_name_and_keys(config: dict[str, Any], where: str) -> None:
    """The op-independent part of validate_config: quantiser name, key spelling, options, and
    the values of every operand whose keys are all present."""
    name = _check_name(config, where)
    _check_keys(config, name, where)
    for option, kind, _ in GLOBAL_OPTIONS.get(name, ()):
        if option in config:
            _option(where, option, kind, config[option])
    for operand in OPERANDS:
        needed = [f"{operand}_{s}" for s in QUANT_ARITH_SUFFIXES[name] if s not in OPTIONAL_SUFFIXES.get(name, ())]
        given = [k for k in config if k.startswith(operand + "_") and k not in _OPTION_KEYS]
        if given and all(k in config for k in needed):
            _check_operand(name, operand, config, where)


_OPTION_KEYS = {option for options in GLOBAL_OPTIONS.values() for option, _, _ in options}
