"""`mase-tui cost`: not wired yet (being built)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("cost", help="(cost: in progress)")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.errors import MaseError

    raise MaseError("'cost' is not available in this build yet")
