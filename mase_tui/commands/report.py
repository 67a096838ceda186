"""`mase-tui report MODEL [--pass NAME ...] [--json]`: analysis passes, headless."""

from __future__ import annotations

import json
import sys

from mase_tui.commands.common import add_model_options, session_from_args

DEFAULT_PASSES = ("report_graph", "report_node_type", "verify_common_metadata")


def register(sub) -> None:
    p = sub.add_parser("report", help="run analysis passes headlessly and print their results")
    add_model_options(p)
    p.add_argument("--pass", dest="passes", action="append", default=None, metavar="NAME",
                   help=f"analysis pass to run (repeatable; default: {', '.join(DEFAULT_PASSES)})")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.errors import ConfigError, PassError
    from core.passes import get_pass

    names = args.passes or list(DEFAULT_PASSES)
    specs = [get_pass(n) for n in names]  # unknown names fail before any work
    for spec in specs:
        if spec.kind != "analysis":
            raise ConfigError(f"'{spec.name}' is a {spec.kind} pass", hint="report runs analysis passes only; use `mase-tui transform --config`")
    session = session_from_args(args).load(progress=lambda msg: None)
    results = []
    for spec in specs:
        run_ = session.run_pass(spec.name)
        if not run_.ok:
            raise PassError(run_.error)
        results.append(run_)
    if args.json:
        from mase_tui.render import plain_info

        doc = {"model": args.model, "data": session.data_label, "batch_size": session.batch_size,
               "traced": session.trace_note, "traced_mode": session.current.traced_mode,
               "capture": session.original.capture, "device": session.device,
               "passes": [{"name": r.name, "seconds": round(r.seconds, 4), "info": plain_info(r.info)} for r in results]}
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.rule import Rule

    from mase_tui.render import render_pass_result

    console = Console()
    console.print(f"[bold]{escape(args.model)}[/] on {escape(session.data_label)}, "
                  f"weights: {escape(session.weights_source)}, batch {session.batch_size}")
    console.print(f"captured with {session.original.capture.get('reason', 'fx')}", markup=False, highlight=False)
    console.print(f"graph {session.trace_note}", style="dim")
    for r in results:
        console.print(Rule(escape(f"{r.name} ({r.seconds * 1000:.0f} ms)")))
        console.print(render_pass_result(r.name, r.info))
    return 0
