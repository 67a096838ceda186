"""`mase-tui transform`: not wired yet (being built)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("transform", help="(transform: in progress)")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.errors import MaseError

    raise MaseError("'transform' is not available in this build yet")
