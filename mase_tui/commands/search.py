"""`mase-tui search` / `ch search`: mixed-precision search over MASE's [search] TOML, on Optuna.

``ch search --config configs/examples/search_jsc_toy_tpe.toml`` runs a study whose storage is a
SQLite file in the output directory; ``--storage postgresql://... --study NAME`` shares one
study between processes and machines; ``--workers N`` starts N local worker processes;
``--show`` prints (and saves) the Pareto front of a study from its storage at any time.
Outputs: ``<project_dir>/<project>/software/search/<study>/``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

logger = logging.getLogger(__name__)


def register(sub) -> None:
    S = argparse.SUPPRESS
    p = sub.add_parser(
        "search",
        help="search per-layer precisions (MASE's [search] TOML) on Optuna; Pareto front as CSV/JSON/TOML",
        description="Mixed-precision search over a MASE [search] config, on an Optuna study that one or many "
                    "processes and machines share. Precedence: defaults < config file < flags. Outputs: "
                    "<project_dir>/<project>/software/search/<study>/ (study.db, pareto.csv, pareto.json, "
                    "trials.json, pareto/trial_<N>.toml).",
    )
    p.add_argument("model", nargs="?", default=S, help="model name (or set model in the config)")
    p.add_argument("dataset", nargs="?", default=S, help="dataset name (or set dataset in the config)")
    p.add_argument("--config", default=None, metavar="PATH", help="MASE TOML config with a [search] section")
    p.add_argument("--storage", default=None, metavar="URL",
                   help="Optuna storage URL shared by workers, e.g. postgresql://user:pw@host/db "
                        "(default: sqlite file study.db in the output directory)")
    p.add_argument("--study", default=None, metavar="NAME", help="study name (default: <model>_<config file name>)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: the config's n_jobs, else 1)")
    p.add_argument("--n-trials", dest="n_trials", type=int, default=None, metavar="N",
                   help="distinct configurations to evaluate in the study (default: the config's n_trials)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="stop starting trials after this")
    p.add_argument("--sampler", default=None, help="tpe, nsgaii, nsgaiii, random, qmc or bruteforce")
    p.add_argument("--sampler-seed", dest="sampler_seed", type=int, default=None, metavar="N",
                   help="sampler seed (default: setup.seed, else the top-level seed); worker i uses N + i")
    p.add_argument("--show", action="store_true", help="print and save the Pareto front of the study; run nothing")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="torch threads per worker (default 1)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--load", dest="load_name", default=S, metavar="PATH", help="checkpoint to load")
    p.add_argument("--load-type", dest="load_type", choices=["pt", "pl", "mz"], default=S)
    p.add_argument("--batch-size", dest="batch_size", type=int, default=S, metavar="N")
    p.add_argument("--seed", type=int, default=S, help="random seed (default 0)")
    p.add_argument("--project-dir", dest="project_dir", default=S, metavar="DIR", help="output root (default ./mase_output)")
    p.add_argument("--project", default=S, metavar="NAME", help="project name (default {model}_{task}_{dataset})")
    p.add_argument("--dataset-path", dest="dataset_path", default=S, metavar="PATH")
    p.add_argument("--trust-checkpoint", dest="trust_checkpoint", action="store_true", default=S)
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false", default=S,
                   help="random init instead of the shipped weights of jsc-tiny / jsc-toy")
    p.add_argument("--task", default=S)
    p.add_argument("--accelerator", default=S, help="accepted; the search runs on the CPU")
    p.add_argument("--cpu", "--num-workers", dest="num_workers", type=int, default=S,
                   help="accepted for MASE command lines; data is preloaded, no loader workers")
    p.add_argument("--debug", dest="to_debug", action="store_true", default=S, help="show tracebacks on errors")
    p.set_defaults(func=run)


def _check_numbers(args) -> None:
    from core.errors import ConfigError

    for flag, value, lo in (("--workers", args.workers, 1), ("--n-trials", args.n_trials, 1),
                            ("--threads", args.threads, 1)):
        if value is not None and value < lo:
            raise ConfigError(f"{flag} must be at least {lo}, got {value}")
    if args.timeout is not None and args.timeout <= 0:
        raise ConfigError(f"--timeout must be positive, got {args.timeout}")
    if args.sampler is not None:
        from core.search.config import SAMPLERS

        if args.sampler.lower() not in SAMPLERS:
            import difflib

            close = difflib.get_close_matches(args.sampler.lower(), SAMPLERS, n=1)
            raise ConfigError(f"unknown sampler '{args.sampler}'",
                              hint=f"did you mean '{close[0]}'?" if close else f"one of {', '.join(SAMPLERS)}")


def run(args) -> int:
    from core.errors import ConfigError

    _check_numbers(args)
    if not args.config:
        if args.show and args.storage and args.study:
            return _show_only(args)
        raise ConfigError("search needs a config", hint="give --config path/to/search.toml "
                          "(or --show --storage URL --study NAME to read a study)")
    from core.config import config_from_dict, read_toml
    from core.search.config import parse_search
    from mase_tui.commands.transform_settings import explicit_flags, merge_settings

    path = Path(args.config)
    data = read_toml(path)
    search = parse_search(data, path)  # everything checked before torch is imported
    base = config_from_dict({k: v for k, v in data.items() if k != "search"}, path)
    explicit = explicit_flags(args)
    settings = merge_settings(base.settings, explicit)
    values = dict(settings.values)
    if "project" not in base.settings and "project" not in explicit:
        values["project"] = f"{values['model']}_{values['task']}_{values['dataset']}".replace("/", "-")
    values["pretrained"] = getattr(args, "pretrained", True)
    for note in [*settings.notes, *search.notes]:
        logger.warning("%s: %s", path, note)
    study = args.study or f"{str(values['model']).replace('/', '-')}_{path.stem}"
    out_dir = Path(values["project_dir"]) / values["project"] / "software" / "search" / study

    from core.search.runner import SearchOptions

    options = SearchOptions(out_dir=out_dir, study=study, storage=args.storage,
                            workers=args.workers or search.n_jobs, n_trials=args.n_trials, timeout=args.timeout,
                            sampler=args.sampler.lower() if args.sampler else None, seed=args.sampler_seed,
                            threads=args.threads)
    if args.show:
        return _show(options.storage_url, study, out_dir)
    return _search(search, values, options, show_progress=args.progress)


def _search(search, settings, options, *, show_progress: bool) -> int:
    from rich.console import Console
    from rich.markup import escape

    from core.search.runner import run_search

    console = Console(highlight=False)
    n_trials = options.n_trials or search.n_trials
    storage = options.storage_url
    console.print(f"search: {settings['model']} on {settings['dataset']}, study '{options.study}' "
                  f"({_redact(storage)}), {n_trials} trials, {options.workers} worker(s)", markup=False)
    say = lambda msg: console.print(f"[dim]{escape(str(msg))}[/]")  # noqa: E731 - one-line progress printer
    bar = _ProgressBar(console, n_trials) if show_progress else None
    try:
        outcome = run_search(search, settings, options, on_progress=bar.update if bar else None, say=say)
    finally:
        if bar is not None:
            bar.stop()
    results = outcome.results
    console.print(front_table(results))
    evaluated = sum(r["evaluated"] for r in outcome.reports)
    rate = evaluated / outcome.seconds if outcome.seconds > 0 else 0.0
    reason = {"budget": "trial budget reached", "timeout": "timeout", "exhausted":
              "every configuration of the space evaluated"}.get(outcome.stop_reason, outcome.stop_reason or "done")
    console.print(f"{len(results['rows'])} trials complete ({reason}); {evaluated} evaluated by this run in "
                  f"{outcome.seconds:.1f} s ({rate:.1f} trials/s)")
    console.print(f"results: {outcome.out_dir}  (Pareto configs: pareto/trial_<N>.toml; "
                  f"`ch transform --config` runs them)", markup=False)
    console.print(f"[dim]dashboard: optuna-dashboard {escape(_redact(storage))}[/]")
    return 0


def _redact(url: str) -> str:
    from core.search.study import _redact as redact

    return redact(url)


def _show(storage_url: str, study_name: str, out_dir: Path) -> int:
    from rich.console import Console

    from core.search.results import write_results
    from core.search.study import load_study, open_storage

    storage = open_storage(storage_url)
    study = load_study(storage, study_name)
    results = write_results(out_dir, study, study_name)
    console = Console(highlight=False)
    console.print(front_table(results))
    console.print(f"{len(results['rows'])} complete trials; results written to {out_dir}", markup=False)
    return 0


def _show_only(args) -> int:
    out_dir = Path(getattr(args, "project_dir", "mase_output")) / "search" / args.study
    return _show(args.storage, args.study, out_dir)


def front_table(results):
    """The Pareto front: trial, per-layer precision, accuracy, BitOPs, average bits (+ objectives)."""
    from rich import box

    from core.utils.tables import format_count
    from mase_tui.markup import PlainTable as Table

    front = sorted(results["front"], key=lambda r: (r.metrics.get("bitops", 0), r.number))
    shown = ["accuracy", "bitops", "average_bitwidth"]
    extra = [n for n in results["names"] if n not in shown]
    table = Table(title=f"Pareto front ({len(front)} of {len(results['rows'])} trials; "
                        f"objectives: {', '.join(f'{n} {d}' for n, d in zip(results['names'], results['directions'], strict=True))})",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("trial", justify="right")
    table.add_column("precision per layer")
    table.add_column("accuracy", justify="right")
    table.add_column("BitOPs/sample", justify="right")
    table.add_column("avg bits", justify="right")
    for name in extra:
        table.add_column(name, justify="right")
    for r in front:
        m = r.metrics
        acc = f"{m['accuracy']:.4f}" if "accuracy" in m else "-"
        cells = [str(r.number), "\n".join(r.precision), acc, format_count(m.get("bitops", 0)),
                 f"{m.get('average_bitwidth', 0):.2f}"]
        for name in extra:
            value = m.get(name, r.values[results["names"].index(name)])
            cells.append(f"{value:.4g}")
        table.add_row(*cells)
    return table


class _ProgressBar:
    def __init__(self, console, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                 TextColumn("{task.fields[rate]}"), TextColumn("best: {task.fields[best]}"),
                                 console=console, transient=False)
        self.task = self.progress.add_task("search", total=total, rate="", best="-")
        self.progress.start()

    def update(self, p) -> None:
        self.progress.update(self.task, completed=min(p.complete, p.n_trials), total=p.n_trials,
                             rate=f"{p.trials_per_second:.1f}/s", best=f"{p.best} (front {p.front_size})")

    def stop(self) -> None:
        self.progress.stop()
