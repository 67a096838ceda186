"""Options and helpers shared by several subcommands, spelled as MASE spells them: the
session commands (report, cost, inspect) and the run commands (train, test)."""

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
    add_capture_options(p)
    add_trace_options(p)
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")


def add_capture_options(p: argparse.ArgumentParser, default=None) -> None:
    """--tracer, --device and --seq-len (config keys tracer, device, seq_len)."""
    p.add_argument("--tracer", choices=["auto", "fx", "export"], default=default or "auto",
                   help="capture front end: fx symbolic_trace, torch.export, or auto (fx, then export when fx "
                        "fails; default)")
    p.add_argument("--device", choices=["cpu", "meta"], default=default,
                   help="meta: build the model without weight memory (shapes only; the default for llama-7b)")
    p.add_argument("--seq-len", dest="seq_len", type=int, default=default, metavar="N",
                   help="tokens per sample for token data (default: the model's; 128 for Hugging Face LMs)")


def preflight(args) -> None:
    """What the command line alone shows to be wrong, before torch is imported (preflight.py)."""
    from mase_tui.commands.preflight import check_dataset, check_files, check_model

    check_model(args.model)
    check_dataset(getattr(args, "dataset", None), args.model)
    check_files(getattr(args, "load_name", None), getattr(args, "dataset_path", None))


def add_trace_options(p: argparse.ArgumentParser, default=None) -> None:
    """How the model is traced: eval mode unless --train-graph; forward arguments the data does
    not supply keep their defaults unless --concrete sets them."""
    p.add_argument("--train-graph", dest="train_graph", action="store_true",
                   help="trace the training graph (self.training branches, batch statistics); default: eval mode",
                   **({} if default is None else {"default": default}))
    p.add_argument("--concrete", dest="concrete", action="append", metavar="NAME=VALUE",
                   help="trace forward argument NAME with VALUE (a Python literal: 3, 0.5, True, None, 'text'); "
                        "repeatable; merged over the config's cf_args",
                   **({} if default is None else {"default": default}))


def session_from_args(args, **overrides):
    from core.session import Session

    preflight(args)
    kwargs = dict(
        load=getattr(args, "load_name", None),
        load_type=getattr(args, "load_type", None),
        dataset=getattr(args, "dataset", None),
        dataset_path=getattr(args, "dataset_path", None),
        batch_size=getattr(args, "batch_size", None),  # None: the model's own (8; llama-7b 1)
        seed=getattr(args, "seed", None) or 0,
        trust_checkpoint=getattr(args, "trust_checkpoint", False),
        pretrained=getattr(args, "pretrained", True),
        tracer=getattr(args, "tracer", None) or "auto",
        device=getattr(args, "device", None),
        seq_len=getattr(args, "seq_len", None),
        train_graph=bool(getattr(args, "train_graph", False)),
        cf_args=concrete_from_args(args),
    )
    if kwargs["seq_len"] is not None and kwargs["seq_len"] < 1:
        from core.errors import ConfigError

        raise ConfigError(f"--seq-len must be at least 1, got {kwargs['seq_len']}")
    kwargs.update(overrides)
    return Session(args.model, **kwargs)


def concrete_from_args(args, config_cf_args: dict | None = None) -> dict:
    """The config's cf_args with --concrete NAME=VALUE typed over them."""
    from core.concrete_args import parse_concrete

    return {**(config_cf_args or {}), **parse_concrete(getattr(args, "concrete", None))}


def add_run_options(p) -> None:
    """Options train and test share, named as MASE names them."""
    p.add_argument("model", help="zoo model name (see `mase-tui models`) or path/to/file.py:factory")
    p.add_argument("dataset", nargs="?", default=None, help="data set (see `mase-tui datasets`); default: the model's")
    p.add_argument("--dataset-path", default=None, help="real JSC file (HDF5, ARFF, CSV, .npz, .pt); or set MASE_TUI_JSC_PATH")
    p.add_argument("--batch-size", type=int, default=128, help="default 128")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation and shuffling (default 0)")
    p.add_argument("--load", dest="load_name", default=None, help="checkpoint to start from")
    p.add_argument("--load-type", default=None, choices=["pt", "pl", "mz"],
                   help="pt: state dict, pl: Lightning/MASE Lab 1 .ckpt, mz: saved MaseGraph; default: from the name")
    p.add_argument("--trust-checkpoint", action="store_true",
                   help="allow checkpoints that unpickle Python objects (can run code: only for files you trust)")
    # Accepted so MASE command lines run unchanged: data is in memory and training runs on the CPU.
    p.add_argument("--num-workers", "--cpu", dest="num_workers", type=int, default=0,
                   help="accepted for MASE compatibility; data loading needs no workers")
    p.add_argument("--accelerator", default="auto", choices=["auto", "cpu", "gpu", "mps"],
                   help="only the CPU is supported (auto = cpu)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")


def check_accelerator(args) -> None:
    if getattr(args, "accelerator", "auto") in ("gpu", "mps"):
        from core.errors import ConfigError

        raise ConfigError(f"--accelerator {args.accelerator} is not supported", hint="mase-tui trains on the CPU: use --accelerator cpu")


def resolve_dataset(model: str, dataset: str | None) -> str:
    if dataset:
        return dataset
    from core.errors import DataError
    from core.models import MODELS

    spec = MODELS.get(model)
    if spec is None:
        raise DataError(f"no data set given for {model}", hint="add DATASET after the model (see `mase-tui datasets`)")
    return spec.dataset
