"""Passes users write: plain Python files (or installed packages) with ``@mase_pass`` functions.

Three ways in, all ending in ``PASSES``:

- ``mase-tui --passes my_passes.py`` (repeatable) -> ``load_pass_file``;
- ``passes_files = ["my_passes.py"]`` in a TOML config, relative to the config file (the config
  loader calls ``load_pass_file``);
- an installed package's entry point in the ``mase_tui.passes`` group, naming a module (every
  decorated function in it) or one decorated function -> ``load_entry_points`` (the registry
  runs it once, on first use).

Loading a file runs its code, like a model factory file: it is the user's own code. A syntax or
import error, a file with no passes, or a pass whose names clash with another pass's is one
``UserPassError`` naming the file and line; the passes loaded before stay as they were.
``reload_pass_file`` replaces a file's passes at once (the app's ctrl+l and its file watcher).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

from core.errors import ConfigError
from core.passes.registry import PASSES
from core.passes.schema import PassSpec, declaration_of, with_origin

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mase_tui.passes"
_MODULE_PREFIX = "mase_tui_user_passes"


class UserPassError(ConfigError):
    """A user's pass file (or entry point) that cannot be loaded."""


def loaded_files() -> dict[str, str]:
    """Absolute path -> the path as the user gave it, for every pass file loaded."""
    return dict(_FILES)


_FILES: dict[str, str] = {}


def load_pass_file(path: str | os.PathLike, *, shown_as: str | None = None) -> list[PassSpec]:
    """Import ``path`` and register its passes. Loading the same file again is a no-op (use
    ``reload_pass_file`` to pick up edits)."""
    absolute = _absolute(path)
    if absolute in _FILES:
        return [s for s in PASSES.values() if s.file and _absolute(s.file) == absolute]
    specs = _import_file(absolute, shown_as or str(path))
    _register(specs, replacing_origin=None)
    _FILES[absolute] = shown_as or str(path)
    return specs


def reload_pass_file(path: str | os.PathLike) -> list[PassSpec]:
    """Import ``path`` afresh and swap its passes in; on any error the old ones stay."""
    absolute = _absolute(path)
    shown = _FILES.get(absolute, str(path))
    old_modules = {s.module for s in PASSES.values() if s.origin == shown}
    specs = _import_file(absolute, shown)
    _register(specs, replacing_origin=shown)
    _FILES[absolute] = shown
    for name in old_modules - {s.module for s in specs}:
        sys.modules.pop(name, None)  # the previous version; its functions stay alive while used
    return specs


def _register(specs: list[PassSpec], replacing_origin: str | None) -> None:
    try:
        PASSES.add(specs, replacing_origin=replacing_origin)
    except UserPassError:
        raise
    except ConfigError as exc:  # a name clash
        raise UserPassError(exc.message, hint=exc.hint) from None


def unload_pass_file(path: str | os.PathLike) -> None:
    """Forget a pass file and its passes."""
    shown = _FILES.pop(_absolute(path), None)
    if shown is not None:
        PASSES.remove_origin(shown)


def _absolute(path: str | os.PathLike) -> str:
    return os.path.abspath(os.fspath(path))


def _import_file(absolute: str, shown: str) -> list[PassSpec]:
    from core.models.registry import import_module_file

    file = Path(absolute)
    if not file.is_file():
        what = "is a directory" if file.is_dir() else "not found"
        raise UserPassError(f"pass file {what}: {shown}", hint="give the path to a .py file with @mase_pass functions")
    try:
        source = file.read_bytes()
    except OSError as exc:
        raise UserPassError(f"cannot read pass file {shown}: {exc}") from None
    # A module name per file and content: a reload never reuses (or, failing, removes) the
    # module the passes loaded before live in.
    digest = hashlib.sha1(absolute.encode() + b"\0" + source).hexdigest()[:10]
    name = f"{_MODULE_PREFIX}_{_identifier(file.stem)}_{digest}"
    try:
        module = import_module_file(absolute, name)
    except SyntaxError as exc:
        raise UserPassError(f"{shown}:{exc.lineno}: syntax error: {exc.msg}", hint=_KEPT) from None
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # any error in the user's code is reported, never raised raw
        line = _line_in(exc, absolute)
        where = f"{shown}:{line}" if line else shown
        message = exc.one_line() if isinstance(exc, ConfigError) else f"{type(exc).__name__}: {exc}"
        raise UserPassError(f"{where}: loading the pass file failed: {message}", hint=_KEPT) from None
    specs = [with_origin(spec, shown, fn) for fn, spec in _declared_in(module)]
    if not specs:
        sys.modules.pop(name, None)
        raise UserPassError(f"{shown} declares no passes",
                            hint="decorate a function with @mase_pass(...) (from core.passes import mase_pass, Arg)")
    return specs


_KEPT = "fix the file; the passes loaded before are kept"


def _declared_in(module: ModuleType) -> list[tuple[object, PassSpec]]:
    """Decorated functions defined in ``module`` (not ones it imported), in definition order."""
    out = []
    for value in vars(module).values():
        spec = declaration_of(value)
        if spec is not None and spec.module == module.__name__:
            out.append((value, spec))
    return sorted(out, key=lambda pair: pair[1].line)


def _identifier(stem: str) -> str:
    cleaned = "".join(c if c.isalnum() else "_" for c in stem)
    return cleaned if cleaned[:1].isalpha() else f"f_{cleaned}"


def _line_in(exc: BaseException, absolute: str) -> int | None:
    """The line of the innermost traceback frame in the user's file (or of a syntax error in it)."""
    if isinstance(exc, SyntaxError) and exc.filename and _absolute(exc.filename) == absolute:
        return exc.lineno
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__)
             if f.filename and _absolute(f.filename) == absolute]
    return lines[-1] if lines else None


# ------------------------------------------------------------------ entry points
def entry_points_installed() -> bool:
    """Whether any distribution on sys.path declares the ``mase_tui.passes`` group."""
    marker = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path:
        try:
            listing = os.scandir(entry or ".")
        except OSError:
            continue
        with listing:
            for item in listing:
                if not item.name.endswith((".dist-info", ".egg-info")):
                    continue
                try:
                    with open(os.path.join(item.path, "entry_points.txt"), encoding="utf-8") as f:
                        if marker in f.read():
                            return True
                except OSError:
                    continue
    return False


def load_entry_points() -> list[str]:
    """Register the passes of every ``mase_tui.passes`` entry point; returns one message per
    entry point that could not be loaded (the others still load)."""
    from importlib.metadata import entry_points

    problems = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        label = f"entry point '{ep.name} = {ep.value}'"
        try:
            loaded = ep.load()
            if isinstance(loaded, ModuleType):
                found = [with_origin(spec, label, fn) for fn, spec in _declared_in(loaded)]
            elif declaration_of(loaded) is not None:
                found = [with_origin(declaration_of(loaded), label, loaded)]
            else:
                found = []
            if not found:
                raise UserPassError(f"{label} declares no passes",
                                    hint="point it at a module with @mase_pass functions, or at one of them")
            _register(found, replacing_origin=label)
        except Exception as exc:  # a broken installed package must not stop the others
            if isinstance(exc, ConfigError):
                message = exc.one_line()
            else:
                file = _file_of_entry_point(ep)
                line = _line_in(exc, file) if file else None
                where = f" ({file}:{line})" if line else ""
                message = f"{label}{where}: {type(exc).__name__}: {exc}"
            logger.warning("%s", message)
            problems.append(message)
    return problems


def _file_of_entry_point(ep) -> str | None:
    module = ep.value.split(":", 1)[0].strip()
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return _absolute(found.origin) if found and found.origin else None
