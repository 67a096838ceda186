"""The pass registry: every pass by name, built-in and user-written.

``PASSES`` maps MASE's pass names to their declarations (``PassSpec``, see schema.py). Built-in
declarations are read from the source of the modules in BUILTIN_MODULES on first use, without
importing them, so listing passes never imports torch; a pass function is imported when it
runs. User passes (``--passes FILE``, ``passes_files`` in a TOML config, the ``mase_tui.passes``
entry-point group) are added by core.passes.user_passes. A new built-in pass is a decorated
function in one of these modules (a new module is one more line in BUILTIN_MODULES).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator, Mapping

from core.errors import ConfigError
from core.passes.schema import PassSpec

# A pass whose declaration has the session supply this runs real batches through the graph.
NEEDS_INPUT_GENERATOR = "input_generator"

# Modules holding built-in passes, in the order passes are listed (then source order within).
BUILTIN_MODULES = (
    "core.passes.analysis.init_metadata",
    "core.passes.analysis.common_metadata",
    "core.passes.analysis.software_metadata",
    "core.passes.analysis.report_graph",
    "core.passes.analysis.report_node",
    "core.passes.analysis.verify_metadata",
    "core.passes.analysis.profile_statistics",
    "core.passes.transforms.quantize",
    "core.passes.analysis.quant_summary",
    "core.passes.analysis.verify_quant",
    "core.passes.analysis.cost",
    "core.passes.analysis.avg_bits",
    "core.passes.interface.save_load",
)


class PassRegistry(Mapping):
    """name -> PassSpec. Built-ins load on first access; user passes are added and removed by
    where they came from (their origin), so a reloaded file replaces its own passes."""

    def __init__(self, modules: tuple[str, ...]) -> None:
        self._modules = modules
        self._lock = threading.RLock()
        self._specs: dict[str, PassSpec] | None = None
        self._names: dict[str, str] = {}  # every accepted name (full, short, alias) -> full name
        self.problems: list[str] = []  # entry points that could not be loaded, one line each

    # ---------------------------------------------------------------- Mapping
    def _all(self) -> dict[str, PassSpec]:
        if self._specs is None:
            with self._lock:
                if self._specs is None:
                    from core.passes.declarations import read_declarations

                    specs: dict[str, PassSpec] = {}
                    names: dict[str, str] = {}
                    for module in self._modules:
                        for spec in read_declarations(module):
                            _claim(spec, specs, names)
                            specs[spec.name] = spec
                    self._names = names
                    self._specs = specs
                    self._load_entry_points()
        return self._specs

    def _load_entry_points(self) -> None:
        """Installed packages' passes (the ``mase_tui.passes`` group). Reading entry points with
        importlib.metadata costs a few hundred ms, so a scan for the group's name in the
        installed distributions' entry_points.txt (about a ms) decides whether to."""
        from core.passes import user_passes

        if user_passes.entry_points_installed():
            self.problems = user_passes.load_entry_points()

    def __getitem__(self, name: str) -> PassSpec:
        return self._all()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._all()))

    def __len__(self) -> int:
        return len(self._all())

    # ---------------------------------------------------------------- names
    def resolve(self, name: str) -> str:
        specs = self._all()
        if name in specs:
            return name
        if name in self._names:
            return self._names[name]
        close = difflib.get_close_matches(name, list(self._names), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "run `mase-tui passes` to list them"
        raise ConfigError(f"unknown pass '{name}'", hint=hint)

    # ---------------------------------------------------------------- user passes
    def add(self, new: list[PassSpec], *, replacing_origin: str | None = None) -> None:
        """Add passes (all or none). Passes from ``replacing_origin`` are replaced, so reloading
        a file swaps its passes at once; any other clash of names is a ConfigError naming both."""
        with self._lock:
            specs = {n: s for n, s in self._all().items() if s.origin != replacing_origin or s.builtin}
            names = {k: v for k, v in self._names.items() if v in specs}
            for spec in new:
                _claim(spec, specs, names)
                specs[spec.name] = spec
            self._specs, self._names = specs, names

    def remove_origin(self, origin: str) -> None:
        with self._lock:
            specs = {n: s for n, s in self._all().items() if s.origin != origin or s.builtin}
            self._names = {k: v for k, v in self._names.items() if v in specs}
            self._specs = specs

    def user_origins(self) -> list[str]:
        return list(dict.fromkeys(s.origin for s in self._all().values() if not s.builtin))


def _claim(spec: PassSpec, specs: dict[str, PassSpec], names: dict[str, str]) -> None:
    """Record the names of ``spec``; a name another pass already has is an error naming both."""
    own = tuple(dict.fromkeys((spec.name, spec.short_name, *spec.aliases)))
    for name in own:
        owner = names.get(name)
        if owner is not None:
            other = specs[owner]
            what = "built-in " if other.builtin else ""
            raise ConfigError(
                f"{spec.where}: pass {spec.name} clashes with {what}pass {other.name} ({other.where}): "
                f"both are called '{name}'", hint=f"rename {spec.name} or its aliases")
    for name in own:
        names[name] = spec.name


PASSES = PassRegistry(BUILTIN_MODULES)


def resolve_pass_name(name: str) -> str:
    return PASSES.resolve(name)


def get_pass(name: str) -> PassSpec:
    return PASSES[resolve_pass_name(name)]
