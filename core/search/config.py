"""MASE's ``[search]`` TOML, read and checked before torch is imported.

The layout is MASE's (``search.search_space`` with ``setup.by`` and ``seed.<key>.config`` lists
of choices; ``search.strategy`` with ``setup``, ``sw_runner``, ``hw_runner`` and ``metrics``).
Every key is checked here, with a did-you-mean for misspellings, so a typo costs no trial and
no torch import. What MASE's code reads but never uses is accepted with a note; what it would
crash on is a clear error instead.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError

logger = logging.getLogger(__name__)

SPACE_NAMES = ("graph/quantize/mixed_precision_ptq",)
MASE_ONLY_SPACES = ("module/manual_hf/quantize/llm_mixed_precision_ptq",)
BY_VALUES = ("name", "type")
STRATEGIES = ("optuna",)
SAMPLERS = ("tpe", "nsgaii", "nsgaiii", "random", "qmc", "bruteforce")
DIRECTIONS = ("maximize", "minimize")
SW_RUNNERS = ("basic_evaluation",)
HW_RUNNERS = ("average_bitwidth", "cost")
# MASE's dataloader names and ours -> the data split
DATALOADERS = {"val_dataloader": "validation", "train_dataloader": "train", "test_dataloader": "test",
               "validation": "validation", "val": "validation", "train": "train", "test": "test"}

# metric -> (what computes it, what it is)
METRICS: dict[str, tuple[str, str]] = {
    "accuracy": ("basic_evaluation", "fraction of the evaluation samples classified correctly"),
    "loss": ("basic_evaluation", "mean cross-entropy on the evaluation samples"),
    "average_bitwidth": ("cost", "mean weight bit width over every weighted layer (float = 32)"),
    "memory_density": ("average_bitwidth", "compare_to / average_bitwidth"),
    "bitops": ("cost", "BitOPs per sample (MACs x input bits x weight bits)"),
    "param_bits": ("cost", "bits to store every parameter (per model)"),
    "flops": ("cost", "FLOPs per sample (2 x MACs + elementwise)"),
}
# what a minimisation needs for the metrics users normally minimise, used when a direction is
# missing and the objective is summed
DEFAULT_DIRECTIONS = {"accuracy": "maximize", "memory_density": "maximize"}

SETUP_KEYS = ("n_jobs", "n_trials", "timeout", "sampler", "sum_scaled_metrics", "direction", "seed",
              "save_every_n_trials", "pkl_ckpt", "model_parallel", "runner_style")
STRATEGY_KEYS = ("name", "eval_mode", "setup", "sw_runner", "hw_runner", "metrics")
SPACE_KEYS = ("name", "setup", "seed")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    scale: float
    direction: str


@dataclass
class SearchConfig:
    """A checked ``[search]`` section. ``seeds`` maps a seed key ("default", a node name or an
    op) to ``{config key: [choices]}`` with "NA" already turned into None."""

    path: Path | None
    by: str
    seeds: dict[str, dict[str, list[Any]]]
    sampler: str = "tpe"
    n_trials: int = 20
    n_jobs: int = 1
    timeout: float | None = None
    sum_scaled_metrics: bool = False
    direction: str = "maximize"
    seed: int | None = None
    eval_mode: bool = True
    num_samples: int | None = None
    split: str = "validation"
    compare_to: float = 32.0
    metrics: list[MetricSpec] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_evaluation(self) -> bool:
        return self.num_samples is not None

    @property
    def directions(self) -> list[str]:
        """Optuna's study directions: one summed objective, or one per metric in name order."""
        if self.sum_scaled_metrics:
            return [self.direction]
        return [m.direction for m in self.metrics]

    @property
    def objective_names(self) -> list[str]:
        return ["sum_scaled_metrics"] if self.sum_scaled_metrics else [m.name for m in self.metrics]

    def spec(self) -> dict[str, Any]:
        """Plain data describing what is searched and scored: stored with the study so a second
        process (or `--show`) knows what the study is, and so a different config cannot join it."""
        return {
            "space": "graph/quantize/mixed_precision_ptq", "by": self.by, "seeds": self.seeds,
            "metrics": [[m.name, m.scale, m.direction] for m in self.metrics],
            "sum_scaled_metrics": self.sum_scaled_metrics,
            "direction": self.direction if self.sum_scaled_metrics else None,
            "num_samples": self.num_samples, "split": self.split, "eval_mode": self.eval_mode,
            "compare_to": self.compare_to,
        }


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1)
    return f"did you mean '{close[0]}'?" if close else f"accepted: {', '.join(str(c) for c in choices)}"


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table, got {value!r}")
    return value


def _unknown(table: dict[str, Any], allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key '{key}'", hint=_suggest(key, allowed))


def _int(value: Any, where: str, lo: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"{where} must be an integer >= {lo}, got {value!r}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where} must be a number, got {value!r}")
    return float(value)


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def parse_search(data: dict[str, Any], path: Path | None = None) -> SearchConfig:
    """Check the ``search`` table of a parsed config (``data`` is the whole file)."""
    source = str(path) if path else "the config"
    if "search" not in data:
        raise ConfigError(f"{source} has no [search] section",
                          hint="add [search.search_space] and [search.strategy] tables (see configs/examples/search_jsc_toy_tpe.toml)")
    search = _table(data["search"], f"{source}: [search]")
    _unknown(search, ("search_space", "strategy"), f"{source}: [search]")
    for part in ("search_space", "strategy"):
        if part not in search:
            raise ConfigError(f"{source}: [search.{part}] is missing", hint="see configs/examples/search_jsc_toy_tpe.toml")
    notes: list[str] = []
    by, seeds = _parse_space(_table(search["search_space"], f"{source}: [search.search_space]"), source)
    cfg = SearchConfig(path=path, by=by, seeds=seeds, notes=notes, raw=data)
    _parse_strategy(_table(search["strategy"], f"{source}: [search.strategy]"), source, cfg)
    from core.search.choices import check_seeds

    check_seeds(cfg.seeds, source)
    return cfg


# --------------------------------------------------------------------------- search space
def _parse_space(space: dict[str, Any], source: str) -> tuple[str, dict[str, dict[str, list[Any]]]]:
    where = f"{source}: [search.search_space]"
    _unknown(space, SPACE_KEYS, where)
    name = space.get("name")
    if name in MASE_ONLY_SPACES:
        raise ConfigError(f"{where}: search space '{name}' (Hugging Face modules) is not supported",
                          hint=f"use name = \"{SPACE_NAMES[0]}\", which searches any traced graph")
    if name not in SPACE_NAMES:
        raise ConfigError(f"{where}: unknown search space {name!r}", hint=_suggest(name, SPACE_NAMES))
    setup = _table(space.get("setup", {}), f"{where}.setup")
    _unknown(setup, ("by",), f"{where}.setup")
    by = setup.get("by")
    if by not in BY_VALUES:
        raise ConfigError(f"{where}.setup: by must be \"name\" or \"type\", got {by!r}",
                          hint="by = \"name\": seeds keyed by node name; \"type\": by op (linear, relu, ...)")
    seed_table = _table(space.get("seed"), f"{where}.seed") if "seed" in space else None
    if not seed_table:
        raise ConfigError(f"{where}: no [search.search_space.seed.default.config] table",
                          hint="give the choices, e.g. data_in_width = [4, 8]")
    seeds: dict[str, dict[str, list[Any]]] = {}
    for key, entry in seed_table.items():
        w = f"{where}.seed.{key}"
        entry = _table(entry, w)
        if "config" not in entry:
            raise ConfigError(f"{w} has no 'config' table",
                              hint=f"write [search.search_space.seed.{key}.config] with lists of choices")
        _unknown(entry, ("config",), w)
        config = _table(entry["config"], f"{w}.config")
        choices: dict[str, list[Any]] = {}
        for k, v in config.items():
            values = list(v) if isinstance(v, (list, tuple)) else [v]
            if not values:
                raise ConfigError(f"{w}.config: '{k}' has no choices", hint="give at least one value")
            choices[str(k)] = values
        if "name" not in choices:
            raise ConfigError(f"{w}.config has no 'name'", hint="name = [\"integer\"] (or [\"NA\"] to leave float)")
        seeds[str(key)] = choices
    if "default" not in seeds:
        raise ConfigError(f"{where}: no seed.default", hint="nodes without their own seed use seed.default; "
                                                          "give [search.search_space.seed.default.config] name = [\"NA\"] to leave them float")
    return by, seeds


# --------------------------------------------------------------------------- strategy
def _parse_strategy(strategy: dict[str, Any], source: str, cfg: SearchConfig) -> None:
    where = f"{source}: [search.strategy]"
    _unknown(strategy, STRATEGY_KEYS, where)
    name = strategy.get("name", "optuna")
    if name not in STRATEGIES:
        raise ConfigError(f"{where}: unknown strategy {name!r}", hint=_suggest(name, STRATEGIES))
    cfg.eval_mode = _bool(strategy.get("eval_mode", True), f"{where}: eval_mode")
    _parse_setup(_table(strategy.get("setup", {}), f"{where}.setup"), f"{where}.setup", cfg)
    _parse_runners(strategy, where, cfg)
    _parse_metrics(_table(strategy.get("metrics", {}), f"{where}.metrics"), f"{where}.metrics", cfg)


def _parse_setup(setup: dict[str, Any], where: str, cfg: SearchConfig) -> None:
    _unknown(setup, SETUP_KEYS, where)
    if "n_trials" in setup:
        cfg.n_trials = _int(setup["n_trials"], f"{where}: n_trials", 1)
    if "n_jobs" in setup:
        cfg.n_jobs = _int(setup["n_jobs"], f"{where}: n_jobs", 1)
    if setup.get("timeout") is not None:
        cfg.timeout = _number(setup["timeout"], f"{where}: timeout")
        if cfg.timeout <= 0:
            raise ConfigError(f"{where}: timeout must be positive (seconds), got {setup['timeout']}")
    if "sampler" in setup:
        sampler = str(setup["sampler"]).lower()
        if sampler not in SAMPLERS:
            raise ConfigError(f"{where}: unknown sampler {setup['sampler']!r}", hint=_suggest(sampler, SAMPLERS))
        cfg.sampler = sampler
    if "sum_scaled_metrics" in setup:
        cfg.sum_scaled_metrics = _bool(setup["sum_scaled_metrics"], f"{where}: sum_scaled_metrics")
    if "direction" in setup:
        cfg.direction = _direction(setup["direction"], f"{where}: direction")
    if setup.get("seed") is not None:
        cfg.seed = _int(setup["seed"], f"{where}: seed", 0)
    if setup.get("pkl_ckpt") is not None:
        cfg.notes.append("pkl_ckpt is not used: the study lives in its Optuna storage and resumes from it")
    if "save_every_n_trials" in setup:
        cfg.notes.append("save_every_n_trials is not used: every trial is stored when it finishes")
    for unused in ("model_parallel", "runner_style"):
        if unused in setup:
            cfg.notes.append(f"{unused} is not used (MASE's code does not read it either)")


def _direction(value: Any, where: str) -> str:
    if value not in DIRECTIONS:
        raise ConfigError(f"{where} must be \"maximize\" or \"minimize\", got {value!r}", hint=_suggest(value, DIRECTIONS))
    return value


def _parse_runners(strategy: dict[str, Any], where: str, cfg: SearchConfig) -> None:
    for kind, known in (("sw_runner", SW_RUNNERS), ("hw_runner", HW_RUNNERS)):
        runners = strategy.get(kind, {})
        if isinstance(runners, str):  # MASE's older schema: sw_runner = "basic_evaluation"
            raise ConfigError(f"{where}: {kind} = {runners!r} is MASE's old schema",
                              hint=f"write a table: [search.strategy.{kind}.{runners}] with its settings")
        runners = _table(runners, f"{where}.{kind}")
        for runner, args in runners.items():
            w = f"{where}.{kind}.{runner}"
            if runner not in known:
                if runner in ("basic_train", "hw_dummy"):
                    raise ConfigError(f"{w}: runner '{runner}' is not supported",
                                      hint="basic_train only works for NLP in MASE; hw_dummy returns nothing: remove it")
                raise ConfigError(f"{where}: unknown {kind} '{runner}'", hint=_suggest(runner, known))
            args = _table(args or {}, w)
            if runner == "basic_evaluation":
                _unknown(args, ("num_samples", "dataloader", "data_loader"), w)
                if "num_samples" not in args:
                    raise ConfigError(f"{w}: num_samples is missing", hint="num_samples = 512 (samples scored per trial)")
                cfg.num_samples = _int(args["num_samples"], f"{w}: num_samples", 1)
                loader = args.get("dataloader", args.get("data_loader", "val_dataloader"))
                if loader not in DATALOADERS:
                    raise ConfigError(f"{w}: unknown dataloader {loader!r}", hint=_suggest(loader, DATALOADERS))
                cfg.split = DATALOADERS[loader]
            elif runner == "average_bitwidth":
                _unknown(args, ("compare_to",), w)
                if "compare_to" in args:
                    cfg.compare_to = _number(args["compare_to"], f"{w}: compare_to")
                    if cfg.compare_to <= 0:
                        raise ConfigError(f"{w}: compare_to must be positive, got {args['compare_to']}")
            else:
                _unknown(args, (), w)


def _parse_metrics(metrics: dict[str, Any], where: str, cfg: SearchConfig) -> None:
    if not metrics:
        raise ConfigError(f"{where}: no metrics", hint="e.g. accuracy.scale = 1.0, accuracy.direction = \"maximize\"")
    specs = []
    for name in sorted(metrics):  # MASE orders the objectives by metric name
        w = f"{where}.{name}"
        if name not in METRICS:
            if name == "perplexity":
                raise ConfigError(f"{w}: perplexity needs a language model", hint="the search scores classifiers: use accuracy or loss")
            raise ConfigError(f"{where}: unknown metric '{name}'", hint=_suggest(name, METRICS))
        entry = _table(metrics[name], w)
        _unknown(entry, ("scale", "direction"), w)
        scale = _number(entry.get("scale", 1.0), f"{w}.scale")
        if "direction" in entry:
            direction = _direction(entry["direction"], f"{w}.direction")
        elif cfg.sum_scaled_metrics:
            direction = DEFAULT_DIRECTIONS.get(name, "minimize")
        else:
            raise ConfigError(f"{w}.direction is missing", hint="each metric of a multi-objective search needs "
                                                               "direction = \"maximize\" or \"minimize\"")
        source = METRICS[name][0]
        if source == "basic_evaluation" and cfg.num_samples is None:
            raise ConfigError(f"{w}: '{name}' needs [search.strategy.sw_runner.basic_evaluation]",
                              hint="add it with num_samples = 512")
        specs.append(MetricSpec(name, scale, direction))
    cfg.metrics = specs
