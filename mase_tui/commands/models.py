"""`mase-tui models`: the model zoo."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("models", help="list the model zoo")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.models import list_models

    specs = list_models()
    if args.json:
        import json

        print(json.dumps([
            {"name": s.name, "description": s.description, "dataset": s.dataset, "num_classes": s.num_classes,
             "inputs": [{"name": i.name, "kind": i.kind, "shape": list(i.shape)} for i in s.inputs]}
            for s in specs
        ], indent=2))
        return 0
    from rich.console import Console

    from mase_tui.markup import PlainTable as Table

    table = Table(title="Model zoo", title_justify="left")
    # names never crop (an 80-column terminal folds the description instead)
    table.add_column("name", no_wrap=True, min_width=max(len(s.name) for s in specs))
    for col in ("input (per sample)", "data", "description"):
        table.add_column(col, overflow="fold")
    for s in specs:
        shape = ", ".join(f"{i.name}[{'x'.join(map(str, i.shape))}]" for i in s.inputs)
        table.add_row(s.name, shape, s.dataset, s.description)
    Console().print(table)
    print("User models: pass path/to/file.py:factory or package.module:factory as MODEL.")
    return 0
