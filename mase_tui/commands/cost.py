"""`mase-tui cost MODEL [--config TOML] [--batch-size N] [--json] [--uniq]`: MACs, FLOPs, BitOPs,
parameters and memory; with --config, original vs quantised with ratios and deltas."""

from __future__ import annotations

import json
import sys

from mase_tui.commands.common import add_model_options, session_from_args

QUANTIZE_PASS = "quantize_transform_pass"


def register(sub) -> None:
    p = sub.add_parser(
        "cost",
        help="MACs, FLOPs, BitOPs, parameters and memory of a model (per sample and per batch)",
        description="Count costs from the graph's metadata. Node rows are per sample; totals are per sample "
                    "and per batch (--batch-size, default 8). With --config, the TOML's [passes.quantize] "
                    "table is applied and the original and quantised costs are compared.",
    )
    add_model_options(p)
    p.add_argument("--config", default=None, metavar="TOML",
                   help="MASE TOML config whose [passes.quantize] table is applied before counting again")
    p.add_argument("--uniq", action="store_true",
                   help="also count accumulator-aware BitOPs (UNIQ/Hawks: MACs x (ba*bw + ba + bw + log2 fan_in))")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.set_defaults(func=run)


def quantize_args_from_config(path: str) -> dict:
    """The [passes.quantize] table of a MASE TOML ("NA" already turned into None)."""
    from core.config import load_config
    from core.errors import ConfigError
    from mase_tui.commands.preflight import check_passes

    config = load_config(path)
    check_passes(config.passes, path)
    for entry in config.passes:
        if entry.name == QUANTIZE_PASS:
            return entry.args
    raise ConfigError(f"{path} has no [passes.quantize] table",
                      hint="cost --config applies only the quantize pass; see configs/examples/jsc_toy_by_type.toml")


def run(args) -> int:
    from core.errors import PassError, QuantError

    quant_args = quantize_args_from_config(args.config) if args.config else None  # fail before loading
    session = session_from_args(args).load(progress=lambda msg: None)
    cost_args = {"uniq": bool(args.uniq)}
    before = session.run_pass("cost_analysis_pass", cost_args)
    if not before.ok:
        raise PassError(before.error)
    after = comparison = None
    if quant_args is not None:
        quantised = session.run_pass(QUANTIZE_PASS, quant_args)
        if not quantised.ok:
            raise QuantError(quantised.error)
        after = session.run_pass("cost_analysis_pass", cost_args)
        if not after.ok:
            raise PassError(after.error)
        from core.cost.compare import compare_costs

        comparison = compare_costs(before.info, after.info)

    if args.json:
        doc = {"model": args.model, "data": session.data_label, "batch_size": session.batch_size,
               "unit": "node rows per sample; totals per sample, per batch and per model as labelled"}
        if comparison is None:
            doc["cost"] = before.info
        else:
            doc.update({"config": args.config, "original": before.info, "quantised": after.info,
                        "compare": comparison})
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    from rich.console import Console
    from rich.markup import escape
    from rich.rule import Rule

    from mase_tui.render import render_cost, render_cost_compare

    console = Console()
    console.print(f"[bold]{escape(args.model)}[/] on {escape(session.data_label)}, "
                  f"weights: {escape(session.weights_source)}, batch {session.batch_size}")
    if comparison is None:
        console.print(render_cost(before.info))
        return 0
    console.print(Rule(escape(f"quantised with [passes.quantize] of {args.config}")))
    console.print(render_cost(after.info))
    console.print(Rule("original vs quantised"))
    console.print(render_cost_compare(comparison))
    return 0
