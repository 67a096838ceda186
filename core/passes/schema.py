"""Pass declarations: what a pass accepts, needs, changes, and how its result is shown.

Every pass, built-in or a user's own, declares itself with ``@mase_pass`` right above its
function. That one declaration is what the registry (``core.passes.PASSES``), the config loader
(``[passes.NAME]`` validation), the CLI (``mase-tui passes``, ``transform``), the app's pass
editor and its command palette read; nothing else lists a pass's arguments::

    from core.passes.schema import Arg, mase_pass

    @mase_pass(
        "count_ops_analysis_pass",
        kind="analysis",
        doc="FLOPs and BitOPs of every node, per sample",
        args=[Arg("uniq", "bool", False, "also count accumulator-aware BitOPs"),
              Arg("save_path", "path", None, "also write a CSV here", output="count_ops.csv")],
    )
    def count_ops_analysis_pass(graph, pass_args=None):
        ...
        return graph, info  # info: plain data (JSON-serialisable)

Fields of ``mase_pass``:

- ``name``: MASE's function name. Its short name (the name without ``_analysis_pass``,
  ``_transform_pass``, ``_interface_pass`` or ``_pass``) and every name in ``aliases`` resolve
  too, so ``[passes.quantize]`` runs ``quantize_transform_pass``.
- ``kind``: ``"analysis"``, ``"transform"`` or ``"interface"``.
- ``doc``: one line for listings.
- ``args``: ``Arg(name, type, default, doc, required=False, choices=(), supplied=None,
  output=None)``. ``type`` is one of TYPES, or several joined by ``|`` (``"str|list"``); None
  and MASE's ``"NA"`` are always accepted. ``supplied`` names what the Session fills in when the
  caller gives nothing (one of SUPPLIES); the editor does not show such arguments.
  ``output`` is the default path, under a run's output directory, that ``mase-tui transform``
  gives the argument (report files, summaries).
- ``changes_graph``: the pass may return a different graph (transforms, loading). The Session
  runs it on a private copy and swaps that in only when the pass finishes (torch.fx's
  ``PassResult.modified``, declared instead of guessed).
- ``writes_metadata``: the pass adds or rewrites node metadata (statistics, types) but keeps the
  nodes and modules. Passes with neither flag leave graph and metadata exactly as they were.
- ``free_form``: keys besides ``args`` belong to the pass (quantize's op and node names); the
  pass checks them itself, and its declared defaults apply only when no argument is given.
- ``renderer``: the name of a renderer in ``mase_tui.render.RENDERERS`` (``"generic"`` when
  omitted); a user pass may give a callable ``info -> rich renderable`` instead.
- ``validator``: the name of a function ``(graph, pass_args) -> None`` in the same module that
  checks arguments against a graph without running the pass (the editor calls it first).
- ``config_check``: ``"module:function"`` (or a function name in the pass's module) checking
  ``(pass_args, where)`` with no graph and no torch: the config loader and the editor run it, so
  a bad config fails before a model loads.
- ``aliases``: more names that resolve to this pass (MASE's older names).

The decorator returns the function wrapped so that a ``dict`` of pass arguments is checked
against the declaration (unknown keys with a did-you-mean, wrong types) before the body runs;
MASE's call signatures are unchanged and ``progress``/``cancel`` (RUNTIME_ARGS) are always
accepted. Built-in declarations must be literal (constants, lists, dicts, ``Arg(...)``): the
registry reads them from the source without importing the module, so listing passes never
imports torch.
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from core.errors import ConfigError

KINDS = ("analysis", "transform", "interface")
# What the Session can fill in (see Session.complete_args).
SUPPLIES = {
    "input_generator": "batches of model inputs from the session's training split",
    "original_graph": "the session's original (unchanged) graph",
    "dummy_in": "the session's dummy input, keyed by placeholder name",
    "trust_checkpoint": "the session's --trust-checkpoint setting",
}
# Keyword arguments every pass accepts: a callback for progress and a threading.Event to stop.
RUNTIME_ARGS = ("progress", "cancel")
# Argument types: what a TOML value (or a Python caller) may give.
TYPES = ("bool", "int", "float", "str", "path", "list", "table", "any", "object")
_SUFFIXES = ("_analysis_pass", "_transform_pass", "_interface_pass", "_pass")
_TYPE_WORDS = {"bool": "a boolean", "int": "an integer", "float": "a number", "str": "a string",
               "path": "a path", "list": "a list", "table": "a table"}


@dataclass(frozen=True)
class Arg:
    """One argument of a pass."""

    name: str
    type: str = "any"
    default: Any = None
    doc: str = ""
    required: bool = False
    choices: tuple = ()
    supplied: str | None = None
    output: str | None = None

    def __post_init__(self) -> None:
        for part in self.type.split("|"):
            if part not in TYPES:
                raise ConfigError(f"argument '{self.name}': unknown type '{part}'", hint=f"types: {', '.join(TYPES)}")
        if self.supplied is not None and self.supplied not in SUPPLIES:
            raise ConfigError(f"argument '{self.name}': the session cannot supply '{self.supplied}'",
                              hint=f"supplied is one of {', '.join(SUPPLIES)}")
        object.__setattr__(self, "choices", tuple(self.choices))

    @property
    def editable(self) -> bool:
        """Typed by the user (the editor shows it): not a runtime object the session fills in."""
        return self.supplied is None and self.type != "object"

    def type_words(self) -> str:
        return " or ".join(_TYPE_WORDS.get(t, t) for t in self.type.split("|"))

    def accepts(self, value: Any) -> bool:
        if value is None or value == "NA":  # MASE writes "NA" for None, also in Python calls
            return True
        return any(_is_type(value, t) for t in self.type.split("|"))


def _is_type(value: Any, kind: str) -> bool:
    if kind in ("any", "object"):
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int)
    if kind == "float":
        return isinstance(value, (int, float))
    if kind == "str":
        return isinstance(value, str)
    if kind == "path":
        return isinstance(value, (str, os.PathLike))
    if kind == "list":
        return isinstance(value, (list, tuple))
    return isinstance(value, dict)  # table


@dataclass(frozen=True)
class PassSpec:
    """A pass's declaration plus where it comes from (built-in module, user file, entry point)."""

    name: str
    kind: str
    description: str
    module: str
    func: str
    args: tuple[Arg, ...] = ()
    aliases: tuple[str, ...] = ()
    changes_graph: bool = False
    writes_metadata: bool = False
    free_form: bool = False
    renderer: Any = "generic"
    validator: str | None = None
    config_check: str | None = None
    origin: str = "built-in"  # "built-in", the user's pass file as given, or "entry point NAME"
    file: str = ""  # the source file (matched against traceback frames)
    line: int = 0
    loaded_fn: Callable | None = field(default=None, compare=False, repr=False)

    @property
    def fn(self) -> Callable:
        if self.loaded_fn is not None:
            return self.loaded_fn
        return getattr(importlib.import_module(self.module), self.func)

    @property
    def builtin(self) -> bool:
        return self.origin == "built-in"

    @property
    def short_name(self) -> str:
        return short_name(self.name)

    @property
    def needs(self) -> tuple[str, ...]:
        """What the Session supplies to this pass (SUPPLIES keys), in declaration order."""
        return tuple(a.supplied for a in self.args if a.supplied)

    @property
    def output_args(self) -> dict[str, str]:
        """Argument -> default path under a run's output directory."""
        return {a.name: a.output for a in self.args if a.output}

    @property
    def shown_file(self) -> str:
        """The source file for messages: a pass file as the user gave it, else relative."""
        user_file = not self.builtin and not self.origin.startswith("entry point")
        return self.origin if user_file else _relative(self.file)

    @property
    def where(self) -> str:
        """Where the declaration is, for messages: ``core/passes/analysis/cost.py:101``."""
        return f"{self.shown_file}:{self.line}" if self.line else self.shown_file

    def arg(self, name: str) -> Arg | None:
        return next((a for a in self.args if a.name == name), None)

    def defaults(self) -> dict[str, Any]:
        return {a.name: _fresh(a.default) for a in self.args}

    def editable_defaults(self) -> dict[str, Any]:
        """The arguments a user types, with their defaults (what the editor starts from)."""
        return {a.name: _fresh(a.default) for a in self.args if a.editable}

    def validate_fn(self) -> Callable | None:
        """The module's ``validator`` (checks arguments against a graph without running)."""
        if not self.validator:
            return None
        import sys

        module = sys.modules.get(self.module) or importlib.import_module(self.module)
        return getattr(module, self.validator, None)

    def check_args(self, args: dict[str, Any], where: str | None = None) -> None:
        check_args(self, args, where)

    def check_config(self, args: dict[str, Any], where: str | None = None) -> None:
        """What a config alone can show: the declaration's checks, then the pass's own
        ``config_check`` (no graph, no torch) if it declares one."""
        check_args(self, args, where)
        if self.config_check:
            module, _, name = self.config_check.rpartition(":")
            check = getattr(importlib.import_module(module or self.module), name)
            check(args, where or self.name)

    def __call__(self, graph, pass_args=None, **kwargs):
        return self.fn(graph, pass_args, **kwargs)


def _fresh(value: Any) -> Any:
    """Defaults are lists and dicts: every caller gets its own copy."""
    return copy.deepcopy(value)


def _relative(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path


def short_name(name: str) -> str:
    for suffix in _SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def declare(name: str, *, kind: str, doc: str = "", args: Iterable[Arg] = (), aliases: Iterable[str] = (),
            changes_graph: bool = False, writes_metadata: bool = False, free_form: bool = False,
            renderer: Any = "generic", validator: str | None = None, config_check: str | None = None,
            module: str = "", func: str = "",
            origin: str = "built-in", file: str = "", line: int = 0) -> PassSpec:
    """A checked PassSpec (the decorator and the source reader both build declarations here)."""
    where = f"{_relative(file)}:{line}: " if file else ""
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"{where}pass name {name!r} is not a Python identifier")
    if kind not in KINDS:
        raise ConfigError(f"{where}{name}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    args = tuple(args)
    for a in args:
        if not isinstance(a, Arg):
            raise ConfigError(f"{where}{name}: args must be Arg(...) entries, got {a!r}")
    names = [a.name for a in args]
    twice = sorted({n for n in names if names.count(n) > 1} | (set(names) & set(RUNTIME_ARGS)))
    if twice:
        raise ConfigError(f"{where}{name}: argument(s) {', '.join(twice)} declared twice (or reserved)")
    if not (renderer is None or isinstance(renderer, str) or callable(renderer)):
        raise ConfigError(f"{where}{name}: renderer must be a renderer name or a callable")
    return PassSpec(name=name, kind=kind, description=" ".join(str(doc).split()), module=module, func=func,
                    args=args, aliases=tuple(aliases), changes_graph=bool(changes_graph),
                    writes_metadata=bool(writes_metadata), free_form=bool(free_form),
                    renderer=renderer or "generic", validator=validator, config_check=config_check,
                    origin=origin, file=file, line=line)


def mase_pass(name: str, **declaration: Any) -> Callable[[Callable], Callable]:
    """Declare the decorated function a pass (see the module docstring for the fields)."""

    def decorate(fn: Callable) -> Callable:
        code = getattr(fn, "__code__", None)
        spec = declare(name, module=fn.__module__, func=fn.__name__,
                       file=code.co_filename if code else "", line=code.co_firstlineno if code else 0,
                       **declaration)

        @functools.wraps(fn)
        def checked(graph=None, pass_args=None, *rest, **kwargs):
            if isinstance(pass_args, dict):
                check_args(spec, pass_args)
            return fn(graph, pass_args, *rest, **kwargs)

        checked.__mase_pass__ = spec
        return checked

    return decorate


def declaration_of(fn: Any) -> PassSpec | None:
    return getattr(fn, "__mase_pass__", None)


def with_origin(spec: PassSpec, origin: str, fn: Callable | None) -> PassSpec:
    return replace(spec, origin=origin, loaded_fn=fn)


# ------------------------------------------------------------------ checking arguments
def check_args(spec: PassSpec, args: dict[str, Any], where: str | None = None) -> None:
    """Unknown keys (unless the pass is free-form) and values of the wrong type or not among the
    choices raise one ConfigError naming the problem and the fix."""
    where = where or spec.name
    declared = {a.name: a for a in spec.args}
    if not spec.free_form:
        unknown = [k for k in args if k not in declared and k not in RUNTIME_ARGS]
        if unknown:
            accepted = [a.name for a in spec.args if a.editable] or [a.name for a in spec.args]
            close = difflib.get_close_matches(str(unknown[0]), list(declared), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: unknown argument(s) {', '.join(map(str, unknown))} for {spec.name}",
                              hint=f"{hint}accepted: {', '.join(accepted) or 'none'}")
    for key, value in args.items():
        arg = declared.get(key)
        if arg is None:
            continue
        if not arg.accepts(value):
            shown = f" (the default is {arg.default!r})" if arg.default is not None else ""
            raise ConfigError(f"{where}: '{key}' must be {arg.type_words()}, got {value!r}{shown}")
        if arg.choices and value is not None and value != "NA":
            values = value if isinstance(value, (list, tuple)) and "list" in arg.type else [value]
            bad = [v for v in values if v not in arg.choices]
            if bad:
                raise ConfigError(f"{where}: '{key}' = {bad[0]!r} is not one of {', '.join(map(str, arg.choices))}")
