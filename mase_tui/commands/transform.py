"""`mase-tui transform` / `ch transform`: run a MASE TOML config's passes on a model.

The lab's command line works as written:
``ch transform --config configs/examples/jsc_toy_by_type.toml --task cls --cpu=0``.
Outputs go to ``<project_dir>/<project>/software/transform/`` (see core/transform.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from mase_tui.commands.transform_settings import add_transform_options

logger = logging.getLogger(__name__)


def register(sub) -> None:
    p = sub.add_parser(
        "transform",
        help="run the [passes.*] of a MASE TOML config (quantize, reports, ...) and save the result",
        description="Run the passes of a MASE TOML config on a model. Precedence: defaults < config file "
                    "< flags typed on the command line. Outputs: <project_dir>/<project>/software/transform/.",
    )
    add_transform_options(p)
    p.set_defaults(func=run)


def output_dir(settings) -> Path:
    return Path(settings["project_dir"]) / settings["project"] / "software" / "transform"


def preflight_settings(values: dict) -> None:
    """Model, data set and files named by the config or the flags, checked before torch."""
    from mase_tui.commands.preflight import check_dataset, check_files, check_model

    model = values.get("model")
    if model:
        check_model(str(model))
        check_dataset(values.get("dataset"), str(model))
    check_files(values.get("load_name"), values.get("dataset_path"))


def fresh_output_dir(out: Path) -> Path:
    """``out``, or ``out-1``, ``out-2``, ... when an earlier run's output is there: no run
    replaces another run's output."""
    if not out.exists():
        return out
    n = 1
    while out.with_name(f"{out.name}-{n}").exists():
        n += 1
    return out.with_name(f"{out.name}-{n}")


def run(args) -> int:
    from core.config import load_config
    from core.errors import ConfigError
    from mase_tui.commands.transform_settings import explicit_flags, merge_settings

    config_path = getattr(args, "config", None)
    if not config_path:
        raise ConfigError("transform needs a config", hint="give --config path/to/file.toml (see configs/examples/)")
    config = load_config(config_path)
    explicit = explicit_flags(args)
    preflight_settings({**config.settings, **explicit})
    settings = merge_settings(config.settings, explicit)
    previous_level = _apply_log_level(settings["log_level"], settings["to_debug"])
    try:
        return _run(args, config, config_path, settings)
    except Exception:
        # the CLI shows tracebacks for --debug; to_debug = true in the config means the same
        if settings["to_debug"] and not getattr(args, "to_debug", False) and not getattr(args, "debug", False):
            import traceback

            traceback.print_exc()
        raise
    finally:
        logging.getLogger().setLevel(previous_level)


def _run(args, config, config_path: str, settings) -> int:
    from core.transform import check_style
    from mase_tui.commands.preflight import check_passes

    check_style(config.style, config.passes)
    check_passes(config.passes, config_path)  # quantiser names and keys, before torch

    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False)
    console.print(settings_table(settings, config_path))
    for note in settings.notes:
        logger.warning("%s", note)
    if not config.passes:
        logger.warning("%s has no [passes.*] tables: only the cost report and the graph are written", config_path)

    from core.session import Session
    from mase_tui.commands.common import concrete_from_args
    from mase_tui.commands.transform_settings import resolve_device

    v = settings.values
    resolve_device(v["accelerator"])  # warns about a GPU request; the CPU (or meta) is used
    session = Session(
        v["model"], load=v["load_name"], load_type=v["load_type"], dataset=v["dataset"],
        dataset_path=v["dataset_path"], batch_size=v["batch_size"], seed=v["seed"],
        trust_checkpoint=bool(v["trust_checkpoint"]), pretrained=getattr(args, "pretrained", True),
        device=v["device"], num_workers=v["num_workers"], tracer=v["tracer"], seq_len=v["seq_len"],
        train_graph=bool(v["train_graph"]), cf_args=concrete_from_args(args, config.settings.get("cf_args")),
    )
    say = lambda msg: console.print(f"[dim]{escape(str(msg))}[/]")  # noqa: E731 - a one-line progress printer
    console.print(escape(f"Initialising model '{v['model']}' and dataset '{v['dataset']}'..."))
    session.load(progress=say)
    planned = output_dir(settings)
    out = fresh_output_dir(planned)
    if out != planned:
        console.print(escape(f"{planned} holds an earlier run's output: this run writes {out}"))
    console.print(escape(f"Transforming model '{v['model']}' (weights: {session.weights_source}; "
                         f"data: {session.data_label}); output: {out}"))
    console.print(f"graph {session.trace_note}", style="dim", markup=False, highlight=False)

    from core.transform import run_transform

    outcome = run_transform(
        session, config.passes, out, style=config.style, settings=_plain_settings(settings),
        evaluate=getattr(args, "evaluate", True), eval_batches=getattr(args, "eval_batches", None), progress=say,
    )
    from mase_tui.commands.transform_report import print_outcome

    print_outcome(console, session, outcome)
    return 0


def _plain_settings(settings) -> dict:
    keep = ("model", "dataset", "task", "load_name", "load_type", "batch_size", "seed", "project", "dataset_path")
    return {k: settings[k] for k in keep}


def _apply_log_level(level: str, debug: bool) -> int:
    """The transform's effective level (config or flag) replaces the CLI's default."""
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG if debug else getattr(logging, level.upper()))
    return previous


def settings_table(settings, config_path: str):
    from rich import box

    from mase_tui.markup import PlainTable as Table
    from mase_tui.markup import plain

    table = Table(title=f"transform settings ({config_path})", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, padding=(0, 1))
    table.add_column("Name", no_wrap=True)
    for col in ("Default", "Config", "Override", "Effective"):
        table.add_column(col, overflow="fold", max_width=32)
    for name, default, config, override, effective in settings.rows():
        overridden = bool(config or override)
        table.add_row(name, plain(default, "dim") if overridden else default, config, override,
                      plain(effective, "bold"))
    return table
