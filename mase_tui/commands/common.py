"""Options shared by several subcommands, spelled as MASE spells them."""

from __future__ import annotations

import argparse


def add_model_options(p: argparse.ArgumentParser, *, model_required: bool = True) -> None:
    if model_required:
        p.add_argument("model", help="zoo model name (see `mase-tui models`) or path/to/file.py:factory")
    p.add_argument("--load", dest="load_name", default=None, help="checkpoint to load")
    p.add_argument("--load-type", dest="load_type", default=None, choices=["pt", "pl", "mz"],
                   help="pt: state dict, pl: Lightning/MASE Lab 1 checkpoint, mz: saved MaseGraph directory")
    p.add_argument("--trust-checkpoint", action="store_true",
                   help="allow checkpoints that unpickle code (only for files you trust)")
    p.add_argument("--dataset", default=None, help="dataset name (default: the model's own)")
    p.add_argument("--dataset-path", default=None, help="real data file (e.g. the JSC HDF5/ARFF/CSV)")
    p.add_argument("--batch-size", type=int, default=None, help="batch size of the dummy input")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--no-pretrained", dest="pretrained", action="store_false",
                   help="do not load the shipped weights of jsc-tiny / jsc-toy")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")


def session_from_args(args, **overrides):
    from core.session import Session

    kwargs = dict(
        load=getattr(args, "load_name", None),
        load_type=getattr(args, "load_type", None),
        dataset=getattr(args, "dataset", None),
        dataset_path=getattr(args, "dataset_path", None),
        batch_size=getattr(args, "batch_size", None) or 8,
        seed=getattr(args, "seed", None) or 0,
        trust_checkpoint=getattr(args, "trust_checkpoint", False),
        pretrained=getattr(args, "pretrained", True),
    )
    kwargs.update(overrides)
    return Session(args.model, **kwargs)
