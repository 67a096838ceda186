"""MASE TOML configs: loading, validation and saving.

A config has top-level settings (model, dataset, batch_size, ...), ``[passes.<name>]`` tables
run in file order, and an optional ``[transform] style``. MASE writes ``"NA"`` for None; it
becomes None on load (also inside lists) and None is written back as ``"NA"``. Sections that
MASE uses for other actions (``[search...]``) are kept in ``ignored_sections`` and reported
once through logging, never as an error.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on 3.10
    import tomli as tomllib

logger = logging.getLogger(__name__)

NA = "NA"
TRANSFORM_STYLES = ("graph", "module")
TASKS = ("classification", "cls", "translation", "tran", "language_modeling", "lm")
LOAD_TYPES = ("pt", "pl", "mz")
ACCELERATORS = ("auto", "cpu", "gpu", "mps")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
TRACERS = ("auto", "fx", "export")  # core.ir.capture.TRACERS (kept free of torch here)
DEVICES = ("cpu", "meta")

# Top-level keys and the type each must have. These are MASE's CLI option names (dest names);
# keys that only MASE's trainer or hardware flow reads are accepted and left unused.
SETTING_TYPES: dict[str, tuple[type, ...]] = {
    "model": (str,), "dataset": (str,), "task": (str,), "load_name": (str,), "load_type": (str,),
    "batch_size": (int,), "seed": (int,), "num_workers": (int,), "accelerator": (str,),
    "project_dir": (str,), "project": (str,), "log_level": (str,), "to_debug": (bool,),
    "dataset_path": (str,), "trust_checkpoint": (bool,), "cf_args": (dict,), "passes_files": (list,),
    "tracer": (str,), "device": (str,), "seq_len": (int,),
    "train_graph": (bool,),
}
SETTING_CHOICES: dict[str, tuple[str, ...]] = {
    "task": TASKS, "load_type": LOAD_TYPES, "accelerator": ACCELERATORS, "log_level": LOG_LEVELS,
    "tracer": TRACERS, "device": DEVICES,
}
MASE_UNUSED_SETTINGS = frozenset({
    "max_epochs", "max_steps", "learning_rate", "weight_decay", "log_every_n_steps",
    "training_optimizer", "trainer_precision", "accumulate_grad_batches", "report_to",
    "num_devices", "num_nodes", "strategy", "auto_requeue", "github_ci", "disable_dataset_cache",
    "target", "num_targets", "run_emit", "skip_build", "skip_test", "is_pretrained",
    "max_token_len", "profile", "no_warnings", "quant_config", "t_max", "eta_min",
})
KNOWN_SECTIONS = ("passes", "transform")


@dataclass
class PassEntry:
    """One ``[passes.<key>]`` table: the key as written, the registry name it resolves to, its args."""

    key: str
    name: str
    args: dict[str, Any]


@dataclass
class MaseConfig:
    path: Path | None
    settings: dict[str, Any]
    passes: list[PassEntry]
    style: str = "graph"
    ignored_sections: list[str] = field(default_factory=list)
    unused_settings: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- "NA" <-> None
def na_to_none(value: Any) -> Any:
    """MASE's "NA" -> None, recursively through dicts, lists and tuples."""
    if isinstance(value, str):
        return None if value == NA else value
    if isinstance(value, dict):
        return {k: na_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(na_to_none(v) for v in value)
    return value


def none_to_na(value: Any) -> Any:
    if value is None:
        return NA
    if isinstance(value, dict):
        return {k: none_to_na(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [none_to_na(v) for v in value]
    return value


# --------------------------------------------------------------------------- parsing
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_toml(text: str, source: str = "<string>") -> dict[str, Any]:
    """Parse TOML text into plain dicts with "NA" turned into None; errors name the line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _POSITION.search(message)
        if match:
            where = f"line {match.group(1)}, column {match.group(2)}"
        elif "end of document" in message:
            where = f"line {max(1, len(text.splitlines()))} (end of file)"
        else:
            where = "an unknown position"
        reason = _POSITION.sub("", message).replace("(at end of document)", "").strip()
        raise ConfigError(f"malformed TOML in {source} at {where}: {reason}",
                          hint="fix the file; see https://toml.io for the syntax") from None
    return na_to_none(data)


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise ConfigError(f"config file must be a .toml file, got '{path}'", hint="MASE configs are TOML")
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "not found"
        raise ConfigError(f"config file {what}: {path}", hint="check the --config path (relative to the current directory)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from None
    return parse_toml(text, str(path))


def load_config(path: str | Path) -> MaseConfig:
    path = Path(path)
    return config_from_dict(read_toml(path), path)


def config_from_dict(data: dict[str, Any], path: Path | None = None) -> MaseConfig:
    """Validate a parsed config (names, types, pass names and fixed pass arguments)."""
    source = str(path) if path else "the config"
    settings: dict[str, Any] = {}
    ignored: list[str] = []
    unused: list[str] = []
    for key, value in data.items():
        if key in KNOWN_SECTIONS:
            continue
        if isinstance(value, dict) and key not in SETTING_TYPES:
            ignored.append(key)
        elif key in SETTING_TYPES:
            settings[key] = _check_setting(key, value, source)
        elif key in MASE_UNUSED_SETTINGS:
            settings[key] = value
            unused.append(key)
        else:
            close = difflib.get_close_matches(key, list(SETTING_TYPES) + list(MASE_UNUSED_SETTINGS), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            logger.warning("%s: ignoring unknown setting '%s'%s", source, key, hint)
            unused.append(key)
    if ignored:
        logger.warning("%s: ignoring section(s) %s (used by other MASE actions, not by transform)",
                       source, ", ".join(f"[{s}]" for s in ignored))
    style = _check_transform_section(data.get("transform"), source)
    if settings.get("passes_files"):
        load_passes_files(settings["passes_files"], path, source)
    passes = validate_passes(data.get("passes", {}), source)
    return MaseConfig(path=path, settings=settings, passes=passes, style=style,
                      ignored_sections=ignored, unused_settings=unused, raw=data)


def load_passes_files(files: list[Any], path: Path | None, source: str) -> None:
    """``passes_files = [...]``: the user's pass files, relative to the config file. Loading one
    runs its code (the user's own, like a model factory file)."""
    from core.passes.user_passes import load_pass_file

    if not isinstance(files, list):
        raise ConfigError(f"{source}: passes_files must be a list of file paths, got {files!r}")
    base = path.parent if path is not None else Path.cwd()
    for item in files:
        if not isinstance(item, str) or not item:
            raise ConfigError(f"{source}: passes_files must be a list of file paths, got {item!r}")
        file = Path(item).expanduser()
        file = file if file.is_absolute() else base / file
        if not file.is_file():
            raise ConfigError(f"{source}: passes_files: {item} not found (looked for {file})",
                              hint="paths are relative to the config file's directory")
        load_pass_file(file, shown_as=_shown(file))


def _shown(file: Path) -> str:
    try:
        return str(file.relative_to(Path.cwd()))
    except ValueError:
        return str(file)


def _check_setting(key: str, value: Any, source: str) -> Any:
    if value is None:
        return None
    types = SETTING_TYPES[key]
    ok = isinstance(value, types) and not (bool not in types and isinstance(value, bool))
    if not ok:
        want = " or ".join(t.__name__ for t in types)
        raise ConfigError(f"{source}: '{key}' must be {want}, got {value!r}")
    if key in SETTING_CHOICES and value not in SETTING_CHOICES[key]:
        raise ConfigError(f"{source}: '{key}' = {value!r} is not one of {', '.join(SETTING_CHOICES[key])}")
    if key in ("batch_size", "seq_len") and value < 1:
        raise ConfigError(f"{source}: '{key}' must be at least 1, got {value}")
    if key == "num_workers" and value < 0:
        raise ConfigError(f"{source}: 'num_workers' must be 0 or more, got {value}")
    return value


def _check_transform_section(section: Any, source: str) -> str:
    if section is None:
        return "graph"
    if not isinstance(section, dict):
        raise ConfigError(f"{source}: 'transform' must be a table ([transform] style = \"graph\")")
    extra = sorted(set(section) - {"style"})
    if extra:
        logger.warning("%s: ignoring unknown key(s) in [transform]: %s", source, ", ".join(extra))
    style = section.get("style") or "graph"
    if style not in TRANSFORM_STYLES:
        raise ConfigError(f"{source}: [transform] style = {style!r} is not one of {', '.join(TRANSFORM_STYLES)}")
    return style


def validate_passes(table: Any, source: str = "the config") -> list[PassEntry]:
    """Resolve each ``[passes.<key>]`` against the registry and check fixed arguments."""
    from core.passes.registry import get_pass

    if not isinstance(table, dict):
        raise ConfigError(f"{source}: 'passes' must be a table of [passes.<name>] tables")
    entries = []
    for key, args in table.items():
        try:
            spec = get_pass(key)
        except ConfigError as exc:
            raise ConfigError(f"{source}: [passes.{key}]: {exc.message}", hint=exc.hint) from None
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise ConfigError(f"{source}: [passes.{key}] must be a table of arguments, got {args!r}")
        # the declaration decides, and a pass may declare a check of its own that needs no
        # model (quantize: quantiser names, keys, values), so the config fails before torch loads
        spec.check_config(args, f"{source}: [passes.{key}]")
        entries.append(PassEntry(key=key, name=spec.name, args=args))
    return entries


# --------------------------------------------------------------------------- writing
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def dumps_toml(data: dict[str, Any]) -> str:
    """Plain dicts -> TOML text; None is written as "NA" (MASE's convention)."""
    lines: list[str] = []
    _emit_table(none_to_na(data), [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def save_config(data: dict[str, Any], path: str | Path) -> Path:
    from core.utils.atomic import atomic_write_text

    return atomic_write_text(Path(path), dumps_toml(data))


def _emit_table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in table.items() if isinstance(v, dict)}
    if path and (scalars or not tables):
        lines.append("")
        lines.append(f"[{'.'.join(_key(p) for p in path)}]")
    for key, value in scalars.items():
        lines.append(f"{_key(key)} = {_value(value)}")
    for key, value in tables.items():
        _emit_table(value, path + [str(key)], lines)


def _key(key: Any) -> str:
    key = str(key)
    return key if _BARE_KEY.match(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Path):
        return _string(str(value))
    tolist = getattr(value, "tolist", None)  # numpy / torch scalars and arrays
    if callable(tolist):
        return _value(tolist())
    raise ConfigError(f"cannot write {type(value).__name__} value {value!r} to TOML")
