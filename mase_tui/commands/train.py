"""`mase-tui train`: not wired yet (being built)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("train", help="(train: in progress)")
    p.set_defaults(func=run)


def run(args) -> int:
    from core.errors import MaseError

    raise MaseError("'train' is not available in this build yet")
