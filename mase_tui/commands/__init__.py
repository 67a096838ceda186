"""Subcommands, in the order `--help` lists them. Adding one: a module here + its name below."""

COMMANDS = [
    "inspect",
    "models",
    "passes",
    "datasets",
    "report",
    "cost",
    "transform",
    "search",
    "train",
    "test",
]
