"""Checks of the command line and the config that need no torch: run first, so that a typo is
one ``error:`` line (exit 2) in a fraction of a second, before the ~5 s of importing torch and
building the model, and before anything is printed or written.

What is checked here is what the words alone show: the model name (zoo, ``file.py:factory``,
saved graph directory), the data set name, files named on the command line, and each pass
table of the config (the pass schema's own check, and for quantize every quantiser name and
key). What needs the graph (which nodes an entry matches) is still checked by the pass itself,
before it changes anything.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from core.errors import ConfigError, DataError, ModelError, QuantError


def _did_you_mean(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def check_model(name: str) -> None:
    """A zoo name, a saved graph directory, or ``path/to/file.py:factory`` (the file exists)."""
    from core.models.registry import MODELS, is_user_model_ref

    if name in MODELS:
        return
    path = Path(name).expanduser()
    if path.is_dir():
        if (path / "manifest.json").is_file():
            return
        raise ModelError(f"{name} is a directory but not a saved graph (no manifest.json in it)",
                         hint="give a directory written by save_mase_graph_interface_pass, or a zoo model")
    if is_user_model_ref(name):
        file, _, factory = name.rpartition(":")
        if not factory:
            raise ModelError(f"'{name}' names no factory after the ':'", hint="write path/to/file.py:make_model")
        if file.endswith(".py") or "/" in file:
            if not Path(file).expanduser().is_file():
                raise ModelError(f"model file {file} not found", hint="check the path (relative to this directory)")
        return  # a module path (pkg.mod:factory) is checked when it is imported
    close = _did_you_mean(name, list(MODELS))
    hint = f"did you mean '{close}'? (`mase-tui models` lists them)" if close else \
        f"choose one of: {', '.join(MODELS)}; or give path/to/file.py:factory"
    raise ModelError(f"unknown model '{name}'", hint=hint)


def check_dataset(dataset: str | None, model: str) -> None:
    """A known data set name; a user model must be given one (it has no default)."""
    from core.data import list_datasets
    from core.models.registry import MODELS, is_user_model_ref

    if dataset is None:
        if is_user_model_ref(model) and model not in MODELS:
            raise DataError(f"no data set for user model {model}",
                            hint="add --dataset NAME (see `mase-tui datasets`)")
        return
    names = [n for n, _ in list_datasets()]
    if dataset.strip().lower() in names:
        return
    close = _did_you_mean(dataset.strip().lower(), names)
    hint = f"did you mean '{close}'? (`mase-tui datasets` lists them)" if close else f"choose one of: {', '.join(names)}"
    raise DataError(f"unknown dataset '{dataset}'", hint=hint)


def check_files(load_name: str | None = None, dataset_path: str | None = None) -> None:
    if load_name and not Path(load_name).expanduser().exists():
        raise ConfigError(f"checkpoint not found: {load_name}", hint="check the --load path (or load_name in the config)")
    if dataset_path and not Path(dataset_path).expanduser().exists():
        raise DataError(f"data file not found: {dataset_path}", hint="check --dataset-path (or dataset_path in the config)")


# ---------------------------------------------------------------------------- pass tables
_STANDALONE = "mase_tui_preflight_quant_config"


def quant_config():
    """``core.quant.config`` (quantiser names, keys, validation: plain Python). Importing it the
    usual way runs ``core/quant/__init__.py``, which registers the quantised modules and so
    imports torch; until something has imported the package, the same file is loaded on its own."""
    if "core.quant" in sys.modules:
        return importlib.import_module("core.quant.config")
    if _STANDALONE not in sys.modules:
        import core

        spec = importlib.util.spec_from_file_location(_STANDALONE, Path(core.__file__).parent / "quant" / "config.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[_STANDALONE] = module
        spec.loader.exec_module(module)
    return sys.modules[_STANDALONE]


QUANTIZE = "quantize_transform_pass"
QUANTIZE_BY = ("type", "name", "regex_name")


def check_passes(entries, source: str) -> None:
    """Each ``[passes.*]`` table: the schema's check (load_config has run it for fixed-argument
    passes) and the quantiser configs of quantize."""
    for entry in entries:
        if entry.name == QUANTIZE:
            check_quantize_args(entry.args, f"{source}: [passes.{entry.key}]")


def check_quantize_args(args: dict[str, Any], where: str) -> None:
    """Every entry's quantiser: its name (did-you-mean), its keys, and for an entry named after
    an op (by = "type") everything the op needs (widths, ranges)."""
    qc = quant_config()
    by = args.get("by", "type")
    if by not in QUANTIZE_BY:
        raise ConfigError(f"{where}: by = {by!r} is not one of {', '.join(QUANTIZE_BY)}")
    for key, entry in args.items():
        if not isinstance(entry, dict) or "config" not in entry:
            continue
        config = entry["config"]
        at = f"{where}: entry '{key}'"
        if not isinstance(config, dict):
            raise QuantError(f"{at}: config must be a table (name = ..., widths)")
        name = config.get("name")
        if qc.is_none(name):
            continue
        if not isinstance(name, str):
            raise QuantError(f"{at}: 'name' must be a quantiser name, got {name!r}")
        config = {**config, "name": qc.canonical_name(name)}
        if by == "type" and key in qc.OP_OPERANDS:
            qc.validate_config(config, key, where=at)
        else:
            _check_quantiser_keys(config, at)


def _check_quantiser_keys(config: dict[str, Any], where: str) -> None:
    """What validate_config checks without knowing the op: the name and the key set."""
    qc = quant_config()
    name = config["name"]
    if name not in qc.QUANT_ARITH_SUFFIXES:
        if name in qc.UNSUPPORTED:
            raise QuantError(f"{where}: quantiser '{name}' is not supported by mase-tui: {qc.UNSUPPORTED[name]}")
        close = _did_you_mean(name, list(qc.QUANTIZER_NAMES))
        raise QuantError(f"{where}: unknown quantiser '{name}'",
                         hint=f"did you mean '{close}'?" if close else f"one of {', '.join(qc.QUANTIZER_NAMES)}")
    allowed = qc.allowed_keys(name)
    for key in config:
        if key not in allowed:
            close = _did_you_mean(str(key), sorted(allowed))
            raise QuantError(f"{where}: unknown key '{key}' for quantiser '{name}'",
                             hint=f"did you mean '{close}'?" if close else f"keys for {name}: {', '.join(sorted(allowed))}")
