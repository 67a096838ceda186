"""What profile_statistics accepts, without torch: the statistics' names and options (with
their defaults), and the checks a config alone can run. The config loader runs
:func:`check_profile_args` before torch or a model loads, so a misspelt statistic or a bad
option fails at once; the pass runs the same checks again when it makes its statistics
(a Python caller skips the loader)."""

from __future__ import annotations

import difflib
import math
from typing import Any

from core.errors import ConfigError

NA = "NA"  # MASE's spelling of "none" in configs

OPTIONS: dict[str, dict[str, Any]] = {
    "record": {"device": None, "add_new_dim_before_concat": False},
    "variance_online": {"device": None, "dims": "all"},
    "variance_precise": {"device": None, "dims": "all"},
    "range_n_sigma": {"device": None, "dims": "all", "abs": False, "var_mode": "online", "num_sigma": 3},
    "range_min_max": {"device": None, "dims": "all", "abs": False},
    "range_quantile": {"device": None, "abs": False, "dims": "all", "quantile": 0.975, "mode": "pooled"},
    "abs_mean": {"device": None, "dims": "all"},
}

REPLAY_BUDGET_MB = 256  # the declared default of profile_statistics' replay_budget_mb


def check_name(name: Any, where: str) -> None:
    if name not in OPTIONS:
        close = difflib.get_close_matches(str(name), list(OPTIONS), n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"available: {', '.join(OPTIONS)}"
        raise ConfigError(f"{where}: unknown statistic '{name}'", hint=hint)


def check_options(name: str, kwargs: dict[str, Any], where: str) -> None:
    """Option names and values of statistic ``name`` (a known one); a device is checked for
    being a string here, and against torch when the statistic is made."""
    options = OPTIONS[name]
    for key in kwargs:
        if key not in options:
            close = difflib.get_close_matches(key, list(options), n=1)
            hint = f"did you mean '{close[0]}'?" if close else f"options of {name}: {', '.join(options)}"
            raise ConfigError(f"{where}: statistic '{name}' has no option '{key}'", hint=hint)
    dims = kwargs.get("dims", "all")
    if not (dims in ("all", None, NA) or (isinstance(dims, (list, tuple))
                                          and all(isinstance(d, int) and not isinstance(d, bool) for d in dims))):
        raise ConfigError(f"{where}: {name} dims must be \"all\", None or a list of ints, got {dims!r}")
    q = kwargs.get("quantile", 0.975)
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 <= q <= 1.0:
        raise ConfigError(f"{where}: {name} quantile must be a number in [0, 1], got {q!r}")
    if kwargs.get("mode", "pooled") not in ("pooled", "per_sample_mean"):
        raise ConfigError(f"{where}: {name} mode must be \"pooled\" or \"per_sample_mean\", got {kwargs['mode']!r}")
    if kwargs.get("var_mode", "online") not in ("online", "precise"):
        raise ConfigError(f"{where}: {name} var_mode must be \"online\" or \"precise\", got {kwargs['var_mode']!r}")
    sigma = kwargs.get("num_sigma", 3)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or sigma <= 0:
        raise ConfigError(f"{where}: {name} num_sigma must be a positive number, got {sigma!r}")
    device = kwargs.get("device")
    if device is not None and not isinstance(device, str):
        raise ConfigError(f"{where}: {name} device must be a string such as \"cpu\", got {device!r}")


def check_spec(spec: Any, where: str) -> None:
    """A ``{statistic name: options}`` table."""
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a table of statistic name -> options, got {type(spec).__name__}")
    for name, opts in spec.items():
        if opts is not None and not isinstance(opts, dict):
            raise ConfigError(f"{where}: options of '{name}' must be a table, got {opts!r}")
        check_name(name, where)
        check_options(name, dict(opts or {}), where)


def check_replay_budget(budget: Any) -> None:
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or math.isnan(budget) or budget < 0:
        raise ConfigError(f"profile_statistics: replay_budget_mb must be a number >= 0, got {budget!r}",
                          hint="megabytes of input batches kept for a replay; 0 never guesses")


def check_profile_args(args: dict[str, Any], where: str = "profile_statistics") -> None:
    """What a profile_statistics config alone shows to be wrong (the declaration has checked
    the argument names and types): statistic names, options and their values, the replay
    budget. Target names need the graph and are checked when the pass runs."""
    for key in ("weight_statistics", "activation_statistics"):
        check_spec(args.get(key), f"{where}: {key}")
    try:
        check_replay_budget(args.get("replay_budget_mb", REPLAY_BUDGET_MB))
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc.message}", hint=exc.hint) from None
