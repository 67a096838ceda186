"""The values each operand may take, from a seed's lists of choices, with invalid ones removed.

MASE samples every key independently, so half of its (width, frac_width) pairs have the
fractional width above the width (a range below +-0.5) and ReLUs get weight keys they never
read. Here one operand's keys are one choice: the product of its lists, "NA" resolved to the
quantiser's default, every combination checked by the quantiser's own validation plus
``frac_width <= width``, duplicates merged. So a search only ever proposes valid formats, and
a seed that leaves an operand with no valid format is an error before any trial runs.
"""

from __future__ import annotations

import itertools
from typing import Any

from core.errors import ConfigError
from core.search.quant_table import quant_config

OPERANDS = ("data_in", "weight", "bias", "data_out")


def _is_na(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().upper() == "NA")


def quantizer_names(seed: dict[str, list[Any]]) -> list[str | None]:
    """The seed's ``name`` choices; None means "leave the node in float"."""
    out: list[str | None] = []
    for name in seed["name"]:
        value = None if _is_na(name) else name
        if value not in out:
            out.append(value)
    return out


def allowed_seed_keys(names: list[str | None]) -> set[str]:
    qc = quant_config()
    keys = {"name"}
    for name in names:
        if name is not None and name in qc.QUANT_ARITH_SUFFIXES:
            keys |= qc.allowed_keys(name)
    return keys


def operands_in(seed: dict[str, list[Any]]) -> list[str]:
    return [op for op in OPERANDS if any(k.startswith(op + "_") for k in seed)]


def operand_choices(seed: dict[str, list[Any]], name: str, operand: str, where: str) -> list[dict[str, Any]]:
    """Every valid, distinct setting of ``operand`` for quantiser ``name``: a list of
    ``{"<operand>_<suffix>": value}`` dicts in the order of the seed's lists."""
    qc = quant_config()
    suffixes = qc.QUANT_ARITH_SUFFIXES[name]
    lists = []
    for suffix in suffixes:
        key = f"{operand}_{suffix}"
        if key in seed:
            lists.append(seed[key])
        elif suffix in qc.NULLABLE:
            lists.append([None])  # MASE writes "NA": the quantiser's default
        else:
            raise ConfigError(f"{where}: no choices for '{key}' (quantiser '{name}')", hint=f"add {key} = [...]")
    out: list[dict[str, Any]] = []
    first_error: str | None = None
    for combo in itertools.product(*lists):
        probe = {"name": name, **{f"data_in_{s}": v for s, v in zip(suffixes, combo, strict=True)}}
        try:
            parsed = qc.validate_config(probe, "relu", where=where)
        except ConfigError as exc:
            first_error = first_error or exc.message
            continue
        values = {f"{operand}_{s}": parsed[f"data_in_{s}"] for s in suffixes if f"data_in_{s}" in parsed}
        width, frac = values.get(f"{operand}_width"), values.get(f"{operand}_frac_width")
        if frac is not None and width is not None and frac > width:
            first_error = first_error or f"{operand}_frac_width {frac} above {operand}_width {width}"
            continue
        if values not in out:
            out.append(values)
    if not out:
        raise ConfigError(f"{where}: no valid {name} format for {operand} among the choices ({first_error})",
                          hint="every combination is invalid; change the lists of choices")
    return out


def option_choices(seed: dict[str, list[Any]], name: str) -> dict[str, list[Any]]:
    """Choices of the quantiser's keys that are not per operand (floor, bypass, ...)."""
    qc = quant_config()
    options = ("bypass",) + tuple(qc.GLOBAL_OPTIONS.get(name, ()))
    return {k: list(dict.fromkeys(seed[k])) for k in options if k in seed}


def check_seeds(seeds: dict[str, dict[str, list[Any]]], source: str) -> None:
    """Names, keys and that every operand has at least one valid format (torch-free)."""
    qc = quant_config()
    for key, seed in seeds.items():
        where = f"{source}: [search.search_space.seed.{key}.config]"
        names = quantizer_names(seed)
        for name in names:
            if name is None:
                continue
            if name not in qc.QUANT_ARITH_SUFFIXES:
                if name in qc.UNSUPPORTED:
                    raise ConfigError(f"{where}: quantiser '{name}' is not supported",
                                      hint=f"supported: {', '.join(qc.QUANTIZER_NAMES)}")
                raise ConfigError(f"{where}: unknown quantiser '{name}'",
                                  hint=_close(name, qc.QUANTIZER_NAMES))
        allowed = allowed_seed_keys(names)
        for k in seed:
            if k not in allowed:
                if all(n is None for n in names):
                    continue  # a float-only seed may carry leftover keys: nothing reads them
                raise ConfigError(f"{where}: unknown key '{k}' for quantiser(s) "
                                  f"{', '.join(n for n in names if n)}", hint=_close(k, sorted(allowed)))
        for name in names:
            if name is None:
                continue
            for operand in operands_in(seed):
                operand_choices(seed, name, operand, f"{where} ({name})")


def _close(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean '{close[0]}'?" if close else f"one of {', '.join(choices)}"
