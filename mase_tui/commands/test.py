"""`mase-tui test MODEL [DATASET] --load CKPT [--load-type pt|pl|mz]`: loss and accuracy on the
test split. Without --load, jsc-tiny and jsc-toy use their shipped weights (trained on
jsc-synthetic)."""

from __future__ import annotations

import json
import sys

from mase_tui.commands.common import add_run_options, check_accelerator, preflight, resolve_dataset


def register(sub) -> None:
    p = sub.add_parser(
        "test",
        help="loss and accuracy of a checkpoint on the test split",
        description="Evaluate MODEL on the test split of DATASET (default: the model's own). "
                    "--load is required unless the model ships weights (jsc-tiny, jsc-toy).",
    )
    add_run_options(p)
    p.add_argument("--split", default="test", choices=["train", "validation", "test"], help="default test")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def _model_and_source(args):
    from core.checkpoint import infer_load_type, load_model
    from core.errors import CheckpointError
    from core.models import get_model
    from core.models.pretrained import pretrained_path
    from core.train import seed_everything

    seed_everything(args.seed)
    if args.load_name:
        load_type = args.load_type or infer_load_type(args.load_name)
        model = None if load_type == "mz" else get_model(args.model)
        loaded = load_model(args.load_name, load_type, model, trust=args.trust_checkpoint)
        return loaded, f"{args.load_name} ({load_type})"
    shipped = pretrained_path(args.model)
    if shipped is None:
        raise CheckpointError(f"test needs weights for {args.model}", hint="pass --load CHECKPOINT [--load-type pt|pl|mz]")
    return load_model(shipped, "pl", get_model(args.model)), "shipped weights (trained on jsc-synthetic)"


def run(args) -> int:
    preflight(args)
    from core.data import get_datamodule
    from core.train import evaluate

    check_accelerator(args)
    dataset = resolve_dataset(args.model, args.dataset)
    dm = get_datamodule(dataset, model_name=args.model, batch_size=args.batch_size,
                        dataset_path=args.dataset_path, seed=args.seed)
    model, source = _model_and_source(args)
    result = evaluate(model, dm.dataloader(args.split))
    if args.json:
        json.dump({"model": args.model, "weights": source, "data": dm.display_name, "synthetic": dm.synthetic,
                   "split": args.split, **result}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from rich.console import Console

    console = Console()
    console.print(f"{args.model} with {source}", markup=False)
    console.print(f"{args.split} split of {dm.display_name}: {result['samples']} samples", markup=False)
    console.print(f"loss {result['loss']:.4f}  accuracy {result['accuracy'] * 100:.2f}%")
    return 0
