"""`mase-tui passes`: the pass registry."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("passes", help="list the registered passes and their arguments")
    p.add_argument("name", nargs="?", help="show one pass in detail")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.passes import PASSES, get_pass

    specs = [get_pass(args.name)] if args.name else list(PASSES.values())
    if args.json:
        import json

        print(json.dumps([
            {"name": s.name, "short_name": s.short_name, "kind": s.kind, "description": s.description,
             "args": {a.name: a.default for a in s.args}, "needs": list(s.needs), "aliases": list(s.aliases)}
            for s in specs
        ], indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Passes", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("kind")
    table.add_column("description", overflow="fold")
    table.add_column("arguments (defaults)", overflow="fold")
    for s in specs:
        arg_text = ", ".join(f"{a.name}={a.default!r}" if not a.required else f"{a.name} (required)" for a in s.args)
        if s.needs:
            arg_text += ("; " if arg_text else "") + "supplied: " + ", ".join(s.needs)
        table.add_row(s.name, s.kind, s.description, arg_text or "-")
    Console().print(table)
    print("In a TOML config, [passes.<short name>] runs a pass, e.g. [passes.quantize], [passes.report_graph].")
    return 0
