"""`mase-tui` and `ch`: one command line over core.

Each subcommand lives in mase_tui/commands/<name>.py and exposes ``register(subparsers)``; the
parser sets ``func`` to its ``run(args) -> int``. With no subcommand the app opens on the
default model.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from mase_tui.commands import COMMANDS

EXIT_USAGE = 2


class OneLineParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line (and exit 2, as argparse does)."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="mase-tui",
        description="Terminal inspector and pass workbench for PyTorch models (MASE Lab 2 compatible).",
        epilog="Run a command with --help for its options. With no command, the app opens on jsc-toy.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--log-level", default=None, choices=["debug", "info", "warning", "error", "critical"])
    parser.add_argument("-V", "--version", action="store_true", help="print the version and exit")
    parser.add_argument("--no-tuning", action="store_true",
                        help="app: keep Python's GIL and GC settings (also MASE_TUI_NO_TUNING=1)")
    parser.add_argument(*PASSES_FLAG, dest="passes_files", **PASSES_OPTION)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name in COMMANDS:
        importlib.import_module(f"mase_tui.commands.{name}").register(sub)
    for command in sub.choices.values():  # the flag works after the command name too
        command.add_argument(*PASSES_FLAG, dest="passes_files_after", **PASSES_OPTION)
    return parser


PASSES_FLAG = ("--passes",)
PASSES_OPTION = {
    "action": "append", "default": None, "metavar": "FILE",
    "help": "load the @mase_pass functions of a Python file (repeatable); this runs the file's code",
}


def load_user_passes(args) -> None:
    """``--passes FILE`` (before or after the command): the user's pass files, in order."""
    files = (getattr(args, "passes_files", None) or []) + (getattr(args, "passes_files_after", None) or [])
    if files:
        from core.passes.user_passes import load_pass_file

        for file in files:
            load_pass_file(file)


def _setup_logging(level: str | None) -> None:
    logging.basicConfig(
        level=getattr(logging, (level or "warning").upper()),
        format="%(levelname)-8s %(message)s",
        stream=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from core import __version__

        print(f"mase-tui {__version__}")
        return 0
    debug = bool(getattr(args, "debug", False) or getattr(args, "to_debug", False))
    _setup_logging(getattr(args, "log_level", None) or ("debug" if debug else None))
    func = getattr(args, "func", None)
    if func is None:
        func = importlib.import_module("mase_tui.commands.inspect").run_default
    try:
        load_user_passes(args)
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # every error becomes one line unless --debug
        from core.errors import MaseError

        if debug:
            traceback.print_exc()
        if isinstance(exc, MaseError):
            print(f"error: {exc.one_line()}", file=sys.stderr)
        else:
            print(f"error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
