"""`mase-tui passes`: the pass registry, built-in and user passes, from their declarations."""

from __future__ import annotations

from typing import Any


def register(sub) -> None:
    p = sub.add_parser("passes", help="list the registered passes and their arguments")
    p.add_argument("name", nargs="?", help="show one pass in detail")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def describe(spec) -> dict[str, Any]:
    """A pass's declaration as plain data."""
    return {
        "name": spec.name, "short_name": spec.short_name, "kind": spec.kind, "description": spec.description,
        "args": {a.name: a.default for a in spec.args},
        "arguments": [{"name": a.name, "type": a.type, "default": a.default, "doc": a.doc, "required": a.required,
                       "choices": list(a.choices), "supplied": a.supplied, "output": a.output} for a in spec.args],
        "needs": list(spec.needs), "aliases": list(spec.aliases), "changes_graph": spec.changes_graph,
        "writes_metadata": spec.writes_metadata, "free_form": spec.free_form,
        "renderer": spec.renderer if isinstance(spec.renderer, str) else "custom", "origin": spec.origin,
        "source": spec.where,
    }


def _arg_text(a) -> str:
    if a.supplied:
        return f"{a.name} (supplied: {a.supplied})"
    if a.required:
        return f"{a.name} (required)"
    return f"{a.name}={a.default!r}"


def run(args) -> int:
    from core.passes import PASSES, get_pass

    specs = [get_pass(args.name)] if args.name else list(PASSES.values())
    if args.json:
        import json

        print(json.dumps([describe(s) for s in specs], indent=2, default=str))
        return 0
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="Passes", title_justify="left")
    table.add_column("name", no_wrap=True)
    table.add_column("kind")
    table.add_column("description", overflow="fold")
    table.add_column("arguments (defaults)", overflow="fold")
    for s in specs:
        name = s.name if s.builtin else f"{s.name}\n[dim]{escape(s.where)}[/]"
        table.add_row(name, s.kind, escape(s.description), escape(", ".join(_arg_text(a) for a in s.args) or "-"))
    Console().print(table)
    print("In a TOML config, [passes.<short name>] runs a pass, e.g. [passes.quantize], [passes.report_graph].")
    return 0
