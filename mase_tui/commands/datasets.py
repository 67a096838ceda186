"""`mase-tui datasets`: the data sets and where real files are looked for."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("datasets", help="list the data sets")
    p.set_defaults(func=run)


def run(args) -> int:
    from rich.console import Console

    from core.data import list_datasets
    from mase_tui.markup import PlainTable as Table

    table = Table(title="Data sets", title_justify="left")
    table.add_column("name")
    table.add_column("description", overflow="fold")
    for name, description in list_datasets():
        table.add_row(name, description)
    Console().print(table)
    return 0
